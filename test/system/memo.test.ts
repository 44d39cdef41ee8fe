import { describe, expect, it } from 'vitest';
import { remember, sameStrings } from '../../src/memo.js';

describe('remember', () => {
  it('stores and returns the value while the memo has room', () => {
    const memo = new Map<string, number | null>();
    expect(remember(memo, 3, 'a', 1)).toBe(1);
    expect(remember(memo, 3, 'b', null)).toBeNull();
    expect([...memo]).toEqual([['a', 1], ['b', null]]);
  });

  it('starts again when the memo is full, so it never holds more than max entries', () => {
    const memo = new Map<number, number>();
    for (let i = 0; i < 10; i++) {
      remember(memo, 4, i, i * i);
      expect(memo.size).toBeLessThanOrEqual(4);
      expect(memo.get(i)).toBe(i * i);
    }
    // 0-3 filled it, 4 emptied it and started again (4-7), 8 did the same (8, 9).
    expect([...memo.keys()]).toEqual([8, 9]);
  });
});

describe('sameStrings', () => {
  it('is true only for the same strings in the same order', () => {
    expect(sameStrings([], [])).toBe(true);
    expect(sameStrings(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameStrings(['a', 'b'], ['b', 'a'])).toBe(false);
    expect(sameStrings(['a'], ['a', ''])).toBe(false);
    expect(sameStrings(['a', ''], ['a'])).toBe(false);
  });
});
