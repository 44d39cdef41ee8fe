import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createSignalRelay } from '../../src/daemon/signals.js';
import { nullLogger } from '../../src/log.js';
import { flush } from '../fakes/ManualClock.js';

class FakeSignals extends EventEmitter {}

describe('daemon/signals', () => {
  it('listens on the process from the start, so no signal takes its default action (kill) before the loop runs', () => {
    const proc = new FakeSignals();

    const relay = createSignalRelay(proc, () => nullLogger);

    expect(['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => proc.listenerCount(s))).toEqual([1, 1, 1]);
    relay.close();
    expect(['SIGTERM', 'SIGINT', 'SIGHUP'].map((s) => proc.listenerCount(s))).toEqual([0, 0, 0]);
  });

  it('hands a signal received before anyone listened to the first listener, once', async () => {
    const proc = new FakeSignals();
    const relay = createSignalRelay(proc, () => nullLogger);
    const got: string[] = [];

    proc.emit('SIGTERM');
    relay.on('SIGTERM', () => got.push('term'));
    relay.on('SIGHUP', () => got.push('hup'));
    await flush();
    proc.emit('SIGHUP');

    expect(got).toEqual(['term', 'hup']);
  });

  it('keeps holding signals after the listeners left (the daemon drains embedded jobs), and drops them', async () => {
    const proc = new FakeSignals();
    const relay = createSignalRelay(proc, () => nullLogger);
    const got: string[] = [];
    const l = (): void => void got.push('hup');
    relay.on('SIGHUP', l);
    relay.off('SIGHUP', l);

    proc.emit('SIGHUP');
    relay.close();
    relay.on('SIGHUP', l);
    await flush();

    expect(got).toEqual([]);
    expect(proc.listenerCount('SIGHUP')).toBe(0);
  });
});
