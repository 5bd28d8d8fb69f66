// A training script recorded by Tasklane: two lines (the import and Task.init) are all it takes.
// Run a server first (npm start), then: node examples/train-basic.mjs --epochs 3
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'examples/basic', taskName: 'basic training' });

// Hyperparameters: recorded as the "General" section; under an agent, edited values come back here.
const params = task.connect({ learningRate: 0.01, batchSize: 32, optimizer: { name: 'adam', beta1: 0.9 }, augment: true });

// A configuration object (any JSON-able object, or a file path).
const model = await task.connectConfiguration({ layers: [784, 128, 10], activation: 'relu' }, 'model');

console.log(`training with lr=${params.learningRate}, batch=${params.batchSize}, layers=${model.layers.join('-')}`);
const epochs = Number(process.argv[process.argv.indexOf('--epochs') + 1] || 3);
for (let epoch = 1; epoch <= epochs; epoch++) {
  const loss = 1 / (epoch * params.learningRate * 100);
  console.log(`epoch ${epoch}/${epochs} loss=${loss.toFixed(4)}`);
  task.setProgress((100 * epoch) / epochs);
}
console.log('done');
// No close() needed: the task is marked completed when the script ends (failed if it throws).
