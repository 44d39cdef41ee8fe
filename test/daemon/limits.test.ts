import { describe, expect, it } from 'vitest';
import { BoundedSet, TokenBucket } from '../../src/daemon/limits.js';

describe('daemon/limits', () => {
  it('token bucket allows a burst, then refills at its rate up to capacity', () => {
    const b = new TokenBucket(3, 1 / 1000, 0);

    const burst = [b.take(0), b.take(0), b.take(0), b.take(0)];
    const wait = b.msUntilNext(500);
    const afterSecond = b.take(1000);
    const afterLongIdle = [1, 2, 3, 4].map(() => b.take(1_000_000));

    expect(burst).toEqual([true, true, true, false]);
    expect(wait).toBe(500);
    expect(afterSecond).toBe(true);
    expect(afterLongIdle).toEqual([true, true, true, false]);
  });

  it('a clock going backwards does not refill or break the bucket', () => {
    const b = new TokenBucket(1, 1 / 1000, 10_000);

    const taken = [b.take(10_000), b.take(0), b.take(10_999), b.take(11_000)];

    expect(taken).toEqual([true, false, false, true]);
  });

  it('bounded set forgets the least recently used key', () => {
    const s = new BoundedSet<string>(2);

    s.add('a');
    s.add('b');
    s.has('a');
    s.add('c');

    expect([s.has('a'), s.has('b'), s.has('c'), s.size]).toEqual([true, false, true, 2]);
  });
});
