// Reports, then process.exit(4) at once: the SDK's last writes happen inside the 'exit' event (no async work there).
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'offline exit', taskName: 'exit now', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id, sessionDir: task.offlineSessionDir ?? null })}`);
task.connect({ batch: 64 });
for (let i = 0; i < 50; i += 1) task.getLogger().reportScalar('loss', 'train', 50 - i, i);
console.log('about to exit');
process.exit(4);
