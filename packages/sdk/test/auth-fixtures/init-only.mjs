// Task.init and nothing else: how a run starts (or fails to) with the credentials of its environment.
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'auth/sdk', taskName: 'init only', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${task.id}`);
await task.close();
