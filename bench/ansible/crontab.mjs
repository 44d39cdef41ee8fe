// Root's crontab kept safe around the bench, and the read-back of what each tool installed.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SPOOL = '/var/spool/cron/crontabs/root';

/**
 * Saves root's crontab (`crontab -l`; null when there is none) and also writes it to a file in
 * /tmp, so it survives a bench killed with SIGKILL. Returns { content, backup }.
 */
export function saveRootCrontab() {
  const r = spawnSync('crontab', ['-u', 'root', '-l'], { encoding: 'utf8' });
  const content = r.status === 0 ? r.stdout : null;
  if (content === null && !/no crontab/i.test(r.stderr)) throw new Error(`crontab -l failed: ${r.stderr}`);
  const backup = path.join(tmpdir(), `cronsync-ansible-bench-root-crontab.${process.pid}.bak`);
  writeFileSync(backup, content ?? '# (root had no crontab)\n', { mode: 0o600 });
  return { content, backup };
}

/** Puts back what saveRootCrontab() saved (removes root's crontab when there was none). */
export function restoreRootCrontab(saved) {
  if (saved.content === null) clearRootCrontab();
  else {
    const r = spawnSync('crontab', ['-u', 'root', '-'], { input: saved.content, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`restoring root's crontab failed (copy kept in ${saved.backup}): ${r.stderr}`);
  }
  const now = spawnSync('crontab', ['-u', 'root', '-l'], { encoding: 'utf8' });
  if ((now.status === 0 ? now.stdout : null) !== saved.content) throw new Error(`root's crontab differs after restore (copy kept in ${saved.backup})`);
}

export function clearRootCrontab() {
  spawnSync('crontab', ['-u', 'root', '-r'], { encoding: 'utf8' });
}

/** Root's crontab as cron reads it (the spool file, header included); '' when absent. */
export function readRootCrontab() {
  try {
    return readFileSync(SPOOL, 'utf8');
  } catch {
    return '';
  }
}

export function readFileOrEmpty(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

const MACROS = { '@hourly': '0 * * * *', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@weekly': '0 0 * * 0', '@monthly': '0 0 1 * *', '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *' };
const NAMES = [
  null,
  null,
  null,
  ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
];
const RANGES = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];

/**
 * One cron field as Debian's cron reads it: the set of values (day of week 7 → 0), plus
 * whether it starts with `*` (cron then treats a day field as unrestricted).
 */
function expandField(text, i) {
  const [lo, hi] = RANGES[i];
  const value = (v) => {
    const n = NAMES[i]?.indexOf(v.toLowerCase()) ?? -1;
    if (n >= 0) return i === 3 ? n + 1 : n;
    if (!/^\d+$/.test(v)) throw new Error(`bad cron value ${v}`);
    return Number(v);
  };
  const set = new Set();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let a;
    let b;
    if (range === '*') [a, b] = [lo, hi];
    else if (range.includes('-')) [a, b] = range.split('-').map(value);
    else [a, b] = [value(range), stepText === undefined ? value(range) : hi];
    for (let v = a; v <= b; v += step) set.add(i === 4 && v === 7 ? 0 : v);
  }
  return `${text.startsWith('*') ? '*' : ''}{${[...set].sort((x, y) => x - y).join(',')}}`;
}

/** A schedule in a form where two spellings of the same cron schedule are equal. */
export function normalizeSchedule(schedule) {
  const fields = (MACROS[schedule] ?? schedule).split(/\s+/);
  return fields.map((f, i) => (i === 2 || i === 4 ? expandField(f, i) : expandField(f, i).replace(/^\*/, ''))).join(' ');
}

/**
 * The entries of a crontab or cron.d file, as Map<job name, { schedule, normalized }>. The job
 * is named by the `#Ansible: <name>` comment above the line (ansible.builtin.cron) or by the
 * `tenant/name` argument that ends it (`cronsync exec … acme/<name>`). Variable lines,
 * comments and blank lines are skipped.
 */
export function readEntries(text, { cronD }) {
  const entries = new Map();
  let ansibleName = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const tag = /^#Ansible: (.+)$/.exec(line);
    if (tag) {
      ansibleName = tag[1];
      continue;
    }
    if (line === '' || line.startsWith('#') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(line)) continue;
    const words = line.split(/\s+/);
    const n = words[0].startsWith('@') ? 1 : 5;
    const schedule = words.slice(0, n).join(' ');
    const rest = words.slice(n + (cronD ? 1 : 0));
    const name = ansibleName ?? /^[a-z0-9-]+\/([a-z0-9-]+)$/.exec(rest[rest.length - 1])?.[1];
    ansibleName = null;
    if (!name) continue;
    if (entries.has(name)) throw new Error(`job ${name} installed twice`);
    entries.set(name, { schedule, normalized: normalizeSchedule(schedule), user: cronD ? words[n] : undefined });
  }
  return entries;
}

/** Differences between two read-backs (empty when both hold the same jobs with the same schedules). */
export function compareEntries(a, b) {
  const diffs = [];
  for (const [name, e] of a) {
    const f = b.get(name);
    if (!f) diffs.push(`${name}: missing from the second`);
    else if (f.normalized !== e.normalized || f.user !== e.user) diffs.push(`${name}: "${e.schedule}" vs "${f.schedule}"`);
  }
  for (const name of b.keys()) if (!a.has(name)) diffs.push(`${name}: missing from the first`);
  return diffs;
}
