/**
 * The `systemd` adapter (SPEC §8): a `cronsync-<tenant>-<name>.service` + `.timer` pair per
 * job in the unit directory, read back from the files (markers, hand edits) and the timers'
 * state in systemd. apply writes only changed files (atomically, mode 0644), then runs one
 * `daemon-reload`, `enable --now` for timers that must run, `disable --now` for paused and
 * removed ones (a paused job's files stay), and deletes removed jobs' files. A timer systemctl
 * refuses is that job's failure (ApplyResult.failed); the others apply.
 *
 * Ownership (SPEC §4): a unit name holding a link (`systemctl mask`'s to /dev/null, an alias),
 * an empty file, anything but a regular file, a file without a marker, or another source's
 * units of another job, is someone else's: never written over nor deleted, the job reported.
 * A timer an administrator masked stays as it is and is never started.
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
import type { JobId } from '../../manifest/types.js';
import type { InstalledEntry, Marker, Plan } from '../../plan/types.js';
import type { Runner } from '../../system/runner.js';
import type { ApplyResult, ExecCommand, Rendered, SchedulerAdapter } from '../types.js';
import { foreignInPlace } from '../types.js';
import { nodeUnitDirFs } from './files.js';
import type { UnitDirFs } from './files.js';
import { occupantOf, serviceBlock, timerBlock, unitEntry, unitMarker } from './parse.js';
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

  /**
   * Why a job cannot have its units (a link, an empty file or a foreign unit in the way, a
   * masked timer), by the inventory entry it was found with: for {@link occupied}.
   */
  const reasons = new WeakMap<InstalledEntry, string>();

  /**
   * The unit names' files, by unit name, each name read without following a link; and the
   * state in systemd of the timers of `owned` sources only: anyone else's is none of ours, and
   * a timer systemd cannot read must not keep us from reading the others.
   */
  async function readUnits(signal: AbortSignal, owned: ReadonlySet<string>): Promise<Map<string, UnitFiles>> {
    signal.throwIfAborted();
    const units = new Map<string, UnitFiles>();
    for (const name of (await fs.list(dir)).filter(isCronsyncUnitFile).sort()) {
      const read = await fs.readUnit(join(dir, name));
      if (read === null) continue;
      const base = name.replace(/\.(service|timer)$/, '');
      const u = units.get(base) ?? { base, service: null, timer: null, state: null };
      units.set(base, u);
      const what = occupantOf(read);
      if (what !== null) (u.occupants ??= []).push(`${join(dir, name)} is ${what}`);
      else if (read.kind === 'file') u[name.endsWith('.timer') ? 'timer' : 'service'] = read.text;
    }
    const ours = [...units.values()].filter((u) => u.timer !== null && owned.has(unitMarker(u)?.sourceId ?? ''));
    const states = await systemctl.states(ours.map((u) => `${u.base}.timer`), signal);
    for (const u of ours) u.state = states.get(`${u.base}.timer`) ?? null;
    return units;
  }

  const occupantWhy = (u: UnitFiles): string => `${u.occupants!.join('; ')}: cronsync leaves ${u.base}.service and .timer alone (unmask or remove it to install this job)`;

  /** Why `d` cannot have the units of `u` (someone else's), or null. */
  function inTheWay(u: UnitFiles, d: DesiredJob, owned: ReadonlySet<string>): string | null {
    if (u.occupants) return occupantWhy(u);
    const m = unitMarker(u);
    if (m === null) return notOurs(u.base);
    if (!owned.has(m.sourceId) && m.jobId !== d.id) return otherSource(u.base, m);
    return null;
  }

  const notOurs = (base: string): string => `a unit not made by cronsync is in the way (${base}.service or .timer in ${dir}); it is left alone: delete or rename it to install this job`;
  const otherSource = (base: string, m: Marker): string => `${base}.service and .timer in ${dir} are job ${m.jobId} of another cronsync source (${m.sourceId}); they are left alone`;

  async function inventory(signal: AbortSignal): Promise<InstalledEntry[]> {
    return [...(await readUnits(signal, new Set([options.sourceId]))).values()].map((u) => {
      const e = unitEntry(u, options.sourceId);
      const why = u.occupants ? occupantWhy(u) : timerBlock(u) ?? serviceBlock(u);
      if (why !== null) reasons.set(e, why);
      return e;
    });
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
    const foreign = foreignInPlace(installed, { ofEntry: baseOf, ofJob: (d) => unitBase(d.id) },
      (base, e) => reasons.get(e) ?? (e.marker ? otherSource(base, e.marker) : notOurs(base)),
      options.sourceId);
    // Our own units that systemd will not run as ours: a masked timer is the administrator's.
    const blocked = new Map<string, string>();
    for (const e of installed) {
      const why = e.marker && reasons.get(e);
      if (why) blocked.set(baseOf(e), why);
    }
    return (d) => foreign(d) ?? blocked.get(unitBase(d.id)) ?? null;
  }

  async function apply(plan: Plan, signal: AbortSignal): Promise<SystemdApplyResult> {
    signal.throwIfAborted();
    if (plan.sourceId !== options.sourceId) {
      throw new SchedulerError(`plan is for source ${plan.sourceId}, these units belong to ${options.sourceId}`, { planSource: plan.sourceId, sourceId: options.sourceId });
    }
    const owned = ownedSourceIds(plan);
    await fs.ensureDir(dir);
    await removeStaleTemps();
    const units = await readUnits(signal, owned);
    const isOurs = (u: UnitFiles | undefined): boolean => u !== undefined && owned.has(unitMarker(u)?.sourceId ?? '');
    const at = now().getTime();
    const written: string[] = [];
    const failed: { id: JobId; error: string }[] = [];
    const targets = new Map<string, DesiredJob>();
    const changedTimers = new Set<string>();
    for (const d of plan.final) {
      signal.throwIfAborted();
      const base = unitBase(d.id);
      const cur = units.get(base);
      const other = targets.get(base);
      if (other) {
        failed.push({ id: d.id, error: `its unit name ${base} is that of job ${other.id}, installed first` });
        continue;
      }
      // Never written over: the plan rejects such jobs (occupied); this catches what came since the inventory.
      const taken = cur && inTheWay(cur, d, owned);
      if (taken) {
        failed.push({ id: d.id, error: taken });
        continue;
      }
      // The planner's timer text (renderEntry's) when it has one: only the service is rendered.
      const service = renderService(d, ctx);
      const timer = plan.rendered?.get(d.id) ?? renderTimer(d, ctx, at, service);
      targets.set(base, d);
      if (await put(`${base}.service`, cur?.service ?? null, service)) written.push(join(dir, `${base}.service`));
      if (await put(`${base}.timer`, cur?.timer ?? null, timer)) {
        written.push(join(dir, `${base}.timer`));
        changedTimers.add(base);
      }
    }
    const removed = new Map<string, JobId>();
    for (const e of [...plan.remove, ...plan.update.map((u) => u.installed)]) {
      const base = baseOf(e);
      const u = units.get(base);
      if (targets.has(base) || removed.has(base) || !isOurs(u)) continue;
      removed.set(base, unitMarker(u!)!.jobId);
    }
    const timersOf = (bases: Iterable<string>): string[] => [...bases].map((b) => `${b}.timer`);
    const baseOfTimer = (unit: string): string => unit.replace(/\.timer$/, '');
    /**
     * Runs a change on timers; one systemctl refuses is its job's failure (with `gone`, none when
     * the timer is gone already). A refused job's unit files stay as written, loaded by systemd:
     * the next sync sees the timer's state as drift and tries again. @returns the refused.
     */
    const change = async (args: string[], bases: readonly string[], idOf: (base: string) => JobId, gone = false): Promise<Set<string>> => {
      const refused = new Set<string>();
      if (bases.length === 0) return refused;
      const errors = await systemctl.runEach(args, timersOf(bases), signal);
      const done = bases.filter((b) => !errors.has(`${b}.timer`));
      if (done.length > 0) written.push(`systemctl ${[...args, ...timersOf(done)].join(' ')}`);
      for (const [unit, err] of errors) {
        // A timer that is gone already is stopped: nothing to undo.
        if (gone && /does not exist|not loaded|No such file/i.test(String(err.data.stderr ?? err.message))) continue;
        refused.add(baseOfTimer(unit));
        failed.push({ id: idOf(baseOfTimer(unit)), error: err.message });
      }
      return refused;
    };
    // Stopped while their files are still there; a run in progress finishes. Only a timer whose
    // file is there (after a crash between the two deletions, the .service may be left alone)
    // and that systemd runs as ours: a masked one is only stopped, if it runs.
    const removing = [...removed.keys()].map((b) => units.get(b)!).filter((u) => u.timer !== null && u.state !== null);
    const on = (u: UnitFiles): boolean => u.state!.enabled || u.state!.active;
    const masked = (u: UnitFiles): boolean => /^masked/.test(u.state!.unitFileState ?? '');
    const free = removing.filter((u) => timerBlock(u) === null && on(u));
    const idOfRemoved = (b: string): JobId => removed.get(b)!;
    const kept = new Set([
      ...(await change(['disable', '--now'], free.filter((u) => u.state!.unitFileState !== 'enabled-runtime').map((u) => u.base), idOfRemoved, true)),
      ...(await change(['disable', '--runtime', '--now'], free.filter((u) => u.state!.unitFileState === 'enabled-runtime').map((u) => u.base), idOfRemoved, true)),
      ...(await change(['stop'], removing.filter((u) => masked(u) && u.state!.active).map((u) => u.base), idOfRemoved, true)),
    ]);
    for (const base of removed.keys()) {
      if (kept.has(base)) continue;
      for (const suffix of ['timer', 'service'] as const) {
        if (units.get(base)?.[suffix] == null) continue;
        await fs.remove(join(dir, `${base}.${suffix}`));
        written.push(join(dir, `${base}.${suffix}`));
      }
    }
    // Also after a crash between writing files and the reload: the manager still runs the old
    // units. Only ours count (states are read for ours alone): a foreign edit is not ours to load.
    const stale = [...units.values()].some((u) => u.state?.stale === true);
    if (written.length > 0 || stale) {
      await systemctl.run(['daemon-reload'], signal);
      written.push('systemctl daemon-reload');
    }
    const NEW = { enabled: false, active: false, stale: false, unitFileState: null };
    const todo = { disable: [] as string[], disableRuntime: [] as string[], enable: [] as string[], start: [] as string[], restart: [] as string[] };
    for (const [base, d] of targets) {
      const u = units.get(base);
      // Masked by an administrator (the timer or its service), or a unit systemd has from elsewhere: not ours to drive.
      if (u && (timerBlock(u) !== null || serviceBlock(u) !== null)) continue;
      const s = u?.state ?? NEW;
      const runtime = s.unitFileState === 'enabled-runtime';
      if (d.job.spec.paused) {
        if (s.enabled || s.active) (runtime ? todo.disableRuntime : todo.disable).push(base);
      } else if (!s.enabled || !s.active) {
        // Enabled until the next reboot by an administrator: started, not made permanent.
        (runtime ? todo.start : todo.enable).push(base);
      } else if (changedTimers.has(base) || s.stale) {
        // Re-armed with the new calendar even where a reload would keep the old next elapse.
        todo.restart.push(base);
      }
    }
    const idOfTarget = (b: string): JobId => targets.get(b)!.id;
    await change(['disable', '--now'], todo.disable, idOfTarget);
    await change(['disable', '--runtime', '--now'], todo.disableRuntime, idOfTarget);
    await change(['enable', '--now'], todo.enable, idOfTarget);
    await change(['start'], todo.start, idOfTarget);
    await change(['restart'], todo.restart, idOfTarget);
    const warnings: string[] = [];
    if (options.mode === 'user' && [...targets.values()].some((d) => !d.job.spec.paused)) {
      const linger = await systemctl.lingering(options.user, signal);
      if (linger === false) {
        warnings.push(`lingering is off for ${options.user}: its timers stop at logout (enable it with: loginctl enable-linger ${options.user})`);
        log.warn({ user: options.user }, 'Lingering is off: user timers stop at logout');
      }
    }
    return { changed: written.length > 0, written, ...(warnings.length > 0 ? { warnings } : {}), ...(failed.length > 0 ? { failed } : {}) };
  }

  async function removeStaleTemps(): Promise<void> {
    // Left behind by a crash between write and rename; systemd ignores them, we tidy up.
    for (const name of await fs.list(dir)) {
      if (/^\.cronsync-[a-z0-9][-a-z0-9]*\.(service|timer)\.[0-9a-f]+\.tmp$/.test(name)) await fs.remove(join(dir, name));
    }
  }

  return { kind: 'systemd', inventory, render, renderEntry, occupied, apply };
}
