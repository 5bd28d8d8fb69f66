// A training run against a server with auth on, its key pair in the environment: scalars, a debug image, text, an
// artifact uploaded and fetched back; it also prints the secret key, which must not reach the task's console.
import { Task } from 'tasklane';

const task = await Task.init({ projectName: 'auth/sdk', taskName: 'run under auth', reuseLastTaskId: false, autoResourceMonitoring: false });
console.log(`@@task ${task.id}`);
console.log(`the secret is ${process.env.TASKLANE_API_SECRET_KEY}`);
const logger = task.getLogger();
for (let i = 0; i < 3; i += 1) logger.reportScalar('loss', 'train', 1 / (i + 1), i);
logger.reportImage('samples', 'pixels', 0, { buffer: Buffer.from('not really a png, but bytes'), fileExtension: 'png' });
logger.reportText(`reported text holding ${process.env.TASKLANE_API_SECRET_KEY}`);
await task.uploadArtifact('summary', { accuracy: 0.9, secretFree: true }, { waitOnUpload: true });
console.log(`@@fetched ${JSON.stringify(await task.artifacts.summary.get())}`);
await task.close();
