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
 * Trades speed for a small resident set, for a process that is idle nearly all the time (the
 * daemon between syncs). V8 runs JavaScript in its interpreter only (no TurboFan, no Sparkplug):
 * an idle cycle runs a few milliseconds of code, too little for compiled code to pay off, yet
 * Node's own module loading (path and URL helpers called once per module) gets compiled at
 * start, and each compiler used maps its share of the node binary and allocates code and
 * feedback. `--optimize-for-size` makes the GC grow the heap less and give freed pages back
 * at once. Together about 9 MiB resident of an idle daemon (bench/daemon.bench.mjs, 5 jobs).
 * Call it before the process's modules load: compiling starts with them. The cost is CPU on
 * large syncs (about 2× for 10,000 manifests), hence {@link preferSpeed}.
 * V8 reads these flags each time it considers compiling a function or growing the heap.
 */
export function preferSmallFootprint(): void {
  setFlagsFromString('--no-opt');
  setFlagsFromString('--no-sparkplug');
  setFlagsFromString('--optimize-for-size');
}

/** Undoes {@link preferSmallFootprint}: hot functions are compiled again, the heap grows as usual. */
export function preferSpeed(): void {
  setFlagsFromString('--opt');
  setFlagsFromString('--sparkplug');
  setFlagsFromString('--no-optimize-for-size');
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
