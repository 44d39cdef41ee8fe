/**
 * V8's speed-for-memory trade-offs in a one-shot command (#16). A `cronsync sync` of a few
 * hundred manifests is over before most of what TurboFan compiles pays back, yet its code, its
 * compiler zones and its worker threads cost the process about 8 MiB of peak resident memory;
 * `--optimize-for-size` (smaller heap growth steps, among others) saves 3 MiB more. Held back,
 * code stays in Ignition and Sparkplug, and the 100-job git sync peaks at ~58 instead of
 * ~69 MiB, with less CPU than with TurboFan. A large workload gets speed back before its heavy
 * part, where it pays (a 10,000-manifest sync runs 30-80% longer without TurboFan): sources
 * tell the file count once they have listed the tree, before they read the files. Sparkplug
 * code made while TurboFan is off has no tier-up checks unless forced, so code that ran hot
 * before (the YAML parser read the config) could never be optimized later. V8 reads these
 * flags when it decides (to tier up, to grow the heap), so both calls take effect at run time;
 * flags V8 fixes at start-up (GC threads, heap layout) are not for this, some crash it.
 */
import { setFlagsFromString } from 'node:v8';

/** Manifest files from which a one-shot command favours speed again. */
export const SPEED_FROM_FILES = 1000;

/** The V8 flags of {@link favourMemory}, and of {@link favourSpeed} (V8's defaults). */
export const MEMORY_FLAGS = ['--no-opt', '--optimize-for-size', '--force-emit-interrupt-budget-checks'] as const;
export const SPEED_FLAGS = ['--opt', '--no-optimize-for-size', '--no-force-emit-interrupt-budget-checks'] as const;

/** No more TurboFan, and V8's memory-saving heuristics (until {@link favourSpeed}). */
export function favourMemory(): void {
  for (const f of MEMORY_FLAGS) setFlagsFromString(f);
}

/** V8's defaults: TurboFan optimizes hot functions, the heap grows for speed. */
export function favourSpeed(): void {
  for (const f of SPEED_FLAGS) setFlagsFromString(f);
}

/** Favours speed again when a snapshot of `files` manifest files is large enough to gain from it. */
export function speedForWorkload(files: number): boolean {
  if (files < SPEED_FROM_FILES) return false;
  favourSpeed();
  return true;
}
