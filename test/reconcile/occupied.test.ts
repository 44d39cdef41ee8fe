/**
 * Something not made by cronsync at the fixed place of a job's entry: a Windows task at the job's
 * path (`\cronsync\<tenant>\<name>`), or systemd units of the job's unit name. That job is
 * reported on its own and the thing in the way left alone; every other job still applies
 * (promise 3), and the sync is partial, not failed. Task Scheduler is the fake `schtasks`
 * (test/fakes/FakeSchtasks.ts); systemd is a real unit directory with the fake `systemctl`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nullLogger } from '../../src/log.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { createSystemdAdapter } from '../../src/scheduler/systemd/index.js';
import { createSchtasksAdapter } from '../../src/scheduler/windows/schtasks.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { fakeSchtasks, memoryTaskFs } from '../fakes/FakeSchtasks.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { fakeSystemctl } from '../fakes/FakeSystemctl.js';
import { CTX, stubTriggersOf } from '../scheduler/windows/render-fixtures.js';
import { TempDirs } from '../system/tempdir.js';
import { agentConfig } from './fixtures.js';

const temps = new TempDirs();
afterEach(() => temps.removeAll());

/** Someone's own task, at the path cronsync would give job acme/b. */
const FOREIGN = '<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><RegistrationInfo><URI>\\cronsync\\acme\\b</URI></RegistrationInfo><Actions Context="Author"><Exec><Command>notepad.exe</Command></Exec></Actions></Task>\r\n';

/** Job acme/`name`; `command` is a path on the host (Windows or Linux). */
function manifest(name: string, command = `C:\\\\jobs\\\\${name}.cmd`): string {
  return `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "0 2 * * *"\n  timezone: UTC\n  command: ${command}\n`;
}

function setup() {
  const state = new MemoryStateStore('C:\\ProgramData\\cronsync\\state');
  const mem = memoryTaskFs();
  const runner = fakeSchtasks(new Map([['\\cronsync\\acme\\B', FOREIGN]]), { read: mem.read });
  const source = new MemorySource({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b') });
  const adapter = createSchtasksAdapter({ sourceId: source.id, execCommand: CTX.execCommand, stateDir: state.dir, hostZone: 'UTC' }, { runner, fs: mem, tempDir: 'C:\\Temp' }, stubTriggersOf);
  const rec = createReconciler({ config: agentConfig(state.dir), source, adapter, scheduler: { kind: 'windows', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state });
  const creates = (): string[] => runner.calls.filter((c) => c.argv[1] === '/Create').map((c) => c.argv[5]!);
  return { state, runner, rec, creates };
}

describe('reconcile: a Windows task not made by cronsync at a job\'s path', () => {
  it('leaves it alone, installs the other jobs, reports that job, and a second sync writes nothing', async () => {
    const { rec, runner, creates, state } = setup();

    const first = await rec.reconcile();
    const createdFirst = creates();
    const second = await rec.reconcile();

    expect(first.result).toBe('partial');
    expect(first.status.lastAttempt.error).toBeNull();
    expect(createdFirst).toEqual(['\\cronsync\\acme\\a']);
    expect(runner.tasks.get('\\cronsync\\acme\\B')).toBe(FOREIGN);
    expect(first.status.jobs.map((j) => [j.id, j.state])).toEqual([['acme/a', 'installed'], ['acme/b', 'invalid']]);
    expect(first.status.problems).toEqual([expect.objectContaining({ path: 'b.yaml', severity: 'error', message: expect.stringMatching(/a task not made by cronsync is at \\cronsync\\acme\\b; it is left alone/) })]);
    expect(await state.readSnapshot('acme/b')).toBeNull();
    expect(second.result).toBe('partial');
    expect(second.changes).toBe(false);
    expect(creates()).toEqual(createdFirst);
    expect(second.status.problems).toEqual(first.status.problems);
  });

  it('installs the job once the task in the way is gone', async () => {
    const { rec, runner, creates } = setup();
    await rec.reconcile();

    runner.tasks.delete('\\cronsync\\acme\\B');
    const next = await rec.reconcile();

    expect(next.result).toBe('ok');
    expect(creates()).toEqual(['\\cronsync\\acme\\a', '\\cronsync\\acme\\b']);
    expect(next.status.jobs.map((j) => [j.id, j.state])).toEqual([['acme/a', 'installed'], ['acme/b', 'installed']]);
  });
});

/** Someone's own timer, named as cronsync would name job acme/b's. */
const OWN_TIMER = '[Timer]\nOnCalendar=daily\n\n[Install]\nWantedBy=timers.target\n';

function systemdSetup() {
  const state = new MemoryStateStore('/var/lib/cronsync-occupied');
  const unitDir = temps.make('cronsync-occupied-units-');
  writeFileSync(join(unitDir, 'cronsync-acme-b.timer'), OWN_TIMER);
  const runner = fakeSystemctl({ unitDir });
  const source = new MemorySource({ 'a.yaml': manifest('a', '/opt/jobs/a.sh'), 'b.yaml': manifest('b', '/opt/jobs/b.sh') });
  const adapter = createSystemdAdapter({ sourceId: source.id, execCommand: { file: '/usr/bin/node', args: ['/opt/cronsync/dist/cli/launch.cjs'] }, stateDir: state.dir, unitDir, mode: 'system', user: 'root', now: () => new Date('2026-06-01T00:00:00Z') }, { runner });
  const rec = createReconciler({ config: agentConfig(state.dir), source, adapter, scheduler: { kind: 'systemd', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state });
  return { unitDir, runner, rec };
}

describe('reconcile: systemd units not made by cronsync at a job\'s unit name', () => {
  it('leaves them alone, installs the other jobs, reports that job, and a second sync changes nothing', async () => {
    const { rec, runner, unitDir } = systemdSetup();

    const first = await rec.reconcile();
    const mutations = runner.mutations().length;
    const second = await rec.reconcile();

    expect(first.result).toBe('partial');
    expect(first.status.lastAttempt.error).toBeNull();
    expect(readFileSync(join(unitDir, 'cronsync-acme-b.timer'), 'utf8')).toBe(OWN_TIMER);
    expect(readFileSync(join(unitDir, 'cronsync-acme-a.timer'), 'utf8')).toContain('OnCalendar=');
    expect(first.status.jobs.map((j) => [j.id, j.state])).toEqual([['acme/a', 'installed'], ['acme/b', 'invalid']]);
    expect(first.status.problems).toEqual([expect.objectContaining({ path: 'b.yaml', severity: 'error', message: expect.stringMatching(/a unit not made by cronsync is in the way \(cronsync-acme-b\.service or \.timer in .*\); it is left alone/) })]);
    expect(second.result).toBe('partial');
    expect(second.changes).toBe(false);
    expect(runner.mutations().length).toBe(mutations);
  });
});

describe('reconcile: schtasks refuses one task while the others apply (ApplyResult.failed)', () => {
  function refusing() {
    const state = new MemoryStateStore('C:\\ProgramData\\cronsync\\state');
    const mem = memoryTaskFs();
    let refuse = new Set<string>();
    const runner = fakeSchtasks(new Map(), { read: mem.read, inject: (args) => (args[0] === '/Create' && refuse.has(args[4]!) ? { exitCode: 1, stderr: 'ERROR: The task image is corrupt or has been tampered with.\r\n' } : undefined) });
    const source = new MemorySource({ 'a.yaml': manifest('a'), 'b.yaml': manifest('b'), 'c.yaml': manifest('c') });
    const adapter = createSchtasksAdapter({ sourceId: source.id, execCommand: CTX.execCommand, stateDir: state.dir, hostZone: 'UTC' }, { runner, fs: mem, tempDir: 'C:\\Temp' }, stubTriggersOf);
    const rec = createReconciler({ config: agentConfig(state.dir), source, adapter, scheduler: { kind: 'windows', reason: 'test' }, clock: new FakeClock(), log: nullLogger, state });
    return { state, runner, source, rec, refuse: (paths: string[]) => void (refuse = new Set(paths)) };
  }

  it('applies the others, keeps the refused job\'s last version and snapshot, reports it, and applies it at the next sync', async () => {
    const t = refusing();
    await t.rec.reconcile();
    const bTask = t.runner.tasks.get('\\cronsync\\acme\\b');
    t.source.files.set('a.yaml', manifest('a', 'C:\\\\jobs\\\\a2.cmd'));
    t.source.files.set('b.yaml', manifest('b', 'C:\\\\jobs\\\\b2.cmd'));
    t.source.files.set('d.yaml', manifest('d'));
    t.source.commit();
    t.refuse(['\\cronsync\\acme\\b', '\\cronsync\\acme\\d']);

    const partial = await t.rec.reconcile();
    // a's new snapshot, written without fsync, is still covered by the batch the restore of b wrote.
    const batched = Object.entries(JSON.parse(t.state.text('jobs.batch.json')!).snapshots as Record<string, string>).map(([id, text]) => [id, JSON.parse(text).job.spec.command]);
    const snapB = await t.state.readSnapshot('acme/b');
    const snapD = await t.state.readSnapshot('acme/d');
    const bAfterRefusal = t.runner.tasks.get('\\cronsync\\acme\\b');
    t.refuse([]);
    const healed = await t.rec.reconcile();

    expect(partial.result).toBe('partial');
    expect(partial.status.jobs.map((j) => [j.id, j.state])).toEqual([['acme/a', 'installed'], ['acme/b', 'invalid'], ['acme/c', 'installed'], ['acme/d', 'invalid']]);
    expect(partial.status.problems.map((p) => [p.path, p.rule, p.message])).toEqual([
      ['b.yaml', 'entry-invalid', expect.stringMatching(/^acme\/b: the scheduler refused its entry: schtasks \/Create failed \(exit 1\): ERROR: The task image is corrupt.*; the last applied version stays installed$/)],
      ['d.yaml', 'entry-invalid', expect.stringMatching(/^acme\/d: the scheduler refused its entry: .*; not installed$/)],
    ]);
    expect((await t.state.readSnapshot('acme/a'))?.job.spec.command).toBe('C:\\\\jobs\\\\a2.cmd');
    expect(snapB?.job.spec.command).toBe('C:\\\\jobs\\\\b.cmd');
    expect(snapD).toBeNull();
    expect(bAfterRefusal).toBe(bTask);
    expect(batched).toEqual([['acme/b', 'C:\\\\jobs\\\\b.cmd'], ['acme/a', 'C:\\\\jobs\\\\a2.cmd']]);
    expect(healed.result).toBe('ok');
    expect((await t.state.readSnapshot('acme/b'))?.job.spec.command).toBe('C:\\\\jobs\\\\b2.cmd');
    expect(healed.status.jobs.map((j) => [j.id, j.state])).toEqual([['acme/a', 'installed'], ['acme/b', 'installed'], ['acme/c', 'installed'], ['acme/d', 'installed']]);
  });
});
