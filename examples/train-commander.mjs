// Arguments parsed with commander after Task.init are recorded as the "Args" section, with their descriptions and
// defaults. Run: node examples/train-commander.mjs --lr 0.1 --epochs 2 --no-shuffle
import { Command } from 'commander';
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'examples/cli-args', taskName: 'commander training' });

const program = new Command()
  .option('--lr <number>', 'learning rate', parseFloat, 0.01)
  .option('--epochs <count>', 'number of epochs', (v) => parseInt(v, 10), 5)
  .option('--model <name>', 'model architecture', 'resnet18')
  .option('--no-shuffle', 'keep the data order')
  .parse();
const options = program.opts();

console.log(`lr=${options.lr} (${typeof options.lr}) epochs=${options.epochs} model=${options.model} shuffle=${options.shuffle}`);
await task.close();
