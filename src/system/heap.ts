/**
 * V8 heap and compiler tuning for the long-lived and the one-shot agent commands (#16). Node has
 * no way to pass V8 flags from inside a script except `v8.setFlagsFromString`, which is read at
 * run time by the flags below.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Keeps the young generation at its initial size (1 MiB semi-spaces, which V8 otherwise grows
 * to 8 MiB under allocation). The agent allocates little per cycle, so this saves about 7 MiB
 * resident (idle daemon) and 5–8 MiB of a one-shot sync's peak for a few more cheap scavenges.
 * V8 reads the growth factor each time it considers growing the semi-spaces.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * V8 flags that trade speed for memory, per kind of process; set at run time with
 * {@link preferSmallFootprint}. V8 reads them each time it decides to compile a function or to
 * grow the heap, so they take effect at run time; flags V8 fixes at start-up (GC threads, heap
 * layout) are not for this, some crash it.
 *
 * - `idle`, the daemon between syncs: JavaScript runs in the interpreter only (no TurboFan, no
 *   Sparkplug). An idle cycle runs a few milliseconds of code, too little for compiled code to
 *   pay off, yet Node's own module loading (path and URL helpers called once per module) gets
 *   compiled at start, and each compiler used maps its share of the node binary and allocates
 *   code and feedback. Set before the process's modules load: compiling starts with them.
 * - `one-shot`, a `cronsync sync` of a few hundred manifests: it is over before most of what
 *   TurboFan compiles pays back, yet its code, compiler zones and worker threads cost about
 *   8 MiB of peak. Sparkplug is off too: it compiles nearly every function that gets feedback
 *   (most of the agent's, once each), about 2.5 MiB of baseline code and compiler pages for a
 *   CPU gain within the noise of a 100-job sync (bench/daemon.bench.mjs). The tier-up checks
 *   are forced: without them, code that ran hot before {@link preferSpeed} (the YAML parser read
 *   the config) could never be optimized. Set before the sync's modules load (cli/commands/sync.ts).
 *
 * Both add `--optimize-for-size` (the GC grows the heap in smaller steps and gives freed pages
 * back at once). Together: an idle daemon about 9 MiB smaller, the 100-job git sync peaking at
 * ~54 instead of ~69 MiB (bench/daemon.bench.mjs; with a GC after its fetch, see
 * cli/commands/sync-run.ts). The cost is CPU on large syncs (a 10,000-manifest sync runs
 * 30-100% longer), hence {@link speedForWorkload}.
 */
export const SMALL_FOOTPRINT_FLAGS = {
  idle: ['--no-opt', '--no-sparkplug', '--optimize-for-size'],
  'one-shot': ['--no-opt', '--no-sparkplug', '--optimize-for-size', '--force-emit-interrupt-budget-checks'],
} as const;

/** V8's defaults for every flag of {@link SMALL_FOOTPRINT_FLAGS}. */
export const SPEED_FLAGS = ['--opt', '--sparkplug', '--no-optimize-for-size', '--no-force-emit-interrupt-budget-checks'] as const;

/** Manifest files, or jobs, from which a sync runs long enough for compiled code to pay off. */
export const SPEED_FROM = 1_000;

/** Sets the flags of `profile` ({@link SMALL_FOOTPRINT_FLAGS}) until {@link preferSpeed}. */
export function preferSmallFootprint(profile: keyof typeof SMALL_FOOTPRINT_FLAGS): void {
  for (const f of SMALL_FOOTPRINT_FLAGS[profile]) setFlagsFromString(f);
}

/** Undoes {@link preferSmallFootprint}: V8's defaults, hot functions compiled, the heap grown for speed. */
export function preferSpeed(): void {
  for (const f of SPEED_FLAGS) setFlagsFromString(f);
}

/**
 * Prefers speed again when a workload of `count` manifest files (told by a source once it has
 * listed its tree, before it reads the files) or jobs is large enough to gain from it.
 * @returns whether it did.
 */
export function speedForWorkload(count: number): boolean {
  if (count < SPEED_FROM) return false;
  preferSpeed();
  return true;
}

/**
 * One full, synchronous mark-compact of the whole heap. V8 otherwise keeps a long-lived
 * process's transient peak (loading and validating manifests) in old space until its next
 * major GC, which an idle daemon may not need for hours. Without `--expose-gc`, the `gc`
 * function comes from a throwaway context created while the flag is on; the flag is then
 * switched off again, so no later context sees it. The context is not kept (holding its `gc`
 * would hold the whole context, about 300 KiB of heap): V8's memory reducer collects it
 * shortly after, and a call costs a millisecond or two, after syncs that changed something.
 */
export function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') {
    exposed();
    return;
  }
  setFlagsFromString('--expose-gc');
  let gc: () => void;
  try {
    gc = runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  gc();
}
