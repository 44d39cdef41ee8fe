/**
 * `systemctl` and `loginctl` through the runner port (SPEC §8): the state of our timers, the
 * changes apply makes, and whether a user's manager outlives their sessions (lingering).
 * Every failure is a SchedulerError carrying argv, exit code and stderr.
 */
import { SchedulerError } from '../../errors.js';
import type { Runner } from '../../system/runner.js';

/** A timer's state as systemd reports it. */
export interface TimerState {
  /** `systemctl is-enabled` says `enabled` (it starts at boot / login). */
  enabled: boolean;
  /** `systemctl is-active` says `active` (it is waiting for its next elapse). */
  active: boolean;
  /** The manager still runs an older version of the timer or its service (`NeedDaemonReload`). */
  stale: boolean;
}

/** The systemctl calls of the adapter. */
export interface Systemctl {
  /**
   * The state of each timer (unit names with suffix), in one call of each kind; `stale` when
   * the timer or its service (same name, `.service`) needs a daemon-reload.
   */
  states(timers: readonly string[], signal: AbortSignal): Promise<Map<string, TimerState>>;
  /** Runs `systemctl [--user] ARGS` (daemon-reload, enable --now, ...). */
  run(args: readonly string[], signal: AbortSignal): Promise<void>;
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

/** Creates the systemctl port over a runner. */
export function createSystemctl(o: SystemctlOptions): Systemctl {
  const program = o.systemctl ?? 'systemctl';
  const scope = o.user ? ['--user'] : [];

  /** Runs systemctl; `ok` tells an answer (even with a non-zero exit) from a failure. */
  async function call(args: readonly string[], signal: AbortSignal, ok: (exit: number, stdout: string) => boolean): Promise<string> {
    signal.throwIfAborted();
    const argv = [...scope, ...args];
    const r = await o.runner.run({ file: program, args: argv }, { signal, timeoutMs: 120_000 });
    if (r.spawnError !== undefined || r.timedOut || r.cancelled || !ok(r.exitCode, r.stdout)) {
      const why = (r.spawnError ?? r.stderr).trim().split('\n')[0] ?? '';
      throw new SchedulerError(`systemctl ${argv.join(' ')} failed (exit ${r.exitCode}): ${why || 'no message'}`, { argv: [program, ...argv], exitCode: r.exitCode, stderr: r.stderr });
    }
    return r.stdout;
  }

  /** One word per unit, in order: is-enabled/is-active exit non-zero when any unit is not. */
  async function perUnit(verb: string, units: readonly string[], signal: AbortSignal): Promise<string[]> {
    const lines = (out: string): string[] => out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    const out = await call([verb, ...units], signal, (_exit, stdout) => lines(stdout).length === units.length);
    return lines(out);
  }

  return {
    async states(timers, signal) {
      const out = new Map<string, TimerState>();
      if (timers.length === 0) return out;
      const enabled = await perUnit('is-enabled', timers, signal);
      const active = await perUnit('is-active', timers, signal);
      const services = timers.map((t) => t.replace(/\.timer$/, '.service'));
      const shown = await call(['show', '--property=Id', '--property=NeedDaemonReload', ...timers, ...services], signal, (exit) => exit === 0);
      const reload = new Set<string>();
      for (const block of shown.split(/\n\s*\n/)) {
        const id = /^Id=(.*)$/m.exec(block)?.[1];
        if (id !== undefined && /^NeedDaemonReload=yes$/m.test(block)) reload.add(id);
      }
      timers.forEach((t, i) => out.set(t, { enabled: enabled[i] === 'enabled', active: active[i] === 'active', stale: reload.has(t) || reload.has(services[i]!) }));
      return out;
    },
    async run(args, signal) {
      await call(args, signal, (exit) => exit === 0);
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
