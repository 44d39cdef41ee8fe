#!/usr/bin/env node
// Benchmark of `cronsync exec` start-up (issue 5): the real command scheduler entries run,
// `node dist/cli/main.js exec [--scheduled] tenant/name`, running `true` with a check-in to a
// loopback server, against `node -e 0` (goal ≤ 1.3×), a bare Node script that only spawns
// `sh -c true` and POSTs once (the floor of any Node shim) and a Crontopus-style
// `sh -c 'true; curl …'`. Cases run interleaved; medians are compared within the same run.
// Usage: npm run build && node bench/exec.mjs [runs=30]
// BENCH_BEFORE=<another built checkout> adds its `dist/cli/main.js exec` cases, for before/after.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 30);
const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'dist', 'cli', 'main.js');
const bundle = join(root, 'dist', 'exec.cjs');
if (!existsSync(main) || !existsSync(bundle)) {
  console.error('bench/exec.mjs: dist/cli/main.js or dist/exec.cjs is missing; run npm run build first');
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'cronsync-bench-'));

let received = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/api/checkins`;

const stateDir = join(work, 'state');
mkdirSync(join(stateDir, 'jobs', 'bench'), { recursive: true });
const retry = { enabled: false, attempts: 3, backoff: 'fixed', delay: '10s', maxDelay: '5m' };
function install(name, timezone) {
  const job = {
    apiVersion: 'v1', kind: 'Job', metadata: { name, tenant: 'bench', labels: {}, annotations: {} },
    spec: { schedule: '* * * * *', timezone, command: 'true', args: [], env: {}, checkin: { enabled: true, secret: '${CHECKIN_SECRET}', timeout: 60 },
      retry, agent: { selector: {} }, enabled: true, paused: false, concurrency: 'Forbid' },
  };
  writeFileSync(join(stateDir, 'jobs', 'bench', `${name}.json`), JSON.stringify({
    schemaVersion: 1, job, provenance: { sourceId: 's', url: 'x', ref: 'main', commit: null, path: 'x.yaml', index: 0 }, manifestHash: 'h', appliedAt: new Date().toISOString(),
    runtime: { agentId: 'bench', checkin: { url, protocol: 'crontopus', start: false }, spool: { maxAgeDays: 7, maxCount: 100 } },
  }), { mode: 0o600 });
}
install('true', 'UTC');
install('berlin', 'Europe/Berlin');

const env = { PATH: process.env.PATH, CHECKIN_SECRET: 'bench-secret' };
const hasCurl = spawnSync('sh', ['-c', 'command -v curl'], { stdio: 'ignore' }).status === 0;
const node = process.execPath;
const HEADLINE = 'cronsync exec';
const GOAL = 1.3;
const cases = {
  'node -e 0': [node, ['-e', '0']],
  // The floor for any Node shim: spawn `sh -c true`, then one POST, nothing else.
  'floor: node spawn + POST only': [node, ['-e', `require('child_process').spawn('/bin/sh', ['-c', 'true'], { stdio: 'inherit' }).on('exit', () => require('http').request(${JSON.stringify(url)}, { method: 'POST' }, (r) => r.resume()).end('{}'))`]],
  [HEADLINE]: [node, [main, 'exec', '--state-dir', stateDir, 'bench/true']],
  'cronsync exec --scheduled (UTC)': [node, [main, 'exec', '--scheduled', '--state-dir', stateDir, 'bench/true']],
  'cronsync exec --scheduled (Europe/Berlin)': [node, [main, 'exec', '--scheduled', '--state-dir', stateDir, 'bench/berlin']],
  // The bundle without the ESM entry: what dist/cli/main.js adds on top.
  'node dist/exec.cjs (no ESM entry)': [node, ['-e', `require(${JSON.stringify(bundle)}).execCommand(process.argv.slice(1), process.env, process).then((c) => { process.exitCode = c; })`, '--', '--state-dir', stateDir, 'bench/true']],
  ...(process.env.BENCH_BEFORE ? {
    'before: cronsync exec': [node, [join(process.env.BENCH_BEFORE, 'dist', 'cli', 'main.js'), 'exec', '--state-dir', stateDir, 'bench/true']],
    'before: --scheduled (UTC)': [node, [join(process.env.BENCH_BEFORE, 'dist', 'cli', 'main.js'), 'exec', '--scheduled', '--state-dir', stateDir, 'bench/true']],
    'before: --scheduled (Europe/Berlin)': [node, [join(process.env.BENCH_BEFORE, 'dist', 'cli', 'main.js'), 'exec', '--scheduled', '--state-dir', stateDir, 'bench/berlin']],
  } : {}),
  ...(hasCurl ? { "sh -c 'true; curl …'": ['sh', ['-c', `true; curl -fsS -m 10 -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $CHECKIN_SECRET" -d '{"job_name":"true","status":"success"}' ${url} >/dev/null`]] } : {}),
};

function time(file, args) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const c = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t) / 1e6) : reject(new Error(`${file} ${args.join(' ')} exited ${code}`))));
  });
}

// A scheduled run claims its minute (runs once per scheduled instant); every run here is a new
// scheduled start of the job, so the claim is cleared before it (outside the timed part).
const unclaim = (job) => rmSync(join(stateDir, 'runs', 'bench', job, 'fired'), { recursive: true, force: true });
const prepare = (args) => {
  if (args.includes('--scheduled')) unclaim(args[args.length - 1].split('/')[1]);
};
const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (const [file, args] of Object.values(cases)) {
  prepare(args);
  await time(file, args); // warm-up
}
const before = received;
for (let i = 0; i < runs; i++) {
  for (const [name, [file, args]] of Object.entries(cases)) {
    prepare(args);
    samples[name].push(await time(file, args));
  }
}
server.close();
if (process.env.BENCH_KEEP) console.log(`state in ${work}`);
else rmSync(work, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(samples['node -e 0']);
const perRun = Object.keys(cases).length - 1; // every case but `node -e 0` checks in once
console.log(`runs: ${runs} each, interleaved; check-ins received: ${received - before} (expected ${runs * perRun})`);
for (const [name, xs] of Object.entries(samples)) {
  const ratio = median(xs) / base;
  const verdict = name === HEADLINE ? (ratio <= GOAL ? `  (goal ≤ ${GOAL}: ok)` : `  (goal ≤ ${GOAL}: OVER)`) : '';
  console.log(`${name.padEnd(42)} median ${median(xs).toFixed(1).padStart(6)} ms   ratio ${ratio.toFixed(2)}x${verdict}`);
}
