// The cost of the exec guard on Windows (issue 10 item 6): over a random corpus of schedules
// (test/scheduler/windows/simulator-corpus.ts, fixed seed), each job rendered on 1 January as task XML by the
// `windows` adapter (dist/), started by the Task Scheduler simulator over the whole of 2026 under
// every interpretation of what Windows leaves undocumented, then filtered by the guard: the
// starts the guard throws away per job-year (median, p99, max), and the triggers per task.
//
// The simulator is TypeScript under test/: it is bundled here with esbuild, its imports of
// src/ pointed at dist/ so that it shares the adapter's modules. Run `npm run build` first.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;
/** A fifth of the test corpus: every fifth pair of expressions (202, every job zone) × 3 host zones. */
const keep = (e) => Math.floor(e.index / 2) % 5 === 0;
const YEAR = 2026;
/** The reading of Windows' behaviour the documentation points to (KB 325413, IRepetitionPattern). */
const LIKELY = 'first/elapsed/inclusive';

async function loadSimulator() {
  const dir = mkdtempSync(join(tmpdir(), 'cronsync-bench-windows-'));
  const require = createRequire(import.meta.url);
  try {
    const outfile = join(dir, 'simulator-corpus.mjs');
    await build({
      entryPoints: [join(root, 'test/scheduler/windows/simulator-corpus.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      logLevel: 'warning',
      plugins: [{
        name: 'src-to-dist',
        setup(b) {
          b.onResolve({ filter: /(^|\/)src\// }, (args) => {
            const rel = relative(join(root, 'src'), resolve(args.resolveDir, args.path));
            if (rel.startsWith('..')) return undefined;
            return { path: dist(rel), external: true };
          });
          b.onResolve({ filter: /^xmlbuilder2$/ }, () => ({ path: pathToFileURL(require.resolve('xmlbuilder2', { paths: [root] })).href, external: true }));
        },
      }],
    });
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { median: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? 0, sum: s.reduce((a, b) => a + b, 0) };
};

export default async function windowsBench() {
  if (!existsSync(fileURLToPath(dist('scheduler/windows/triggers.js')))) throw new Error('dist/scheduler/windows/triggers.js missing: run npm run build');
  const sim = await loadSimulator();
  const { jobTriggers } = await import(dist('scheduler/windows/triggers.js'));
  const t0 = performance.now();
  const triggerCounts = [];
  const likely = [];
  const worst = [];
  const sameZone = [];
  let supersets = 0;
  let fires = 0;
  let starts = 0;
  let wasted = 0;
  let duplicates = 0;
  let mismatches = 0;
  const firstMismatch = [];
  for (const e of sim.corpus().filter(keep)) {
    for (const jobZone of e.jobZones) {
      for (const hostZone of sim.HOST_ZONES) {
        const job = sim.renderJob(jobTriggers, e.schedule, jobZone, hostZone, Date.UTC(YEAR, 0, 1));
        triggerCounts.push(job.triggers.triggers.length);
        if (job.triggers.fidelity === 'superset') supersets++;
        const cost = sim.jobYearCost(job.task, e.spec, jobZone, hostZone, YEAR);
        likely.push(cost.wasted[LIKELY]);
        worst.push(Math.max(...Object.values(cost.wasted)));
        if (jobZone === hostZone) sameZone.push(cost.wasted[LIKELY]);
        fires += cost.fires;
        starts += cost.starts[LIKELY];
        wasted += cost.wasted[LIKELY];
        duplicates += cost.duplicates[LIKELY];
        mismatches += cost.mismatches.length;
        if (firstMismatch.length < 3) firstMismatch.push(...cost.mismatches.slice(0, 3 - firstMismatch.length));
      }
    }
  }
  const ms = performance.now() - t0;
  const tc = stats(triggerCounts);
  const l = stats(likely);
  const w = stats(worst);
  const same = stats(sameZone);
  const jobs = triggerCounts.length;
  const pct = (a, b) => `${((100 * a) / Math.max(1, b)).toFixed(2)}%`;
  if (mismatches > 0) process.stderr.write(`windows bench: ${mismatches} mismatches, e.g.\n  ${firstMismatch.join('\n  ')}\n`);
  return [
    { name: 'windows: triggers per task, median', ratio: tc.median, unit: '', detail: `p99 ${tc.p99}, max ${tc.max} (limit 48); ${jobs} tasks, ${supersets} supersets` },
    { name: 'windows: wasted starts per job-year, median', ratio: l.median, unit: '', detail: `p99 ${l.p99}, max ${l.max} (${LIKELY}); ${wasted} of ${starts} starts (${pct(wasted, starts)}), ${duplicates} of them repeats of a fire that ran, for ${fires} fires` },
    { name: 'windows: wasted starts per job-year, worst reading, median', ratio: w.median, unit: '', detail: `p99 ${w.p99}, max ${w.max}: the most wasteful of the 12 interpretations, per job` },
    { name: 'windows: wasted starts per job-year, job zone = host, median', ratio: same.median, unit: '', detail: `p99 ${same.p99}, max ${same.max}; ${sameZone.length} jobs` },
    { name: 'windows: job-years whose runs differ from §2a fires', ratio: mismatches, unit: '', detail: `${jobs} job-years (${YEAR}) × 12 interpretations, simulated in ${(ms / 1000).toFixed(1)} s` },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await windowsBench()) process.stdout.write(`${r.name.padEnd(58)} ${r.ratio}${r.unit}  ${r.detail}\n`);
}
