import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import { describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config/types.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { STEPS, fetchSource, verifyStep } from '../../src/reconcile/steps.js';
import type { ReconcileSnapshot } from '../../src/reconcile/types.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { agentConfig } from './fixtures.js';
import { nullLogger } from '../../src/log.js';

const Ajv = AjvModule.default ?? AjvModule;
const statusSchema = JSON.parse(readFileSync(new URL('../../src/status/status.v1.schema.json', import.meta.url), 'utf8')) as object;
const manifest = 'apiVersion: v1\nkind: Job\nmetadata: { name: a, tenant: acme }\nspec: { schedule: "0 2 * * *", command: /opt/a.sh }\n';

/** A MemorySource whose commits are real (unsigned) commit objects, or have none at all. */
class CommitSource extends MemorySource {
  constructor(private readonly withObject: boolean) {
    super({ 'a.yaml': manifest });
  }

  override async fetch(signal: AbortSignal, previous?: ReconcileSnapshot): Promise<ReconcileSnapshot> {
    const snap = await super.fetch(signal, previous);
    if (!this.withObject) return { ...snap, commit: null };
    const object = Buffer.from('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 0 +0000\ncommitter A <a@example.com> 0 +0000\n\nunsigned\n');
    const commit = createHash('sha1').update(`commit ${object.length}\0`).update(object).digest('hex');
    return { ...snap, commit, commitObject: object };
  }
}

function setup(verify: AgentConfig['source']['verify'], withObject = true) {
  const state = new MemoryStateStore();
  const base = agentConfig(state.dir);
  const config: AgentConfig = { ...base, scheduler: { ...base.scheduler, kind: 'embedded' }, source: { ...base.source, ...(verify ? { verify } : {}) } };
  const adapter = new MemoryScheduler('src1');
  const rec = createReconciler({ config, source: new CommitSource(withObject), adapter, scheduler: { kind: 'embedded', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state });
  return { rec, adapter, state };
}

describe('reconcile/verify', () => {
  it('runs right after the fetch', () => {
    expect(STEPS.indexOf(verifyStep)).toBe(STEPS.indexOf(fetchSource) + 1);
  });

  it.each([undefined, { mode: 'off' as const, openpgpKeys: '/nonexistent' }])('with verify %o, applies unsigned commits and writes no verification', async (verify) => {
    const { rec, adapter } = setup(verify);

    const out = await rec.reconcile();

    expect(out.result).toBe('ok');
    expect(out.status.source).not.toHaveProperty('verification');
    expect(adapter.writes).toBe(1);
  });

  it('with mode head, refuses an unsigned commit: nothing applied, reason, verify problem and verification in a schema-valid status', async () => {
    const { rec, adapter, state } = setup({ mode: 'head', openpgpKeys: '/nonexistent' });

    const out = await rec.reconcile();

    const commit = out.context.snapshot?.commit;
    expect(out.result).toBe('error');
    expect(out.status.lastAttempt.reason).toBe('SourceVerifyFailed');
    expect(out.status.source).toMatchObject({ commit: null, verification: { mode: 'head', commit, result: 'unsigned', signer: null } });
    expect(out.status.problems).toEqual([{ path: '', line: 0, column: 0, rule: 'verify', severity: 'error', message: `commit ${commit} refused: it is not signed (source.verify.mode is head)` }]);
    expect(out.status.lastSuccess).toBeNull();
    expect(adapter.writes).toBe(0);
    const validate = new Ajv({ allErrors: true, strict: false }).compile(statusSchema);
    expect(validate(JSON.parse(state.text('status.json')!)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('with mode head, fails closed on a source without commits', async () => {
    const { rec, adapter } = setup({ mode: 'head', openpgpKeys: '/nonexistent' }, false);

    const out = await rec.reconcile();

    expect(out.status.source.verification).toEqual({ mode: 'head', commit: null, result: 'error', signer: null });
    expect(out.status.problems[0]?.message).toContain('source.verify needs a Git source');
    expect(adapter.writes).toBe(0);
  });
});
