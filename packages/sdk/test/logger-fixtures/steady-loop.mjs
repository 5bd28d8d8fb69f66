// A training loop for the durability tests: `iterations` points in each of 3 series (loss/train, loss/val,
// lr/group0) and a console line every `iterations / lines` iterations, spread over about `durationMs`.
// Value of a point: series index * 1e6 + iteration, so every point is known to the test.
// Input: { iterations, lines, durationMs, waitForGo, waitForClose }; lines and 100 must divide iterations.
//   waitForGo: after Task.init (and a flush), print @@ready and wait for "go" on stdin before the loop.
//   waitForClose: after the loop, print @@reported and wait for "close" on stdin before task.close().
// Prints @@tenth-<k> {"iteration": i} at each tenth of the loop (k = 0..9).
import { createInterface } from 'node:readline';
import { Task } from 'tasklane';

const input = JSON.parse(process.env.LOGGER_FIXTURE_INPUT ?? '{}');
const commands = createInterface({ input: process.stdin });
const nextCommand = () => new Promise((resolve) => commands.once('line', (line) => resolve(line.trim())));
const expectCommand = async (wanted) => {
  const got = await nextCommand();
  if (got !== wanted) throw new Error(`expected "${wanted}" on stdin, got "${got}"`);
};

const task = await Task.init({ projectName: 'logger tests', taskName: 'steady loop', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id })}`);
const logger = task.getLogger();
if (input.waitForGo) {
  await task.flush();
  console.log('@@ready {}');
  await expectCommand('go');
}

const series = [['loss', 'train'], ['loss', 'val'], ['lr', 'group0']];
const lineEvery = input.iterations / input.lines;
const steps = 100;
const perStep = input.iterations / steps;
const started = Date.now();
for (let i = 0; i < input.iterations; i++) {
  series.forEach(([title, name], s) => logger.reportScalar(title, name, s * 1e6 + i, i));
  if (i % lineEvery === 0) console.log(`train line ${i / lineEvery} at iteration ${i}`);
  if (i % (input.iterations / 10) === 0) process.stdout.write(`@@tenth-${i / (input.iterations / 10)} ${JSON.stringify({ iteration: i })}\n`);
  if ((i + 1) % perStep === 0) {
    const dueAt = started + (((i + 1) / perStep) * input.durationMs) / steps;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now())));
  }
}
if (input.waitForClose) {
  console.log('@@reported {}');
  await expectCommand('close');
}
commands.close();
await task.close();
console.log('@@closed {}');
