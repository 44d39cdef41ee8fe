import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import AjvModule from 'ajv';
import { describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { snapshotNamespace } from '../../src/state/snapshot-read.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { agentConfig } from './fixtures.js';
import { nullLogger } from '../../src/log.js';


const Ajv = AjvModule.default ?? AjvModule;
const statusSchema = JSON.parse(readFileSync(new URL('../../src/status/status.v1.schema.json', import.meta.url), 'utf8')) as object;
/** The repository Crontopus wrote (see test/manifest/crontopus-repo.test.ts for its origin). */
const REPO = new URL('../fixtures/crontopus-repo/', import.meta.url).pathname;

function repoFiles(dir = REPO): Record<string, string> {
  return Object.fromEntries(readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory()
    ? Object.entries(repoFiles(join(dir, e.name)))
    : e.name.endsWith('.yaml') ? [[relative(REPO, join(dir, e.name)).split(sep).join('/'), readFileSync(join(dir, e.name), 'utf8')]] : [])));
}

function setup(files: Record<string, string>) {
  const state = new MemoryStateStore();
  const stateDir = state.dir;
  const source = new MemorySource(files);
  const config = agentConfig(stateDir, { agent: { name: 'host1', tenant: 'acme-corp', labels: {} }, scheduler: { kind: 'embedded', cronDir: '/x', unitDir: '/x', taskFolder: '\\x' } });
  const rec = createReconciler({ config, source, adapter: new MemoryScheduler('src1'), scheduler: { kind: 'embedded', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state });
  return { state, source, rec };
}

describe('reconcile: the namespace of each job', () => {
  it('is in every job snapshot (provenance.namespace) and status row, for a repository Crontopus wrote', async () => {
    const { state, rec } = setup(repoFiles());

    const res = await rec.reconcile();
    const snap = await state.readSnapshot('acme-corp/daily-db-backup');

    expect(res.result).toBe('ok');
    expect(snap!.provenance).toMatchObject({ path: 'production/daily-db-backup.yaml', namespace: 'production' });
    expect(snap!.job.metadata).toMatchObject({ id: '3f2c8a4e-5b7d-4e1a-9c6f-0d8b2a7e4c19', namespace: 'production' });
    expect((await state.readSnapshot('acme-corp/cleanup-tmp'))!.provenance.namespace).toBe('default');
    expect(res.status.jobs.map((j) => [j.id, j.namespace, j.state])).toEqual([
      ['acme-corp/cleanup-tmp', 'default', 'installed'],
      ['acme-corp/daily-db-backup', 'production', 'installed'],
      ['acme-corp/health-check', 'production', 'installed'],
      ['acme-corp/sample-job', 'staging', 'paused'],
    ]);
    const validate = new Ajv({ allErrors: true, strict: false }).compile(statusSchema);
    expect(validate(JSON.parse(state.text('status.json')!)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('follows the file when it moves to another directory, and is "default" at the root', async () => {
    const job = 'apiVersion: v1\nkind: Job\nmetadata: { name: db, tenant: acme-corp }\nspec: { schedule: "0 2 * * *", command: /bin/true }\n';
    const { state, source, rec } = setup({ 'production/db.yaml': job });
    await rec.reconcile();

    source.files.delete('production/db.yaml');
    source.files.set('staging/db.yaml', job);
    source.commit();
    const moved = await rec.reconcile();
    const afterMove = await state.readSnapshot('acme-corp/db');
    source.files.delete('staging/db.yaml');
    source.files.set('db.yaml', job);
    source.commit();
    const atRoot = await rec.reconcile();

    expect([afterMove!.provenance.namespace, snapshotNamespace(afterMove!)]).toEqual(['staging', 'staging']);
    expect(moved.status.jobs.map((j) => j.namespace)).toEqual(['staging']);
    expect((await state.readSnapshot('acme-corp/db'))!.provenance.namespace).toBe('default');
    expect(atRoot.status.jobs.map((j) => j.namespace)).toEqual(['default']);
  });

  it('gives an invalid manifest that was never applied a row with its namespace', async () => {
    const { rec } = setup({ 'staging/bad.yaml': 'apiVersion: v1\nkind: Job\nmetadata: { name: bad, tenant: acme-corp }\nspec: { schedule: "0 25 * * *", command: /bin/true }\n' });

    const res = await rec.reconcile();

    expect(res.status.jobs.map((j) => [j.id, j.namespace, j.state])).toEqual([['acme-corp/bad', 'staging', 'invalid']]);
  });
});

describe('state/snapshot-read snapshotNamespace', () => {
  it('derives the namespace from the path for a snapshot written without one', () => {
    const provenance = { sourceId: 's', url: 'u', ref: 'main', commit: null, index: 0 };

    expect(snapshotNamespace({ provenance: { ...provenance, path: 'production/x.yaml' } })).toBe('production');
    expect(snapshotNamespace({ provenance: { ...provenance, path: 'x.yaml' } })).toBe('default');
    expect(snapshotNamespace({ provenance: { ...provenance, path: 'x.yaml', namespace: 'ops' } })).toBe('ops');
  });
});
