/**
 * Holds the process's stop and reload signals for the whole life of `cronsync daemon`, not
 * only while the loop runs. A signal without a listener takes its default action, which for
 * SIGHUP and SIGTERM is to kill the process: during start-up (config, source, listeners) a
 * `systemctl reload` would kill the agent, and while it drains embedded jobs after the loop
 * stopped a SIGHUP would kill them with it. The relay listens from the first moment; a signal
 * that arrives while nobody consumes it is kept and handed to the first consumer.
 *
 * On Windows there is no SIGTERM for a service to send: the service host (windows/service/
 * CronsyncService.cs) starts the daemon with `--stop-on-stdin-eof` and closes its stdin to stop
 * it. With that option (or CRONSYNC_STOP_ON_STDIN_EOF=1) the end, close or failure of stdin is
 * relayed as one SIGTERM, so it takes the same clean stop: the sync in flight finishes, exit 0.
 * The host's death closes the pipe too, so an orphaned daemon stops instead of running on.
 */
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SignalSource } from './run.js';

/** The signals the daemon reacts to. */
export const DAEMON_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/**
 * Where `cronsync daemon` holds the signals it gets before the relay exists: src/cli/main.ts
 * listens from its first line when the command is `daemon` (loading the daemon's modules takes
 * a few hundred ms, a `systemctl reload` in that time would kill it), and the relay takes them.
 */
export const EARLY_SIGNALS = Symbol.for('cronsync.earlySignals');

/** What src/cli/main.ts leaves at {@link EARLY_SIGNALS}: the signals received, and its listeners. */
export interface EarlySignals {
  pending: NodeJS.Signals[];
  handlers: Map<NodeJS.Signals, () => void>;
}

/** Removes the early listeners from `source` and returns the signals they held (none when there were none). */
function takeEarlySignals(source: SignalSource): NodeJS.Signals[] {
  const g = globalThis as Record<symbol, EarlySignals | undefined>;
  const held = g[EARLY_SIGNALS];
  if (!held) return [];
  delete g[EARLY_SIGNALS];
  for (const [name, handler] of held.handlers) source.off(name, handler);
  return held.pending;
}

/** The part of a readable stream (process.stdin) that the relay watches for its end. */
export interface StdinLike {
  on(event: 'end' | 'close' | 'error', listener: (arg?: unknown) => void): unknown;
  off(event: 'end' | 'close' | 'error', listener: (arg?: unknown) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** When to treat the end of stdin as SIGTERM: `--stop-on-stdin-eof`, or the environment. */
export interface StdinStop {
  /** Read only when the option is on: process.stdin is created lazily and not touched otherwise. */
  stdin: () => StdinLike;
  /** The `--stop-on-stdin-eof` flag. */
  flag?: boolean | undefined;
  /** CRONSYNC_STOP_ON_STDIN_EOF=1 turns it on too (for hosts that cannot add a flag). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Whether the end of stdin stops the daemon. The variable takes the booleans of config variables
 * (1/0, true/false, yes/no); anything else is an error rather than "off": a host that set it
 * to `true` and then closes stdin to stop the service would otherwise leave the daemon running.
 * @throws {ConfigError} naming the variable and its value.
 */
export function stopsOnStdinEof(opts: StdinStop): boolean {
  const raw = opts.env?.CRONSYNC_STOP_ON_STDIN_EOF;
  const on = raw === undefined ? false : /^(1|true|yes)$/i.test(raw) ? true : /^(0|false|no)$/i.test(raw) ? false : undefined;
  if (on === undefined) {
    throw new ConfigError(`CRONSYNC_STOP_ON_STDIN_EOF must be 1 or 0 (got ${JSON.stringify(raw!.slice(0, 200))})`, { variable: 'CRONSYNC_STOP_ON_STDIN_EOF' });
  }
  return opts.flag === true || on;
}

/** A SignalSource for the daemon that keeps listening on the real one until close(). */
export interface SignalRelay extends SignalSource {
  /** Stops listening on the real source; signals then take their default action again. */
  close(): void;
}

/**
 * Creates a relay over `source` (normally `process`); `log` gives the logger of the moment.
 * With `stdinStop` enabled (see {@link stopsOnStdinEof}), the end of stdin is relayed as SIGTERM.
 */
export function createSignalRelay(source: SignalSource, log: () => Pick<Logger, 'info'>, names: readonly NodeJS.Signals[] = DAEMON_SIGNALS, stdinStop?: StdinStop): SignalRelay {
  // Checked before any listener is added: a bad variable fails the start with nothing to undo.
  const stopOnEof = stdinStop !== undefined && stopsOnStdinEof(stdinStop);
  const consumers = new Map<NodeJS.Signals, Set<() => void>>();
  const pending = new Set<NodeJS.Signals>();
  const handlers = new Map<NodeJS.Signals, () => void>();
  const deliver = (name: NodeJS.Signals): void => {
    const set = consumers.get(name);
    if (set && set.size > 0) {
      for (const l of [...set]) l();
      return;
    }
    // Kept for the loop when it is still starting; dropped if it has already stopped.
    pending.add(name);
    log().info({ signal: name }, 'Signal received while the daemon is starting or stopping; handled once the loop runs, if it does');
  };
  for (const name of names) {
    const handler = (): void => deliver(name);
    handlers.set(name, handler);
    source.on(name, handler);
  }
  for (const name of takeEarlySignals(source)) deliver(name);
  const unwatchStdin = stdinStop && stopOnEof ? watchStdin(stdinStop.stdin(), log, () => deliver('SIGTERM')) : () => undefined;
  return {
    on(name, listener) {
      let set = consumers.get(name);
      if (!set) consumers.set(name, (set = new Set()));
      set.add(listener);
      if (pending.delete(name)) queueMicrotask(listener);
      return this;
    },
    off(name, listener) {
      consumers.get(name)?.delete(listener);
      return this;
    },
    close() {
      for (const [name, handler] of handlers) source.off(name, handler);
      handlers.clear();
      pending.clear();
      unwatchStdin();
    },
  };
}

/**
 * Reads and discards `stdin` until it ends, closes or fails, then calls `stop` once. Returns
 * the function that stops watching; it also pauses stdin, so the process can exit.
 */
function watchStdin(stdin: StdinLike, log: () => Pick<Logger, 'info'>, stop: () => void): () => void {
  let fired = false;
  // 'close' passes a boolean (hadError), 'error' the error.
  const onEnd = (arg?: unknown): void => {
    if (fired) return;
    fired = true;
    log().info({ reason: arg instanceof Error ? arg.message : 'end of input' }, 'Standard input closed; stopping as on SIGTERM');
    stop();
  };
  for (const event of ['end', 'close', 'error'] as const) stdin.on(event, onEnd);
  stdin.resume();
  return () => {
    for (const event of ['end', 'close', 'error'] as const) stdin.off(event, onEnd);
    // Without its 'error' listener a later stdin error would be thrown; keep swallowing it.
    stdin.on('error', ignore);
    stdin.pause();
  };
}

function ignore(): void {
  // An error on stdin after the daemon stopped watching it changes nothing.
}
