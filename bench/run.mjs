// Runs every bench/*.bench.mjs (or those named on the command line) and prints their ratios.
// Each bench module's default export returns [{ name, ratio, goal, detail }]; ratios compare
// against a baseline measured in the same run, never against fixed wall-clock numbers.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.mjs') && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
const rows = [];
for (const f of files) {
  process.stdout.write(`\n# ${f}\n`);
  const mod = await import(new URL(f, import.meta.url).href);
  for (const r of await mod.default()) {
    rows.push(r);
    const verdict = r.goal === undefined ? '' : r.ratio <= r.goal ? '  ok' : '  OVER GOAL';
    process.stdout.write(`${r.name.padEnd(58)} ${typeof r.ratio === 'number' ? r.ratio.toFixed(2) : r.ratio}${r.unit ?? '×'}${r.goal === undefined ? '' : ` (goal ≤ ${r.goal})`}${verdict}  ${r.detail ?? ''}\n`);
  }
}
process.stdout.write(`\n${rows.length} result(s)\n`);
