// Start-up of `cronsync exec` (issue #16 item 4): the real command scheduler entries run,
// execCommand() of dist/cli/agent.js (`node dist/cli/launch.cjs`) then `exec [--scheduled]
// tenant/name`, running `true` with a check-in to a loopback server, against `node -e 0` and against the floor of any Node shim, a bare script
// that only spawns `sh -c true` and POSTs once. Goal: exec ≤ 1.15× the floor. Cases run
// interleaved and ratios compare medians of the same run, never fixed wall-clock numbers.
// Informational rows tell where the gap goes: the launcher and bundle alone (`exec --help`)
// against `node -e 0`; a bare script doing the file and pipe work of a run (snapshot, lock,
// piped job, spool entry, last-run record) against the floor; the floor after loading exec's
// code as the launcher does (bundle, code cache, top level) against the floor, and exec against
// that: what the code costs to load, and what exec's own run adds to it; and the floor after a
// minimal bundle loaded the same way: what the launcher's way of loading costs before the size
// of exec's code.
//
//   npm run build && node bench/run.mjs exec         (with the other benches' runner)
//   npm run build && node bench/exec.bench.mjs [runs=30]   (standalone: prints the rows)
//
// BENCH_EXEC_RUNS sets the runs under run.mjs. BENCH_BEFORE=<another built checkout> adds its
// `dist/cli/main.js exec` cases, for before/after. BENCH_KEEP=1 keeps the state dir.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const GOAL = 1.15;

/** Writes the snapshot of job `bench/<name>` as `cronsync sync` leaves it. */
function install(stateDir, name, timezone, url) {
  const job = {
    apiVersion: 'v1', kind: 'Job', metadata: { name, tenant: 'bench', labels: {}, annotations: {} },
    spec: {
      schedule: '* * * * *', timezone, command: 'true', args: [], env: {}, checkin: { enabled: true, secret: '${CHECKIN_SECRET}', timeout: 60 },
      retry: { enabled: false, attempts: 3, backoff: 'fixed', delay: '10s', maxDelay: '5m' }, agent: { selector: {} }, enabled: true, paused: false, concurrency: 'Forbid',
    },
  };
  writeFileSync(join(stateDir, 'jobs', 'bench', `${name}.json`), JSON.stringify({
    schemaVersion: 1, job, provenance: { sourceId: 's', url: 'x', ref: 'main', commit: null, path: 'x.yaml', index: 0 }, manifestHash: 'h', appliedAt: new Date().toISOString(),
    runtime: { agentId: 'bench', checkin: { url, protocol: 'crontopus', start: false }, spool: { maxAgeDays: 7, maxCount: 100 } },
  }), { mode: 0o600 });
}

/**
 * A bare Node script (for `node -e`) that does the file and process work every `cronsync exec`
 * run must do, the way exec does it, with nothing else: the floor's spawn and POST plus the job's
 * snapshot read and parsed, a run lock linked into place from a temp file and removed after, the
 * job (`spec.command`) through `/bin/sh -c` in its own session with stdout and stderr piped, a
 * spool entry written (temp file, rename) before the POST and removed after its answer, and the
 * last-run record written (temp file, rename) while the POST is on its way.
 */
function bareExecScript(stateDir, url) {
  return `const fs = require('fs'), cp = require('child_process'), http = require('http'), { join } = require('path');
const S = ${JSON.stringify(stateDir)}, tag = 'bare-' + process.pid;
const snap = JSON.parse(fs.readFileSync(join(S, 'jobs', 'bench', 'true.json'), 'utf8'));
const atomic = (file, text, mode) => { const tmp = file + '.' + tag + '.tmp'; fs.writeFileSync(tmp, text, { flag: 'wx', mode }); fs.renameSync(tmp, file); };
fs.mkdirSync(join(S, 'locks', 'bench'), { recursive: true });
const lock = join(S, 'locks', 'bench', 'bare.lock'), lockTmp = lock + '.' + tag + '.new';
fs.writeFileSync(lockTmp, JSON.stringify({ pid: process.pid }), { flag: 'wx', mode: 0o600 });
fs.linkSync(lockTmp, lock);
fs.unlinkSync(lockTmp);
const started = new Date().toISOString();
const child = cp.spawn('/bin/sh', ['-c', snap.job.spec.command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CRONSYNC_JOB: 'bench/bare' } });
let output = '';
child.stdout.on('data', (c) => (output += c));
child.stderr.on('data', (c) => (output += c));
child.on('close', (code) => {
  fs.unlinkSync(lock);
  const payload = JSON.stringify({ job_name: 'bare', tenant: 'bench', status: code === 0 ? 'success' : 'failure', started_at: started, finished_at: new Date().toISOString(), exit_code: code, output });
  const spool = join(S, 'spool', Date.now() + '-' + tag + '.json');
  fs.mkdirSync(join(S, 'spool'), { recursive: true });
  atomic(spool, JSON.stringify({ url: snap.runtime.checkin.url, payload }), 0o600);
  const req = http.request(${JSON.stringify(url)}, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.CHECKIN_SECRET } }, (res) => {
    res.resume();
    res.on('end', () => { fs.unlinkSync(spool); process.exit(code); });
  });
  req.end(payload);
  fs.mkdirSync(join(S, 'runs', 'bench'), { recursive: true });
  atomic(join(S, 'runs', 'bench', 'bare.json'), JSON.stringify({ startedAt: started, exitCode: code }), 0o644);
});`;
}

/**
 * A script (for `node -e`) that loads exec's bundle as dist/cli/launch.cjs does: compiled with
 * its V8 code cache when the cache is the bundle's, its top level run; exec itself is not run.
 */
function loadBundleScript(bundle) {
  return `const { compileExecBundle, readCodeCache } = require(${JSON.stringify(join(root, 'dist', 'cli', 'launch.cjs'))});
const B = ${JSON.stringify(bundle)}, source = require('fs').readFileSync(B, 'utf8');
const m = { exports: {} };
if (compileExecBundle(m, B, source, readCodeCache(B, source)).cachedDataRejected !== false) throw new Error('the code cache was not used');
if (typeof m.exports.execCommand !== 'function') throw new Error('the bundle did not load');`;
}

/**
 * Writes `<dir>/exec.cjs`, a bundle of the launcher's format that only loads node:child_process
 * and exports an empty execCommand, with its V8 code cache beside it as the build makes one: what
 * the launcher's way of loading costs (launch.cjs, node:vm, reading and checking the cache)
 * before the size of exec's own code. Returns its path.
 */
async function writeMinimalBundle(dir) {
  const { BUNDLE_BUILD_MARK, BUNDLE_HEAD, BUNDLE_TAIL, cacheHeader } = await import(pathToFileURL(join(root, 'dist', 'cli', 'launch.cjs')).href);
  const { Script } = await import('node:vm');
  const file = join(dir, 'exec.cjs');
  const source = `${BUNDLE_HEAD}var import_cp = require("node:child_process");\nmodule.exports = { execCommand: async () => 0 };${BUNDLE_TAIL}${BUNDLE_BUILD_MARK}minimal\n`;
  writeFileSync(file, source);
  const script = new Script(source, { filename: file });
  script.runInThisContext(); // the wrapper only: the bundle's body runs in the timed processes
  writeFileSync(`${file}.cache`, Buffer.concat([Buffer.from(cacheHeader(source), 'latin1'), script.createCachedData()]));
  return file;
}

/** Wall time of one run in ms; rejects on a non-zero exit. */
function time(file, args, env) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const c = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t) / 1e6) : reject(new Error(`${file} ${args.join(' ')} exited ${code}`))));
  });
}

/** The `q` quantile of `xs` (nearest rank). */
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const median = (xs) => quantile(xs, 0.5);

/** Runs every case `runs` times, interleaved; returns the rows (see bench/run.mjs). */
export default async function execBench(runs = Number(process.env.BENCH_EXEC_RUNS ?? 30)) {
  const main = join(root, 'dist', 'cli', 'main.js');
  const bundle = join(root, 'dist', 'exec.cjs');
  if (!existsSync(main) || !existsSync(bundle)) throw new Error('dist/cli/main.js or dist/exec.cjs is missing: run npm run build');
  // Exactly what scheduler entries run, program and leading arguments.
  const { execCommand } = await import(pathToFileURL(join(root, 'dist', 'cli', 'agent.js')).href);
  const entry = execCommand();
  const work = mkdtempSync(join(tmpdir(), 'cronsync-bench-exec-'));
  let received = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  try {
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${server.address().port}/api/checkins`;
    const stateDir = join(work, 'state');
    mkdirSync(join(stateDir, 'jobs', 'bench'), { recursive: true });
    install(stateDir, 'true', 'UTC', url);
    install(stateDir, 'berlin', 'Europe/Berlin', url);

    const env = { PATH: process.env.PATH, CHECKIN_SECRET: 'bench-secret' };
    const node = process.execPath;
    const before = process.env.BENCH_BEFORE ? join(process.env.BENCH_BEFORE, 'dist', 'cli', 'main.js') : undefined;
    const hasCurl = spawnSync('sh', ['-c', 'command -v curl'], { stdio: 'ignore' }).status === 0;
    // The floor of any Node shim: spawn `sh -c true`, then one POST, nothing else.
    const floorJs = `require('child_process').spawn('/bin/sh', ['-c', 'true'], { stdio: 'inherit' }).on('exit', () => require('http').request(${JSON.stringify(url)}, { method: 'POST' }, (r) => r.resume()).end('{}'))`;
    const cases = {
      'node -e 0': [node, ['-e', '0']],
      floor: [node, ['-e', floorJs]],
      exec: [entry.file, [...entry.args, 'exec', '--state-dir', stateDir, 'bench/true']],
      'exec --scheduled (UTC)': [entry.file, [...entry.args, 'exec', '--scheduled', '--state-dir', stateDir, 'bench/true']],
      'exec --scheduled (Europe/Berlin)': [entry.file, [...entry.args, 'exec', '--scheduled', '--state-dir', stateDir, 'bench/berlin']],
      // Entries installed before the launcher: the ES module entry, then the same bundle and cache.
      'main.js exec --scheduled (Europe/Berlin)': [node, [main, 'exec', '--scheduled', '--state-dir', stateDir, 'bench/berlin']],
      // The bundle without any entry module (and without its code cache): what the launcher adds or saves.
      'node dist/exec.cjs': [node, ['-e', `require(${JSON.stringify(bundle)}).execCommand(process.argv.slice(1), process.env, process).then((c) => { process.exitCode = c; })`, '--', '--state-dir', stateDir, 'bench/true']],
      ...(before ? {
        'before: exec': [node, [before, 'exec', '--state-dir', stateDir, 'bench/true']],
        'before: exec --scheduled (Europe/Berlin)': [node, [before, 'exec', '--scheduled', '--state-dir', stateDir, 'bench/berlin']],
      } : {}),
      ...(hasCurl ? { "sh -c 'true; curl …'": ['sh', ['-c', `true; curl -fsS -m 10 -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $CHECKIN_SECRET" -d '{"job_name":"true","status":"success"}' ${url} >/dev/null`]] } : {}),
      // Informational, after the cases above so that their interleaving is unchanged. What the
      // launcher costs before a run starts: it loads the bundle with its code cache and prints
      // the usage (no check-in).
      'exec --help': [entry.file, [...entry.args, 'exec', '--help']],
      // The files and pipes exec must use, in a bare script: the floor plus reading the job's
      // snapshot, the run lock (a temp file linked into place), the job in its own session with
      // its output piped, the spool entry written before the POST and removed after, the
      // last-run record. What is left between this and exec is exec's own code.
      'bare script with exec\'s files': [node, ['-e', bareExecScript(stateDir, url)]],
      // The floor after loading exec's code as the launcher does (the bundle and its code cache,
      // its top level run), without running exec: what the code costs any shim made of it.
      'floor after exec\'s code': [node, ['-e', `${loadBundleScript(bundle)}\n${floorJs}`]],
      // The same with a minimal bundle (see writeMinimalBundle): the launcher's way of loading alone.
      'floor after a minimal bundle': [node, ['-e', `${loadBundleScript(await writeMinimalBundle(work))}\n${floorJs}`]],
    };
    const noCheckin = new Set(['node -e 0', 'exec --help']);

    // A scheduled run claims its minute (one run per scheduled instant); every run here is a new
    // scheduled start of the job, so the claim is cleared before it, outside the timed part. The
    // day's directory stays, as it does for all but the first run of a day.
    const prepare = (args) => {
      if (!args.includes('--scheduled')) return;
      const fired = join(stateDir, 'runs', 'bench', args[args.length - 1].split('/')[1], 'fired');
      for (const day of existsSync(fired) ? readdirSync(fired) : []) {
        for (const marker of readdirSync(join(fired, day))) rmSync(join(fired, day, marker), { force: true });
      }
    };
    const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    for (const [file, args] of Object.values(cases)) {
      prepare(args);
      await time(file, args, env); // warm-up
    }
    const start = received;
    for (let i = 0; i < runs; i++) {
      for (const [name, [file, args]] of Object.entries(cases)) {
        prepare(args);
        samples[name].push(await time(file, args, env));
      }
    }
    const expected = runs * Object.keys(cases).filter((k) => !noCheckin.has(k)).length; // every case but those checks in once
    const got = received - start;

    const ms = (name) => median(samples[name]);
    const base = ms('node -e 0');
    const floor = ms('floor');
    const note = `medians of ${runs} interleaved runs${got === expected ? '' : `; check-ins received ${got} of ${expected}!`}`;
    // The middle half of a case's runs, for the goal rows: how far apart the runs of one case are
    // tells how much of a ratio's distance from its goal the run-to-run noise could be.
    const spread = (name) => `${quantile(samples[name], 0.25).toFixed(1)}–${quantile(samples[name], 0.75).toFixed(1)} ms`;
    const vsFloor = (name, label, goal) => ({
      name: label, ratio: ms(name) / floor, goal,
      detail: `${ms(name).toFixed(1)} ms vs floor ${floor.toFixed(1)} ms; ${note}${goal === undefined ? '' : `; middle half of the runs: ${spread(name)} vs floor ${spread('floor')}`}`,
    });
    const rows = [
      { name: 'exec: cronsync exec vs node -e 0', ratio: ms('exec') / base, detail: `${ms('exec').toFixed(1)} ms vs ${base.toFixed(1)} ms; ${note}` },
      { name: 'exec: floor (node spawn + POST) vs node -e 0', ratio: floor / base, detail: `${floor.toFixed(1)} ms vs ${base.toFixed(1)} ms; ${note}` },
      vsFloor('exec', 'exec: cronsync exec vs floor', GOAL),
      vsFloor('exec --scheduled (UTC)', 'exec: cronsync exec --scheduled (UTC) vs floor', GOAL),
      vsFloor('exec --scheduled (Europe/Berlin)', 'exec: cronsync exec --scheduled (Europe/Berlin) vs floor', GOAL),
      vsFloor('main.js exec --scheduled (Europe/Berlin)', 'exec: node dist/cli/main.js exec --scheduled (Europe/Berlin) (older entries) vs floor'),
      vsFloor('node dist/exec.cjs', 'exec: bundle required without the launcher or code cache vs floor'),
    ];
    if (before) {
      rows.push(vsFloor('before: exec', 'exec: BENCH_BEFORE cronsync exec vs floor'));
      rows.push(vsFloor('before: exec --scheduled (Europe/Berlin)', 'exec: BENCH_BEFORE exec --scheduled (Europe/Berlin) vs floor'));
    }
    if (hasCurl) rows.push(vsFloor("sh -c 'true; curl …'", "exec: sh -c 'true; curl …' (no Node) vs floor"));
    rows.push({ name: 'exec: launcher and bundle alone (exec --help) vs node -e 0', ratio: ms('exec --help') / base, detail: `${ms('exec --help').toFixed(1)} ms vs ${base.toFixed(1)} ms; ${note}` });
    rows.push(vsFloor("bare script with exec's files", "exec: bare script with exec's files (snapshot, lock, piped job, spool, record) vs floor"));
    rows.push(vsFloor('floor after a minimal bundle', "exec: floor after loading a minimal bundle the launcher's way (launch.cjs, node:vm, code cache) vs floor"));
    rows.push(vsFloor("floor after exec's code", "exec: floor after loading exec's code (launcher, bundle, code cache) vs floor"));
    const codeFloor = ms("floor after exec's code");
    const filesFloor = ms("bare script with exec's files");
    rows.push({ name: "exec: cronsync exec vs the bare script with exec's files", ratio: ms('exec') / filesFloor, detail: `${ms('exec').toFixed(1)} ms vs ${filesFloor.toFixed(1)} ms: exec against the floor that also keeps the spool's and the lock's guarantees; ${note}` });
    rows.push({ name: "exec: cronsync exec vs the floor after loading exec's code", ratio: ms('exec') / codeFloor, detail: `${ms('exec').toFixed(1)} ms vs ${codeFloor.toFixed(1)} ms: what exec's own run adds to its code's start-up; ${note}` });
    return rows;
  } finally {
    server.close();
    if (process.env.BENCH_KEEP) console.error(`bench/exec.bench.mjs: state in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const runs = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  for (const r of await execBench(runs)) {
    const verdict = r.goal === undefined ? '' : r.ratio <= r.goal ? '  ok' : '  OVER GOAL';
    process.stdout.write(`${r.name.padEnd(70)} ${r.ratio.toFixed(2)}${r.unit ?? '×'}${r.goal === undefined ? '' : ` (goal ≤ ${r.goal})`}${verdict}  ${r.detail ?? ''}\n`);
  }
}
