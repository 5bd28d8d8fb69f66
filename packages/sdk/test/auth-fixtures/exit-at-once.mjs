// Reports, then ends with process.exit(): the last reports and the final status go out from the 'exit' event (the
// exit flusher), with the same credentials as everything else.
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'auth/sdk', taskName: 'exit at once', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${task.id}`);
task.getLogger().reportScalar('last', 'words', 42, 7);
process.exit(0);
