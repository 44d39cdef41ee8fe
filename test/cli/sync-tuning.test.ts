/**
 * `cronsync sync` tunes V8 before it loads the agent's modules (src/cli/commands/sync.ts): the
 * flags must be set before Node compiles those modules, or compiling them maps V8's compilers
 * and grows the heap first. The heap module and the sync itself are replaced by recorders.
 */
import { describe, expect, it, vi } from 'vitest';

const calls: string[] = [];

vi.mock('../../src/system/heap.js', () => ({
  keepYoungGenerationSmall: () => calls.push('keepYoungGenerationSmall'),
  preferSmallFootprint: (profile: string) => calls.push(`preferSmallFootprint(${profile})`),
  preferSpeed: () => calls.push('preferSpeed'),
}));

vi.mock('../../src/cli/commands/sync-run.js', () => {
  calls.push('sync-run loaded');
  return {
    run: (argv: string[]) => {
      calls.push(`run ${argv.join(' ')}`);
      return argv.includes('--fail') ? Promise.reject(new Error('boom')) : Promise.resolve(0);
    },
  };
});

describe('cli/commands/sync: V8 tuned before the agent loads', () => {
  it('sets the one-shot profile, then loads and runs the sync, then gives V8 its defaults back', async () => {
    const sync = await import('../../src/cli/commands/sync.js');

    expect(calls).toEqual([]);
    const code = await sync.run(['--dry-run'], { stdout: process.stdout, stderr: process.stderr, env: {}, cwd: '/' });

    expect(code).toBe(0);
    expect(calls).toEqual(['keepYoungGenerationSmall', 'preferSmallFootprint(one-shot)', 'sync-run loaded', 'run --dry-run', 'preferSpeed']);
  });

  it('gives V8 its defaults back when the sync throws', async () => {
    calls.length = 0;
    const sync = await import('../../src/cli/commands/sync.js');

    await expect(sync.run(['--fail'], { stdout: process.stdout, stderr: process.stderr, env: {}, cwd: '/' })).rejects.toThrow('boom');
    expect(calls.at(-1)).toBe('preferSpeed');
  });
});
