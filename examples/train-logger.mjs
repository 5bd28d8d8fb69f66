// Everything a training loop can report: scalars, a summary value, text, plots, a table and debug samples.
// Run a server (npm start), then: node examples/train-logger.mjs
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'examples/reporting', taskName: 'logger tour' });
const logger = task.getLogger();

for (let iteration = 0; iteration < 200; iteration++) {
  const loss = Math.exp(-iteration / 50) + 0.05 * Math.random();
  logger.reportScalar('loss', 'train', loss, iteration);
  logger.reportScalar('loss', 'validation', loss * 1.1, iteration);
  if (iteration % 50 === 0) logger.reportText(`iteration ${iteration}: loss ${loss.toFixed(3)}`);
}
logger.reportSingleValue('accuracy', 0.93);

logger.reportScatter2d('embedding', 'points', 0, [[0, 1], [1, 3], [2, 2]], { mode: 'markers', xaxis: 'x', yaxis: 'y' });
logger.reportHistogram('class balance', 'train', [120, 80, 100], 0, { xlabels: ['cat', 'dog', 'bird'] });
logger.reportConfusionMatrix('confusion', 'validation', [[50, 2], [3, 45]], 0, { xlabels: ['cat', 'dog'], ylabels: ['cat', 'dog'] });
logger.reportTable('predictions', 'sample', 0, { csv: 'id,label,score\n1,cat,0.91\n2,dog,0.85\n' });

// A 1×1 red PNG as a debug sample.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
logger.reportImage('samples', 'input', 0, { buffer: png, fileExtension: 'png' });

console.log(`reported; see ${task.getOutputLogWebPage()}`);
