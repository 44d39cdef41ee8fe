/**
 * Holds the process's stop and reload signals for the whole life of `cronsync daemon`, not
 * only while the loop runs. A signal without a listener takes its default action, which for
 * SIGHUP and SIGTERM is to kill the process: during start-up (config, source, listeners) a
 * `systemctl reload` would kill the agent, and while it drains embedded jobs after the loop
 * stopped a SIGHUP would kill them with it. The relay listens from the first moment; a signal
 * that arrives while nobody consumes it is kept and handed to the first consumer.
 */
import type { Logger } from '../log.js';
import type { SignalSource } from './run.js';

/** The signals the daemon reacts to. */
export const DAEMON_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** A SignalSource for the daemon that keeps listening on the real one until close(). */
export interface SignalRelay extends SignalSource {
  /** Stops listening on the real source; signals then take their default action again. */
  close(): void;
}

/** Creates a relay over `source` (normally `process`); `log` gives the logger of the moment. */
export function createSignalRelay(source: SignalSource, log: () => Pick<Logger, 'info'>, names: readonly NodeJS.Signals[] = DAEMON_SIGNALS): SignalRelay {
  const consumers = new Map<NodeJS.Signals, Set<() => void>>();
  const pending = new Set<NodeJS.Signals>();
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const name of names) {
    const handler = (): void => {
      const set = consumers.get(name);
      if (set && set.size > 0) {
        for (const l of [...set]) l();
        return;
      }
      // Kept for the loop when it is still starting; dropped if it has already stopped.
      pending.add(name);
      log().info({ signal: name }, 'Signal received while the daemon is starting or stopping; handled once the loop runs, if it does');
    };
    handlers.set(name, handler);
    source.on(name, handler);
  }
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
    },
  };
}
