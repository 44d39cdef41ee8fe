// Runs the benches in bench/ and writes bench/results.md. See bench/README.md.
//
//   node bench/run.mjs              every bench, fast ones first (BENCH_SKIP=ansible,fleet skips some)
//   node bench/run.mjs exec git     only those; the other sections of results.md are kept
//
// Each bench runs in a child process of its own (bench/lib/child.mjs), so that one bench's memory
// and JIT state do not skew the next, and a bench that throws, crashes or hangs past
// BENCH_TIMEOUT seconds (default 3600) becomes an error row without losing the others.
// results.md is rewritten after every bench. Exit code: 0, or 1 if any bench failed; a goal
// not met is a verdict in the report, not a failure of the run.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { discover, match } from './lib/discover.mjs';
import { checkout, load1, machine } from './lib/machine.mjs';
import { goalText, keep, MARKER, ratioText, rowProblem, verdict } from './lib/protocol.mjs';
import { readSections, render, writeAtomic } from './lib/results.mjs';

const dir = fileURLToPath(new URL('.', import.meta.url));
const root = join(dir, '..');
const resultsPath = join(dir, 'results.md');
const childScript = join(dir, 'lib', 'child.mjs');
const timeoutS = Number(process.env.BENCH_TIMEOUT ?? 3600);

const sections = readSections(resultsPath);
// A failed bench's wall time says nothing of how long it takes to run.
const benches = discover(dir, new Map([...sections].filter(([, sec]) => !sec.rows.some((r) => r.error)).map(([stem, sec]) => [stem, sec.wallS])));
const names = process.argv.slice(2);
const skip = (process.env.BENCH_SKIP ?? '').split(',').map((s) => s.trim()).filter(Boolean);
/** Why a bench is not run this time, by name (shown in results.md when it has no section yet). */
const pending = new Map();
let selected;
if (names.length) {
  const unknown = names.filter((n) => match(benches, n).length === 0);
  if (unknown.length) {
    process.stderr.write(`bench/run.mjs: no bench matches ${unknown.join(', ')}; benches: ${benches.map((b) => b.stem).join(', ')}\n`);
    process.exit(2);
  }
  selected = benches.filter((b) => names.some((n) => match(benches, n).includes(b)));
} else {
  const skipped = new Set(skip.flatMap((s) => match(benches, s)));
  for (const b of skipped) pending.set(b.stem, 'skipped by BENCH_SKIP');
  selected = benches.filter((b) => !skipped.has(b));
}

/** Grace between SIGTERM and SIGKILL: a bench may have state to restore (ansible: root's crontab). */
const GRACE_MS = 15_000;
let current = null;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    process.stderr.write(`\nbench/run.mjs: ${sig}; stopping the running bench; results.md holds the benches that finished\n`);
    const exit = () => process.exit(130);
    if (!current) exit();
    // The child has a process group of its own, so the terminal's ^C does not reach it: pass it on.
    current.once('close', exit);
    killGroup(current, 'SIGTERM');
    setTimeout(() => {
      killGroup(current, 'SIGKILL');
      exit();
    }, GRACE_MS).unref();
  });
}

/** Signals the child's whole process group: a bench's servers and daemons go with it. */
function killGroup(child, signal) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** Runs one bench in its child; resolves with { rows, maxRssMiB } or { error }. */
function runChild(bench) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [childScript, bench.path], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    current = child;
    let result = null;
    let buf = '';
    let timedOut = false;
    const onLine = (line) => {
      if (line.startsWith(MARKER)) {
        try {
          result = JSON.parse(line.slice(MARKER.length));
        } catch (err) {
          result = { error: `unreadable result line: ${err.message}` };
        }
      } else if (line !== '') process.stderr.write(`${line}\n`); // the bench's own output; stdout keeps the table
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c) => {
      buf += c;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), GRACE_MS).unref();
    }, timeoutS * 1000);
    child.on('error', (err) => resolve({ error: `could not start: ${err.message}` }));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      onLine(buf);
      current = null;
      // Whatever the bench started in its group (a server, a daemon) does not outlive it.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
      if (timedOut) resolve({ error: `timed out after ${timeoutS} s (BENCH_TIMEOUT)` });
      else if (result) resolve(result);
      else resolve({ error: `child exited ${signal ? `on ${signal}` : `with code ${code}`} without a result` });
    });
  });
}

/** The rows of a result, with an error row for a failed bench or a row that breaks the schema. */
function rowsOf(bench, result) {
  if (result.error) {
    process.stderr.write(`${bench.file} failed:\n${result.error}\n`);
    return [{ name: `${bench.stem}: bench failed`, ratio: 'error', unit: '', error: result.error.split('\n')[0].slice(0, 300) }];
  }
  return result.rows.map((r, i) => {
    const problem = rowProblem(r);
    const name = typeof r?.name === 'string' && r.name ? `"${r.name}"` : String(i + 1);
    return problem ? { name: `${bench.stem}: row ${name} breaks the row schema`, ratio: 'error', unit: '', error: problem } : keep(r);
  });
}

function printRow(r) {
  const v = verdict(r);
  const mark = v === 'met' ? '  ok' : v === 'not met' ? '  OVER GOAL' : v === 'error' ? '  ERROR' : '';
  const goal = r.goal === undefined ? '' : ` (goal ${goalText(r)})`;
  process.stdout.write(`${r.name.padEnd(58)} ${ratioText(r)}${goal}${mark}  ${r.error ?? r.detail ?? ''}\n`);
}

const mach = machine();
const commit = checkout(root);
let total = 0;
let failed = 0;
for (const bench of selected) {
  process.stdout.write(`\n# ${bench.file}\n`);
  const load = load1();
  const t0 = process.hrtime.bigint();
  const result = await runChild(bench);
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const rows = rowsOf(bench, result);
  for (const r of rows) printRow(r);
  process.stdout.write(`(${wallS.toFixed(1)} s${result.maxRssMiB ? `, runner child peak RSS ${result.maxRssMiB.toFixed(0)} MiB` : ''})\n`);
  total += rows.length;
  if (result.error || rows.some((r) => r.error)) failed++;
  sections.set(bench.stem, { bench: bench.stem, file: bench.file, date: new Date().toISOString(), wallS: Math.round(wallS * 10) / 10, load1: load, machine: mach, checkout: commit, rows });
  // Sections of benches that no longer exist are dropped with the rewrite.
  writeAtomic(resultsPath, render(sections, benches, pending));
}
process.stdout.write(`\n${total} result(s) from ${selected.length} bench(es)${failed ? `, ${failed} failed` : ''}; written to bench/results.md\n`);
process.exitCode = failed ? 1 : 0;
