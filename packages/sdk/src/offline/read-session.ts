import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep, win32 } from 'node:path';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { ModelSchema, TaskSchema, TasklaneError, type Model as ModelData, type Task as TaskData } from '@tasklane/protocol';
import {
  EVENTS_FILE,
  FILES_DIR,
  MANIFEST_FILE,
  MODELS_FILE,
  SESSION_FORMAT,
  SESSION_FORMAT_VERSION,
  SessionEventLineSchema,
  SessionManifestSchema,
  TASK_FILE,
  type SessionEventLine,
  type SessionManifest,
} from './session-format.js';

/** A session checked whole and ready to import. @internal */
export interface CheckedSession {
  /** The folder holding the session files (the one given, or a temporary copy extracted from the zip). */
  dir: string;
  manifest: SessionManifest;
  task: TaskData;
  /** The models to import (a model whose weights never finished uploading is left out, see `notes`). */
  models: ModelData[];
  /** Valid lines of events.jsonl (a cut-off last line is not counted). */
  eventLines: number;
  /** Events in those lines (a scalars line holds many). */
  eventCount: number;
  /** Recorded file URI → the file in `dir` (artifacts, weights, debug samples). */
  files: Map<string, string>;
  /** What was left out, for the user. */
  notes: string[];
  /** Removes the temporary copy of a zip (nothing for a folder). */
  cleanup(): Promise<void>;
}

/** A corrupt or incomplete session: refused before anything is sent to a server. */
function corrupt(path: string, why: string, cause?: unknown): TasklaneError {
  return new TasklaneError(
    'INVALID_INPUT',
    `Cannot import the offline session ${path}: ${why}. Nothing was imported.`,
    { path },
    cause === undefined ? undefined : { cause },
  );
}

function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  return issues.join('; ') + (error.issues.length > 3 ? `; and ${error.issues.length - 3} more` : '');
}

async function readJsonFile(path: string, name: string, sessionPath: string, isOptional = false): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(join(path, name), 'utf8');
  } catch (error) {
    if (isOptional && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw corrupt(sessionPath, `it has no readable ${name} (${(error as Error).message}); is it an offline session (a folder or zip made by Task.setOffline / TASKLANE_OFFLINE_MODE)?`, error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw corrupt(sessionPath, `${name} is not valid JSON (${(error as Error).message}); the session is damaged`, error);
  }
}

/**
 * Extracts a session zip into `target`, checking each entry's CRC-32 and size (yauzl checks sizes only), and refusing
 * entry names that would land outside `target`.
 */
async function extractChecked(zipPath: string, target: string): Promise<void> {
  const yauzl = await import('yauzl');
  let zip: import('yauzl').ZipFile;
  try {
    zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: true, validateEntrySizes: true, strictFileNames: true });
  } catch (cause) {
    throw corrupt(
      zipPath,
      `it is not a complete zip file, it may be truncated or damaged (${(cause as Error).message.replace(/\.$/, '')}); import the session folder instead if you still have it`,
      cause,
    );
  }
  await new Promise<void>((resolvePromise, reject) => {
    zip.on('error', (error: Error) => reject(corrupt(zipPath, `the zip is damaged (${error.message.replace(/\.$/, '')})`, error)));
    zip.on('end', () => resolvePromise());
    zip.on('entry', (entry: import('yauzl').Entry) => {
      const handle = async () => {
        const path = resolve(target, entry.fileName);
        if (path !== target && !path.startsWith(`${target}${sep}`)) throw corrupt(zipPath, `its entry "${entry.fileName}" points outside the session`);
        if (entry.fileName.endsWith('/')) {
          await mkdir(path, { recursive: true });
          return;
        }
        await mkdir(dirname(path), { recursive: true });
        let checksum = 0;
        const summer = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            checksum = crc32(chunk, checksum);
            done(null, chunk);
          },
        });
        try {
          await pipeline(await zip.openReadStreamPromise(entry), summer, createWriteStream(path));
        } catch (error) {
          throw corrupt(zipPath, `its entry "${entry.fileName}" cannot be read (${(error as Error).message.replace(/\.$/, '')}); the zip is damaged`, error);
        }
        if (checksum >>> 0 !== entry.crc32 >>> 0) throw corrupt(zipPath, `its entry "${entry.fileName}" fails its CRC-32 check; the zip is damaged`);
      };
      handle().then(
        () => zip.readEntry(),
        (error: unknown) => {
          zip.close();
          reject(error instanceof TasklaneError ? error : corrupt(zipPath, (error as Error).message, error));
        },
      );
    });
    zip.readEntry();
  });
}

/** Whether the session was recorded on Windows (`C:\...`, `\\server\share`): its paths may use either separator. */
function isWindowsPath(path: string): boolean {
  return /^[a-zA-Z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

/**
 * The file under `files/` a recorded URI names, when it is one of the session's (else undefined). The URI holds the
 * absolute path the session had where it was recorded; the session may have been moved or copied since, to another
 * machine even (recorded on Windows, where debug samples are written with backslashes and artifacts with slashes).
 */
function sessionFileOf(uri: string, manifest: SessionManifest, dir: string): string | undefined {
  const isWindows = isWindowsPath(manifest.filesDir);
  const slashed = (path: string) => (isWindows ? path.replaceAll('\\', '/') : path);
  const prefix = `${slashed(manifest.filesDir).replace(/[\\/]+$/, '')}/`;
  const recorded = slashed(uri);
  if (!recorded.startsWith(prefix)) return undefined;
  const root = join(dir, FILES_DIR);
  const path = resolve(root, ...recorded.slice(prefix.length).split('/'));
  return path.startsWith(`${root}${sep}`) ? path : undefined;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function endsWithNewline(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    await handle.close();
  }
}

/**
 * Reads every line of events.jsonl, calling `onLine` with each valid one; a cut-off last line (no newline, not valid
 * JSON) is tolerated only when the session was not closed (a crash). Answers the valid lines.
 */
export async function readEventLines(
  dir: string,
  sessionPath: string,
  isClosed: boolean,
  onLine: (line: SessionEventLine, lineNumber: number) => void | Promise<void>,
  maxLines = Number.POSITIVE_INFINITY,
): Promise<number> {
  const path = join(dir, EVENTS_FILE);
  if (!(await isFile(path))) return 0;
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  let valid = 0;
  let bad: { lineNumber: number; why: string } | undefined;
  for await (const text of lines) {
    lineNumber += 1;
    if (valid >= maxLines) break;
    if (bad) throw corrupt(sessionPath, `${EVENTS_FILE} line ${bad.lineNumber} is not a valid event (${bad.why}); the session is damaged`);
    if (text.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch (error) {
      bad = { lineNumber, why: (error as Error).message };
      continue;
    }
    const checked = SessionEventLineSchema.safeParse(parsed);
    if (!checked.success) {
      bad = { lineNumber, why: describeIssues(checked.error) };
      continue;
    }
    valid += 1;
    await onLine(checked.data, lineNumber);
  }
  if (bad) {
    const isCutOff = !isClosed && !(await endsWithNewline(path));
    if (!isCutOff) {
      const why = isClosed ? 'the session was closed, so no line may be cut off' : 'it is not the cut-off end of a crashed run';
      throw corrupt(sessionPath, `${EVENTS_FILE} line ${bad.lineNumber} is not a valid event (${bad.why}; ${why}); the session is damaged`);
    }
  }
  return valid;
}

/**
 * Opens an offline session (a zip or a folder) and checks the whole of it before anything is imported: the zip's
 * CRCs, the manifest, the task and model documents, every event line, and that every file they name is there.
 *
 * @internal
 */
export async function checkSession(path: string): Promise<CheckedSession> {
  const given = resolve(path);
  const info = await stat(given).catch(() => undefined);
  if (!info) throw new TasklaneError('FILE_NOT_FOUND', `Cannot import ${given}: there is no such file or folder. Give a session zip or folder (offline sessions are written under <stateDir>/offline).`, { path: given });
  let dir = given;
  let temp: string | undefined;
  const cleanup = async () => {
    if (temp) await rm(temp, { recursive: true, force: true });
  };
  try {
    if (info.isFile()) {
      temp = await mkdtemp(join(tmpdir(), 'tasklane-import-'));
      await extractChecked(given, temp);
      dir = temp;
    }
    const rawManifest = await readJsonFile(dir, MANIFEST_FILE, given);
    const format = (rawManifest as { format?: unknown } | undefined)?.format;
    const version = (rawManifest as { version?: unknown } | undefined)?.version;
    if (format !== SESSION_FORMAT) throw corrupt(given, `${MANIFEST_FILE} is not the manifest of a Tasklane offline session (format ${JSON.stringify(format)})`);
    if (typeof version === 'number' && version > SESSION_FORMAT_VERSION) {
      throw corrupt(given, `it was written by a newer Tasklane (session format ${version}; this one reads up to ${SESSION_FORMAT_VERSION}); upgrade Tasklane to import it`);
    }
    const manifestCheck = SessionManifestSchema.safeParse(rawManifest);
    if (!manifestCheck.success) throw corrupt(given, `${MANIFEST_FILE} is damaged (${describeIssues(manifestCheck.error)})`);
    const manifest = manifestCheck.data;

    const taskCheck = TaskSchema.safeParse(await readJsonFile(dir, TASK_FILE, given));
    if (!taskCheck.success) throw corrupt(given, `${TASK_FILE} is not a valid task (${describeIssues(taskCheck.error)})`);
    const task = taskCheck.data;
    if (task.id !== manifest.taskId) throw corrupt(given, `${TASK_FILE} holds task ${task.id}, but the manifest names task ${manifest.taskId}`);

    const rawModels = (await readJsonFile(dir, MODELS_FILE, given, true)) ?? [];
    const modelsCheck = z.array(ModelSchema).safeParse(rawModels);
    if (!modelsCheck.success) throw corrupt(given, `${MODELS_FILE} is not a valid model list (${describeIssues(modelsCheck.error)})`);

    const files = new Map<string, string>();
    const missing: string[] = [];
    const need = async (uri: string | undefined, what: string) => {
      if (!uri || files.has(uri)) return;
      const file = sessionFileOf(uri, manifest, dir);
      if (!file) return; // stored elsewhere (a linked URL): kept as it is
      if (await isFile(file)) files.set(uri, file);
      else missing.push(`${what} (${relative(join(dir, FILES_DIR), file)})`);
    };
    for (const artifact of task.execution.artifacts ?? []) await need(artifact.uri, `artifact "${artifact.key}"`);
    const notes: string[] = [];
    const models: ModelData[] = [];
    for (const model of modelsCheck.data) {
      const file = sessionFileOf(model.uri, manifest, dir);
      if (file && !(await isFile(file))) {
        // Registered, but the weights never arrived (the run ended during the upload): nothing to import.
        notes.push(`model "${model.name}" is left out: its weights were never stored (the upload did not finish)`);
        continue;
      }
      await need(model.uri, `model "${model.name}"`);
      models.push(model);
    }

    let eventCount = 0;
    const eventLines = await readEventLines(dir, given, manifest.isClosed, async (line) => {
      if (line.kind === 'scalars') {
        for (const series of line.body.series) eventCount += series.iter.length;
        return;
      }
      eventCount += 1;
      const url = line.event.url;
      if (typeof url === 'string') await need(url, `debug sample "${String(line.event.metric)}/${String(line.event.variant)}"`);
    });
    if (missing.length > 0) {
      throw corrupt(given, `files it records are missing from its ${FILES_DIR}/ folder: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
    }
    if (!isAbsolute(manifest.filesDir) && !win32.isAbsolute(manifest.filesDir)) throw corrupt(given, `${MANIFEST_FILE} names a relative files folder (${manifest.filesDir})`);
    return { dir, manifest, task, models, eventLines, eventCount, files, notes, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
