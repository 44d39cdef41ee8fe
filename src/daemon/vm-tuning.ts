/**
 * What the daemon does with the VM after each sync (#16): an idle daemon keeps a small
 * footprint and gives a sync's transient heap back at once; a daemon of many jobs gets its
 * speed back.
 */
import { SPEED_FROM } from '../system/heap.js';

/** From this many jobs, or manifest files, on, a sync runs long enough for compiled code to pay off (system/heap.ts's SPEED_FROM). */
export const SPEED_FROM_JOBS = SPEED_FROM;

/** The VM operations of system/heap.ts, injected. */
export interface VmControls {
  preferSpeed(): void;
  collectGarbage(): void;
}

/** What a finished sync tells the tuner. */
export interface SyncFacts {
  /** Jobs in the status file after the sync. */
  jobs: number;
  /** The source was read and its files differed from the last sync's (or there was none). */
  sourceChanged: boolean;
  /** The sync changed installed entries. */
  changes: boolean;
}

/** The tuner of one daemon. */
export interface VmTuner {
  /** A source listed `files` manifest files, before reading them (the sync's heavy part). */
  listed(files: number): void;
  afterSync(facts: SyncFacts): void;
}

/**
 * After a sync that parsed and validated manifests (the first one, a changed source) or
 * changed entries, one full GC returns their transient peak, which V8 would otherwise keep
 * until its next major GC; an unchanged sync allocates too little to be worth one. V8 is
 * switched back to speed (compilers, usual heap growth) once and for good as soon as the agent
 * has {@link SPEED_FROM_JOBS} jobs, or a source lists that many files: then already during the
 * first sync of a large repository, before its files are parsed.
 */
export function createVmTuner(vm: VmControls): VmTuner {
  let fast = false;
  const speedFrom = (count: number): void => {
    if (fast || count < SPEED_FROM_JOBS) return;
    fast = true;
    vm.preferSpeed();
  };
  return {
    listed: speedFrom,
    afterSync(facts) {
      speedFrom(facts.jobs);
      if (facts.sourceChanged || facts.changes) vm.collectGarbage();
    },
  };
}
