// cronsync against ansible-pull + ansible.builtin.cron (issue #16 item 2), side by side on the
// same 100 jobs served by one loopback Git smart-HTTP server (bench/git-server.mjs): a Job v1
// repository for cronsync, a playbook repository (bench/ansible/local.yml + jobs.yml) for
// ansible-pull, which clones it with the system git over HTTP and runs local.yml.
//
// Cases, in root-crontab mode (cronsync `scheduler.kind: crontab` as root; ansible `user: root`)
// and in cron.d mode (cronsync `scheduler.cronDir` and ansible `cron_file:`, both absolute paths
// in the temp dir, so /etc/cron.d is never touched): first install (empty target, fresh state
// dir / checkout), no change, one job changed. Wall time and peak memory of the whole process
// tree (bench/ansible/proctree.mjs: /proc sampled every 10 ms). Then push-to-applied of a
// one-job change: `cronsync daemon` polling every 1s, `cronsync daemon` with a webhook, and an
// ansible-pull run started at the push (its best case: ansible-pull normally runs from cron).
// After each tool's first install and after its change, the installed entries are read back
// and the schedules compared per job (see bench/ansible/crontab.mjs).
//
// Root's crontab is saved before and restored after (also on SIGINT/SIGTERM; a copy stays in
// /tmp until the restore has been checked). Needs Linux, root, `npm run build` and
// `apt-get install -y ansible-core`. Standalone: `node bench/ansible.bench.mjs`;
// ANSIBLE_BENCH_JOBS=N runs with N jobs instead of 100 (a quick check), ANSIBLE_BENCH_RAW=FILE
// also writes every measurement as JSON. Wall times stretch with the machine's load (the
// last row reports it); CPU times are the load-independent view of "faster".
/* global setInterval, clearInterval */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearRootCrontab, compareEntries, readEntries, readFileOrEmpty, readRootCrontab, restoreRootCrontab, saveRootCrontab } from './ansible/crontab.mjs';
import { applied, pushChange } from './ansible/change.mjs';
import { daemonPushToApplied } from './ansible/daemon.mjs';
import { ansibleVars, changedSchedule, makeJobs, manifest, manifestPath } from './ansible/jobs.mjs';
import { measure } from './ansible/proctree.mjs';
import { createRepo } from './ansible/repo.mjs';
import { startServer } from './git-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', 'dist', 'cli', 'main.js');
const PLAYBOOK = path.join(here, 'ansible', 'local.yml');
const JOBS = Number(process.env.ANSIBLE_BENCH_JOBS ?? 100);
/** Runs of each cronsync case (median reported); ansible-pull runs once per case. */
const REPS = 3;
const TRIALS = 5;
/** The changed job: the middle one (ansible's loop reaches it halfway through). */
const CHANGED = `job-${String(Math.floor(JOBS / 2)).padStart(3, '0')}`;
const SPEED_GOAL = 1 / 30;
const mib = (kb) => kb / 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || null;
}

function baseEnv(home) {
  return { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
}

/** Both tools' setup for one mode (`crontab` or `cron.d`). */
function setupMode(server, work, mode, jobs) {
  const dir = path.join(work, mode);
  mkdirSync(dir, { recursive: true });
  const csRepo = createRepo(server.root, `cronsync-${mode}`, Object.fromEntries(jobs.map((j) => [manifestPath(j), manifest(j)])));
  const anRepo = createRepo(server.root, `ansible-${mode}`, { 'local.yml': readFileSync(PLAYBOOK, 'utf8'), 'jobs.yml': ansibleVars(jobs) });
  const cronDir = path.join(dir, 'cron.d-cronsync');
  const anCronFile = path.join(dir, 'cron.d-ansible', 'cronsync-bench-ansible');
  mkdirSync(cronDir);
  mkdirSync(path.dirname(anCronFile));
  const config = path.join(dir, 'cronsync.yaml');
  writeFileSync(config, [
    'agent: { name: bench-host, tenant: acme }',
    `source: { url: ${JSON.stringify(server.url(`cronsync-${mode}`))} }`,
    mode === 'crontab' ? 'scheduler: { kind: crontab }' : `scheduler: { kind: cron.d, cronDir: ${JSON.stringify(cronDir)} }`,
    `stateDir: ${JSON.stringify(path.join(dir, 'state'))}`,
    'log: { level: warn }',
    '',
  ].join('\n'));
  const csTarget = mode === 'crontab' ? readRootCrontab : () => readFileOrEmpty(path.join(cronDir, 'cronsync'));
  const anTarget = mode === 'crontab' ? readRootCrontab : () => readFileOrEmpty(anCronFile);
  return {
    mode, dir, jobs, csRepo, anRepo, config, cronDir, anCronFile, csTarget, anTarget,
    anUrl: server.url(`ansible-${mode}`),
    cronD: mode === 'cron.d',
    clearTargets() {
      if (mode === 'crontab') clearRootCrontab();
      rmSync(path.join(cronDir, 'cronsync'), { force: true });
      rmSync(anCronFile, { force: true });
    },
  };
}

async function cronsyncSync(m, watch) {
  const r = await measure(process.execPath, [CLI, 'sync', '--config', m.config], { cwd: m.dir, env: baseEnv(m.dir) }, watch);
  if (r.code !== 0) throw new Error(`cronsync sync (${m.mode}) exited ${r.code}: ${r.stderr}`);
  return r;
}

async function ansiblePull(m, extra = [], watch) {
  const home = path.join(m.dir, 'ansible-home');
  const env = {
    ...baseEnv(home), ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_RETRY_FILES_ENABLED: 'False',
    ANSIBLE_LOCAL_TEMP: path.join(home, 'tmp'), ANSIBLE_HOME: path.join(home, '.ansible'),
  };
  const args = ['-U', m.anUrl, '-C', 'main', '-d', path.join(m.dir, 'checkout'), '-i', 'localhost,', ...(m.cronD ? ['-e', `cron_file=${m.anCronFile}`] : []), ...extra, 'local.yml'];
  const r = await measure('ansible-pull', args, { cwd: m.dir, env }, watch);
  if (r.code !== 0) throw new Error(`ansible-pull (${m.mode}) exited ${r.code}: ${r.stdout.slice(-3000)}${r.stderr.slice(-2000)}`);
  return r;
}

/** Median over `runs` of wall time and of each memory figure. */
function summarize(runs) {
  return {
    wallMs: median(runs.map((r) => r.wallMs)),
    cpuMs: runs[0].cpuMs === null ? null : median(runs.map((r) => r.cpuMs)),
    peakRssKb: median(runs.map((r) => r.peakRssKb)),
    peakPssKb: median(runs.map((r) => r.peakPssKb)),
    maxHwmKb: median(runs.map((r) => r.maxHwmKb)),
    maxProcs: Math.max(...runs.map((r) => r.maxProcs)),
    walls: runs.map((r) => r.wallMs),
  };
}

/** The three cases for both tools in one mode, plus the read-back comparison. */
async function runMode(server, work, mode) {
  const jobs = makeJobs(JOBS);
  const m = setupMode(server, work, mode, jobs);
  const out = { cs: {}, an: {}, mismatches: [] };
  m.clearTargets();

  // cronsync: each case REPS times. First install starts from an empty target and state dir.
  const first = [];
  for (let i = 0; i < REPS; i++) {
    m.clearTargets();
    rmSync(path.join(m.dir, 'state'), { recursive: true, force: true });
    first.push(await cronsyncSync(m));
  }
  out.cs.first = summarize(first);
  const csFirst = readEntries(m.csTarget(), { cronD: m.cronD });
  const none = [];
  for (let i = 0; i < REPS; i++) none.push(await cronsyncSync(m));
  out.cs.none = summarize(none);
  const changed = [];
  // Alternating changes, the last one (i = REPS - 1, even) giving the schedule ansible ends with.
  for (let i = REPS - 1; i >= 0; i--) {
    const schedule = i % 2 === 0 ? changedSchedule(true) : changedSchedule(false);
    pushChange(m, 'cs', schedule, CHANGED);
    const r = await cronsyncSync(m, applied(m.csTarget, m.cronD, schedule, CHANGED));
    if (r.watchMs === null) throw new Error(`cronsync (${mode}) did not apply the change`);
    changed.push(r);
  }
  out.cs.changed = summarize(changed);
  const csFinal = readEntries(m.csTarget(), { cronD: m.cronD });

  // ansible-pull: empty target and no checkout, then the same three cases once each.
  m.clearTargets();
  out.an.first = summarize([await ansiblePull(m)]);
  const anFirst = readEntries(m.anTarget(), { cronD: m.cronD });
  out.an.none = summarize([await ansiblePull(m)]);
  if (mode === 'crontab') out.an.noneOnlyIfChanged = summarize([await ansiblePull(m, ['--only-if-changed'])]);
  pushChange(m, 'an', changedSchedule(true), CHANGED);
  const anChanged = await ansiblePull(m, [], applied(m.anTarget, m.cronD, changedSchedule(true), CHANGED));
  if (anChanged.watchMs === null) throw new Error(`ansible (${mode}) did not apply the change`);
  out.an.changed = summarize([anChanged]);
  out.an.pushToAppliedMs = anChanged.watchMs;
  const anFinal = readEntries(m.anTarget(), { cronD: m.cronD });

  for (const [what, a, b] of [['first install', csFirst, anFirst], ['after the change', csFinal, anFinal]]) {
    if (a.size !== JOBS || b.size !== JOBS) out.mismatches.push(`${mode} ${what}: cronsync ${a.size} entries, ansible ${b.size}`);
    for (const d of compareEntries(a, b)) out.mismatches.push(`${mode} ${what}: ${d}`);
  }
  out.entries = { cronsync: csFinal.size, ansible: anFinal.size };
  m.clearTargets();
  return out;
}

const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const fmtMiB = (kb) => `${mib(kb).toFixed(1)} MiB`;

function caseRows(mode, label, cs, an) {
  return [
    {
      name: `ansible: ${label}, ${mode}: wall time cronsync/ansible-pull`,
      note: 'Wall times grow with the machine\'s load (see the load row); the CPU-time row is the load-independent view.',
      ratio: cs.wallMs / an.wallMs,
      goal: SPEED_GOAL,
      goalText: '≥ 30× faster',
      detail: `${secs(cs.wallMs)} (median of ${cs.walls.length}) vs ${secs(an.wallMs)}: ${(an.wallMs / cs.wallMs).toFixed(0)}× faster`,
    },
    ...(cs.cpuMs === null ? [] : [{
      name: `ansible: ${label}, ${mode}: CPU time cronsync/ansible-pull`,
      ratio: cs.cpuMs / an.cpuMs,
      goal: SPEED_GOAL,
      goalText: '≥ 30× less CPU',
      detail: `${secs(cs.cpuMs)} vs ${secs(an.cpuMs)} user+system of the whole tree: ${(an.cpuMs / cs.cpuMs).toFixed(0)}× less`,
    }]),
    {
      name: `ansible: ${label}, ${mode}: peak tree RSS cronsync/ansible-pull`,
      note: 'Peak of the sum of Rss over the whole process tree, sampled from /proc every 10 ms. ansible-pull runs up to ~10 python processes (ansible-pull, ansible-playbook, its forked worker, the module), each smaller than cronsync\'s one node process: by largest single process (what /usr/bin/time -f %M shows) cronsync is higher, see the detail.',
      ratio: cs.peakRssKb / an.peakRssKb,
      goal: 1,
      goalText: "no more than ansible-pull's",
      detail: `${fmtMiB(cs.peakRssKb)} vs ${fmtMiB(an.peakRssKb)} (sum of Rss; Pss ${fmtMiB(cs.peakPssKb)} vs ${fmtMiB(an.peakPssKb)}; largest process ${fmtMiB(cs.maxHwmKb)} vs ${fmtMiB(an.maxHwmKb)}; up to ${cs.maxProcs} vs ${an.maxProcs} processes)`,
    },
  ];
}

/** The bench: rows { name, ratio, goal?, unit?, detail? }. */
export default async function ansibleBench() {
  const skip = (why, detail) => [{ name: `ansible: cronsync vs ansible-pull (skipped: ${why})`, ratio: 'n/a', unit: '', detail }];
  if (process.platform !== 'linux') return skip('needs Linux', process.platform);
  if (!which('ansible-pull')) return skip('ansible-pull not installed', 'as root: apt-get update && apt-get install -y ansible-core (Debian 12: ansible-core 2.14, with ansible.builtin.cron)');
  if (process.getuid?.() !== 0) return skip('needs root', 'both tools edit root\'s crontab; run as root');
  if (!which('crontab')) return skip('crontab not installed', 'apt-get install -y cron');
  if (!existsSync(CLI)) throw new Error('dist/cli/main.js missing: run npm run build');

  const saved = saveRootCrontab();
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    restoreRootCrontab(saved);
    unlinkSync(saved.backup);
  };
  const onSignal = (sig) => {
    try {
      restore();
    } finally {
      process.kill(process.pid, sig);
    }
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const server = await startServer();
  const work = mkdtempSync(path.join(tmpdir(), 'cronsync-ansible-bench-'));
  const rows = [];
  const load = [loadavg()[0]];
  const loadTimer = setInterval(() => load.push(loadavg()[0]), 5000);
  try {
    const modes = {};
    for (const mode of ['crontab', 'cron.d']) modes[mode] = await runMode(server, work, mode);
    const push = { server, work, cli: CLI, jobs: JOBS, changed: CHANGED, trials: TRIALS };
    const poll = await daemonPushToApplied({ ...push, webhook: false });
    const hook = await daemonPushToApplied({ ...push, webhook: true });
    // ANSIBLE_BENCH_RAW=FILE keeps every measurement (all runs, stderr tails dropped) as JSON.
    if (process.env.ANSIBLE_BENCH_RAW) writeFileSync(process.env.ANSIBLE_BENCH_RAW, JSON.stringify({ jobs: JOBS, modes, poll, hook, load }, null, 1));

    for (const [mode, label] of [['crontab', 'root crontab'], ['cron.d', 'cron.d']]) {
      const r = modes[mode];
      rows.push(...caseRows(label, `first install of ${JOBS} jobs`, r.cs.first, r.an.first));
      rows.push(...caseRows(label, 'no change', r.cs.none, r.an.none));
      rows.push(...caseRows(label, 'one job changed', r.cs.changed, r.an.changed));
    }
    const c = modes.crontab;
    rows.push({
      name: 'ansible: no change, root crontab: cronsync vs ansible-pull --only-if-changed',
      ratio: c.cs.none.wallMs / c.an.noneOnlyIfChanged.wallMs,
      detail: `${secs(c.cs.none.wallMs)} vs ${secs(c.an.noneOnlyIfChanged.wallMs)}, ${fmtMiB(c.cs.none.peakRssKb)} vs ${fmtMiB(c.an.noneOnlyIfChanged.peakRssKb)} (informational: -o skips the playbook, so drift is not repaired; cronsync still reads back the crontab)`,
    });
    const anPush = c.an.pushToAppliedMs;
    for (const [label, times] of [['daemon polling every 1s', poll], ['daemon + webhook', hook]]) {
      rows.push({
        name: `ansible: push-to-applied, one job, ${label} vs ansible-pull run`,
        ratio: median(times) / anPush,
        goal: SPEED_GOAL,
        goalText: '≥ 30× sooner',
        detail: `median ${secs(median(times))} (${times.map((t) => (t / 1000).toFixed(2)).join(', ')} s) vs ${secs(anPush)} (ansible-pull started at the push; ${CHANGED} is item ${Math.floor(JOBS / 2) + 1} of ${JOBS}; cron.d: ${secs(modes['cron.d'].an.pushToAppliedMs)})`,
      });
    }
    // What polling can be expected to reach: a push lands at a random phase of the 1 s poll, so
    // it waits half an interval on average, then takes what a webhook-woken sync takes. Against
    // the same ansible-pull run: when ansible-pull takes under about 18 s, this is more than its
    // thirtieth, and the polling row meets its goal only when its five trials happen to wait less.
    const pollExpected = 500 + median(hook);
    rows.push({
      name: 'ansible: expected push-to-applied polling every 1s (half the interval + the webhook case) vs ansible-pull run',
      ratio: pollExpected / anPush,
      detail: `${secs(pollExpected)} (0.50 s + ${secs(median(hook))}) vs ${secs(anPush)}; the polling row's median is ${(median(poll) / pollExpected).toFixed(2)}× this`,
    });
    const mismatches = [...modes.crontab.mismatches, ...modes['cron.d'].mismatches];
    rows.push({
      name: 'ansible: installed schedules differing between the tools',
      ratio: mismatches.length,
      unit: '',
      goal: 0,
      goalText: 'none',
      detail: mismatches.length === 0
        ? `none: ${JOBS} of ${JOBS} jobs with equal schedules in both modes, after the first install and after the change (read back from root's crontab and both cron.d files)`
        : mismatches.slice(0, 5).join('; '),
    });
    rows.push({
      name: 'ansible: 1-min load average during the bench (context, not a result)',
      ratio: load.reduce((a, b) => a + b, 0) / load.length,
      unit: '',
      detail: `${Math.min(...load).toFixed(1)} to ${Math.max(...load).toFixed(1)} on ${availableParallelism()} CPUs: wall times stretch with load, CPU times much less`,
    });
  } finally {
    clearInterval(loadTimer);
    await server.stop();
    try {
      restore();
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      rmSync(work, { recursive: true, force: true });
    }
  }
  return rows;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const r of await ansibleBench()) {
    const verdict = r.goal === undefined ? '' : r.ratio <= r.goal ? '  ok' : '  OVER GOAL';
    process.stdout.write(`${r.name.padEnd(78)} ${typeof r.ratio === 'number' ? r.ratio.toFixed(4) : r.ratio}${r.unit ?? ''}${r.goal === undefined ? '' : ` (goal ≤ ${r.goal})`}${verdict}  ${r.detail ?? ''}\n`);
  }
}
