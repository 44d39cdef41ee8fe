/**
 * The scheduler port (STYLE §2): every adapter reads back what it installed, renders without
 * side effects, and applies a plan idempotently.
 */
import { realpathSync } from 'node:fs';
import type { DesiredJob } from '../desired/types.js';
import type { JobId } from '../manifest/types.js';
import { SchedulerError } from '../errors.js';
import type { InstalledEntry, Plan } from '../plan/types.js';
import { hostOs } from '../system/platform.js';
import type { Runner } from '../system/runner.js';
import type { Horizon } from './cronline/zones.js';
import type { CrontabSpool } from './crontab/spool.js';

/** The schedulers cronsync can drive (SPEC §8). */
export type SchedulerKind = 'crontab' | 'cron.d' | 'systemd' | 'windows' | 'embedded';

/** One file or block an adapter would write; `name` is a path or a label (`crontab of alice`). */
export interface RenderedFile {
  name: string;
  /** The text, for a terminal (UTF-8 when printed). */
  content: string;
  /**
   * Relative path under `render --out DIR` (`acme/backup.xml`); `/` separates folders, never
   * `..` nor absolute. Default: derived from `name`.
   */
  fileName?: string;
  /** The exact bytes to write (e.g. UTF-16LE with BOM); default: `content` as UTF-8. */
  data?: Uint8Array;
}

/** Rendered is what apply() would write, for `cronsync render` and `diff`. */
export interface Rendered {
  kind: SchedulerKind;
  files: RenderedFile[];
}

/** ApplyResult says what apply() changed. */
export interface ApplyResult {
  /** True when anything was written. */
  changed: boolean;
  /** Paths or targets written (`/etc/cron.d/cronsync`, `crontab -u alice`). */
  written: string[];
  /** What the operator should know about the applied state (systemd: lingering is off); shown as status problems `scheduler`. */
  warnings?: string[];
  /**
   * Jobs whose entry the scheduler refused while the others were applied (a task schtasks
   * would not create, a timer systemctl would not enable or remove): each one's previous entry,
   * if any, is as it was. The reconciler keeps their last applied snapshot, reports them
   * (`entry-invalid`, result partial) and tries again at the next sync. An adapter throws only
   * when it could apply nothing, or cannot tell what it applied.
   */
  failed?: { id: JobId; error: string }[];
}

/** SchedulerAdapter is one host scheduler behind the reconciler. */
export interface SchedulerAdapter {
  readonly kind: SchedulerKind;
  /** Entries currently installed, ours (with decoded Marker) and foreign. */
  inventory(signal: AbortSignal): Promise<InstalledEntry[]>;
  /** Pure: the exact bytes/units that apply() would write. Backs `cronsync render`. */
  render(desired: readonly DesiredJob[]): Rendered;
  /**
   * Pure: the raw text of one job's entry exactly as inventory() reports it in `raw` when
   * installed from this desired job. The planner compares the two to detect drift.
   */
  renderEntry(desired: DesiredJob): string;
  /**
   * For schedulers where a job's entry has a fixed place that something not made by cronsync
   * can hold (a Windows task at the job's path): given the inventory, why a job cannot be
   * installed there, or null. The plan then rejects that job alone (its entry is never
   * overwritten) and the other jobs apply. Absent: no entry can be in the way.
   */
  occupied?(installed: readonly InstalledEntry[]): (desired: DesiredJob) => string | null;
  /** Idempotent and atomic; a second call with the same plan changes nothing. */
  apply(plan: Plan, signal: AbortSignal): Promise<ApplyResult>;
}

/**
 * {@link SchedulerAdapter.occupied} of an adapter that gives each job a place of its own (a task
 * path, a unit name): a job whose place holds an entry without a cronsync marker, or (given
 * `sourceId`, this agent's) one that another source installed for another job, is told
 * `why(place, entry)`. The same job installed by another source is not in the way here: the
 * planner reports it as a conflict, which --force overrides. `key` makes the names of a place
 * comparable (Task Scheduler's are case-blind).
 */
export function foreignInPlace(
  installed: readonly InstalledEntry[],
  place: { ofEntry(e: InstalledEntry): string; ofJob(d: DesiredJob): string; key?(place: string): string },
  why: (place: string, entry: InstalledEntry) => string,
  sourceId?: string,
): (d: DesiredJob) => string | null {
  const key = place.key ?? ((p: string) => p);
  const foreign = new Map<string, InstalledEntry[]>();
  for (const e of installed) {
    if (e.marker !== null && (sourceId === undefined || e.marker.sourceId === sourceId)) continue;
    const k = key(place.ofEntry(e));
    foreign.set(k, [...(foreign.get(k) ?? []), e]);
  }
  return (d) => {
    const at = place.ofJob(d);
    const e = foreign.get(key(at))?.find((f) => f.marker === null || f.marker.jobId !== d.id);
    return e ? why(at, e) : null;
  };
}

/** The program a scheduler entry runs: `file args... exec --scheduled tenant/name`. */
export interface ExecCommand {
  /** Absolute path: the `cronsync` bin, or node. */
  file: string;
  /** E.g. [`/usr/lib/node_modules/cronsync/dist/cli/launch.cjs`]; empty for the bin. */
  args: string[];
}

/**
 * An adapter that runs its jobs itself, inside the daemon (embedded). The daemon starts it once
 * its config is in use and stops it on shutdown or when a reload replaces it.
 */
export interface InProcessScheduler {
  /** Loads what is installed and arms the timers; never rejects. @returns the jobs armed. */
  start(): Promise<number>;
  /** Cancels the timers; runs in flight continue. Idempotent. */
  stop(): void;
  /** Runs started and not yet settled (they never reject). */
  running(): Promise<void>[];
}

/** Tells an adapter that runs jobs in process (see {@link InProcessScheduler}) from the rest. */
export function isInProcess(adapter: SchedulerAdapter): adapter is SchedulerAdapter & InProcessScheduler {
  const a = adapter as Partial<InProcessScheduler>;
  return typeof a.start === 'function' && typeof a.stop === 'function' && typeof a.running === 'function';
}

/** Settings of the cron adapters (cron.d, crontab), derived from the config by the registry. */
export interface AdapterOptions {
  /** Source id of this agent; only entries carrying it are ours. */
  sourceId: string;
  /** Run-as user (cron.d) or whose crontab (crontab). */
  user: string;
  /** Directory of the cron.d file (default `/etc/cron.d`). */
  cronDir: string;
  execCommand: ExecCommand;
  /** State dir passed to `exec` (SPEC §3 `stateDir`). */
  stateDir: string;
  /** The state dir `exec` uses when none is given; default `/var/lib/cronsync`. */
  defaultStateDir?: string;
  /** IANA zone the host's cron runs in; default: this process's zone. */
  hostZone?: string;
  /** Years scanned for DST transitions when translating schedules (tests only). */
  horizon?: Horizon;
}

/** Ports of the cron adapters. */
export interface AdapterPorts {
  runner: Runner;
  /**
   * Direct reads of the crontab spool (crontab adapter), for byte-exact rewrites; null: always
   * `crontab -l`. Default: Debian's `/var/spool/cron/crontabs`, used when readable (root).
   */
  crontabSpool?: CrontabSpool | null;
  /** Current user name and whether we are root; default: from the OS. */
  identity?: { user: string; isRoot: boolean };
}

/** Ports of {@link hostTimeZone}. */
export interface HostZonePorts {
  /** The zone ICU reports; undefined or `Etc/Unknown` when it cannot name it. */
  intlZone: () => string | undefined;
  /** fs.realpathSync. */
  realpath: (path: string) => string;
  /**
   * ICU reads TZ, then where /etc/localtime links (POSIX hosts): a UTC spelling there is named
   * `UTC` without asking Intl, whose first DateTimeFormat maps megabytes of ICU data.
   */
  posixTz?: boolean;
}

const nodeHostZonePorts: HostZonePorts = {
  intlZone: () => Intl.DateTimeFormat().resolvedOptions().timeZone,
  realpath: (p) => realpathSync(p),
  posixTz: hostOs !== 'win32',
};

/** Spellings of UTC that ICU reports as `UTC` (test/scheduler/host-zone.test.ts asks ICU). */
export const UTC_SPELLINGS: ReadonlySet<string> = new Set(['UTC', 'Etc/UTC', 'UCT', 'Etc/UCT', 'Universal', 'Etc/Universal', 'Zulu', 'Etc/Zulu', 'GMT', 'Etc/GMT']);

/** `UTC` when TZ, or with TZ unset the zoneinfo file /etc/localtime resolves to, spells UTC; else undefined (ask Intl). */
function utcWithoutIntl(env: NodeJS.ProcessEnv, ports: HostZonePorts): 'UTC' | undefined {
  if (!ports.posixTz) return undefined;
  if (env.TZ !== undefined) return UTC_SPELLINGS.has(env.TZ.replace(/^:/, '')) ? 'UTC' : undefined;
  let real: string;
  try {
    real = ports.realpath('/etc/localtime');
  } catch {
    return undefined;
  }
  const name = /\/zoneinfo\/(.+)$/.exec(real)?.[1];
  return name !== undefined && UTC_SPELLINGS.has(name) ? 'UTC' : undefined;
}

function isZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * `UTC` when TZ names a zone that libc cannot load (POSIX hosts): libc, and so cron, reads such a
 * name as the file of that name under /usr/share/zoneinfo (or TZDIR), exactly as spelled, and
 * runs on UTC when there is none and the name is no POSIX rule either. ICU is more lenient
 * (`TZ=europe/berlin`, or a zone whose tzdata is not installed in a container) and would name a
 * zone cron does not use.
 */
function libcFallsBackToUtc(env: NodeJS.ProcessEnv, ports: HostZonePorts): 'UTC' | undefined {
  const name = (env.TZ ?? '').replace(/^:/, '');
  // A POSIX rule (`JST-9`, `CET-1CEST,M3.5.0,M10.5.0/3`) is what libc applies when no file has
  // that name: not UTC. ICU cannot name such a zone, and hostTimeZone then refuses to guess.
  if (!ports.posixTz || name === '' || name.startsWith('/') || POSIX_RULE.test(name)) return undefined;
  try {
    ports.realpath(`${env.TZDIR || '/usr/share/zoneinfo'}/${name}`);
    return undefined;
  } catch {
    return 'UTC';
  }
}

/** The start of a POSIX TZ rule: a zone abbreviation (3+ letters, or `<…>`), then an offset. */
const POSIX_RULE = /^(?:[A-Za-z]{3,}|<[^>]+>)[+-]?\d/;

/** A POSIX TZ rule of a standard time alone, no DST part: `JST-9`, `<+05>-5`, `UTC0`, `GMT-3`. */
const POSIX_FIXED = /^(?:[A-Za-z]{3,}|<[^>]+>)([+-]?)(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?$/;

/**
 * The IANA zone of a POSIX TZ rule that libc applies (TZ matches POSIX_RULE and names no
 * zoneinfo file; `EST5EDT` is one, and is left to ICU): a fixed whole-hour offset is the
 * `Etc/GMT±h` zone, whose sign is POSIX's (`JST-9` is UTC+9 is Etc/GMT-9), and offset 0 is UTC.
 * ICU reads such rules as UTC, which would shift every entry by the offset.
 * @throws {SchedulerError} for a rule with DST or a non-whole-hour offset: no IANA zone is it.
 */
function posixRuleZone(env: NodeJS.ProcessEnv, ports: HostZonePorts): string | undefined {
  const name = (env.TZ ?? '').replace(/^:/, '');
  if (!ports.posixTz || !POSIX_RULE.test(name)) return undefined;
  try {
    ports.realpath(`${env.TZDIR || '/usr/share/zoneinfo'}/${name}`);
    return undefined;
  } catch {
    // No such file: libc applies the rule.
  }
  const m = POSIX_FIXED.exec(name);
  const hours = Number(m?.[2]);
  if (m && Number(m[3] ?? 0) === 0 && Number(m[4] ?? 0) === 0 && hours <= (m[1] === '-' ? 14 : 12)) {
    return hours === 0 ? 'UTC' : `Etc/GMT${m[1] === '-' ? '-' : '+'}${hours}`;
  }
  throw new SchedulerError(`cannot tell the host's time zone: TZ=${env.TZ} is a POSIX rule ${m ? 'with an offset no Etc/GMT zone has (not a whole hour, or beyond -12 to +14 hours)' : 'with daylight saving time'}, which no IANA zone matches for sure; set TZ to an IANA name such as Asia/Kolkata or Europe/Paris (the zone cron then uses too)`, { tz: env.TZ });
}

/**
 * The host's IANA zone as this process (and cron) sees it: TZ or /etc/localtime. ICU cannot
 * name a zone given as a file (`TZ=:/etc/localtime`, `TZ=/usr/share/zoneinfo/…`); the zoneinfo
 * path the file resolves to names it then.
 * @throws {SchedulerError} when the zone cannot be named (guessing UTC would shift every entry).
 */
export function hostTimeZone(env: NodeJS.ProcessEnv = process.env, ports: HostZonePorts = nodeHostZonePorts): string {
  const utc = utcWithoutIntl(env, ports) ?? libcFallsBackToUtc(env, ports);
  if (utc) return utc;
  const rule = posixRuleZone(env, ports);
  if (rule) return rule;
  const intl = ports.intlZone();
  // ICU reads some TZ values its own way (`GMT-3` as UTC-3, where libc applies UTC+3): only a
  // zone it can also format in is taken; anything else is named from the zoneinfo file, or refused.
  if (intl && intl !== 'Etc/Unknown' && isZone(intl)) return intl;
  const tz = env.TZ ?? '';
  const file = tz.replace(/^:/, '') || '/etc/localtime';
  if (!file.startsWith('/') && isZone(file)) return file;
  let real: string | undefined;
  try {
    real = ports.realpath(file.startsWith('/') ? file : `/usr/share/zoneinfo/${file}`);
  } catch (err) {
    if (tz === '' && (err as NodeJS.ErrnoException).code === 'ENOENT') return 'UTC';
  }
  const name = real && /\/zoneinfo\/(?:posix\/|right\/)?(.+)$/.exec(real)?.[1];
  if (name && isZone(name)) return name;
  throw new SchedulerError(`cannot tell the host's time zone: ${file} (TZ=${tz || 'unset'}) is not a zoneinfo file; set TZ to an IANA name such as America/New_York, the zone cron uses`, { tz });
}
