// A training script that uploads artifacts in the background and ends with task.close() (or by simply ending).
// Its input comes as JSON in ARTIFACT_FIXTURE_INPUT: { taskName, outputUri?, bigBytes?, onlySummary?, noClose?, exitEarly? }.
import { randomBytes } from 'node:crypto';
import { Task } from 'tasklane';

const input = JSON.parse(process.env.ARTIFACT_FIXTURE_INPUT ?? '{}');
const task = await Task.init({
  projectName: 'artifacts/fixtures',
  taskName: input.taskName,
  outputUri: input.outputUri,
  autoResourceMonitoring: false,
});
console.log(`@@task ${JSON.stringify({ id: task.id })}`);
await task.uploadArtifact('summary', { accuracy: 0.9, classes: ['cat', 'dog'] });
if (!input.onlySummary) {
  await task.uploadArtifact('notes', 'background upload');
  if (input.bigBytes) await task.uploadArtifact('big', randomBytes(input.bigBytes));
  await task.uploadArtifact('last', [{ step: 1, value: 2.5 }]);
}
// Nothing above waited for the uploads: close() (or the end of the script) must.
if (input.exitEarly) process.exit(0);
if (!input.noClose) {
  await task.close();
  console.log(`@@closed ${JSON.stringify({ artifacts: (task.info.execution.artifacts ?? []).map((a) => a.key) })}`);
}
