// Idle `cronsync daemon` (built CLI, dist/) against a bare Node process: resident memory after
// the daemon has settled, and CPU time per idle cycle. The daemon syncs a local directory of a
// few manifests every second (nothing changes, nothing fires) with the embedded scheduler and
// with cron.d into a temporary directory. Memory is VmRSS from /proc/<pid>/status, CPU is
// utime+stime from /proc/<pid>/stat, so this bench needs Linux. Cycles are counted from the
// status file's rewrites, which costs the daemon nothing.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const SETTLE_CYCLES = 5;
const MEASURE_CYCLES = 10;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssKb(pid) {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
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
    const rss = [];
    // Sample RSS once per cycle while measuring CPU.
    for (let i = 0; i < MEASURE_CYCLES; i++) {
      await cycles(statusPath, 1, child);
      rss.push(rssKb(child.pid));
    }
    const cpu = cpuMs(child.pid) - cpu0;
    const wall = Date.now() - t0;
    const sorted = [...rss].sort((a, b) => a - b);
    return { rssKb: Math.max(...rss), medianKb: sorted[Math.floor(sorted.length / 2)], cpuPerCycleMs: cpu / MEASURE_CYCLES, wallMs: wall };
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
    const rss = [];
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      rss.push(rssKb(child.pid));
    }
    return { rssKb: Math.max(...rss), cpuPerCycleMs: (cpuMs(child.pid) - cpu0) / 3 };
  } finally {
    child.kill('SIGTERM');
    await child.exitCodeP;
  }
}

export default async function daemonBench() {
  if (process.platform !== 'linux') return [{ name: 'daemon idle (skipped: needs /proc)', ratio: 'n/a', unit: '', detail: process.platform }];
  if (!existsSync(CLI)) throw new Error('dist/cli/main.js missing: run npm run build');
  const bare = await measureBare();
  const floor = await measureBare(['--input-type=module', '-e', FLOOR], fileURLToPath(new URL('..', import.meta.url)));
  const rows = [{ name: 'floor: node + pino + one Intl zone, idle, vs bare node', ratio: floor.rssKb / bare.rssKb, detail: `${(floor.rssKb / 1024).toFixed(1)} MB; what any daemon on this stack starts from` }];
  for (const kind of ['embedded', 'cron.d']) {
    const d = await measureDaemon(kind);
    const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;
    rows.push({ name: `idle daemon RSS (${kind}, 5 jobs, 1s interval) vs bare node`, ratio: d.rssKb / bare.rssKb, goal: 1.5, detail: `daemon peak ${mb(d.rssKb)} (median ${mb(d.medianKb)}) over ${MEASURE_CYCLES} cycles, bare node ${mb(bare.rssKb)}` });
    rows.push({ name: `idle daemon CPU per cycle (${kind}, ${MEASURE_CYCLES} cycles)`, ratio: d.cpuPerCycleMs, unit: ' ms', detail: `${(d.cpuPerCycleMs * MEASURE_CYCLES).toFixed(0)} ms CPU over ${(d.wallMs / 1000).toFixed(1)} s; bare node ${bare.cpuPerCycleMs.toFixed(1)} ms/s` });
  }
  return rows;
}
