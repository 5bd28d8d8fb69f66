// Run under a file size limit (ulimit -f) standing in for a full disk: a few scalars land in the session, then more
// console text than events.jsonl may hold, then process.exit(5) at once (the SDK's last writes, at exit, fail midway).
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'offline full', taskName: 'disk full', reuseLastTaskId: false, autoResourceMonitoring: false, autoConnectStreams: false });
console.log(`@@task ${JSON.stringify({ id: task.id, sessionDir: task.offlineSessionDir ?? null })}`);
const logger = task.getLogger();
for (let i = 0; i < 10; i += 1) logger.reportScalar('loss', 'train', 10 - i, i);
await task.flush();
for (let i = 0; i < 300; i += 1) logger.reportText(`line ${i} ${'x'.repeat(100)}`);
process.exit(5);
