/**
 * V8's optimizing compiler for one-shot commands (#16). A `cronsync sync` of a few hundred
 * manifests is over before most of what TurboFan compiles pays back, yet its code, its
 * compiler zones and its worker threads cost the process about 8 MiB of peak resident memory
 * (the 100-job git sync: 69 -> 61 MiB) and CPU. Held back, the code stays in Ignition and
 * Sparkplug; a large workload releases it again before the heavy part, where it pays
 * (a 10,000-manifest sync runs 30-80% longer without it). V8 reads the flag at each tier-up
 * decision, so both calls take effect at run time.
 */
import { setFlagsFromString } from 'node:v8';

/** Manifest files from which a one-shot command uses the optimizing compiler again. */
export const OPTIMIZE_FROM_FILES = 1000;

/** The V8 flags of {@link holdOptimizingCompiler} and {@link releaseOptimizingCompiler}. */
export const HOLD_FLAG = '--no-opt';
export const RELEASE_FLAG = '--opt';

/** Stops V8 from optimizing further functions with TurboFan (until {@link releaseOptimizingCompiler}). */
export function holdOptimizingCompiler(): void {
  setFlagsFromString(HOLD_FLAG);
}

/** Lets V8 optimize hot functions again (its default). */
export function releaseOptimizingCompiler(): void {
  setFlagsFromString(RELEASE_FLAG);
}

/** Releases the optimizing compiler when a snapshot of `files` manifest files is large enough to gain from it. */
export function optimizeForWorkload(files: number): boolean {
  if (files < OPTIMIZE_FROM_FILES) return false;
  releaseOptimizingCompiler();
  return true;
}
