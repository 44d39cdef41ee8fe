import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { HOLD_FLAG, OPTIMIZE_FROM_FILES, optimizeForWorkload, RELEASE_FLAG } from '../../src/system/jit.js';

// V8's optimization status bit "optimized" (src/runtime/runtime.h, OptimizationStatus::kOptimized).
const OPTIMIZED = 16;

/** In a fresh node: hot functions after the hold flag and after the release flag, their optimization status. */
function statuses(): { held: number; released: number } {
  const script = [
    "const { setFlagsFromString } = require('node:v8');",
    "const make = () => new Function('x', 'return (x * 31 + 7) % 1000003;');",
    'const spin = (f) => { let s = 0; for (let i = 0; i < 2e6; i++) s = f(s + i); return s; };',
    `setFlagsFromString(${JSON.stringify(HOLD_FLAG)});`,
    'const a = make(); spin(a); const held = %GetOptimizationStatus(a);',
    `setFlagsFromString(${JSON.stringify(RELEASE_FLAG)});`,
    'const b = make(); spin(b); const released = %GetOptimizationStatus(b);',
    'process.stdout.write(JSON.stringify({ held, released }));',
  ].join('\n');
  // Without concurrent recompilation the optimized code is installed when the function is marked.
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--no-concurrent-recompilation', '-e', script], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { held: number; released: number };
}

describe('system/jit', () => {
  it('holds TurboFan back at run time, and releases it again', () => {
    const { held, released } = statuses();

    expect(held & OPTIMIZED).toBe(0);
    expect(released & OPTIMIZED).toBe(OPTIMIZED);
  });

  it('releases the compiler only for a large workload', () => {
    expect(optimizeForWorkload(OPTIMIZE_FROM_FILES - 1)).toBe(false);
    expect(optimizeForWorkload(OPTIMIZE_FROM_FILES)).toBe(true);
  });
});
