/**
 * `systemctl` and `loginctl` through the runner port (SPEC §8): the state of our timers, the
 * changes apply makes, and whether a user's manager outlives their sessions (lingering).
 * Every failure is a SchedulerError carrying argv, exit code and stderr.
 */
import { SchedulerError } from '../../errors.js';
import type { Runner, RunResult } from '../../system/runner.js';

/** A timer's state as systemd reports it. */
export interface TimerState {
  /** `systemctl is-enabled` says `enabled` or `enabled-runtime` (it starts at boot / login). */
  enabled: boolean;
  /** `systemctl is-active` says `active` (it is waiting for its next elapse). */
  active: boolean;
  /** The manager still runs an older version of the timer or its service (`NeedDaemonReload`). */
  stale: boolean;
  /**
   * What `is-enabled` printed (systemctl(1), "is-enabled output"): `enabled`, `enabled-runtime`,
   * `disabled`, `masked`, `static`, `alias`, …; null when it could not tell (see `error`).
   */
  unitFileState: string | null;
  /** Why `is-enabled` could not read the unit file's state (`Bad message`, `No such file or directory`). */
  error?: string;
  /**
   * The timer's service (same name, `.service`) is masked (`systemctl show`: `LoadState=masked`),
   * for example in a unit directory systemd prefers to ours: the timer would fire into nothing.
   */
  serviceMasked?: boolean;
}

/** The systemctl calls of the adapter. */
export interface Systemctl {
  /**
   * The state of each timer (unit names with suffix), in one call of each kind (is-enabled again
   * after a unit whose state it cannot read); `stale` when the timer or its service (same name,
   * `.service`) needs a daemon-reload.
   */
  states(timers: readonly string[], signal: AbortSignal): Promise<Map<string, TimerState>>;
  /** Runs `systemctl [--user] ARGS` (daemon-reload, enable --now, ...). */
  run(args: readonly string[], signal: AbortSignal): Promise<void>;
  /**
   * Runs `systemctl [--user] ARGS UNITS…` once; when systemctl refuses one of the units (masked,
   * missing), once per unit, so that one unit does not hold back the others.
   * @returns the units it failed for. @throws {SchedulerError} when it failed for no unit in
   * particular (the manager cannot be reached, access denied).
   */
  runEach(args: readonly string[], units: readonly string[], signal: AbortSignal): Promise<Map<string, SchedulerError>>;
  /** Whether `user` lingers (`loginctl show-user`); null when it cannot be told. */
  lingering(user: string, signal: AbortSignal): Promise<boolean | null>;
}

/** Options of {@link createSystemctl}. */
export interface SystemctlOptions {
  runner: Runner;
  /** User mode: `systemctl --user`. */
  user: boolean;
  /** Program names; default `systemctl`, `loginctl` (found on PATH). */
  systemctl?: string;
  loginctl?: string;
}

const lines = (out: string): string[] => out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Creates the systemctl port over a runner. */
export function createSystemctl(o: SystemctlOptions): Systemctl {
  const program = o.systemctl ?? 'systemctl';
  const scope = o.user ? ['--user'] : [];

  const failure = (argv: readonly string[], r: RunResult): SchedulerError => {
    const why = (r.spawnError ?? r.stderr).trim().split('\n')[0] ?? '';
    return new SchedulerError(`systemctl ${argv.join(' ')} failed (exit ${r.exitCode}): ${why || 'no message'}`, { argv: [program, ...argv], exitCode: r.exitCode, stderr: r.stderr });
  };

  /** Runs systemctl; a process that did not run to its end is a failure whatever `ok` says. */
  async function exec(args: readonly string[], signal: AbortSignal): Promise<{ argv: string[]; r: RunResult; ran: boolean }> {
    signal.throwIfAborted();
    const argv = [...scope, ...args];
    const r = await o.runner.run({ file: program, args: argv }, { signal, timeoutMs: 120_000 });
    return { argv, r, ran: r.spawnError === undefined && !r.timedOut && !r.cancelled };
  }

  /** Runs systemctl; `ok` tells an answer (even with a non-zero exit) from a failure. */
  async function call(args: readonly string[], signal: AbortSignal, ok: (exit: number, stdout: string) => boolean): Promise<string> {
    const { argv, r, ran } = await exec(args, signal);
    if (!ran || !ok(r.exitCode, r.stdout)) throw failure(argv, r);
    return r.stdout;
  }

  /**
   * One `is-enabled` word per unit, or why it has none. systemctl prints the state of each unit
   * in order and stops at the first whose file it cannot read ("Failed to get unit file state
   * for U: Bad message", exit 1): the units after it are asked again.
   */
  async function unitFileStates(units: readonly string[], signal: AbortSignal): Promise<Map<string, string | { error: string }>> {
    const out = new Map<string, string | { error: string }>();
    let rest = units;
    while (rest.length > 0) {
      const { argv, r, ran } = await exec(['is-enabled', ...rest], signal);
      const words = lines(r.stdout);
      if (!ran || words.length > rest.length) throw failure(argv, r);
      words.forEach((w, i) => out.set(rest[i]!, w));
      if (words.length === rest.length) break;
      const bad = rest[words.length]!;
      const why = new RegExp(`^Failed to get unit file state for ${escapeRe(bad)}: (.*)$`, 'm').exec(r.stderr)?.[1];
      if (why === undefined) throw failure(argv, r);
      out.set(bad, { error: why.trim() });
      rest = rest.slice(words.length + 1);
    }
    return out;
  }

  return {
    async states(timers, signal) {
      const out = new Map<string, TimerState>();
      if (timers.length === 0) return out;
      const files = await unitFileStates(timers, signal);
      const active = lines(await call(['is-active', ...timers], signal, (_exit, stdout) => lines(stdout).length === timers.length));
      const services = timers.map((t) => t.replace(/\.timer$/, '.service'));
      const shown = await call(['show', '--property=Id', '--property=LoadState', '--property=NeedDaemonReload', ...timers, ...services], signal, (exit) => exit === 0);
      const reload = new Set<string>();
      const masked = new Set<string>();
      for (const block of shown.split(/\n\s*\n/)) {
        const id = /^Id=(.*)$/m.exec(block)?.[1];
        if (id === undefined) continue;
        if (/^NeedDaemonReload=yes$/m.test(block)) reload.add(id);
        if (/^LoadState=masked$/m.test(block)) masked.add(id);
      }
      timers.forEach((t, i) => {
        const f = files.get(t);
        const word = typeof f === 'string' ? f : null;
        out.set(t, {
          enabled: word === 'enabled' || word === 'enabled-runtime',
          active: active[i] === 'active',
          stale: reload.has(t) || reload.has(services[i]!),
          unitFileState: word,
          ...(typeof f === 'object' ? { error: f.error } : {}),
          ...(masked.has(services[i]!) ? { serviceMasked: true } : {}),
        });
      });
      return out;
    },
    async run(args, signal) {
      await call(args, signal, (exit) => exit === 0);
    },
    async runEach(args, units, signal) {
      const failed = new Map<string, SchedulerError>();
      if (units.length === 0) return failed;
      const attempt = async (batch: readonly string[]): Promise<SchedulerError | null> => {
        try {
          await call([...args, ...batch], signal, (exit) => exit === 0);
          return null;
        } catch (err) {
          if (signal.aborted || !(err instanceof SchedulerError)) throw err;
          return err;
        }
      };
      const all = await attempt(units);
      if (all === null) return failed;
      // A failure that names none of the units is not theirs: the manager, or permissions.
      if (!units.some((u) => String(all.data.stderr ?? '').includes(u))) throw all;
      if (units.length === 1) return failed.set(units[0]!, all);
      for (const u of units) {
        const err = await attempt([u]);
        if (err) failed.set(u, err);
      }
      return failed;
    },
    async lingering(user, signal) {
      signal.throwIfAborted();
      const r = await o.runner.run({ file: o.loginctl ?? 'loginctl', args: ['show-user', user, '--property=Linger', '--value'] }, { signal, timeoutMs: 30_000 });
      if (r.spawnError !== undefined || r.timedOut) return null;
      if (r.exitCode === 0) return r.stdout.trim() === 'yes';
      // A user without a session and without lingering is unknown to logind.
      return /not logged in or lingering|no such user|not known/i.test(r.stderr) ? false : null;
    },
  };
}
