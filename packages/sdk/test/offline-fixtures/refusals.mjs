// What needs a server, tried on an offline task: each must fail saying it is offline. Prints "@@errors {...}".
import { InputModel, Model, Task } from 'tasklane';

const task = await Task.init({ projectName: 'offline refusals', taskName: 'refusals', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id, sessionDir: task.offlineSessionDir ?? null })}`);
const tries = {
  clone: () => Task.clone(task),
  enqueue: () => Task.enqueue(task, { queueName: 'default' }),
  getTasks: () => Task.getTasks({ projectName: 'offline refusals' }),
  getTask: () => Task.getTask({ id: '0123456789abcdef0123456789abcdef' }),
  reset: () => task.reset(),
  publish: () => task.publish(),
  modelQuery: () => Model.query({}),
  inputModel: () => new InputModel({ modelId: '0123456789abcdef0123456789abcdef' }).load(),
};
const errors = {};
for (const [name, attempt] of Object.entries(tries)) {
  try {
    await attempt();
    errors[name] = 'no error';
  } catch (error) {
    errors[name] = { code: error.code, offline: error.details?.offline === true, message: error.message };
  }
}
// What works offline still works: its own status, parameters and the progress.
task.setProgress(40);
errors.ownStatus = await task.getStatus();
console.log(`@@errors ${JSON.stringify(errors)}`);
