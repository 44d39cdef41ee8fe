/** The systemd unit and embedded registry checkers of the fuzz suite. */
import type { DesiredJob } from '../../../src/desired/types.js';
import { CONTROL, EXEC, STATE_DIR, expectedMarker, sameMarker, show } from './shared.js';
import type { Written } from './shared.js';

const PAUSED_NOTE = '# Paused (spec.paused: true): cronsync keeps this timer stopped and disabled.';

/** One unit file's settings by section, its comment lines, and its structural problems. */
function parseUnit(name: string, text: string, problems: string[]): { sections: Map<string, [string, string][]>; comments: string[]; marker: string } {
  const sections = new Map<string, [string, string][]>();
  const comments: string[] = [];
  if (!text.endsWith('\n')) problems.push(`${name}: no final newline`);
  const lines = text.slice(0, -1).split('\n');
  let section: [string, string][] | undefined;
  lines.forEach((line, i) => {
    const at = `${name}:${i + 1}`;
    if (CONTROL.test(line)) problems.push(`${at}: control character in ${show(line)}`);
    // systemd joins a line ending in a backslash with the next one, comments included.
    if (line.endsWith('\\')) problems.push(`${at}: line ends in a backslash: ${show(line)}`);
    if (line === '') return;
    if (line.startsWith('#') || line.startsWith(';')) {
      comments.push(line);
      return;
    }
    const head = /^\[(Unit|Service|Timer|Install)\]$/.exec(line);
    if (head) {
      if (sections.has(head[1]!)) problems.push(`${at}: second [${head[1]!}]`);
      sections.set(head[1]!, (section = []));
      return;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!kv || !section) problems.push(`${at}: not a setting of a section: ${show(line)}`);
    else section.push([kv[1]!, kv[2]!]);
  });
  return { sections, comments, marker: lines[0] ?? '' };
}

/**
 * Checks systemd units: a `.service` and a `.timer` per job and nothing else, each starting
 * with the job's marker, holding exactly the sections and settings cronsync writes (ExecStart
 * runs the exec command for this job; Description names the job), with no line a unit parser
 * would read differently (control characters, trailing backslashes, single `%`).
 */
export function checkUnits(texts: readonly Written[], jobs: readonly DesiredJob[], user: string): string[] {
  const problems: string[] = [];
  const want = new Map<string, { d: DesiredJob; type: 'service' | 'timer' }>();
  for (const d of jobs) {
    const base = `cronsync-${d.job.metadata.tenant}-${d.job.metadata.name}`;
    want.set(`${base}.service`, { d, type: 'service' });
    want.set(`${base}.timer`, { d, type: 'timer' });
  }
  const names = texts.map((t) => t.name);
  if (JSON.stringify([...names].sort()) !== JSON.stringify([...want.keys()].sort())) problems.push(`files ${names.join(',')} for jobs ${jobs.map((d) => d.id).join(',')}`);
  for (const { name, text } of texts) {
    const w = want.get(name);
    if (!w) continue;
    const { d, type } = w;
    const base = name.replace(/\.(service|timer)$/, '');
    const unit = parseUnit(name, text, problems);
    let marker: Record<string, unknown> = {};
    try {
      marker = JSON.parse(unit.marker.replace(/^# cronsync:v1 /, '')) as Record<string, unknown>;
    } catch {
      problems.push(`${name}: first line is not a marker: ${show(unit.marker)}`);
    }
    if (!unit.marker.startsWith('# cronsync:v1 ') || !sameMarker(marker, d)) problems.push(`${name}: marker differs from the job's provenance: ${show(unit.marker)}`);
    const settings = (section: string): string => JSON.stringify(unit.sections.get(section) ?? null);
    const exec = [...EXEC, 'exec', '--scheduled', '--state-dir', STATE_DIR, d.id].join(' ');
    if (type === 'service') {
      if (JSON.stringify([...unit.sections.keys()]) !== '["Unit","Service"]') problems.push(`${name}: sections ${[...unit.sections.keys()].join(',')}`);
      if (settings('Unit') !== JSON.stringify([['Description', `cronsync job ${d.id}`]])) problems.push(`${name}: [Unit] ${settings('Unit')}`);
      const service = JSON.stringify([['Type', 'oneshot'], ['ExecStart', exec], ['User', user], ['SyslogIdentifier', base]]);
      if (settings('Service') !== service) problems.push(`${name}: [Service] ${settings('Service')}, expected ${service}`);
    } else {
      if (JSON.stringify([...unit.sections.keys()]) !== '["Unit","Timer","Install"]') problems.push(`${name}: sections ${[...unit.sections.keys()].join(',')}`);
      const description = `cronsync timer of ${d.id}: ${d.job.spec.schedule.replace(/%/g, '%%')} ${d.job.spec.timezone.replace(/%/g, '%%')}`;
      if (settings('Unit') !== JSON.stringify([['Description', description]])) problems.push(`${name}: [Unit] ${settings('Unit')}`);
      const timer = unit.sections.get('Timer') ?? [];
      const calendars = timer.filter(([k]) => k === 'OnCalendar');
      const rest = JSON.stringify(timer.filter(([k]) => k !== 'OnCalendar'));
      if (calendars.length === 0) problems.push(`${name}: no OnCalendar=`);
      for (const [, v] of calendars) if (!/^[-0-9A-Za-z*:,./ _+~]+$/.test(v) || v.includes('%')) problems.push(`${name}: OnCalendar=${show(v)}`);
      if (rest !== JSON.stringify([['AccuracySec', '1s'], ['RandomizedDelaySec', '0'], ['Persistent', 'false'], ['Unit', `${base}.service`]])) problems.push(`${name}: [Timer] ${rest}`);
      if (settings('Install') !== JSON.stringify([['WantedBy', 'timers.target']])) problems.push(`${name}: [Install] ${settings('Install')}`);
      if (unit.comments.includes(PAUSED_NOTE) !== d.job.spec.paused) problems.push(`${name}: paused note ${String(!d.job.spec.paused)} for paused=${String(d.job.spec.paused)}`);
    }
  }
  return problems;
}

/** Checks the embedded registry: `{version: 1, jobs}` with exactly the expected records, sorted by job id. */
export function checkRegistry(texts: readonly Written[], jobs: readonly DesiredJob[]): string[] {
  if (texts.length === 0 && jobs.length === 0) return [];
  if (texts.length !== 1) return [`${texts.length} registry files`];
  let doc: unknown;
  try {
    doc = JSON.parse(texts[0]!.text);
  } catch (err) {
    return [`registry is not JSON: ${(err as Error).message}`];
  }
  const want = [...jobs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((d) => ({
    ...expectedMarker(d), schedule: d.job.spec.schedule, timezone: d.job.spec.timezone, paused: d.job.spec.paused,
  }));
  return JSON.stringify(doc) === JSON.stringify({ version: 1, jobs: want }) ? [] : [`registry differs from the expected records: ${show(texts[0]!.text)}`];
}
