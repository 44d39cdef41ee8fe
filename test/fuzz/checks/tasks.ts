/** The task XML checker of the fuzz suite (windows). */
import { create } from 'xmlbuilder2';
import type { DesiredJob } from '../../../src/desired/types.js';
import { EXEC, STATE_DIR, sameMarker, show } from './shared.js';
import type { Written } from './shared.js';

const TASK_NS = 'http://schemas.microsoft.com/windows/2004/02/mit/task';
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const TRIGGER_CHILDREN = ['Repetition', 'StartBoundary', 'Enabled'];
/** Element → allowed children (in any number) or 'text' (a leaf); exact sequences are checked apart. */
const TASK_SCHEMA: Record<string, readonly string[] | 'text'> = {
  Task: ['RegistrationInfo', 'Triggers', 'Principals', 'Settings', 'Actions'],
  RegistrationInfo: ['URI', 'Source', 'Author', 'Description'],
  Triggers: ['CalendarTrigger', 'TimeTrigger'],
  CalendarTrigger: [...TRIGGER_CHILDREN, 'ScheduleByDay', 'ScheduleByWeek', 'ScheduleByMonth', 'ScheduleByMonthDayOfWeek'],
  TimeTrigger: TRIGGER_CHILDREN,
  Repetition: ['Interval', 'Duration'],
  ScheduleByDay: ['DaysInterval'],
  ScheduleByWeek: ['WeeksInterval', 'DaysOfWeek'],
  ScheduleByMonth: ['DaysOfMonth', 'Months'],
  ScheduleByMonthDayOfWeek: ['Weeks', 'DaysOfWeek', 'Months'],
  DaysOfMonth: ['Day'],
  Weeks: ['Week'],
  DaysOfWeek: DAYS,
  Months: MONTHS,
  Principals: ['Principal'],
  Principal: ['UserId', 'LogonType', 'RunLevel'],
  Settings: ['MultipleInstancesPolicy', 'DisallowStartIfOnBatteries', 'StopIfGoingOnBatteries', 'StartWhenAvailable', 'Enabled', 'ExecutionTimeLimit'],
  Actions: ['Exec'],
  Exec: ['Command', 'Arguments'],
  ...Object.fromEntries([...DAYS, ...MONTHS].map((n) => [n, []])),
  ...Object.fromEntries(['URI', 'Source', 'Author', 'Description', 'StartBoundary', 'Enabled', 'Interval', 'Duration', 'DaysInterval', 'WeeksInterval', 'Day', 'Week', 'UserId', 'LogonType', 'RunLevel',
    'MultipleInstancesPolicy', 'DisallowStartIfOnBatteries', 'StopIfGoingOnBatteries', 'StartWhenAvailable', 'ExecutionTimeLimit', 'Command', 'Arguments'].map((n) => [n, 'text'])),
};
const ATTRIBUTES: Record<string, readonly string[]> = { Task: ['version', 'xmlns'], Principal: ['id'], Actions: ['Context'] };
/** Children that must appear exactly in this order, once each. */
const EXACT: Record<string, readonly string[]> = {
  Task: TASK_SCHEMA.Task as string[],
  RegistrationInfo: TASK_SCHEMA.RegistrationInfo as string[],
  Principals: ['Principal'],
  Settings: TASK_SCHEMA.Settings as string[],
  Actions: ['Exec'],
  Exec: ['Command', 'Arguments'],
};

interface Dom {
  nodeType: number;
  localName?: string | null;
  namespaceURI?: string | null;
  textContent: string | null;
  childNodes: ArrayLike<Dom>;
  attributes?: ArrayLike<{ name: string; value: string }>;
}

/** Walks a task element: known elements in the task namespace, known attributes, text only in leaves. */
function walkTask(el: Dom, at: string, problems: string[], leaves: Map<string, string[]>): void {
  const name = el.localName ?? '';
  const rule = TASK_SCHEMA[name];
  if (el.namespaceURI !== TASK_NS) problems.push(`${at}: element ${name} outside the task namespace (${String(el.namespaceURI)})`);
  if (!rule) {
    problems.push(`${at}: unexpected element ${name}`);
    return;
  }
  for (const a of Array.from(el.attributes ?? [])) if (!(ATTRIBUTES[name] ?? []).includes(a.name)) problems.push(`${at}: unexpected attribute ${a.name}=${show(a.value)}`);
  const kids = Array.from(el.childNodes);
  const elements = kids.filter((k) => k.nodeType === 1);
  for (const k of kids) {
    if (k.nodeType === 1) continue;
    if (k.nodeType !== 3) problems.push(`${at}: unexpected node of type ${k.nodeType} in ${name}: ${show(k.textContent ?? '')}`);
    else if (rule !== 'text' && (k.textContent ?? '').trim() !== '') problems.push(`${at}: text in ${name}: ${show(k.textContent ?? '')}`);
  }
  if (rule === 'text') {
    if (elements.length > 0) problems.push(`${at}: elements inside leaf ${name}`);
    leaves.set(name, [...(leaves.get(name) ?? []), el.textContent ?? '']);
    return;
  }
  const exact = EXACT[name];
  const names = elements.map((e) => e.localName ?? '');
  if (exact && name !== 'Exec' && JSON.stringify(names) !== JSON.stringify(exact)) problems.push(`${at}: ${name} holds ${names.join(',')}, expected ${exact.join(',')}`);
  for (const e of elements) {
    if (!rule.includes(e.localName ?? '')) problems.push(`${at}: ${e.localName ?? ''} not allowed in ${name}`);
    walkTask(e, `${at}/${e.localName ?? ''}`, problems, leaves);
  }
}

/**
 * Checks task XML: one task per job, named by its task path, exactly the element structure
 * cronsync writes (one Exec running the exec command for this job), the marker in Source, and
 * no comment, processing instruction, CDATA or stray text anywhere.
 */
export function checkTasks(texts: readonly Written[], jobs: readonly DesiredJob[]): string[] {
  const problems: string[] = [];
  if (texts.length !== jobs.length) problems.push(`${texts.length} tasks for ${jobs.length} jobs`);
  const byPath = new Map(jobs.map((d) => [`\\cronsync\\${d.job.metadata.tenant}\\${d.job.metadata.name}`, d]));
  for (const { name, text } of texts) {
    const d = byPath.get(name);
    if (!d) {
      problems.push(`task ${show(name)} matches no job`);
      continue;
    }
    let doc: Dom;
    try {
      doc = create(text.replace(/^\uFEFF/, '')).node as unknown as Dom;
    } catch (err) {
      problems.push(`${name}: XML does not parse: ${(err as Error).message}`);
      continue;
    }
    const top = Array.from(doc.childNodes);
    const roots = top.filter((n) => n.nodeType === 1);
    if (top.length !== 1 || roots.length !== 1 || roots[0]!.localName !== 'Task') {
      problems.push(`${name}: document holds ${top.map((n) => `${n.nodeType}:${n.localName ?? ''}`).join(',')}, expected one Task`);
      continue;
    }
    const leaves = new Map<string, string[]>();
    walkTask(roots[0]!, name, problems, leaves);
    const one = (leaf: string): string | undefined => leaves.get(leaf)?.[0];
    const count = (leaf: string): number => leaves.get(leaf)?.length ?? 0;
    const triggers = count('StartBoundary');
    if (triggers > 48) problems.push(`${name}: ${triggers} triggers`);
    if (one('URI') !== name || count('URI') !== 1) problems.push(`${name}: URI ${show(one('URI') ?? '')}`);
    if (count('Command') !== 1 || one('Command') !== EXEC[0]) problems.push(`${name}: Command ${show(one('Command') ?? '')}`);
    const args = [EXEC[1], 'exec', '--scheduled', '--state-dir', STATE_DIR, d.id].join(' ');
    if (count('Arguments') !== 1 || one('Arguments') !== args) problems.push(`${name}: Arguments ${show(one('Arguments') ?? '')}, expected ${show(args)}`);
    const source = one('Source') ?? '';
    let marker: Record<string, unknown> = {};
    try {
      marker = JSON.parse(source.replace(/^# cronsync:v1 /, '')) as Record<string, unknown>;
    } catch {
      problems.push(`${name}: Source is not a marker: ${show(source)}`);
    }
    if (!source.startsWith('# cronsync:v1 ') || !sameMarker(marker, d)) problems.push(`${name}: Source differs from the job's provenance: ${show(source)}`);
    for (const leaf of ['Source', 'Description']) if (!/^[\x20-\x7e]*$/.test(one(leaf) ?? '')) problems.push(`${name}: ${leaf} has characters outside printable ASCII: ${show(one(leaf) ?? '')}`);
    const enabled = leaves.get('Enabled')?.at(-1);
    if (enabled !== String(!d.job.spec.paused)) problems.push(`${name}: Settings/Enabled ${String(enabled)} for paused=${String(d.job.spec.paused)}`);
  }
  return problems;
}
