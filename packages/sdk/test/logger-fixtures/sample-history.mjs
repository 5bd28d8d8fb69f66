// Reports more debug samples of one title/series than the Logger keeps files for. Each sample's bytes say which
// report made them ("sample <n>"). Input: { reports }.
import { Task } from 'tasklane';

const input = JSON.parse(process.env.LOGGER_FIXTURE_INPUT ?? '{}');
const task = await Task.init({ projectName: 'logger tests', taskName: 'sample history', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id })}`);
const logger = task.getLogger();
for (let i = 0; i < input.reports; i++) {
  logger.reportImage('samples', 'input', i, { buffer: Buffer.from(`sample ${i}`), fileExtension: 'png' });
}
