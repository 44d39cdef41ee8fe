/**
 * The daemon's in-process scheduler (embedded) across reloads. The running one is kept while
 * the source id and state dir stay the same; a config with others gets a new one, which takes
 * over only once that config is in use (a failed reload keeps the running one). The scheduler
 * it replaces stops firing, but its runs in flight go on: a reload never stops a running job,
 * and a stop waits for them as for the current scheduler's.
 */
import type { InProcessScheduler, SchedulerAdapter } from '../scheduler/types.js';
import { isInProcess } from '../scheduler/types.js';

/** An adapter whose jobs the daemon runs itself. */
export type InProcessAdapter = SchedulerAdapter & InProcessScheduler;

/** The slot of the daemon's in-process scheduler. */
export interface InProcessSlot {
  /**
   * The adapter for a config being built, by `key` (source id and state dir): the running
   * scheduler when the key is its own, else a new one from `make`, which waits for
   * {@link commit} when it runs in process.
   */
  adapterFor(key: string, make: () => SchedulerAdapter): SchedulerAdapter;
  /** Puts the scheduler built for the config now in use in place of the running one, and starts it. */
  commit(): void;
  /** Forgets a scheduler built for a config that is not used (a failed reload). */
  discard(): void;
  /** True while an in-process scheduler runs. */
  active(): boolean;
  /** Stops the running scheduler's timers; runs in flight continue. */
  stop(): void;
  /** Runs in flight of the running scheduler and of every one it replaced. */
  running(): Promise<void>[];
}

/** Creates an empty slot. */
export function createInProcessSlot(): InProcessSlot {
  let current: { key: string; adapter: InProcessAdapter } | undefined;
  let pending: { key: string; adapter: InProcessAdapter } | undefined;
  /** Replaced schedulers that still had runs in flight when replaced. */
  let retired: InProcessAdapter[] = [];
  return {
    adapterFor(key, make) {
      if (current?.key === key) return current.adapter;
      const adapter = make();
      if (isInProcess(adapter)) pending = { key, adapter };
      return adapter;
    },
    commit() {
      if (!pending) return;
      current?.adapter.stop();
      retired = [...retired, ...(current ? [current.adapter] : [])].filter((a) => a.running().length > 0);
      current = pending;
      pending = undefined;
      void current.adapter.start();
    },
    discard() {
      pending = undefined;
    },
    active: () => current !== undefined,
    stop: () => current?.adapter.stop(),
    running: () => [...retired, ...(current ? [current.adapter] : [])].flatMap((a) => a.running()),
  };
}
