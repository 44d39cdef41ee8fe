/**
 * Renders one job as a systemd unit pair (SPEC §8): `cronsync-<tenant>-<name>.service`, a
 * oneshot running `cronsync exec --scheduled`, and `.timer` with the job's `OnCalendar=`
 * lines (calendar.ts). Each file starts with the provenance marker (SPEC §4), whose `entry`
 * hash covers the rest of the file, so a hand edit is drift even without the job.
 */
import type { DesiredJob } from '../../desired/types.js';
import { SchedulerError } from '../../errors.js';
import type { JobId } from '../../manifest/types.js';
import { resolveSchedule } from '../../schedule/fires.js';
import { encodeMarker, entryHash, markerOf } from '../marker.js';
import type { ExecCommand, RenderedFile } from '../types.js';
import { calendarLines } from './calendar.js';

/** What a job's units need besides the job. */
export interface UnitContext {
  sourceId: string;
  execCommand: ExecCommand;
  /** State dir passed to `exec --state-dir`. */
  stateDir: string;
  /** `User=` of the service (system mode); absent in user mode, where units run as their manager's user. */
  user?: string;
  /** Directory the units are written to (names of rendered files). */
  unitDir: string;
}

/** The comment line a paused job's timer carries; the timer is then kept stopped and disabled. */
export const PAUSED_NOTE = '# Paused (spec.paused: true): cronsync keeps this timer stopped and disabled.';

/** Prefix of the timer's line naming its service file's hash: a hand-edited service changes the timer's entry. */
export const SERVICE_LINE = '# Service file: ';

/** The timer's service line for a service file's text (null: the file is missing). */
export function serviceLine(base: string, service: string | null): string {
  return `${SERVICE_LINE}${base}.service ${service === null ? 'missing' : `sha256:${entryHash(service)}`}`;
}

/** `cronsync-<tenant>-<name>`: the unit name of a job, without suffix. */
export function unitBase(id: JobId | string): string {
  return `cronsync-${id.replace('/', '-')}`;
}

/** Is `name` (`cronsync-acme-backup.timer`) a unit file name cronsync could have written? */
export function isCronsyncUnitFile(name: string): boolean {
  return /^cronsync-[a-z0-9][-a-z0-9]*\.(service|timer)$/.test(name);
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
/** No unit line can hold these (a line break would start a new setting). */
const CONTROL = /[\u0000-\u001f\u007f]/; // eslint-disable-line no-control-regex

/**
 * One word of an `ExecStart=` command line (systemd.service(5) "Command lines"): `%` and `$`
 * doubled so neither a specifier nor a variable is expanded, and double quotes with C escapes
 * around anything but plain characters.
 * @throws {SchedulerError} for a control character, which no unit line can hold.
 */
export function execWord(word: string): string {
  if (CONTROL.test(word)) throw new SchedulerError(`cannot write ${JSON.stringify(word)} into a unit: it contains a control character`, { word });
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (escaped !== '' && SAFE_WORD.test(escaped) && escaped !== ';') return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A value on a unit line: `%` doubled (specifiers), control characters refused. @throws {SchedulerError} */
function unitValue(text: string): string {
  if (CONTROL.test(text)) throw new SchedulerError(`cannot write ${JSON.stringify(text)} into a unit: it contains a control character`, { text });
  return text.replace(/%/g, '%%');
}

/**
 * A file with its marker line: the marker's entry hash covers `body`. Only the timer's marker
 * (the job's entry) records when the job was applied: the service file, which the timer names by
 * its hash, is then the same text whether or not the job being rendered says so.
 */
function withMarker(d: DesiredJob, ctx: UnitContext, body: string, withApplied: boolean): string {
  return `${encodeMarker(markerOf(d, ctx.sourceId, withApplied), body)}\n${body}`;
}

function header(d: DesiredJob, unit: string): string {
  // JSON escapes keep a path with odd characters on one comment line.
  const path = JSON.stringify(d.provenance.path).slice(1, -1);
  return [
    `# Managed by cronsync: job ${d.id} from ${path}. Change the manifest in Git; edits here`,
    `# are undone at the next sync. Site settings go in a drop-in: systemctl edit ${unit}`,
  ].join('\n');
}

/** The `.service` text of a job. @throws {SchedulerError} */
export function renderService(d: DesiredJob, ctx: UnitContext): string {
  const base = unitBase(d.id);
  const argv = [ctx.execCommand.file, ...ctx.execCommand.args, 'exec', '--scheduled', '--state-dir', ctx.stateDir, d.id];
  if (!ctx.execCommand.file.startsWith('/')) throw new SchedulerError(`ExecStart= needs an absolute program path, got ${JSON.stringify(ctx.execCommand.file)}`, { file: ctx.execCommand.file });
  const lines = [
    header(d, `${base}.service`),
    '[Unit]',
    `Description=cronsync job ${d.id}`,
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${argv.map(execWord).join(' ')}`,
    ...(ctx.user === undefined ? [] : [`User=${unitValue(ctx.user)}`]),
    `SyslogIdentifier=${base}`,
  ];
  return withMarker(d, ctx, `${lines.join('\n')}\n`, false);
}

/**
 * The `.timer` text of a job at render time `now` (epoch ms; dated DST lines), naming the
 * hash of its service file's text `service`. @throws {ManifestError}
 */
export function renderTimer(d: DesiredJob, ctx: UnitContext, now: number, service: string): string {
  const base = unitBase(d.id);
  const { schedule, timezone, paused } = d.job.spec;
  const cal = calendarLines(resolveSchedule(schedule, timezone), timezone, now);
  const lines = [
    header(d, `${base}.timer`),
    serviceLine(base, service),
    ...(paused ? [PAUSED_NOTE] : []),
    '[Unit]',
    `Description=cronsync timer of ${d.id}: ${unitValue(schedule)} ${unitValue(timezone)}`,
    '',
    '[Timer]',
    ...cal.recurring.map((l) => `OnCalendar=${l}`),
    ...(cal.dated.length === 0 ? [] : [
      '# DST changes of the coming year: every fire of each change (SPEC 2a) as a dated line;',
      '# cronsync exec --scheduled runs each fire once and nothing else.',
      ...cal.dated.map((l) => `OnCalendar=${l}`),
    ]),
    'AccuracySec=1s',
    'RandomizedDelaySec=0',
    // cron does not catch up on missed runs.
    'Persistent=false',
    `Unit=${base}.service`,
    '',
    '[Install]',
    'WantedBy=timers.target',
  ];
  return withMarker(d, ctx, `${lines.join('\n')}\n`, true);
}

/** Both unit texts of a job. */
export interface UnitPair {
  base: string;
  service: string;
  timer: string;
}

/** The unit pair of a job. @throws {SchedulerError} @throws {ManifestError} */
export function renderUnits(d: DesiredJob, ctx: UnitContext, now: number): UnitPair {
  const service = renderService(d, ctx);
  return { base: unitBase(d.id), service, timer: renderTimer(d, ctx, now, service) };
}

/**
 * The `raw` text of an installed entry: the timer file as read, its service line recomputed
 * from the service file as read. Equal to the rendered timer exactly when neither file changed.
 */
export function entryRaw(base: string, timer: string | null, service: string | null): string {
  const line = serviceLine(base, service);
  if (timer === null) return `${line}\n`;
  const lines = timer.split('\n');
  const i = lines.findIndex((l) => l.startsWith(SERVICE_LINE));
  if (i < 0) return `${line}\n${timer}`;
  lines[i] = line;
  return lines.join('\n');
}

/** The files `cronsync render --scheduler systemd` prints, or writes with `--out DIR`. */
export function renderUnitFiles(desired: readonly DesiredJob[], ctx: UnitContext, now: number): RenderedFile[] {
  return [...desired].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).flatMap((d) => {
    const u = renderUnits(d, ctx, now);
    return [
      { name: `${ctx.unitDir.replace(/\/+$/, '')}/${u.base}.service`, content: u.service, fileName: `${u.base}.service` },
      { name: `${ctx.unitDir.replace(/\/+$/, '')}/${u.base}.timer`, content: u.timer, fileName: `${u.base}.timer` },
    ];
  });
}
