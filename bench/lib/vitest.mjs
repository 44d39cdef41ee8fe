// Runs a vitest bench file (bench/*.bench.ts) and turns its results into informational rows.
// These benches have no same-run baseline: each row is the mean time of one vitest `bench()`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Rows of `vitest bench --run FILE`: mean ms per benchmark, with the spread in the detail. */
export async function vitestRows(file) {
  const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json', { paths: [root] })), 'vitest.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'cronsync-bench-vitest-'));
  try {
    const out = join(dir, 'out.json');
    const r = spawnSync(process.execPath, [vitest, 'bench', '--run', file, '--outputJson', out], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`vitest bench ${file} exited ${r.status ?? r.signal}`);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    const stem = basename(file).replace(/\.bench\.ts$/, '');
    const rows = [];
    for (const f of json.files ?? []) {
      for (const g of f.groups ?? []) {
        for (const b of g.benchmarks ?? []) {
          rows.push({ name: `${stem}: ${b.name}`, ratio: b.mean, unit: ' ms', detail: `mean of ${b.sampleCount ?? b.samples?.length ?? '?'} samples (min ${b.min?.toFixed(1)} ms, max ${b.max?.toFixed(1)} ms, ±${b.rme?.toFixed(1)}%), ${g.fullName.replace(/^.*> /, '')}; no same-run baseline` });
        }
      }
    }
    if (rows.length === 0) throw new Error(`vitest bench ${file} reported no benchmarks`);
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
