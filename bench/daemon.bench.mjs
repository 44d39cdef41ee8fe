// Idle `cronsync daemon` (built CLI, dist/) against a bare Node process: resident memory after
// the daemon has settled, and CPU time per idle cycle. The daemon syncs a local directory of a
// few manifests every second (nothing changes, nothing fires) with the embedded scheduler and
// with cron.d into a temporary directory. Memory is VmRSS from /proc/<pid>/status, CPU is
// utime+stime from /proc/<pid>/stat, so this bench needs Linux. Cycles are counted from the
// status file's rewrites, which costs the daemon nothing. An informational row splits the
// daemon's peak into anonymous memory (V8 heap, malloc, stacks) and file-backed pages (the
// node binary's code and ICU data that the process has touched), beside the floor's.
//
// Also the peak RSS of a one-shot `cronsync sync` installing 100 jobs from a loopback git
// http-backend server into cron.d (issue 16 item 6, whose goal, ansible-pull's peak RSS, the
// ansible bench reports), against `node -e 0`: maxRSS of each process, read at exit by a preload.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLargeRepo, startServer } from './git-server.mjs';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const SETTLE_CYCLES = 5;
const SYNC_JOBS = 100;
const SYNC_RUNS = 3;
const MEASURE_CYCLES = 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** VmRSS with its anonymous (heap, malloc, stacks) and file-backed (the node binary, ICU data) parts, in KiB. */
function rssSplitKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile') };
}

/** utime + stime of `pid` in milliseconds. */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ".
  const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux.
}

function manifest(i) {
  return `apiVersion: v1
kind: Job
metadata:
  name: idle-${i}
  tenant: bench
spec:
  schedule: "0 3 * * *"
  timezone: Europe/Berlin
  command: echo ${i}
`;
}

function setup(kind) {
  const dir = mkdtempSync(join(tmpdir(), `cronsync-bench-daemon-${kind}-`));
  mkdirSync(join(dir, 'manifests'));
  for (let i = 0; i < 5; i++) writeFileSync(join(dir, 'manifests', `job-${i}.yaml`), manifest(i));
  mkdirSync(join(dir, 'cron.d'));
  writeFileSync(join(dir, 'config.yaml'), [
    'agent: { name: bench-host, tenant: bench }',
    `source: { url: ${JSON.stringify(join(dir, 'manifests'))}, interval: 1s }`,
    `scheduler: { kind: ${kind}, cronDir: ${JSON.stringify(join(dir, 'cron.d'))} }`,
    `stateDir: ${JSON.stringify(join(dir, 'state'))}`,
    'log: { level: warn }',
    '',
  ].join('\n'));
  return dir;
}

function startProcess(args, cwd) {
  const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH, HOME: tmpdir() }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  child.exitCodeP = new Promise((r) => child.on('exit', (code) => r(code)));
  child.errText = () => err;
  return child;
}

/** Waits for `n` more rewrites of the status file (one per sync), with a deadline. */
async function cycles(statusPath, n, child) {
  let last = existsSync(statusPath) ? statSync(statusPath).mtimeMs : 0;
  let seen = 0;
  const end = Date.now() + n * 3000 + 20_000;
  while (seen < n) {
    if (child.exitCode !== null) throw new Error(`daemon exited: ${child.errText()}`);
    if (Date.now() > end) throw new Error(`only ${seen} of ${n} cycles seen`);
    await sleep(20);
    const m = existsSync(statusPath) ? statSync(statusPath).mtimeMs : 0;
    if (m !== last) {
      last = m;
      seen++;
    }
  }
}

async function measureDaemon(kind) {
  const dir = setup(kind);
  const child = startProcess([CLI, 'daemon', '--config', join(dir, 'config.yaml')], dir);
  try {
    const statusPath = join(dir, 'state', 'status.json');
    await cycles(statusPath, SETTLE_CYCLES, child);
    const status = JSON.parse(readFileSync(statusPath, 'utf8'));
    if (status.lastAttempt.result !== 'ok' || status.jobs.length !== 5) throw new Error(`daemon not healthy: ${status.lastAttempt.result}, ${status.jobs.length} jobs`);
    const cpu0 = cpuMs(child.pid);
    const t0 = Date.now();
    const samples = [];
    // Sample RSS once per cycle while measuring CPU.
    for (let i = 0; i < MEASURE_CYCLES; i++) {
      await cycles(statusPath, 1, child);
      samples.push(rssSplitKb(child.pid));
    }
    const cpu = cpuMs(child.pid) - cpu0;
    const wall = Date.now() - t0;
    const rss = samples.map((x) => x.rss);
    const sorted = [...rss].sort((a, b) => a - b);
    const peak = samples.find((x) => x.rss === Math.max(...rss));
    return { rssKb: Math.max(...rss), medianKb: sorted[Math.floor(sorted.length / 2)], peak, cpuPerCycleMs: cpu / MEASURE_CYCLES, wallMs: wall };
  } finally {
    child.kill('SIGTERM');
    await child.exitCodeP;
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The floor of any daemon on this stack: node with the pino logger loaded and one zone
 * evaluated through Intl (which maps ICU's zone data), doing nothing else.
 */
const FLOOR = [
  "import pino from 'pino';",
  "pino({ level: 'warn' }).warn('x');",
  "new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', hour: 'numeric' }).formatToParts(new Date());",
  'setInterval(() => {}, 1000);',
].join(' ');

async function measureBare(args = ['-e', 'setInterval(() => {}, 1000)'], cwd = tmpdir()) {
  const child = startProcess(args, cwd);
  try {
    await sleep(2000);
    const cpu0 = cpuMs(child.pid);
    const samples = [];
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      samples.push(rssSplitKb(child.pid));
    }
    const rss = samples.map((x) => x.rss);
    return { rssKb: Math.max(...rss), peak: samples.find((x) => x.rss === Math.max(...rss)), cpuPerCycleMs: (cpuMs(child.pid) - cpu0) / 3 };
  } finally {
    child.kill('SIGTERM');
    await child.exitCodeP;
  }
}

/** Runs `node ...args` to its end with a preload that records its maxRSS; resolves with KiB. */
function peakRssKb(args, dir, cwd) {
  const out = join(dir, `peak-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', join(dir, 'peak.mjs'), ...args], { cwd, env: { PATH: process.env.PATH, HOME: tmpdir(), PEAK_FILE: out }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => (code === 0 ? resolve(Number(readFileSync(out, 'utf8'))) : reject(new Error(`node ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** Peak RSS of one-shot `cronsync sync` runs, each a first install of SYNC_JOBS jobs, and of bare node. */
async function measureOneShotSync() {
  const server = await startServer();
  const dir = mkdtempSync(join(tmpdir(), 'cronsync-bench-sync-'));
  try {
    writeFileSync(join(dir, 'peak.mjs'), "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(process.env.PEAK_FILE, String(process.resourceUsage().maxRSS)));\n");
    createLargeRepo(server.root, 'hundred', SYNC_JOBS);
    const sync = [];
    const bare = [];
    for (let i = 0; i < SYNC_RUNS; i++) {
      const run = join(dir, `run${i}`);
      mkdirSync(join(run, 'cron.d'), { recursive: true });
      writeFileSync(join(run, 'config.yaml'), [
        'agent: { name: bench-host, tenant: acme }',
        `source: { url: ${JSON.stringify(server.url('hundred'))} }`,
        `scheduler: { kind: cron.d, cronDir: ${JSON.stringify(join(run, 'cron.d'))} }`,
        `stateDir: ${JSON.stringify(join(run, 'state'))}`,
        'log: { level: warn }',
        '',
      ].join('\n'));
      bare.push(await peakRssKb(['-e', '0'], dir, dir));
      sync.push(await peakRssKb([CLI, 'sync', '--config', join(run, 'config.yaml')], dir, run));
      const status = JSON.parse(readFileSync(join(run, 'state', 'status.json'), 'utf8'));
      if (status.lastAttempt.result !== 'ok' || status.counts.installed !== SYNC_JOBS) throw new Error(`sync: ${status.lastAttempt.result}, ${status.counts.installed} installed`);
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    return { syncKb: median(sync), bareKb: median(bare), syncAll: sync };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function daemonBench() {
  if (process.platform !== 'linux') return [{ name: 'daemon idle (skipped: needs /proc)', ratio: 'n/a', unit: '', detail: process.platform }];
  if (!existsSync(CLI)) throw new Error('dist/cli/main.js missing: run npm run build');
  const bare = await measureBare();
  const floor = await measureBare(['--input-type=module', '-e', FLOOR], fileURLToPath(new URL('..', import.meta.url)));
  const mb = (kb) => `${(kb / 1024).toFixed(1)} MiB`;
  const rows = [{ name: 'floor: node + pino + one Intl zone, idle, vs bare node', ratio: floor.rssKb / bare.rssKb, detail: `${mb(floor.rssKb)}, bare node ${mb(bare.rssKb)}; what any daemon on this stack starts from` }];
  for (const kind of ['embedded', 'cron.d']) {
    const d = await measureDaemon(kind);
    rows.push({ name: `idle daemon RSS (${kind}, 5 jobs, 1s interval) vs bare node`, ratio: d.rssKb / bare.rssKb, goal: 1.6, detail: `daemon peak ${mb(d.rssKb)} (median ${mb(d.medianKb)}) over ${MEASURE_CYCLES} cycles, bare node ${mb(bare.rssKb)}` });
    rows.push({
      name: `idle daemon RSS above the floor (${kind}): anonymous + file-backed`, ratio: (d.rssKb - floor.rssKb) / 1024, unit: ' MiB',
      detail: `at the daemon's peak: anonymous ${mb(d.peak.anon)} (floor ${mb(floor.peak.anon)}, bare node ${mb(bare.peak.anon)}), file-backed ${mb(d.peak.file)} (floor ${mb(floor.peak.file)}, bare node ${mb(bare.peak.file)})`,
    });
    rows.push({ name: `idle daemon CPU per cycle (${kind}, ${MEASURE_CYCLES} cycles)`, ratio: d.cpuPerCycleMs, unit: ' ms', detail: `${(d.cpuPerCycleMs * MEASURE_CYCLES).toFixed(0)} ms CPU over ${(d.wallMs / 1000).toFixed(1)} s; bare node ${bare.cpuPerCycleMs.toFixed(1)} ms/s` });
  }
  const sync = await measureOneShotSync();
  rows.push({
    name: `one-shot sync of ${SYNC_JOBS} jobs (git, cron.d): peak RSS vs bare node`, ratio: sync.syncKb / sync.bareKb,
    detail: `sync peak ${mb(sync.syncKb)} (median of ${SYNC_RUNS} first installs: ${sync.syncAll.map((kb) => (kb / 1024).toFixed(1)).join(', ')}), node -e 0 ${mb(sync.bareKb)}`,
    note: 'Issue 16 item 6 sets the goal against ansible-pull, not bare node: the sync peak RSS in MiB is compared with ansible-pull\'s in the ansible bench.',
  });
  return rows;
}
