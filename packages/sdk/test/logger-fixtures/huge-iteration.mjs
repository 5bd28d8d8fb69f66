// An iteration too large for the wire (past Number.MAX_SAFE_INTEGER) between good points and a console line, all
// reported before the flusher's first tick, so that they would travel in one batch.
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'logger tests', taskName: 'huge iteration', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id })}`);
const logger = task.getLogger();
for (let i = 0; i < 5; i++) logger.reportScalar('loss', 'train', i, i);
console.log('between the points');
logger.reportScalar('loss', 'train', 1, 1e20);
for (let i = 5; i < 10; i++) logger.reportScalar('loss', 'train', i, i);
await task.close();
