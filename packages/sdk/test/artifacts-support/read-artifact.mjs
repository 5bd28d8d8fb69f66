// Reads every artifact of a task in a fresh process (as another user's script would) and prints them as one JSON
// line: name → { kind, ... }. Usage: node read-artifact.mjs <task id>
import { Task } from 'tasklane';

const [taskId] = process.argv.slice(2);
const task = await Task.getTask({ id: taskId });
const out = {};
for (const [name, artifact] of Object.entries(task.artifacts)) {
  const value = await artifact.get();
  if (Buffer.isBuffer(value)) out[name] = { kind: 'buffer', base64: value.toString('base64') };
  else if (value && typeof value === 'object' && ArrayBuffer.isView(value.data)) {
    out[name] = { kind: 'ndarray', dtype: value.dtype, shape: value.shape, arrayType: value.data.constructor.name, data: Array.from(value.data, String) };
  } else out[name] = { kind: 'value', value };
}
console.log(JSON.stringify(out));
