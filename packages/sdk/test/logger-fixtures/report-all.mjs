// Reports one of everything the Logger offers, then ends without calling close(): the SDK closes the task itself
// when the process runs out of work. Input: { imagePath, mediaPath, bufferBase64 }.
import { Task } from 'tasklane';

const input = JSON.parse(process.env.LOGGER_FIXTURE_INPUT ?? '{}');
const task = await Task.init({ projectName: 'logger tests', taskName: 'report all', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id })}`);
const logger = task.getLogger();

// Scalars: loss/train has its first, min, max and last points at different iterations.
[5, 3, 8, 1, 4].forEach((value, iteration) => logger.reportScalar('loss', 'train', value, iteration));
[6, 2, 7].forEach((value, i) => logger.reportScalar('loss', 'val', value, i * 2));
logger.reportScalar('accuracy', 'top1', 0.5, 10);
logger.reportSingleValue('final accuracy', 0.93);

// Console text at each level, and a level the SDK does not know.
logger.reportText('plain info line');
logger.reportText('watch out', 'warning');
logger.reportText('it broke', 'error');
logger.reportText('deep detail', 'debug');
logger.reportText('very bad', 'critical');
logger.reportText('odd level', 'loud');

// Plots.
logger.reportScatter2d('scatter', 'points', 1, [[0, 1], [1, 3], [2, 2]], { mode: 'markers', xaxis: 'epoch', yaxis: 'score', labels: ['a', 'b', 'c'] });
logger.reportLinePlot('lines', [{ name: 'up', data: [[0, 0], [1, 1]] }, { name: 'down', data: [[0, 1], [1, 0]] }], 2);
logger.reportHistogram('histogram', 'counts', [3, 7, 1], 3, { xlabels: ['x', 'y', 'z'] });
logger.reportConfusionMatrix('confusion', 'val', [[5, 1], [2, 8]], 4, { xlabels: ['cat', 'dog'], ylabels: ['cat', 'dog'] });
logger.reportTable('table', 'rows', 5, { rows: [['name', 'score'], ['a', 1], ['b', 2]] });
logger.reportTable('table', 'records', 5, { records: [{ name: 'a', score: 1 }, { name: 'b', extra: true }] });
logger.reportTable('table', 'csv', 5, { csv: 'name,score\n"a, quoted",1\nb,2\n' });
logger.reportPlotly('custom', 'pie', { data: [{ type: 'pie', values: [1, NaN, 2], labels: ['x', 'gap', 'y'] }], layout: { title: 'custom' } }, 6);

// Debug samples: from a file, from bytes, any media, and a URL that is only linked.
logger.reportImage('images', 'from path', 7, { path: input.imagePath });
logger.reportImage('images', 'from buffer', 7, { buffer: Buffer.from(input.bufferBase64, 'base64'), fileExtension: 'jpg' });
logger.reportMedia('media', 'audio', 7, { path: input.mediaPath });
logger.reportImage('images', 'by url', 7, { url: 'https://example.com/samples/cat.png' });
