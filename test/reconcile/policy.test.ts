/** A narrowed scheduler.allowedUsers reaches the job snapshots (which exec checks) also when the sync fails. */
import { describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config/types.js';
import { runAsProblem } from '../../src/desired/run-as.js';
import { SourceError } from '../../src/errors.js';
import { nullLogger } from '../../src/log.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { agentConfig } from './fixtures.js';

const manifest = (name: string, user?: string): string =>
  `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "0 2 * * *"\n  command: /opt/${name}.sh\n${user ? `  user: ${user}\n` : ''}`;

const scheduler = (allowedUsers: string[]): AgentConfig['scheduler'] => ({ kind: 'embedded', cronDir: '/etc/cron.d', unitDir: '/etc/systemd/system', taskFolder: '\\cronsync', allowedUsers });

/** Two reconcilers on one state dir and scheduler: the agent before and after its config changed (a daemon's reload, or the next one-shot sync). */
function setup() {
  const state = new MemoryStateStore();
  const source = new MemorySource({ 'backup.yaml': manifest('backup', 'nobody'), 'plain.yaml': manifest('plain') });
  const adapter = new MemoryScheduler('src1');
  const make = (allowedUsers: string[]) => createReconciler({
    config: agentConfig(state.dir, { scheduler: scheduler(allowedUsers) }), source, adapter, scheduler: { kind: 'embedded', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state,
  });
  return { state, source, make };
}

describe('reconcile/policy', () => {
  it('a sync that fails at the source still writes a narrowed allowedUsers into the run-as jobs\' snapshots, and exec then refuses the user', async () => {
    const { state, source, make } = setup();
    expect((await make(['nobody']).reconcile()).result).toBe('ok');
    const before = await state.readSnapshot('acme/backup');
    expect(before?.runtime.allowedUsers).toEqual(['nobody']);

    source.failWith = new SourceError('network', 'cannot reach https://git.example/jobs.git: ECONNREFUSED');
    const narrowed = make([]);
    const r = await narrowed.reconcile();

    expect(r.result).toBe('error');
    const after = await state.readSnapshot('acme/backup');
    expect(after?.runtime.allowedUsers).toEqual([]);
    // Only the policy changed: the job stays as last applied.
    expect({ ...after, runtime: { ...after?.runtime, allowedUsers: ['nobody'] } }).toEqual(before);
    expect(runAsProblem(after!.job, after!.runtime.allowedUsers!, () => ({ uid: 65534 }))).toContain('is not allowed on this agent');
    // A job without spec.user is not rewritten.
    expect((await state.readSnapshot('acme/plain'))?.runtime.allowedUsers).toEqual(['nobody']);
  });

  it('writes nothing when the snapshots already carry the config\'s list, and nothing on a dry run', async () => {
    const { state, source, make } = setup();
    await make(['nobody']).reconcile();
    source.failWith = new SourceError('network', 'cannot reach https://git.example/jobs.git: ECONNREFUSED');
    let snapshotWrites = 0;
    const writeSnapshots = state.writeSnapshots.bind(state);
    state.writeSnapshots = async (snaps) => {
      snapshotWrites += snaps.length;
      return writeSnapshots(snaps);
    };

    expect((await make(['nobody']).reconcile()).result).toBe('error');
    expect((await make([]).reconcile({ dryRun: true })).result).toBe('error');

    expect(snapshotWrites).toBe(0);
    expect((await state.readSnapshot('acme/backup'))?.runtime.allowedUsers).toEqual(['nobody']);
  });
});
