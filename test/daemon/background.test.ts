import { describe, expect, it } from 'vitest';
import { createBackgroundTask } from '../../src/daemon/background.js';

/** A run that stays in flight until released or aborted. */
function held() {
  const started: AbortSignal[] = [];
  let release = (): void => {};
  const run = (signal: AbortSignal) => new Promise<void>((resolve, reject) => {
    started.push(signal);
    release = resolve;
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
  return { started, run, release: () => release() };
}

describe('daemon/background', () => {
  it('kick returns at once and runs one at a time: a kick while one runs does nothing', async () => {
    const h = held();
    const task = createBackgroundTask(h.run, () => {});

    task.kick();
    task.kick();
    const during = task.running();
    h.release();
    await new Promise((r) => setImmediate(r));
    const after = task.running();
    task.kick();

    expect(during).toBe(true);
    expect(after).toBe(false);
    expect(h.started).toHaveLength(2);
    h.release();
    await task.stop();
  });

  it('stop aborts the run in flight, waits for it, reports its error, and ignores later kicks', async () => {
    const h = held();
    const errors: unknown[] = [];
    const task = createBackgroundTask(h.run, (e) => errors.push(e));

    task.kick();
    await task.stop();
    task.kick();

    expect(h.started[0]?.aborted).toBe(true);
    expect(task.running()).toBe(false);
    expect(h.started).toHaveLength(1);
    expect(errors).toEqual([new Error('aborted')]);
  });
});
