// Reports a debug sample from a file and from bytes, then closes the task at once (after an earlier flush, so that
// close() has no other pending work to wait for). Input: { imagePath }.
import { Task } from 'tasklane';

const input = JSON.parse(process.env.LOGGER_FIXTURE_INPUT ?? '{}');
const task = await Task.init({ projectName: 'logger tests', taskName: 'close after sample', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${JSON.stringify({ id: task.id })}`);
const logger = task.getLogger();
await task.flush();
logger.reportImage('images', 'from path', 0, { path: input.imagePath });
logger.reportImage('images', 'from buffer', 0, { buffer: Buffer.from('buffer bytes'), fileExtension: 'png' });
await task.close();
