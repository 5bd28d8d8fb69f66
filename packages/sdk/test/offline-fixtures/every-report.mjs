// One of every kind of output — configuration, scalars, a single value, console text, plots, a table, image debug
// samples, artifacts and a model — then ends without close(). Run online and offline, the two must read back equal.
// Input (LOGGER_FIXTURE_INPUT): { offline, imagePath, imageBase64, blobPath, weightsPath }.
import { OutputModel, Task } from 'tasklane';

const input = JSON.parse(process.env.LOGGER_FIXTURE_INPUT ?? '{}');
if (input.offline) Task.setOffline(true);
const task = await Task.init({ projectName: 'offline parity', taskName: 'every report', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id, sessionDir: task.offlineSessionDir ?? null })}`);

task.connect({ lr: 0.01, epochs: 3, nested: { depth: 2 } });
await task.connectConfiguration({ layers: [32, 16], activation: 'relu' }, 'model design');
task.setParameters({ 'Extra/seed': 7 });
await task.addTags(['parity']);
await task.setComment('offline vs online');

const logger = task.getLogger();
for (let i = 0; i < 20; i += 1) {
  logger.reportScalar('loss', 'train', 1 / (i + 1), i);
  logger.reportScalar('loss', 'val', 2 / (i + 1), i);
}
logger.reportSingleValue('final accuracy', 0.93);
logger.reportText('plain info line');
logger.reportText('watch out', 'warning');
console.log('printed by the script');
console.error('printed to stderr');
logger.reportScatter2d('scatter', 'points', 1, [[0, 1], [1, 3], [2, 2]], { mode: 'markers', xaxis: 'epoch', yaxis: 'score' });
logger.reportHistogram('histogram', 'counts', [3, 7, 1], 3, { xlabels: ['x', 'y', 'z'] });
logger.reportConfusionMatrix('confusion', 'val', [[5, 1], [2, 8]], 4, { xlabels: ['cat', 'dog'], ylabels: ['cat', 'dog'] });
logger.reportTable('table', 'rows', 5, { rows: [['name', 'score'], ['a', 1], ['b', 2]] });
logger.reportPlotly('custom', 'pie', { data: [{ type: 'pie', values: [1, 2], labels: ['x', 'y'] }], layout: { title: 'custom' } }, 6);
logger.reportImage('images', 'from path', 7, { path: input.imagePath });
logger.reportImage('images', 'from buffer', 7, { buffer: Buffer.from(input.imageBase64, 'base64'), fileExtension: 'png' });

await task.uploadArtifact('stats', { accuracy: 0.93, classes: ['cat', 'dog'] }, { metadata: { split: 'val' } });
await task.uploadArtifact('blob', input.blobPath);
await task.uploadArtifact('rows', [{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);
const model = new OutputModel(task, { name: 'classifier', framework: 'onnx', labelEnumeration: { cat: 0, dog: 1 }, config: { layers: 2 } });
await model.updateWeights(input.weightsPath, { iteration: 19 });
task.setProgress(100);
