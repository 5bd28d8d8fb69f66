// A point at a negative iteration between two good ones.
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'logger tests', taskName: 'negative iteration', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id })}`);
const logger = task.getLogger();
logger.reportScalar('loss', 'train', 0.5, 0);
logger.reportScalar('loss', 'train', 0.75, -1);
logger.reportScalar('loss', 'train', 0.25, 1);
await task.close();
