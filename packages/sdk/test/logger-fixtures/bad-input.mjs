// Good points between bad calls; every bad call is made five times (one warning each is expected, not five).
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'logger tests', taskName: 'bad input', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id })}`);
const logger = task.getLogger();
const bad = [
  () => logger.reportScalar('loss', 'train', NaN, 1),
  () => logger.reportScalar('loss', 'train', Infinity, 1),
  () => logger.reportScalar('loss', 'train', -Infinity, 1),
  () => logger.reportScalar('loss', 'train', '0.5', 1),
  () => logger.reportScalar('loss', 'train', 0.5, 1.5),
  () => logger.reportScalar('loss', 'train', 0.5, '2'),
  () => logger.reportScalar(42, 'train', 0.5, 1),
  () => logger.reportScalar('loss', null, 0.5, 1),
  () => logger.reportSingleValue('best', NaN),
  () => logger.reportPlotly('plot', 'series', { data: 'not an array' }, 1),
  () => logger.reportPlotly({ title: 'object' }, 'series', { data: [] }, 1),
  () => logger.reportHistogram('hist', 'counts', [1, 2], 0.5),
  () => logger.reportTable('table', 'empty', 1, { rows: [] }),
  () => logger.reportImage('images', 'sample', NaN, { buffer: Buffer.from([1, 2, 3]) }),
];
for (let i = 0; i < 5; i++) {
  logger.reportScalar('loss', 'train', i / 10, i);
  for (const call of bad) call();
}
console.log('@@loop-done {}');
await task.close();
