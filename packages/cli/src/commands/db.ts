import { dirname } from 'node:path';
import type { Command } from 'commander';
import { TasklaneError } from '@tasklane/protocol';
import { copySqliteToPostgres, redactDatabaseUrl, type CopyProgress, type CopyReport } from '@tasklane/server';
import { printJson } from '../api-options.js';
import { formatTable } from '../format-table.js';
import { formatCount, formatDuration, progressLine } from '../progress-line.js';

interface MigrateSqliteOptions {
  from: string;
  to: string;
  batchRows?: string;
  json?: boolean;
}

/** A terminal gets its bar redrawn at most this often. */
const REDRAW_MS = 100;

/**
 * Progress on stderr: a bar redrawn in place on a terminal (one finished line per table stays), else one line per
 * table once it is done (logs and CI keep every line).
 */
function progressReporter(stream: NodeJS.WriteStream): { onProgress: (progress: CopyProgress) => void; end: () => void } {
  const isTty = stream.isTTY === true;
  let lastDrawMs = 0;
  let isLineOpen = false;
  let drawnTable: string | undefined;
  return {
    onProgress: ({ table, rowsDone, rowsTotal }) => {
      const isDone = rowsDone >= rowsTotal;
      if (!isTty) {
        if (isDone) stream.write(`migrate-sqlite: ${table}: ${formatCount(rowsDone)} ${rowsDone === 1 ? 'row' : 'rows'} copied\n`);
        return;
      }
      // A table's first and last states are always drawn; those between, at most every REDRAW_MS.
      const now = performance.now();
      if (!isDone && table === drawnTable && now - lastDrawMs < REDRAW_MS) return;
      lastDrawMs = now;
      drawnTable = table;
      stream.write(`\r${progressLine(table, rowsDone, rowsTotal, Math.max(20, (stream.columns || 80) - 1))}\x1b[K${isDone ? '\n' : ''}`);
      isLineOpen = !isDone;
    },
    end: () => {
      if (isLineOpen) stream.write('\n');
      isLineOpen = false;
    },
  };
}

function printSummary(report: CopyReport): void {
  const rows = report.tables.map((t) => [t.table, formatCount(t.source), formatCount(t.copied)]);
  const total = report.tables.reduce((sum, t) => sum + t.copied, 0);
  const lines = [
    formatTable(['table', 'SQLite', 'PostgreSQL'], rows),
    '',
    `Copied ${formatCount(total)} rows of ${report.tables.length} tables from ${report.source} to ${report.target} in ` +
      `${formatDuration(report.durationMs)} (schema version ${report.schemaVersion}); the counts match.`,
  ];
  if (report.replacedCount > 0) {
    lines.push(
      '',
      `${formatCount(report.replacedCount)} ${report.replacedCount === 1 ? 'value held' : 'values held'} U+0000 (NUL) or a lone surrogate, which ` +
        'PostgreSQL cannot store; copied with U+FFFD in their place:',
      ...report.replaced.map((value) => `  ${value.table} ${value.row}: ${value.column}`),
    );
    if (report.replacedCount > report.replaced.length) lines.push(`  … and ${formatCount(report.replacedCount - report.replaced.length)} more`);
  }
  lines.push(
    '',
    'Files stay where they are. Start the server on the copy with the same data dir (its files/ folder, or the same',
    '--files-url the SQLite server had), with your password in place of ***:',
    `  tasklane server --db-url '${report.target}' --data-dir ${dirname(report.source)}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The password of a URL as it may appear in an error from below, to be hidden. */
function passwordOf(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password.length >= 3 ? password : undefined;
  } catch {
    return undefined;
  }
}

/** `tasklane db ...`: the server's database itself. */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description("Work on the server's database itself (copy an embedded installation into PostgreSQL)");

  db.command('migrate-sqlite')
    .summary('Copy an embedded (SQLite) installation into an empty PostgreSQL database')
    .description(
      'Copy the SQLite database of an embedded installation into an empty PostgreSQL database: projects, tasks, ' +
        'models, queues and their entries, workers, users, key pairs and sessions, and every event (scalars, console ' +
        'lines, plots, debug samples), row for row with their ids. Files (artifacts, models, debug samples) are not ' +
        'copied: they stay where they are, and the copied rows point at them as before. The SQLite file is only read. ' +
        "The target's schema is created (or brought up to date); a target that holds any row is refused. Everything " +
        'goes in one transaction, so a failed copy leaves the target without rows; at the end every table is counted ' +
        'on both sides, and any difference rolls the copy back.',
    )
    .requiredOption('--from <data-dir>', 'the data dir of the embedded installation (its tasklane.sqlite), or sqlite:///path/file.sqlite')
    .requiredOption('--to <url>', 'the empty PostgreSQL database: postgres://user:password@host:5432/database (libpq options like ?sslmode=require pass through)')
    .option('--batch-rows <n>', 'rows per INSERT (default 5000)')
    .option('--json', 'print the result (counts per table, replaced values, time taken) as JSON')
    .addHelpText(
      'after',
      `
Stop the server first. The copy reads one consistent snapshot of the SQLite file, but what a running server writes
after it would be missing from PostgreSQL: if the file changes during the copy, the copy is rolled back.

The source must have this version's schema: an older one is refused with the command that brings it up to date
(start this version's server on it once). PostgreSQL cannot store U+0000 (NUL) in text, nor lone surrogates in JSON;
such values (only servers before the request checks stored them) are copied with U+FFFD in their place and listed.

Progress goes to stderr (a bar on a terminal, a line per table otherwise), the counts per table to stdout.
Exit code 0 copied and checked, 1 failed (the target holds no rows), 2 bad usage, a refused source or target.

Example (the server stopped first: Ctrl-C, or systemctl stop tasklane):
  createdb -O tasklane tasklane
  tasklane db migrate-sqlite --from /srv/tasklane --to postgres://tasklane:secret@db.internal:5432/tasklane
  tasklane server --data-dir /srv/tasklane --db-url postgres://tasklane:secret@db.internal:5432/tasklane
`,
    )
    .action(async (options: MigrateSqliteOptions) => {
      const shown = redactDatabaseUrl(options.to);
      if (!/^postgres(ql)?:\/\//.test(options.to)) {
        throw new TasklaneError('INVALID_INPUT', `--to: expected postgres://user:password@host:5432/database, got ${JSON.stringify(shown)}.`);
      }
      const batchRows = options.batchRows === undefined ? undefined : Number(options.batchRows);
      if (batchRows !== undefined && (!Number.isInteger(batchRows) || batchRows < 1 || batchRows > 100_000)) {
        throw new TasklaneError('INVALID_INPUT', `--batch-rows: expected a whole number from 1 to 100000, got ${JSON.stringify(options.batchRows)}.`);
      }
      const progress = progressReporter(process.stderr);
      if (!options.json) process.stderr.write(`migrate-sqlite: copying ${options.from} into ${shown}\n`);
      let report: CopyReport;
      try {
        report = await copySqliteToPostgres(options.from, options.to, {
          onProgress: progress.onProgress,
          ...(batchRows === undefined ? {} : { batchRows }),
        });
      } catch (error) {
        progress.end();
        throw hidePassword(error, options.to, shown);
      }
      progress.end();
      if (options.json) return printJson(report);
      printSummary(report);
    });
}

/**
 * The error as the CLI shows it, the password hidden should any layer below have quoted it. The copy's own errors
 * name the source or the target; anything else (the connection lost midway) is said to be about the target.
 */
function hidePassword(error: unknown, url: string, shown: string): Error {
  const password = passwordOf(url);
  const hide = (text: string) => (password ? text.replaceAll(password, '***') : text);
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof TasklaneError) return new TasklaneError(error.code, hide(message), error.details, { cause: error });
  return new TasklaneError('INTERNAL', `Copy into ${shown} failed, nothing of it kept: ${hide(message)}`, { url: shown }, { cause: error });
}
