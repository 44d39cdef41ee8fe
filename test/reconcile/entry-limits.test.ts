/**
 * A job whose scheduler entry cannot be written (Debian cron refuses commands of 999
 * characters or more) is reported on its own; every other job still applies (promise 3).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { createCronDAdapter } from '../../src/scheduler/crond/index.js';
import { createCrontabAdapter } from '../../src/scheduler/crontab/index.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { fakeCrontab } from '../fakes/FakeRunner.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { options } from '../scheduler/fixtures.js';
import { nullLogger } from '../../src/log.js';
import { TempDirs } from '../system/tempdir.js';
import { agentConfig } from './fixtures.js';

const temps = new TempDirs();
afterEach(() => temps.removeAll());

/** A 63-character job name: `acme/<LONG>` is 68 characters. */
const LONG = 'l'.repeat(63);
/**
 * An install path that fits `acme/a` (a command of 990 characters with `--state-dir` of
 * `stateDir`) but not `acme/<LONG>` (1052).
 */
const longExec = (stateDir: string): string => `/opt/${'x'.repeat(990 - ' exec --scheduled --state-dir  acme/a'.length - stateDir.length - 5)}`;

function manifest(name: string): string {
  return `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "0 2 * * *"\n  command: /opt/job.sh\n`;
}


/** The cron.d dir is real (the adapter writes files); the state dir is in memory. */
function setup(execFile: string | null) {
  const state = new MemoryStateStore('/var/lib/cronsync-limits');
  const stateDir = state.dir;
  const cronDir = temps.make('cronsync-limits-crond-');
  const source = new MemorySource({ 'a.yaml': manifest('a'), 'long.yaml': manifest(LONG) });
  const make = (file: string) => createReconciler({
    config: agentConfig(stateDir), source, scheduler: { kind: 'cron.d', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state,
    adapter: createCronDAdapter(options({ sourceId: source.id, cronDir, stateDir, execCommand: { file, args: [] } })),
  });
  return { state, stateDir, cronDir, source, rec: make(execFile ?? longExec(stateDir)), make };
}

const cronFile = (dir: string): string => readFileSync(join(dir, 'cronsync'), 'utf8');

describe('reconcile/steps: an entry the scheduler cannot hold', () => {
  it('installs the other jobs, reports only the offending one, and a second sync writes nothing', async () => {
    const { rec, cronDir, stateDir, state } = setup(null);

    const first = await rec.reconcile();
    const mtime = statSync(join(cronDir, 'cronsync')).mtimeMs;
    const second = await rec.reconcile();

    expect(first.result).toBe('partial');
    expect(first.status.lastAttempt.error).toBeNull();
    expect(cronFile(cronDir)).toContain(`${longExec(stateDir)} exec --scheduled --state-dir ${stateDir} acme/a\n`);
    expect(cronFile(cronDir)).not.toContain(LONG);
    expect(first.status.jobs.map((j) => [j.id, j.state, j.nextRun === null])).toEqual([['acme/a', 'installed', false], [`acme/${LONG}`, 'invalid', true]]);
    expect(first.status.problems).toEqual([expect.objectContaining({ path: 'long.yaml', severity: 'error', message: expect.stringMatching(/command too long/) })]);
    expect(first.status.counts).toMatchObject({ installed: 1, invalid: 1 });
    expect(await state.readSnapshot(`acme/${LONG}`)).toBeNull();
    expect(second.result).toBe('partial');
    expect(second.changes).toBe(false);
    expect(second.context.applyResult?.changed).toBe(false);
    expect(statSync(join(cronDir, 'cronsync')).mtimeMs).toBe(mtime);
    expect(second.status.jobs).toEqual(first.status.jobs);
    expect(second.status.problems).toEqual(first.status.problems);
  });

  it('keeps the last good entry (and its snapshot) of a job whose entry no longer fits after the install path grew', async () => {
    const { rec, cronDir, stateDir, make, state } = setup('/usr/bin/cronsync');
    expect((await rec.reconcile()).result).toBe('ok');
    const before = cronFile(cronDir);
    const oldEntry = before.slice(before.indexOf(`# cronsync:v1 {"source"`, before.indexOf('acme/a\n')));

    const moved = make(longExec(stateDir));
    const res = await moved.reconcile();
    const again = await moved.reconcile();

    expect(res.result).toBe('partial');
    expect(cronFile(cronDir)).toContain(`${longExec(stateDir)} exec --scheduled --state-dir ${stateDir} acme/a\n`);
    expect(cronFile(cronDir)).toContain(oldEntry);
    expect(res.status.jobs.map((j) => [j.id, j.state, j.nextRun === null])).toEqual([['acme/a', 'installed', false], [`acme/${LONG}`, 'invalid', false]]);
    expect(await state.readSnapshot(`acme/${LONG}`)).not.toBeNull();
    expect(again.context.applyResult?.changed).toBe(false);
    expect(again.result).toBe('partial');
  });

  it('crontab: a long state dir rejects only the job whose entry would be too long', async () => {
    const stateDir = `/srv/${'s'.repeat(880)}`;
    const tabs = new Map([['root', '# mine\n*/5 * * * * /bin/mine\n']]);
    const runner = fakeCrontab(tabs);
    const source = new MemorySource({ 'a.yaml': manifest('a'), 'long.yaml': manifest(LONG) });
    const state = new MemoryStateStore();
    const rec = createReconciler({
      config: agentConfig(state.dir), source, scheduler: { kind: 'crontab', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state,
      adapter: createCrontabAdapter(options({ sourceId: source.id, stateDir, execCommand: { file: '/usr/bin/cronsync', args: [] } }), { runner, crontabSpool: runner.spool, identity: { user: 'root', isRoot: true } }),
    });

    const res = await rec.reconcile();

    expect(res.result).toBe('partial');
    expect(tabs.get('root')).toMatch(/^# mine\n\*\/5 \* \* \* \* \/bin\/mine\n# BEGIN cronsync /);
    expect(tabs.get('root')).toContain(' acme/a\n');
    expect(tabs.get('root')).not.toContain(LONG);
    expect(res.status.problems.map((p) => p.path)).toEqual(['long.yaml']);
  });
});
