// Wall time and peak memory of a whole process tree, sampled from /proc.
//
// Every SAMPLE_MS the tree under the spawned process is walked through
// /proc/<pid>/task/<tid>/children (every thread's list, so children forked off the main thread
// are found too) and each process's /proc/<pid>/smaps_rollup is read. The tree's memory at that
// instant is the sum of Rss (what `ps`/`top` show, shared pages counted once per process) and
// the sum of Pss (shared pages split between the processes that map them: ansible's forked
// workers share the interpreter's pages with their parent, so Rss sums over-count them). The
// peak of each sum is reported, plus the largest VmHWM of any single process (what
// `/usr/bin/time -f %M` would print for that process). A process living less than SAMPLE_MS
// can be missed; both tools' peaks come from processes that live far longer (node, python).
// cgroup v2's memory.peak would catch everything, but this host has only the cgroup v1 memory
// controller, whose max_usage_in_bytes also counts page cache, so /proc sampling is used.
//
// CPU time (user + system) of the tree comes from GNU time (`/usr/bin/time`, Debian package
// `time`) wrapped around the command: wait4() adds every reaped descendant's CPU time to its
// parent's, so it covers ansible's workers and cronsync's git/crontab children. Unlike wall
// time it barely depends on what else the machine runs. The `time` process itself is left
// out of the memory sums.
/* global setInterval, clearInterval */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SAMPLE_MS = 10;
const GNU_TIME = '/usr/bin/time';

function descendants(pid, out) {
  out.push(pid);
  let tids;
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let kids = '';
    try {
      kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const k of kids.split(' ')) if (k.trim()) descendants(Number(k), out);
  }
  return out;
}

function kb(text, key) {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** One sample of the tree under `root`: { rssKb, pssKb, hwm: Map<pid, kB>, pids }. */
function sample(root, hwm, skipRoot) {
  let rssKb = 0;
  let pssKb = 0;
  const pids = descendants(root, []).slice(skipRoot ? 1 : 0);
  for (const pid of pids) {
    try {
      const roll = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rssKb += kb(roll, 'Rss');
      pssKb += kb(roll, 'Pss');
      const h = kb(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmHWM');
      if (h > (hwm.get(pid) ?? 0)) hwm.set(pid, h);
    } catch {
      // Exited between the walk and the read.
    }
  }
  return { rssKb, pssKb, n: pids.length };
}

/**
 * Runs `cmd args` to completion and measures it. `watch()` (optional) is called at every
 * sample; the first time it returns true, `watchMs` records the elapsed time (used for
 * push-to-applied: "is the changed entry in the crontab yet?").
 * Resolves { code, wallMs, cpuMs, peakRssKb, peakPssKb, maxHwmKb, maxProcs, watchMs, stdout, stderr }
 * (cpuMs null without GNU time).
 */
export function measure(cmd, args, opts = {}, watch) {
  return new Promise((resolve, reject) => {
    const timed = existsSync(GNU_TIME);
    const tdir = timed ? mkdtempSync(path.join(tmpdir(), 'cronsync-bench-time-')) : null;
    const tfile = timed ? path.join(tdir, 'cpu') : null;
    const t0 = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const child = timed
      ? spawn(GNU_TIME, ['-f', '%U %S', '-o', tfile, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
      : spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout = (stdout + c).slice(-20_000)));
    child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-20_000)));
    const hwm = new Map();
    let peakRssKb = 0;
    let peakPssKb = 0;
    let maxProcs = 0;
    let watchMs = null;
    let done = false;
    const tick = () => {
      if (done) return;
      const s = sample(child.pid, hwm, timed);
      peakRssKb = Math.max(peakRssKb, s.rssKb);
      peakPssKb = Math.max(peakPssKb, s.pssKb);
      maxProcs = Math.max(maxProcs, s.n);
      if (watch && watchMs === null && watch()) watchMs = elapsed();
    };
    const timer = setInterval(tick, SAMPLE_MS);
    tick();
    child.on('error', (e) => {
      done = true;
      clearInterval(timer);
      reject(e);
    });
    // 'exit', not 'close': the wall time ends when the process does, not when its pipes drain.
    child.on('exit', (code) => {
      const wallMs = elapsed();
      done = true;
      clearInterval(timer);
      if (watch && watchMs === null && watch()) watchMs = wallMs;
      const maxHwmKb = Math.max(0, ...hwm.values());
      let cpuMs = null;
      if (timed) {
        // The last line: GNU time prefixes "Command exited with non-zero status N" when it fails.
        const [u, s] = readFileSync(tfile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        cpuMs = (u + s) * 1000;
        rmSync(tdir, { recursive: true, force: true });
      }
      child.on('close', () => resolve({ code, wallMs, cpuMs, peakRssKb, peakPssKb, maxHwmKb, maxProcs, watchMs, stdout, stderr }));
    });
  });
}
