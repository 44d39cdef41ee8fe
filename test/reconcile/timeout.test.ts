/** A sync aborted by the daemon's daemon.syncTimeout fails with reason SyncTimedOut, not as a stop or an internal error. */
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { nullLogger } from '../../src/log.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import type { ReconcileSource } from '../../src/reconcile/types.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { agentConfig } from './fixtures.js';

const manifest = 'apiVersion: v1\nkind: Job\nmetadata:\n  name: a\n  tenant: acme\nspec:\n  schedule: "0 2 * * *"\n  command: /opt/a.sh\n';

/** The abort reason the daemon loop gives a sync that ran past daemon.syncTimeout. */
const timeout = (): Error => Object.assign(new Error('sync timed out after 600 s'), { name: 'TimeoutError' });

function setup(source: ReconcileSource) {
  const state = new MemoryStateStore();
  const config = agentConfig(state.dir, { scheduler: { kind: 'embedded', cronDir: '/etc/cron.d', unitDir: '/etc/systemd/system', taskFolder: '\\cronsync' } });
  return createReconciler({ config, source, adapter: new MemoryScheduler('src1'), scheduler: { kind: 'embedded', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state });
}

describe('reconcile/timeout', () => {
  it('a sync whose signal the timeout aborted fails with reason SyncTimedOut, naming the setting', async () => {
    const ctrl = new AbortController();
    ctrl.abort(timeout());

    const r = await setup(new MemorySource({ 'a.yaml': manifest })).reconcile({ signal: ctrl.signal });

    expect(r.result).toBe('error');
    expect(r.status.lastAttempt).toMatchObject({ result: 'error', reason: 'SyncTimedOut', error: 'sync timed out after 600 s (daemon.syncTimeout)' });
  });

  it('a step stopped by the timeout\'s abort is reported as the timeout, with the step\'s own words after it', async () => {
    const ctrl = new AbortController();
    const hanging: ReconcileSource = {
      id: 'src1',
      fetch: (signal) => new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(new SourceError('network', 'cannot reach https://git.example/jobs.git: aborted')), { once: true });
        queueMicrotask(() => ctrl.abort(timeout()));
      }),
    };

    const r = await setup(hanging).reconcile({ signal: ctrl.signal });

    expect(r.status.lastAttempt).toMatchObject({ reason: 'SyncTimedOut', error: 'sync timed out after 600 s (daemon.syncTimeout): cannot reach https://git.example/jobs.git: aborted' });
  });

  it('a sync stopped by the daemon\'s stop is still Cancelled', async () => {
    const ctrl = new AbortController();
    ctrl.abort(new Error('stopping'));

    const r = await setup(new MemorySource({ 'a.yaml': manifest })).reconcile({ signal: ctrl.signal });

    expect(r.status.lastAttempt).toMatchObject({ reason: 'Cancelled', error: 'sync cancelled' });
  });
});
