#!/usr/bin/env node
// What authentication costs a request (issue 14).
//
//   node bench/auth-overhead.mjs [--requests 3000] [--rounds 5] [--concurrency 4]
//
// Method: one Tasklane server in this process (a new data dir) with auth on and one key pair, and a second one on its
// own data dir with auth off. Each round sends --requests `POST /tasks.get_by_id` for one task, --concurrency at a
// time on keep-alive connections, in four ways, in turn: to the auth-off server (the baseline), and to the auth-on one
// with a Bearer token, with the key pair as HTTP Basic (verified once, then remembered by the digest of its secret),
// and with a session cookie. It prints the median requests/s of each way over the rounds and its ratio to the
// baseline, and the time of a first key-pair check (one scrypt hash) and of a web sign-in; then a JSON line.
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { addUser, createCredentials, loadServerConfig, openSqliteStore, startServer } from '@tasklane/server';

const { values: options } = parseArgs({
  options: { requests: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '4' } },
});
const REQUESTS = Number(options.requests);
const ROUNDS = Number(options.rounds);
const CONCURRENCY = Number(options.concurrency);

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function post(url, path, headers, body) {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request(new URL(path, url), { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

async function run(url, headers, task) {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS) {
        next += 1;
        const reply = await post(url, '/tasks.get_by_id', headers, { task });
        if (reply.status !== 200) throw new Error(`status ${reply.status}: ${JSON.stringify(reply.json.meta)}`);
      }
    }),
  );
  return REQUESTS / ((performance.now() - started) / 1000);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const dir = await mkdtemp(join(tmpdir(), 'tasklane-bench-auth-'));
try {
  const store = openSqliteStore(join(dir, 'on', 'tasklane.sqlite'));
  await addUser(store, { name: 'bench', role: 'user', password: 'bench-password' });
  const keys = await createCredentials(store, { name: 'bench' });
  await store.close();
  const on = await startServer(loadServerConfig({}, { port: 0, dataDir: join(dir, 'on'), logLevel: 'silent', auth: 'on' }));
  const off = await startServer(loadServerConfig({}, { port: 0, dataDir: join(dir, 'off'), logLevel: 'silent' }));
  const basic = { authorization: `Basic ${Buffer.from(`${keys.access_key}:${keys.secret_key}`).toString('base64')}` };

  let t = performance.now();
  const login = await post(on.url, '/auth.login', basic, {});
  const firstKeyCheckMs = performance.now() - t;
  const bearer = { authorization: `Bearer ${login.json.data.token}` };
  t = performance.now();
  const signIn = await post(on.url, '/auth.sign_in', {}, { name: 'bench', password: 'bench-password' });
  const signInMs = performance.now() - t;
  const cookie = { cookie: String(signIn.headers['set-cookie']).split(';')[0] };
  const taskOn = (await post(on.url, '/tasks.create', bearer, { name: 'bench', type: 'training' })).json.data.id;
  const taskOff = (await post(off.url, '/tasks.create', {}, { name: 'bench', type: 'training' })).json.data.id;

  const ways = { 'auth off (baseline)': [off.url, {}, taskOff], 'Bearer token': [on.url, bearer, taskOn], 'HTTP Basic key pair': [on.url, basic, taskOn], 'session cookie': [on.url, cookie, taskOn] };
  const rates = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
  for (const [, [url, headers, task]] of Object.entries(ways)) await run(url, headers, task); // warm-up
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [name, [url, headers, task]] of Object.entries(ways)) rates[name].push(await run(url, headers, task));
  }
  const baseline = median(rates['auth off (baseline)']);
  console.log(`${cpus().length} cores, node ${process.version}; ${REQUESTS} tasks.get_by_id per way and round, ${CONCURRENCY} at a time, ${ROUNDS} rounds`);
  console.log('way                    median req/s   ratio to auth off');
  const result = {};
  for (const name of Object.keys(ways)) {
    const rate = median(rates[name]);
    result[name] = { rps: Math.round(rate), ratio: Number((rate / baseline).toFixed(3)) };
    console.log(`${name.padEnd(22)} ${String(Math.round(rate)).padStart(12)}   ${(rate / baseline).toFixed(3)}`);
  }
  console.log(`first key-pair check (auth.login, one scrypt hash): ${firstKeyCheckMs.toFixed(1)} ms; web sign-in: ${signInMs.toFixed(1)} ms`);
  console.log(JSON.stringify({ ...result, firstKeyCheckMs: Math.round(firstKeyCheckMs), signInMs: Math.round(signInMs) }));
  await on.close();
  await off.close();
} finally {
  agent.destroy();
  await rm(dir, { recursive: true, force: true });
}
