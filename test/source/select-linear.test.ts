/**
 * Every source selects through select.ts: with a glob the linear matcher takes, picomatch's own
 * (backtracking) matcher must never run on a repository's paths. picomatch is replaced by a copy
 * whose matcher factory throws, its parser and regex builder kept.
 */
import { describe, expect, it, vi } from 'vitest';
import type * as GlobModule from '../../src/source/glob.js';

vi.mock('picomatch', async (importOriginal) => {
  const real = (await importOriginal<{ default: object }>()).default;
  const refuse = (): never => {
    throw new Error('picomatch matcher used');
  };
  return { default: Object.assign(refuse, real) };
});

/** Segment matches the directory check makes, counted through a wrapped compileGlob. */
const counter = vi.hoisted(() => ({ calls: 0 }));
vi.mock('../../src/source/glob.js', async (importOriginal) => {
  const real = await importOriginal<typeof GlobModule>();
  return {
    ...real,
    compileGlob: (...args: Parameters<typeof real.compileGlob>) => {
      const m = real.compileGlob(...args);
      return (p: string) => (counter.calls++, m(p));
    },
  };
});

const { makeDirUnselected, makeMatcher } = await import('../../src/source/select.js');

describe('source/select: globs through the linear matcher', () => {
  it('selects a hostile name without picomatch\'s matcher, and still uses it for an extglob', () => {
    const hostile = `jobs/${'-'.repeat(5000)}x`;

    const select = makeMatcher(['jobs/*-*-*-*.yaml', '**/*.{yaml,yml}'], ['jobs/*-*-*-*-*.yml']);
    const dirs = makeDirUnselected(['jobs/*-*/*.yaml'], ['jobs/*-*-*-*/**']);

    expect(select(hostile)).toBe(false);
    expect(select('jobs/a-b-c-d.yaml')).toBe(true);
    expect(select('jobs/a-b-c-d-e.yml')).toBe(false);
    expect(dirs(hostile)).toBe('exclude');
    expect(dirs('jobs/a')).toBe('paths');
    expect(dirs('jobs/a-b')).toBe(null);
    expect(() => makeMatcher(['@(a|b).yaml'])).toThrow('picomatch matcher used');
  });

  it('decides a directory against a glob of many ** in segments × glob steps, not depth^k', () => {
    const glob = '**/*/**/*/**/*/**/x.yaml';
    const dir = `${'a/'.repeat(120)}.x`;
    const dirs = makeDirUnselected([glob]);
    counter.calls = 0;

    const verdict = dirs(dir);

    expect(verdict).toBe('paths');
    expect(counter.calls).toBeLessThanOrEqual(121 * glob.split('/').length);
  });
});
