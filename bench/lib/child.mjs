// Child of bench/run.mjs: runs one bench in a process of its own and prints its rows as JSON on
// one marker line, so that the bench's own output, memory and JIT state stay out of the runner.
// Usage: node bench/lib/child.mjs bench/NAME.bench.mjs   (or a *.bench.ts vitest bench)
import { pathToFileURL } from 'node:url';
import { MARKER } from './protocol.mjs';
import { vitestRows } from './vitest.mjs';

const file = process.argv[2];

function emit(result) {
  // A leading newline ends any partial line the bench left on stdout.
  process.stdout.write(`\n${MARKER}${JSON.stringify(result)}\n`);
}

try {
  let rows;
  if (file.endsWith('.ts')) rows = await vitestRows(file);
  else {
    const mod = await import(pathToFileURL(file).href);
    if (typeof mod.default !== 'function') throw new Error(`${file} has no default export function`);
    rows = await mod.default();
  }
  if (!Array.isArray(rows)) throw new Error(`${file}: the default export returned ${typeof rows}, not an array of rows`);
  // JSON would turn NaN and Infinity into null: keep them visible as text (an error verdict).
  const safe = rows.map((r) => (r && typeof r.ratio === 'number' && !Number.isFinite(r.ratio) ? { ...r, ratio: String(r.ratio) } : r));
  emit({ rows: safe, maxRssMiB: process.resourceUsage().maxRSS / 1024 });
  // A bench that leaves a timer or server behind must not hang the runner.
  process.exit(0);
} catch (err) {
  emit({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
}
