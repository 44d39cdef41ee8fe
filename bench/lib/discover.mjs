// Finds the benches in bench/ and picks the ones a run asks for.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Run order: fast benches first, so that a run gives most figures early and the slow ones
 * (minutes) come last. A bench's wall time in the last results.md decides; these estimates (s)
 * stand in for a bench not measured yet, and 120 s for one not named here.
 */
const ESTIMATE_S = { schedule: 15, daemon: 55, exec: 60, lint: 90, windows: 150, git: 150, reconcile: 200, fleet: 600, ansible: 1800 };

/** The leading comment of a bench file, as paragraphs of plain text (its description). */
export function about(text) {
  const lines = text.split('\n');
  let i = 0;
  while (i < lines.length && (/^#!/.test(lines[i]) || /^\/\* (global|eslint)\b.*\*\/\s*$/.test(lines[i]))) i++;
  const body = [];
  if (/^\s*\/\*/.test(lines[i] ?? '')) {
    for (; i < lines.length; i++) {
      const end = lines[i].includes('*/');
      body.push(lines[i].replace(/^\s*\/\*\*?\s?/, '').replace(/\*\/.*$/, '').replace(/^\s*\*\s?/, ''));
      if (end) break;
    }
  } else {
    for (; i < lines.length && /^\s*\/\//.test(lines[i]); i++) body.push(lines[i].replace(/^\s*\/\/\s?/, ''));
  }
  return body.join('\n').trim().split(/\n\s*\n/).map((p) => p.split('\n').map((l) => l.trim()).join(' ')).join('\n\n');
}

/**
 * Every bench in `dir` (`*.bench.mjs`, and vitest's `*.bench.ts`), in run order.
 * `wallS` maps a bench name to its last measured wall time in seconds.
 */
export function discover(dir, wallS = new Map()) {
  const cost = (stem) => wallS.get(stem) ?? ESTIMATE_S[stem] ?? 120;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bench.mjs') || f.endsWith('.bench.ts'))
    .map((file) => ({ file, stem: file.replace(/\.bench\.(mjs|ts)$/, ''), path: join(dir, file), about: about(readFileSync(join(dir, file), 'utf8')) }))
    .sort((a, b) => cost(a.stem) - cost(b.stem) || a.stem.localeCompare(b.stem));
}

/** The benches a pattern names: the one whose name it is, or else every name containing it. */
export function match(benches, pattern) {
  const exact = benches.filter((b) => b.stem === pattern || b.file === pattern);
  return exact.length ? exact : benches.filter((b) => b.stem.includes(pattern));
}
