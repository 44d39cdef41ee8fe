/** Small bounded structures for the webhook endpoint: a token bucket and an LRU set. */

/** TokenBucket allows `capacity` events at once and refills `perMs` tokens per millisecond. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
    nowMs: number,
  ) {
    this.tokens = capacity;
    this.last = nowMs;
  }

  private refill(nowMs: number): void {
    // A clock that goes backwards refills nothing rather than draining the bucket.
    const elapsed = Math.max(0, nowMs - this.last);
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.perMs);
    this.last = Math.max(this.last, nowMs);
  }

  /** Takes one token; false when none is left. */
  take(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until one token is available (0 if one is). */
  msUntilNext(nowMs: number): number {
    this.refill(nowMs);
    if (this.tokens >= 1) return 0;
    return this.perMs > 0 ? Math.ceil((1 - this.tokens) / this.perMs) : Number.POSITIVE_INFINITY;
  }
}

/** BoundedSet remembers at most `max` keys, forgetting the least recently added or seen. */
export class BoundedSet<K> {
  private readonly items = new Set<K>();

  constructor(private readonly max: number) {}

  has(key: K): boolean {
    if (!this.items.has(key)) return false;
    this.items.delete(key);
    this.items.add(key);
    return true;
  }

  add(key: K): void {
    this.items.delete(key);
    this.items.add(key);
    while (this.items.size > this.max) {
      const oldest = this.items.values().next();
      if (oldest.done) break;
      this.items.delete(oldest.value);
    }
  }

  get size(): number {
    return this.items.size;
  }
}
