#!/usr/bin/env node
// Where the time of PostgreSQL's scalar ingest goes, statement by statement: the insert of one batch's points into
// scalar_events as postgres-event-rows.ts writes it, and variants of it, on one connection of a durable throwaway
// cluster (bench/postgres-support.mjs), interleaved, each timed by EXPLAIN (ANALYZE, BUFFERS, WAL) in the server.
//
//   node bench/postgres-scalar-insert.mjs [--batches 100] [--batch 5000] [--series 10]
//
// The table has the server's schema (migration 1: PRIMARY KEY (series, iter)); every variant appends the same kind
// of batches (--series series of --batch / --series points, grouped by series as writePoints binds them) to a table
// of its own, so each grows the same way. Variants:
// - upsert, serializable (today): INSERT ... SELECT * FROM unnest($1::bigint[], ...) ON CONFLICT (series, iter) DO UPDATE
// - upsert, read committed: the same statement in a READ COMMITTED transaction (what SERIALIZABLE costs)
// - plain insert, serializable: no ON CONFLICT (what the speculative insertion of an upsert costs)
// - upsert from text arrays: the same upsert, the four arrays bound as array literals built with join(',') instead of
//   pg's array serialization (changes the client's work, not the server's)
// The COMMIT after each is timed too (the WAL flush: fsync and synchronous_commit are on). Also timed in this process: binding one batch's four arrays (pg's prepareValue vs join). Prints medians, and the
// WAL records per row.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pgUtils from 'pg/lib/utils.js';
import { median, printTable, round } from './events-support.mjs';
import { benchPostgres } from './postgres-support.mjs';

const { values: options } = parseArgs({
  options: { batches: { type: 'string', default: '100' }, batch: { type: 'string', default: '5000' }, series: { type: 'string', default: '10' } },
});
const batches = Number(options.batches);
const batchSize = Number(options.batch);
const seriesCount = Number(options.series);
if (![batches, batchSize, seriesCount].every((n) => Number.isInteger(n) && n > 0) || batchSize % seriesCount !== 0) {
  console.error('Usage: node bench/postgres-scalar-insert.mjs [--batches N] [--batch N] [--series N], --batch a multiple of --series');
  process.exit(2);
}

const perSeries = batchSize / seriesCount;
/** Batch b's columns, grouped by series as writePoints concatenates its slices. */
function batchColumns(b) {
  const ids = [];
  const iters = [];
  const values = [];
  const timestamps = [];
  for (let s = 0; s < seriesCount; s += 1) {
    for (let i = 0; i < perSeries; i += 1) {
      const iter = b * perSeries + i;
      ids.push(s + 1);
      iters.push(iter);
      values.push(Math.exp(-iter / 50_000) * (s + 1) + Math.sin(iter * 7 + s) * 0.01);
      timestamps.push(1_700_000_000_000 + iter * 10);
    }
  }
  return [ids, iters, values, timestamps];
}
const asLiteral = (column) => `{${column.join(',')}}`;

const UPSERT = (table) => `INSERT INTO ${table} (series, iter, value, timestamp)
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::bigint[])
  ON CONFLICT (series, iter) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp`;
const PLAIN = (table) => `INSERT INTO ${table} (series, iter, value, timestamp)
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::bigint[])`;
const VARIANTS = [
  { name: 'upsert, serializable (today)', table: 'v_upsert', text: UPSERT, isolation: 'serializable' },
  { name: 'upsert, read committed', table: 'v_upsert_rc', text: UPSERT, isolation: 'read committed' },
  { name: 'plain insert, serializable', table: 'v_plain', text: PLAIN, isolation: 'serializable' },
  { name: 'upsert from text arrays, serializable', table: 'v_upsert_text', text: UPSERT, isolation: 'serializable', literal: true },
];

const postgres = await benchPostgres();
const url = await postgres.newDatabase();
const client = new pg.Client({ connectionString: url });
await client.connect();
try {
  for (const v of VARIANTS) {
    await client.query(`CREATE TABLE ${v.table} (series bigint NOT NULL, iter bigint NOT NULL, value double precision NOT NULL,
      timestamp bigint NOT NULL, PRIMARY KEY (series, iter))`);
    v.execMs = [];
    v.scanMs = [];
    v.roundTripMs = [];
    v.commitMs = [];
    v.walRecords = 0;
  }
  const bindMs = { pg: [], join: [] };
  for (let b = 0; b < batches; b += 1) {
    const columns = batchColumns(b);
    let t = performance.now();
    columns.map((c) => pgUtils.prepareValue(c));
    bindMs.pg.push(performance.now() - t);
    t = performance.now();
    columns.map(asLiteral);
    bindMs.join.push(performance.now() - t);
    const order = b % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const v of order) {
      const params = v.literal ? columns.map(asLiteral) : columns;
      await client.query(`BEGIN ISOLATION LEVEL ${v.isolation}`);
      const started = performance.now();
      const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) ${v.text(v.table)}`, params);
      v.roundTripMs.push(performance.now() - started);
      const committing = performance.now();
      await client.query('COMMIT');
      v.commitMs.push(performance.now() - committing);
      const plan = rows[0]['QUERY PLAN'][0];
      v.execMs.push(plan['Execution Time']);
      const scan = plan.Plan.Plans?.[0];
      if (scan) v.scanMs.push(scan['Actual Total Time']);
      v.walRecords += plan.Plan['WAL Records'] ?? 0;
    }
  }
  const rowsTotal = batches * batchSize;
  console.log(`${batches} batches of ${batchSize} points (${seriesCount} series), PostgreSQL ${postgres.version}, ` +
    Object.entries(postgres.settings).map(([k, v]) => `${k}=${v}`).join(' '));
  printTable([
    ['variant', 'statement ms (median)', 'of which unnest', 'µs per row', 'round trip ms', 'COMMIT ms', 'WAL records per row'],
    ...VARIANTS.map((v) => [v.name, round(median(v.execMs), 2), round(median(v.scanMs), 2), round((median(v.execMs) * 1000) / batchSize, 2),
      round(median(v.roundTripMs), 2), round(median(v.commitMs), 2), round(v.walRecords / rowsTotal, 2)]),
  ]);
  console.log(`binding one batch's four arrays in the client: pg's prepareValue ${round(median(bindMs.pg), 2)} ms, join ${round(median(bindMs.join), 2)} ms`);
  console.log(JSON.stringify({
    bench: 'postgres-scalar-insert',
    batches,
    batchSize,
    variants: VARIANTS.map((v) => ({ name: v.name, execMs: round(median(v.execMs), 2), unnestMs: round(median(v.scanMs), 2), roundTripMs: round(median(v.roundTripMs), 2), commitMs: round(median(v.commitMs), 2), walRecordsPerRow: round(v.walRecords / rowsTotal, 2) })),
    bindMs: { pg: round(median(bindMs.pg), 2), join: round(median(bindMs.join), 2) },
  }));
} finally {
  await client.end();
  await postgres.stop();
}
