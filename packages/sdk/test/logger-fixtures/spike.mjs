// 20,000 points of a flat, slightly noisy series with one spike up and one dip down.
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'logger tests', taskName: 'spike', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id })}`);
const logger = task.getLogger();
for (let i = 0; i < 20_000; i++) {
  const value = i === 12_345 ? 1000 : i === 4_321 ? -1000 : 1 + ((i * 7919) % 100) / 1000;
  logger.reportScalar('loss', 'train', value, i);
}
await task.close();
