// Reports and flushes, says "@@flushed", then keeps reporting until it is killed (the test sends SIGKILL).
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'offline crash', taskName: 'killed run', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id, sessionDir: task.offlineSessionDir ?? null })}`);
const logger = task.getLogger();
for (let i = 0; i < 30; i += 1) logger.reportScalar('loss', 'train', 1 / (i + 1), i);
logger.reportText('before the crash');
await task.uploadArtifact('checkpoint', { step: 29 });
await task.flush();
console.log('@@flushed {}');
let i = 30;
setInterval(() => logger.reportScalar('loss', 'train', 1 / (i + 1), i++), 20);
