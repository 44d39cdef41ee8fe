/**
 * This agent's entries in the schedulers it does not use. When `scheduler.kind` changes (or
 * `auto` resolves to another kind), the entries the previous kind holds stay there and keep
 * starting `cronsync exec`: the exec guard runs each fire once, but a job removed from Git keeps
 * being started (and fails: no snapshot), and the user does not know the old entries exist.
 * They are found here, read only, so that the sync can report them.
 *
 * An entry is this agent's when its marker carries one of the agent's source ids and it runs
 * `exec` with this agent's state dir (another agent with the same source and its own state dir
 * is not us); an embedded record is in the state dir itself.
 */
import type { InstalledEntry } from '../plan/types.js';
import { hostOs } from '../system/platform.js';
import type { SchedulerConfig, SchedulerDeps, SchedulerRegistration } from './registration.js';
import type { SchedulerKind } from './types.js';

/** The state dir `exec` uses when given none (crontab/index.ts, not imported: it loads that adapter). */
const DEFAULT_STATE_DIR = '/var/lib/cronsync';

/** Entries of this agent found in a scheduler it does not use. */
export interface Elsewhere {
  kind: SchedulerKind;
  entries: InstalledEntry[];
}

/** Finds this agent's entries in the schedulers other than `current`, given the agent's source ids. */
export type FindElsewhere = (owned: ReadonlySet<string>, signal: AbortSignal) => Promise<Elsewhere[]>;

/**
 * The finder for an agent using `current`: every other registered kind of this platform is
 * read through its own adapter's inventory. A kind that cannot be read here (no `crontab`
 * program, no permission, systemctl unavailable) is skipped with a debug log.
 */
export function elsewhereFinder(current: SchedulerKind, config: SchedulerConfig, deps: SchedulerDeps, registry: readonly SchedulerRegistration[]): FindElsewhere {
  return async (owned, signal) => {
    const found: Elsewhere[] = [];
    for (const r of registry) {
      if (r.kind === current || (r.targetPlatform ?? hostOs) !== hostOs) continue;
      let entries: InstalledEntry[];
      try {
        await r.load?.();
        entries = await r.create(r.options(config, deps), deps).inventory(signal);
      } catch (err) {
        signal.throwIfAborted();
        deps.log.debug({ kind: r.kind, err: { message: (err as Error).message } }, 'Cannot read another scheduler for entries of this agent');
        continue;
      }
      const ours = entries.filter((e) => e.marker !== null && owned.has(e.marker.sourceId) && (r.inProcess === true || runsWithStateDir(e.raw, e.marker.jobId, config.stateDir)));
      if (ours.length > 0) found.push({ kind: r.kind, entries: ours });
    }
    return found;
  };
}

/**
 * True when an entry's text runs `exec` for `jobId` with `stateDir`: `--state-dir DIR JOB`, DIR
 * quoted for /bin/sh (cron lines, `%` escaped) or for systemd's ExecStart=, or, in a crontab,
 * no `--state-dir` at all when DIR is exec's default. Paused (commented) lines count too.
 */
export function runsWithStateDir(raw: string, jobId: string, stateDir: string): boolean {
  const sh = /^[A-Za-z0-9_@%+=:,./-]+$/.test(stateDir) ? stateDir : `'${stateDir.replace(/'/g, `'\\''`)}'`;
  const unit = stateDir.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  const dirs = [sh, sh.replace(/%/g, '\\%'), unit, `"${unit.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`];
  if (dirs.some((d) => endsWord(raw, ` --state-dir ${d} ${jobId}`))) return true;
  return stateDir === DEFAULT_STATE_DIR && endsWord(raw, ` exec --scheduled ${jobId}`);
}

/** True when `words` occur in `raw` at the end of a line or of an XML element's text. */
function endsWord(raw: string, words: string): boolean {
  for (let at = raw.indexOf(words); at >= 0; at = raw.indexOf(words, at + 1)) {
    const next = raw[at + words.length];
    if (next === undefined || next === '\n' || next === '\r' || next === '<' || next === ' ') return true;
  }
  return false;
}
