/**
 * The `systemd` adapter (SPEC §8): a `cronsync-<tenant>-<name>.service` + `.timer` pair per
 * job in the unit directory, read back from the files (markers, hand edits) and the timers'
 * state in systemd. apply writes only changed files (atomically, mode 0644), then runs one
 * `daemon-reload`, `enable --now` for timers that must run, `disable --now` for paused and
 * removed ones (a paused job's files stay), and deletes removed jobs' files.
 *
 * System mode (root): `scheduler.unitDir`, `systemctl`, services with `User=`. User mode:
 * `~/.config/systemd/user` and `systemctl --user`; timers of a user without lingering stop at
 * logout, which apply reports as a warning.
 */
import { join } from 'node:path';
import type { DesiredJob } from '../../desired/types.js';
import { SchedulerError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { nullLogger } from '../../log.js';
import { ownedSourceIds } from '../../plan/plan.js';
import type { InstalledEntry, Plan } from '../../plan/types.js';
import type { Runner } from '../../system/runner.js';
import type { ApplyResult, ExecCommand, Rendered, SchedulerAdapter } from '../types.js';
import { foreignInPlace } from '../types.js';
import { nodeUnitDirFs } from './files.js';
import type { UnitDirFs } from './files.js';
import { unitEntry } from './parse.js';
import type { UnitFiles } from './parse.js';
import { isCronsyncUnitFile, renderService, renderTimer, renderUnitFiles, renderUnits, unitBase } from './render.js';
import type { UnitContext } from './render.js';
import { createSystemctl } from './systemctl.js';
import type { Systemctl } from './systemctl.js';

/** Mode of the unit files. */
export const UNIT_MODE = 0o644;

/** Settings of the systemd adapter. */
export interface SystemdAdapterOptions {
  /** Source id of this agent; only units carrying it are ours. */
  sourceId: string;
  execCommand: ExecCommand;
  /** State dir passed to `exec --state-dir`. */
  stateDir: string;
  /** Where the unit files go. */
  unitDir: string;
  /** `system`: the system manager, services with `User=`; `user`: `systemctl --user`. */
  mode: 'system' | 'user';
  /** `User=` of the services (system mode); the user whose lingering is checked (user mode). */
  user: string;
  /** Clock of the dated DST lines; default `new Date()`. */
  now?: () => Date;
}

/** Ports of the systemd adapter. */
export interface SystemdAdapterPorts {
  runner: Runner;
  fs?: UnitDirFs;
  /** Default: built over `runner`. */
  systemctl?: Systemctl;
  log?: Logger;
}

/** What apply returns: the changes, plus what the operator should know (lingering off). */
export type SystemdApplyResult = ApplyResult;

/** The systemd adapter: apply also returns warnings. */
export interface SystemdAdapter extends SchedulerAdapter {
  apply(plan: Plan, signal: AbortSignal): Promise<SystemdApplyResult>;
}

const baseOf = (e: InstalledEntry): string => e.key.replace(/^systemd:/, '');

/** Creates the systemd adapter. @throws {SchedulerError} from inventory/apply when systemctl fails. */
export function createSystemdAdapter(options: SystemdAdapterOptions, ports: SystemdAdapterPorts): SystemdAdapter {
  const fs = ports.fs ?? nodeUnitDirFs;
  const log = ports.log ?? nullLogger;
  const systemctl = ports.systemctl ?? createSystemctl({ runner: ports.runner, user: options.mode === 'user' });
  const now = options.now ?? (() => new Date());
  const dir = options.unitDir;
  const ctx: UnitContext = {
    sourceId: options.sourceId,
    execCommand: options.execCommand,
    stateDir: options.stateDir,
    unitDir: dir,
    ...(options.mode === 'system' ? { user: options.user } : {}),
  };

  /** Our unit names' files and timer states, by unit name. */
  async function readUnits(signal: AbortSignal): Promise<Map<string, UnitFiles>> {
    signal.throwIfAborted();
    const units = new Map<string, UnitFiles>();
    for (const name of (await fs.list(dir)).filter(isCronsyncUnitFile).sort()) {
      const text = await fs.read(join(dir, name));
      if (text === null) continue;
      const base = name.replace(/\.(service|timer)$/, '');
      const u = units.get(base) ?? { base, service: null, timer: null, state: null };
      if (name.endsWith('.timer')) u.timer = text;
      else u.service = text;
      units.set(base, u);
    }
    const timers = [...units.values()].filter((u) => u.timer !== null).map((u) => `${u.base}.timer`);
    const states = await systemctl.states(timers, signal);
    for (const u of units.values()) u.state = states.get(`${u.base}.timer`) ?? null;
    return units;
  }

  async function inventory(signal: AbortSignal): Promise<InstalledEntry[]> {
    return [...(await readUnits(signal)).values()].map((u) => unitEntry(u, options.sourceId));
  }

  const renderEntry = (d: DesiredJob): string => renderUnits(d, ctx, now().getTime()).timer;

  function render(desired: readonly DesiredJob[]): Rendered {
    return { kind: 'systemd', files: renderUnitFiles(desired, ctx, now().getTime()) };
  }

  /** Writes `text` to `name` unless it is there already with our mode; true when written. */
  async function put(name: string, current: string | null, text: string): Promise<boolean> {
    const path = join(dir, name);
    if (current === text && (await fs.stat(path))?.mode === UNIT_MODE) return false;
    const tmp = await fs.writeTemp(dir, name, text, UNIT_MODE);
    try {
      await fs.rename(tmp, path);
    } catch (err) {
      await fs.remove(tmp).catch(() => undefined);
      throw err;
    }
    return true;
  }

  function occupied(installed: readonly InstalledEntry[]): (d: DesiredJob) => string | null {
    return foreignInPlace(installed, { ofEntry: baseOf, ofJob: (d) => unitBase(d.id) },
      (base) => `a unit not made by cronsync is in the way (${base}.service or .timer in ${dir}); it is left alone: delete or rename it to install this job`);
  }

  async function apply(plan: Plan, signal: AbortSignal): Promise<SystemdApplyResult> {
    signal.throwIfAborted();
    if (plan.sourceId !== options.sourceId) {
      throw new SchedulerError(`plan is for source ${plan.sourceId}, these units belong to ${options.sourceId}`, { planSource: plan.sourceId, sourceId: options.sourceId });
    }
    const owned = ownedSourceIds(plan);
    await fs.ensureDir(dir);
    await removeStaleTemps();
    const units = await readUnits(signal);
    const isOurs = (u: UnitFiles | undefined): boolean => {
      const m = u && unitEntry(u, options.sourceId).marker;
      return m != null && owned.has(m.sourceId);
    };
    const at = now().getTime();
    const written: string[] = [];
    const refused: string[] = [];
    const targets = new Map<string, DesiredJob>();
    const changedTimers = new Set<string>();
    for (const d of plan.final) {
      signal.throwIfAborted();
      // The planner's timer text (renderEntry's) when it has one: only the service is rendered.
      const service = renderService(d, ctx);
      const pair = { base: unitBase(d.id), service, timer: plan.rendered?.get(d.id) ?? renderTimer(d, ctx, at, service) };
      const cur = units.get(pair.base);
      const other = targets.get(pair.base);
      if (other) {
        refused.push(`${pair.base} (both ${other.id} and ${d.id})`);
        continue;
      }
      // Units of that name without a marker were made by someone else: never overwritten. The
      // plan rejects such jobs (occupied); this catches units written since the inventory.
      if (cur && unitEntry(cur, options.sourceId).marker === null) {
        refused.push(pair.base);
        continue;
      }
      targets.set(pair.base, d);
      if (await put(`${pair.base}.service`, cur?.service ?? null, pair.service)) written.push(join(dir, `${pair.base}.service`));
      if (await put(`${pair.base}.timer`, cur?.timer ?? null, pair.timer)) {
        written.push(join(dir, `${pair.base}.timer`));
        changedTimers.add(pair.base);
      }
    }
    const removed: string[] = [];
    for (const e of [...plan.remove, ...plan.update.map((u) => u.installed)]) {
      const base = baseOf(e);
      if (targets.has(base) || removed.includes(base) || !isOurs(units.get(base))) continue;
      removed.push(base);
    }
    const timersOf = (bases: readonly string[]): string[] => bases.map((b) => `${b}.timer`);
    const systemctlRun = async (args: string[]): Promise<void> => {
      await systemctl.run(args, signal);
      written.push(`systemctl ${args.join(' ')}`);
    };
    // Stopped while their files are still there; a run in progress finishes.
    const running = removed.filter((b) => units.get(b)?.state?.enabled !== false || units.get(b)?.state?.active !== false);
    if (running.length > 0) await systemctlRun(['disable', '--now', ...timersOf(running)]);
    for (const base of removed) {
      for (const suffix of ['.timer', '.service']) {
        if (units.get(base)?.[suffix === '.timer' ? 'timer' : 'service'] == null) continue;
        await fs.remove(join(dir, base + suffix));
        written.push(join(dir, base + suffix));
      }
    }
    // Also after a crash between writing files and the reload: the manager still runs the old units.
    const stale = [...units.values()].some((u) => u.state?.stale === true);
    const calls: string[][] = written.length > 0 || stale ? [['daemon-reload']] : [];
    const enable: string[] = [];
    const disable: string[] = [];
    const restart: string[] = [];
    for (const [base, d] of targets) {
      const s = units.get(base)?.state ?? { enabled: false, active: false, stale: false };
      if (d.job.spec.paused) {
        if (s.enabled || s.active) disable.push(base);
      } else if (!s.enabled || !s.active) {
        enable.push(base);
      } else if (changedTimers.has(base) || s.stale) {
        // Re-armed with the new calendar even where a reload would keep the old next elapse.
        restart.push(base);
      }
    }
    if (disable.length > 0) calls.push(['disable', '--now', ...timersOf(disable)]);
    if (enable.length > 0) calls.push(['enable', '--now', ...timersOf(enable)]);
    if (restart.length > 0) calls.push(['restart', ...timersOf(restart)]);
    for (const c of calls) await systemctlRun(c);
    const warnings: string[] = [];
    if (options.mode === 'user' && [...targets.values()].some((d) => !d.job.spec.paused)) {
      const linger = await systemctl.lingering(options.user, signal);
      if (linger === false) {
        warnings.push(`lingering is off for ${options.user}: its timers stop at logout (enable it with: loginctl enable-linger ${options.user})`);
        log.warn({ user: options.user }, 'Lingering is off: user timers stop at logout');
      }
    }
    if (refused.length > 0) {
      throw new SchedulerError(`units not made by cronsync, or claimed by two jobs, are in the way and were left alone: ${refused.join(', ')}`, { refused, written });
    }
    return { changed: written.length > 0, written, ...(warnings.length > 0 ? { warnings } : {}) };
  }

  async function removeStaleTemps(): Promise<void> {
    // Left behind by a crash between write and rename; systemd ignores them, we tidy up.
    for (const name of await fs.list(dir)) {
      if (/^\.cronsync-[a-z0-9][-a-z0-9]*\.(service|timer)\.[0-9a-f]+\.tmp$/.test(name)) await fs.remove(join(dir, name));
    }
  }

  return { kind: 'systemd', inventory, render, renderEntry, occupied, apply };
}
