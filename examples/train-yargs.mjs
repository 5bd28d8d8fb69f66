// Arguments parsed with yargs after Task.init are recorded as the "Args" section.
// Run: node examples/train-yargs.mjs --lr 0.1 --epochs 2
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'examples/cli-args', taskName: 'yargs training' });

const argv = yargs(hideBin(process.argv))
  .option('lr', { type: 'number', default: 0.01, describe: 'learning rate' })
  .option('epochs', { type: 'number', default: 5, describe: 'number of epochs' })
  .option('model', { type: 'string', default: 'resnet18', describe: 'model architecture' })
  .parseSync();

console.log(`lr=${argv.lr} (${typeof argv.lr}) epochs=${argv.epochs} model=${argv.model}`);
await task.close();
