import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SMALL_FOOTPRINT_FLAGS, SPEED_FLAGS, SPEED_FROM, speedForWorkload } from '../../src/system/heap.js';

// V8's optimization status bit "optimized" (src/runtime/runtime.h, OptimizationStatus::kOptimized).
const OPTIMIZED = 16;
// ... kInterpreted and kBaseline: the function runs in Ignition, or has Sparkplug code.
const INTERPRETED = 128;
const BASELINE = 32768;

/** In a fresh node: a hot function after the memory flags and one after the speed flags, their optimization status. */
function statuses(profile: keyof typeof SMALL_FOOTPRINT_FLAGS): { held: number; released: number } {
  const set = (flags: readonly string[]): string => flags.map((f) => `setFlagsFromString(${JSON.stringify(f)});`).join(' ');
  const script = [
    "const { setFlagsFromString } = require('node:v8');",
    "const make = () => new Function('x', 'return (x * 31 + 7) % 1000003;');",
    'const spin = (f) => { let s = 0; for (let i = 0; i < 2e6; i++) s = f(s + i); return s; };',
    set(SMALL_FOOTPRINT_FLAGS[profile]),
    'const a = make(); spin(a); const held = %GetOptimizationStatus(a);',
    set(SPEED_FLAGS),
    'const b = make(); spin(b); const released = %GetOptimizationStatus(b);',
    'process.stdout.write(JSON.stringify({ held, released }));',
  ].join('\n');
  // Without concurrent recompilation the optimized code is installed when the function is marked.
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', '-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { held: number; released: number };
}

describe('system/heap V8 flags', () => {
  it.each(['idle', 'one-shot'] as const)('the %s profile holds TurboFan back at run time, and preferSpeed lets it work again', (profile) => {
    const { held, released } = statuses(profile);

    expect(held & OPTIMIZED).toBe(0);
    expect(released & OPTIMIZED).toBe(OPTIMIZED);
  });

  it('the one-shot profile keeps Sparkplug off too, and preferSpeed lets it compile again', () => {
    const { held, released } = statuses('one-shot');

    expect(held & BASELINE).toBe(0);
    expect(held & INTERPRETED).toBe(INTERPRETED);
    expect(released & (BASELINE | OPTIMIZED)).not.toBe(0);
  });

  it('names only flags this V8 has (setFlagsFromString ignores unknown ones)', () => {
    const known = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;

    for (const f of [...SMALL_FOOTPRINT_FLAGS.idle, ...SMALL_FOOTPRINT_FLAGS['one-shot'], ...SPEED_FLAGS]) expect(known).toContain(`  --${f.replace(/^--(no-)?/, '')} (`);
  });

  it('favours speed again only for a large workload', () => {
    expect(speedForWorkload(SPEED_FROM - 1)).toBe(false);
    expect(speedForWorkload(SPEED_FROM)).toBe(true);
  });
});
