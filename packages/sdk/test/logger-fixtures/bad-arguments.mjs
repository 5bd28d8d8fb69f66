// Arguments of the wrong shape altogether. The Logger promises never to throw into a training loop; each call that
// throws is recorded and the loop goes on.
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'logger tests', taskName: 'bad arguments', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id })}`);
const logger = task.getLogger();
const circular = {};
circular.self = circular;
const calls = {
  'reportScalar bigint value': () => logger.reportScalar('loss', 'train', 10n, 1),
  'reportScalar bigint iteration': () => logger.reportScalar('loss', 'train', 0.5, 10n),
  'reportScalar circular title': () => logger.reportScalar(circular, 'train', 0.5, 1),
  'reportScatter2d points not an array': () => logger.reportScatter2d('scatter', 'points', 1, undefined),
  'reportHistogram values not an array': () => logger.reportHistogram('hist', 'counts', 'abc', 1),
  'reportConfusionMatrix rows not arrays': () => logger.reportConfusionMatrix('confusion', 'val', [1, 2], 1),
  'reportLinePlot no lines': () => logger.reportLinePlot('lines', undefined, 1),
  'reportTable no table': () => logger.reportTable('table', 'none', 1, undefined),
  'reportImage no source': () => logger.reportImage('images', 'sample', 1, undefined),
};
const threw = {};
for (const [name, call] of Object.entries(calls)) {
  try {
    call();
  } catch (error) {
    threw[name] = `${error.name}: ${error.message}`;
  }
}
logger.reportScalar('loss', 'train', 0.25, 2);
console.log(`@@threw ${JSON.stringify(threw)}`);
await task.close();
