// Shows how a run ends: node examples/fail-and-exit.mjs <throw|reject|exit1|exit0|wait|ok>
// throw/reject → failed (the error is in status_reason and the console), exit1 → failed, wait + Ctrl+C → aborted,
// ok/exit0 → completed.
import { Task } from 'tasklane';

const mode = process.argv[2] ?? 'ok';
await Task.init({ projectName: 'examples/outcomes', taskName: `outcome ${mode}`, reuseLastTaskId: false });
console.log(`mode: ${mode}`);

if (mode === 'throw') throw new Error('the model diverged');
if (mode === 'reject') Promise.reject(new Error('a promise nobody awaited failed'));
if (mode === 'exit1') process.exit(1);
if (mode === 'exit0') process.exit(0);
if (mode === 'wait') {
  console.log('waiting; press Ctrl+C');
  setInterval(() => {}, 1000);
}
