/**
 * Another source installs a job this agent already has (e.g. with `sync --force` from another
 * config): our own entry and its snapshot must stay exactly as applied, reported once as a conflict.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { createCronDAdapter } from '../../src/scheduler/crond/index.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { parseCronD } from '../../src/scheduler/crond/parse.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { options } from '../scheduler/fixtures.js';
import { agentConfig } from './fixtures.js';

const signal = new AbortController().signal;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const manifest = (name: string, minute = 0): string =>
  `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "${minute} 2 * * *"\n  command: /opt/${name}.sh\n`;


describe('reconcile: conflicts', () => {
  it('keeps our entry and snapshot of a job another source installed too, and lists it once as a conflict', async () => {
    // A real cron.d dir (the scheduler's, shared by both sources); each agent's state dir is in memory.
    const root = mkdtempSync(join(tmpdir(), 'cronsync-conflict-'));
    dirs.push(root);
    const states = { src1: new MemoryStateStore('/state'), other: new MemoryStateStore('/state-other') };
    const stateDir = states.src1.dir;
    const cronDir = join(root, 'cron.d');
    mkdirSync(cronDir);
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
    const agent = (id: 'src1' | 'other', source: MemorySource, force = false) =>
      createReconciler({ config: agentConfig(states[id].dir), state: states[id], source: { id, fetch: async (s) => ({ ...(await source.fetch(s)), sourceId: id }) }, adapter: createCronDAdapter(options({ cronDir, sourceId: id, stateDir })), scheduler: { kind: 'cron.d', reason: 'test' }, clock: new FakeClock(), log })
        .reconcile({ signal, force });
    const mine = new MemorySource({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
    await agent('src1', mine);
    await agent('other', new MemorySource({ 'a.yaml': manifest('a', 30) }), true);
    const cron = (): string[] => parseCronD(readFileSync(join(cronDir, 'cronsync'), 'utf8'), 'cronsync', '').entries.flatMap((e) => (e.marker ? [`${e.marker.sourceId}:${e.marker.jobId}`] : [])).sort();
    expect(cron()).toEqual(['other:acme/a', 'src1:acme/a', 'src1:acme/b']);

    mine.files.set('a.yaml', manifest('a', 15));
    mine.commit();
    const out = await agent('src1', mine);

    expect(cron()).toEqual(['other:acme/a', 'src1:acme/a', 'src1:acme/b']);
    expect(readFileSync(join(cronDir, 'cronsync'), 'utf8')).toMatch(/^0 2 \* \* \* .*acme\/a$/m);
    expect(states.src1.files.has('jobs/acme/a.json')).toBe(true);
    expect(out.status.jobs.filter((j) => j.id === 'acme/a').map((j) => j.state)).toEqual(['conflict']);
    expect(out.status.counts).toMatchObject({ conflicts: 1, removed: 0 });
  });
});
