#!/usr/bin/env node
// Benchmark of `cronsync exec` (issue 5): `exec` of `true` with a check-in to a loopback server,
// against `node -e 0` and a Crontopus-style `sh -c 'true; curl …'`, run interleaved.
// Usage: node bench/exec.mjs [runs=30]. Bundles src/shim with esbuild into a temp dir first.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const runs = Number(process.argv[2] ?? 30);
const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'cronsync-bench-'));
const bundle = join(work, 'exec.mjs');
const bundleCjs = join(work, 'exec.cjs');
const common = { bundle: true, minify: true, platform: 'node', target: 'node20', logLevel: 'error' };
buildSync({
  ...common, format: 'esm', outfile: bundle,
  stdin: { contents: "import { runExecCli } from './src/shim/run.ts';\nprocess.exitCode = await runExecCli(process.argv.slice(2));\n", resolveDir: root, loader: 'ts' },
});
// CommonJS skips the ESM loader (~5 ms of start-up on Node 20).
buildSync({
  ...common, format: 'cjs', outfile: bundleCjs,
  stdin: { contents: "import { runExecCli } from './src/shim/run.ts';\nvoid runExecCli(process.argv.slice(2)).then((c) => { process.exitCode = c; });\n", resolveDir: root, loader: 'ts' },
});
if (process.env.BENCH_KEEP) console.log(`bundles and state in ${work}`);

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
const job = {
  apiVersion: 'v1', kind: 'Job', metadata: { name: 'true', tenant: 'bench', labels: {}, annotations: {} },
  spec: { schedule: '* * * * *', timezone: 'UTC', command: 'true', args: [], env: {}, checkin: { enabled: true, secret: '${CHECKIN_SECRET}', timeout: 60 },
    retry, agent: { selector: {} }, enabled: true, paused: false, concurrency: 'Forbid' },
};
writeFileSync(join(stateDir, 'jobs', 'bench', 'true.json'), JSON.stringify({
  schemaVersion: 1, job, provenance: { sourceId: 's', url: 'x', ref: 'main', commit: null, path: 'x.yaml', index: 0 }, manifestHash: 'h', appliedAt: new Date().toISOString(),
  runtime: { agentId: 'bench', checkin: { url, protocol: 'crontopus', start: false }, spool: { maxAgeDays: 7, maxCount: 100 } },
}), { mode: 0o600 });

const env = { PATH: process.env.PATH, CHECKIN_SECRET: 'bench-secret' };
const hasCurl = spawnSync('sh', ['-c', 'command -v curl'], { stdio: 'ignore' }).status === 0;
const cases = {
  'node -e 0': [process.execPath, ['-e', '0']],
  // The floor for any Node shim: spawn `sh -c true`, then one POST, nothing else.
  'floor: node spawn + POST only': [process.execPath, ['-e', `require('child_process').spawn('/bin/sh', ['-c', 'true'], { stdio: 'inherit' }).on('exit', () => require('http').request(${JSON.stringify(url)}, { method: 'POST' }, (r) => r.resume()).end('{}'))`]],
  'cronsync exec (ESM bundle)': [process.execPath, [bundle, '--state-dir', stateDir, 'bench/true']],
  'cronsync exec (CJS bundle)': [process.execPath, [bundleCjs, '--state-dir', stateDir, 'bench/true']],
  'cronsync exec --scheduled (CJS bundle)': [process.execPath, [bundleCjs, '--scheduled', '--state-dir', stateDir, 'bench/true']],
  ...(hasCurl ? { "sh -c 'true; curl …'": ['sh', ['-c', `true; curl -fsS -m 10 -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $CHECKIN_SECRET" -d '{"job_name":"true","status":"success"}' ${url} >/dev/null`]] } : {}),
};

function time(file, args) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const c = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t) / 1e6) : reject(new Error(`${file} exited ${code}`))));
  });
}

const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (const [file, args] of Object.values(cases)) await time(file, args); // warm-up
for (let i = 0; i < runs; i++) for (const [name, [file, args]] of Object.entries(cases)) samples[name].push(await time(file, args));
server.close();
if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(samples['node -e 0']);
console.log(`runs: ${runs} each, interleaved; check-ins received: ${received}`);
for (const [name, xs] of Object.entries(samples)) {
  console.log(`${name.padEnd(36)} median ${median(xs).toFixed(1).padStart(6)} ms   ratio ${(median(xs) / base).toFixed(2)}x`);
}
