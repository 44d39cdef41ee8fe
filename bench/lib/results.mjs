// bench/results.md: read back the sections of earlier runs, and render the whole file from them.
// Each section carries its data as JSON in an HTML comment, so a run of some benches rewrites
// their sections and keeps the others exactly as measured (with their own date and machine).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { machineLine } from './machine.mjs';
import { goalText, ratioText, verdict } from './protocol.mjs';

const DATA = /^<!-- bench-data (.*) -->$/;

/** Sections of an existing results.md by bench name; empty when there is none yet. */
export function readSections(path) {
  const sections = new Map();
  if (!existsSync(path)) return sections;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = DATA.exec(line);
    if (!m) continue;
    try {
      const s = JSON.parse(m[1]);
      if (typeof s.bench === 'string' && Array.isArray(s.rows)) sections.set(s.bench, s);
    } catch {
      // A hand-edited or truncated data line: that section is simply measured again later.
    }
  }
  return sections;
}

/** JSON safe inside an HTML comment: a `--` in a string would end the comment early. */
const commentJson = (v) => JSON.stringify(v).replace(/-(?=-)/g, '\\u002d');

const cell = (s) => String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const when = (iso) => iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
const VERDICT = { met: 'met', 'not met': '**not met**', info: '—', error: '**error**' };

function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

function machineTable(m, checkout) {
  return table(['Machine', ''], [
    ['Cores', m.cores], ['CPU', m.cpu], ['Memory', `${m.memGiB} GiB`], ['Node', m.node], ['git', m.git], ['OS', m.os], ['Kernel', m.kernel], ['Commit', checkout],
  ]);
}

function section(s, bench, latest) {
  const out = [`## ${s.bench}`, ''];
  const facts = [`\`bench/${s.file}\``, `run ${when(s.date)}`, `${s.wallS.toFixed(1)} s`, `load ${s.load1} at start`, `commit ${s.checkout}`];
  out.push(facts.join(' · '));
  if (machineLine(s.machine) !== machineLine(latest.machine)) out.push('', `Measured on another machine: ${machineLine(s.machine)}.`);
  if (bench?.about) out.push('', ...bench.about.split('\n\n').flatMap((p, i) => (i ? ['>', `> ${p}`] : [`> ${p}`])));
  out.push('', table(['Figure', 'Ratio', 'Goal', 'Verdict', 'Detail'], s.rows.map((r) => [r.name, ratioText(r), goalText(r), VERDICT[verdict(r)], r.error ?? r.detail ?? ''])));
  const notes = s.rows.filter((r) => r.note);
  if (notes.length) out.push('', ...notes.map((r) => `- *${r.name}*: ${r.note}`));
  out.push('', `Reproduce: \`npm run bench -- ${s.bench}\` (or, after \`npm run build\`, \`node bench/run.mjs ${s.bench}\`).`);
  out.push('', `<!-- bench-data ${commentJson(s)} -->`, '');
  return out.join('\n');
}

/**
 * The whole of results.md: header with the latest machine, summary of every figure, then one
 * section per bench in `benches` order. Benches without a section are listed as not measured.
 */
export function render(sections, benches, pending) {
  const present = benches.filter((b) => sections.has(b.stem));
  const all = present.map((b) => sections.get(b.stem));
  const latest = all.reduce((a, b) => (a === null || b.date > a.date ? b : a), null);
  const out = ['# Benchmark results', ''];
  out.push(
    'Written by `npm run bench` (`bench/run.mjs`); do not edit by hand. See [README.md](README.md) for what each bench measures and how to add one.',
    '',
    'Every figure is measured against a baseline taken in the same run on the same machine, never against fixed wall-clock numbers. **Every ratio is "lower is better"**; the unit says of what: `×` is the figure divided by the baseline named in the figure, and `MiB`, `ms` or a bare count is an absolute, informational figure. A goal is met when ratio ≤ goal, so a goal such as "≥ 30× faster" is written as a ratio ≤ 1/30 ≈ 0.033. Figures without a goal are informational.',
    '',
  );
  if (latest === null) {
    out.push('No bench has been run yet: `npm run bench`.', '');
    return out.join('\n');
  }
  out.push(`Last run: ${when(latest.date)} (${latest.bench}). Each section gives its own date, and is rewritten only when its bench runs. Each section also gives the 1-minute load average at its start: above the core count, other work shared the machine and the timings are noisy (ratios less so, since baseline and figure share the load).`, '', machineTable(latest.machine, latest.checkout), '');
  const rows = all.flatMap((s) => s.rows.map((r) => ({ s, r, v: verdict(r) })));
  const count = (v) => rows.filter((x) => x.v === v).length;
  out.push('## Summary', '');
  const n = (k, what) => `${k} ${what}${k === 1 ? '' : 's'}`;
  out.push(`${n(count('met') + count('not met'), 'goal')}: ${count('met')} met, ${count('not met')} not met; ${n(count('info'), 'informational figure')}; ${n(count('error'), 'error')}.`, '');
  out.push(table(['Bench', 'Figure', 'Ratio', 'Goal', 'Verdict'], rows.map(({ s, r, v }) => [`[${s.bench}](#${s.bench})`, r.name, ratioText(r), goalText(r), VERDICT[v]])), '');
  const missing = benches.filter((b) => !sections.has(b.stem));
  if (missing.length) out.push(`Not measured yet: ${missing.map((b) => `${b.stem}${pending.get(b.stem) ? ` (${pending.get(b.stem)})` : ''}`).join(', ')}.`, '');
  for (const b of present) out.push(section(sections.get(b.stem), b, latest));
  return out.join('\n');
}

/** Writes `text` to `path` through a temporary file, so an interrupted run leaves the old file. */
export function writeAtomic(path, text) {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}
