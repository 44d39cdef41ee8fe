import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerError } from '../../../src/errors.js';
import { planChanges } from '../../../src/plan/plan.js';
import type { DesiredJob } from '../../../src/desired/types.js';
import type { JobId } from '../../../src/manifest/types.js';
import { createWindowsAdapter } from '../../../src/scheduler/windows/index.js';
import { createSchtasksAdapter } from '../../../src/scheduler/windows/schtasks.js';
import type { WindowsAdapterOptions } from '../../../src/scheduler/windows/schtasks.js';
import { fakeSchtasks, memoryTaskFs } from '../../fakes/FakeSchtasks.js';
import { SOURCE, desired, planOf, signal } from '../fixtures.js';
import { CTX, SETTINGS_EDITS, exportLikeWindows, stubTriggersOf } from './render-fixtures.js';

const OPTIONS: WindowsAdapterOptions = { sourceId: SOURCE, execCommand: CTX.execCommand, stateDir: CTX.stateDir, hostZone: 'UTC' };
const FOREIGN = '<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><RegistrationInfo><URI>\\cronsync\\acme\\mine</URI></RegistrationInfo><Actions Context="Author"><Exec><Command>notepad.exe</Command></Exec></Actions></Task>\r\n';

function harness(options: Partial<WindowsAdapterOptions> = {}) {
  const mem = memoryTaskFs();
  const runner = fakeSchtasks(new Map(), { read: mem.read });
  const adapter = createSchtasksAdapter({ ...OPTIONS, ...options }, { runner, fs: mem, tempDir: 'C:\\Temp' }, stubTriggersOf);
  const creates = (): number => runner.calls.filter((c) => c.argv[1] === '/Create').length;
  const deletes = (): string[] => runner.calls.filter((c) => c.argv[1] === '/Delete').map((c) => c.argv[3]!);
  return { mem, runner, adapter, creates, deletes };
}

const jobs = [desired('backup', '30 2 * * *', { timeout: '1h' }), desired('report', '0 6 * * *'), desired('held', '0 4 * * *', { paused: true })];

describe('scheduler/windows adapter (fake schtasks)', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('creates one task per job from a UTF-16LE temp file with /Create /XML /TN /F, and removes the file', async () => {
    const h = harness();

    const r = await h.adapter.apply(planOf(jobs), signal);

    expect(r).toEqual({ changed: true, written: ['\\cronsync\\acme\\backup', '\\cronsync\\acme\\report', '\\cronsync\\acme\\held'] });
    expect(h.runner.calls.find((c) => c.argv[1] === '/Create')?.argv).toEqual(['C:\\Windows\\System32\\schtasks.exe', '/Create', '/XML', expect.stringMatching(/^C:\\Temp\\cronsync-task-\d+\.xml$/), '/TN', '\\cronsync\\acme\\backup', '/F']);
    expect([...h.runner.tasks.keys()]).toEqual(['\\cronsync\\acme\\backup', '\\cronsync\\acme\\report', '\\cronsync\\acme\\held']);
    expect(h.runner.tasks.get('\\cronsync\\acme\\backup')).toBe(h.adapter.renderEntry(jobs[0]!));
    expect(h.mem.files.size).toBe(0);
  });

  it('inventory reads back every task with its marker; raw = renderEntry; paused = disabled', async () => {
    const h = harness();
    await h.adapter.apply(planOf(jobs), signal);

    const inv = await h.adapter.inventory(signal);

    expect(inv.map((e) => [e.key, e.marker?.jobId, e.paused, e.drifted])).toEqual([
      ['windows:\\cronsync\\acme\\backup', 'acme/backup', false, false],
      ['windows:\\cronsync\\acme\\held', 'acme/held', true, false],
      ['windows:\\cronsync\\acme\\report', 'acme/report', false, false],
    ]);
    for (const d of jobs) expect(inv.find((e) => e.marker?.jobId === d.id)?.raw).toBe(h.adapter.renderEntry(d));
  });

  it('a second apply of the same plan writes nothing', async () => {
    const h = harness();
    await h.adapter.apply(planOf(jobs), signal);
    const after = h.creates();

    const second = await h.adapter.apply(planOf(jobs), signal);

    expect(second).toEqual({ changed: false, written: [] });
    expect(h.creates()).toBe(after);
  });

  it('drift (a trigger edited in the Task Scheduler UI) is restored at the next sync, through the planner', async () => {
    const h = harness();
    await h.adapter.apply(planOf(jobs), signal);
    const path = '\\cronsync\\acme\\backup';
    h.runner.tasks.set(path, h.runner.tasks.get(path)!.replace('2024-01-01T02:30:00', '2024-01-01T05:00:00'));

    const installed = await h.adapter.inventory(signal);
    const { plan } = planChanges({
      sourceId: SOURCE, desired: new Map(jobs.map((d) => [d.id, d])), excluded: new Map(), invalid: new Set(), brokenFiles: new Set(),
      installed, applied: new Map(jobs.map((d) => [d.id, d])), isCurrent: (e, d) => !e.drifted && e.raw === h.adapter.renderEntry(d),
      prune: true, force: false, allowMassRemoval: false,
    });
    const r = await h.adapter.apply(plan, signal);

    expect(installed.find((e) => e.key.endsWith('backup'))?.drifted).toBe(true);
    expect(plan.update.map((u) => [u.desired.id, u.changes])).toEqual([['acme/backup', ['drift']]]);
    expect(r.written).toEqual([path]);
    expect(h.runner.tasks.get(path)).toBe(h.adapter.renderEntry(jobs[0]!));
  });

  it('a foreign task in the folder is reported without a marker and never touched; tasks outside the folder are not listed', async () => {
    const h = harness();
    h.runner.tasks.set('\\cronsync\\acme\\mine', FOREIGN);
    h.runner.tasks.set('\\Microsoft\\Windows\\Defrag\\ScheduledDefrag', FOREIGN);

    await h.adapter.apply(planOf(jobs), signal);
    const all = await h.adapter.inventory(signal);
    await h.adapter.apply({ ...planOf([]), remove: all }, signal);
    const inv = await h.adapter.inventory(signal);

    expect(all.filter((e) => !e.marker).map((e) => e.key)).toEqual(['windows:\\cronsync\\acme\\mine']);
    expect(inv.map((e) => [e.key, e.marker])).toEqual([['windows:\\cronsync\\acme\\mine', null]]);
    expect(h.runner.tasks.get('\\cronsync\\acme\\mine')).toBe(FOREIGN);
    expect(h.runner.tasks.has('\\Microsoft\\Windows\\Defrag\\ScheduledDefrag')).toBe(true);
    expect(h.deletes()).toEqual(['\\cronsync\\acme\\backup', '\\cronsync\\acme\\held', '\\cronsync\\acme\\report']);
  });

  it('never overwrites a task without a marker at a job\'s path: the others apply, and that job is reported as failed', async () => {
    const h = harness();
    h.runner.tasks.set('\\cronsync\\acme\\report', FOREIGN);

    const r = await h.adapter.apply(planOf(jobs), signal);

    expect(r.failed).toEqual([{ id: 'acme/report', error: 'a task not made by cronsync is at \\cronsync\\acme\\report; it is left alone' }]);
    expect(h.runner.tasks.get('\\cronsync\\acme\\report')).toBe(FOREIGN);
    expect(h.runner.tasks.has('\\cronsync\\acme\\backup')).toBe(true);
  });

  it('removes the tasks of plan.remove with /Delete /TN … /F, and only ours', async () => {
    const h = harness();
    await h.adapter.apply(planOf(jobs), signal);
    const inv = await h.adapter.inventory(signal);
    const report = inv.find((e) => e.marker?.jobId === 'acme/report')!;
    const alien = { ...report, marker: { ...report.marker!, sourceId: 'someone-else' } };

    const r = await h.adapter.apply({ ...planOf([jobs[0]!, jobs[2]!]), remove: [report, alien] }, signal);

    expect(r).toEqual({ changed: true, written: ['\\cronsync\\acme\\report'] });
    expect(h.deletes()).toEqual(['\\cronsync\\acme\\report']);
    expect([...h.runner.tasks.keys()].sort()).toEqual(['\\cronsync\\acme\\backup', '\\cronsync\\acme\\held']);
  });

  it('pausing and resuming rewrites the task with Settings/Enabled false, then true', async () => {
    const h = harness();
    await h.adapter.apply(planOf([jobs[0]!]), signal);
    const paused = desired('backup', '30 2 * * *', { timeout: '1h', paused: true });

    await h.adapter.apply(planOf([paused]), signal);
    const inv1 = await h.adapter.inventory(signal);
    await h.adapter.apply(planOf([jobs[0]!]), signal);
    const inv2 = await h.adapter.inventory(signal);

    expect([inv1[0]!.paused, inv2[0]!.paused]).toEqual([true, false]);
    expect(h.creates()).toBe(3);
  });

  it('honours taskFolder and a run-as user', async () => {
    const h = harness({ taskFolder: 'Jobs\\cron\\', user: 'CORP\\svc' });

    await h.adapter.apply(planOf([jobs[0]!]), signal);

    expect([...h.runner.tasks.keys()]).toEqual(['\\Jobs\\cron\\acme\\backup']);
    expect(h.runner.tasks.get('\\Jobs\\cron\\acme\\backup')).toContain('<LogonType>S4U</LogonType>');
    expect((await h.adapter.inventory(signal)).map((e) => e.marker?.jobId)).toEqual(['acme/backup']);
  });

  it('maps a schtasks failure to SchedulerError with argv, exit code and stderr; the temp file is removed anyway', async () => {
    dir = await mkdtemp(join(tmpdir(), 'win-adapter-'));
    const runner = fakeSchtasks(new Map(), { inject: (args) => (args[0] === '/Create' ? { exitCode: 1, stderr: 'ERROR: Access is denied.\r\n' } : undefined) });
    const adapter = createSchtasksAdapter(OPTIONS, { runner, tempDir: dir }, stubTriggersOf);

    const r = await adapter.apply(planOf([jobs[0]!]), signal);

    // One task's refusal is that job's (ApplyResult.failed); the others go on.
    expect(r).toEqual({ changed: false, written: [], failed: [{ id: 'acme/backup', error: 'schtasks /Create failed (exit 1): ERROR: Access is denied.' }] });
    expect(runner.calls.find((c) => c.argv[1] === '/Create')?.argv).toEqual(['C:\\Windows\\System32\\schtasks.exe', '/Create', '/XML', expect.stringContaining(dir), '/TN', '\\cronsync\\acme\\backup', '/F']);
    expect(await readdir(dir)).toEqual([]);
  });

  it('writes a real UTF-16LE+BOM temp file that the fake decodes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'win-adapter-'));
    const runner = fakeSchtasks();
    const adapter = createSchtasksAdapter(OPTIONS, { runner, tempDir: dir }, stubTriggersOf);

    await adapter.apply(planOf([jobs[0]!]), signal);

    expect(runner.tasks.get('\\cronsync\\acme\\backup')).toBe(adapter.renderEntry(jobs[0]!));
    expect(await readdir(dir)).toEqual([]);
  });

  it('unreadable /Query output and a plan of another source are SchedulerErrors', async () => {
    const runner = fakeSchtasks(new Map(), { inject: (args) => (args[0] === '/Query' ? { stdout: '<Tasks><Task>' } : undefined) });
    const adapter = createSchtasksAdapter(OPTIONS, { runner, fs: memoryTaskFs() }, stubTriggersOf);

    await expect(adapter.inventory(signal)).rejects.toBeInstanceOf(SchedulerError);
    await expect(adapter.apply({ ...planOf([]), sourceId: 'other' }, signal)).rejects.toThrow(/plan is for source other/);
  });

  it('renders one file per job for `cronsync render`', () => {
    const h = harness();

    const r = h.adapter.render(jobs);

    expect(r.kind).toBe('windows');
    expect(r.files.map((f) => f.name)).toEqual(['\\cronsync\\acme\\backup', '\\cronsync\\acme\\held', '\\cronsync\\acme\\report']);
    expect(r.files[0]!.content).toBe(h.adapter.renderEntry(jobs[0]!));
  });

  it('a duplicate of a job at another path (under a previous source id) is deleted, the job kept', async () => {
    const h = harness();
    await h.adapter.apply(planOf([jobs[0]!]), signal);
    const copy = h.runner.tasks.get('\\cronsync\\acme\\backup')!.replace(`"source":"${SOURCE}"`, '"source":"old-src"');
    h.runner.tasks.set('\\cronsync\\acme\\backup-copy', copy);
    const installed = await h.adapter.inventory(signal);
    const desiredMap = new Map<JobId, DesiredJob>([[jobs[0]!.id, jobs[0]!]]);

    const { plan } = planChanges({
      sourceId: SOURCE, previousSourceIds: ['old-src'], desired: desiredMap, excluded: new Map(), invalid: new Set(), brokenFiles: new Set(),
      installed, applied: desiredMap, isCurrent: (e, d) => !e.drifted && e.raw === h.adapter.renderEntry(d), prune: true, force: false, allowMassRemoval: false,
    });
    await h.adapter.apply(plan, signal);

    expect([...h.runner.tasks.keys()]).toEqual(['\\cronsync\\acme\\backup']);
  });

  it('with the real triggers (host Berlin, dated DST triggers): round-trips, no drift, second apply writes nothing', { timeout: 30_000 }, async () => {
    const mem = memoryTaskFs();
    const runner = fakeSchtasks(new Map(), { read: mem.read });
    const adapter = createWindowsAdapter({ ...OPTIONS, hostZone: 'Europe/Berlin', now: () => new Date('2026-06-01T00:00:00Z') }, { runner, fs: mem });
    const real = [
      desired('gap', '30 2 * * *', { timezone: 'America/New_York' }),
      desired('quarter', '*/15 * * * *', { timezone: 'Australia/Lord_Howe' }),
      desired('odd', '0 12 */2 * 1'),
    ];

    await adapter.apply(planOf(real), signal);
    const inv = await adapter.inventory(signal);
    const second = await adapter.apply(planOf(real), signal);

    expect(inv.map((e) => [e.marker?.jobId, e.drifted])).toEqual([['acme/gap', false], ['acme/odd', false], ['acme/quarter', false]]);
    for (const d of real) expect(inv.find((e) => e.marker?.jobId === d.id)?.raw).toBe(adapter.renderEntry(d));
    expect(runner.tasks.get('\\cronsync\\acme\\quarter')).toMatch(/<TimeTrigger>/);
    expect(second).toEqual({ changed: false, written: [] });
  });
});

describe('scheduler/windows adapter: Settings edited outside cronsync (fake schtasks)', () => {
  const PATH = '\\cronsync\\acme\\quarter';
  const quarter = [desired('quarter', '*/15 * * * *')];

  function setup() {
    const mem = memoryTaskFs();
    const runner = fakeSchtasks(new Map(), { read: mem.read });
    const adapter = createWindowsAdapter({ ...OPTIONS, hostZone: 'UTC', now: () => new Date('2026-06-01T00:00:00Z') }, { runner, fs: mem });
    const sync = async () => {
      const installed = await adapter.inventory(signal);
      const byId = new Map(quarter.map((d) => [d.id, d]));
      const { plan } = planChanges({
        sourceId: SOURCE, desired: byId, excluded: new Map(), invalid: new Set(), brokenFiles: new Set(),
        installed, applied: byId, isCurrent: (e, d) => !e.drifted && e.raw === adapter.renderEntry(d),
        prune: true, force: false, allowMassRemoval: false,
      });
      return { installed, plan, result: await adapter.apply(plan, signal) };
    };
    return { runner, adapter, sync };
  }

  it.each(SETTINGS_EDITS)('%s is drift, and the next sync registers the task again as rendered', async (_, edit) => {
    const { runner, adapter, sync } = setup();
    await adapter.apply(planOf(quarter), signal);
    runner.tasks.set(PATH, edit(exportLikeWindows(runner.tasks.get(PATH)!)));

    const { installed, plan, result } = await sync();

    expect(installed.map((e) => [e.key, e.drifted])).toEqual([[`windows:${PATH}`, true]]);
    expect(plan.update.map((u) => [u.desired.id, u.changes])).toEqual([['acme/quarter', ['drift']]]);
    expect(result).toEqual({ changed: true, written: [PATH] });
    expect(runner.tasks.get(PATH)).toBe(adapter.renderEntry(quarter[0]!));
  });

  it.each([false, true])('the task as Windows exports it (compact %s) is unchanged: a sync writes nothing', async (compact) => {
    const { runner, adapter, sync } = setup();
    await adapter.apply(planOf(quarter), signal);
    runner.tasks.set(PATH, exportLikeWindows(runner.tasks.get(PATH)!, compact));
    const before = runner.calls.length;

    const { installed, plan, result } = await sync();

    expect(installed.map((e) => [e.key, e.drifted, e.raw])).toEqual([[`windows:${PATH}`, false, adapter.renderEntry(quarter[0]!)]]);
    expect(plan.update).toEqual([]);
    expect(result).toEqual({ changed: false, written: [] });
    expect(runner.calls.slice(before).filter((c) => c.argv[1] === '/Create')).toEqual([]);
  });
});

describe('scheduler/windows adapter: non-ASCII paths and user read back through a console code page (fake schtasks)', () => {
  const UNICODE: Partial<WindowsAdapterOptions> = {
    stateDir: 'C:\\Données\\cronsync',
    user: 'CORP\\müller',
    execCommand: { file: 'C:\\Programme\\nodé\\node.exe', args: ['C:\\Programme\\cronsync\\日本\\launch.cjs'] },
  };
  const job = desired('backup', '30 2 * * *', { timeout: '1h' });
  const PATH = '\\cronsync\\acme\\backup';

  /** One sync through the planner, as the reconciler runs it (isCurrent: not drifted, raw = renderEntry). */
  async function sync(adapter: ReturnType<typeof createSchtasksAdapter>, jobs: DesiredJob[]) {
    const installed = await adapter.inventory(signal);
    const byId = new Map(jobs.map((d) => [d.id, d]));
    const { plan } = planChanges({
      sourceId: SOURCE, desired: byId, excluded: new Map(), invalid: new Set(), brokenFiles: new Set(),
      installed, applied: byId, isCurrent: (e, d) => !e.drifted && e.raw === adapter.renderEntry(d),
      prune: true, force: false, allowMassRemoval: false,
    });
    return { installed, plan, result: await adapter.apply(plan, signal) };
  }

  function setup(codePage: 'cp437' | 'latin1', options: Partial<WindowsAdapterOptions> = UNICODE) {
    const mem = memoryTaskFs();
    const runner = fakeSchtasks(new Map(), { read: mem.read, consoleCodePage: codePage });
    const adapterOf = (o: Partial<WindowsAdapterOptions>) => createSchtasksAdapter({ ...OPTIONS, ...o }, { runner, fs: mem }, stubTriggersOf);
    const creates = (): number => runner.calls.filter((c) => c.argv[1] === '/Create').length;
    return { runner, adapter: adapterOf(options), adapterOf, creates };
  }

  it.each(['cp437', 'latin1'] as const)('through %s: registered with the real text, read back not drifted, and a second sync writes nothing', async (cp) => {
    const h = setup(cp);

    const first = await sync(h.adapter, [job]);
    const query = (await h.runner.run({ file: 'schtasks.exe', args: ['/Query', '/XML', 'ONE'] })).stdout;
    const before = h.creates();
    const second = await sync(h.adapter, [job]);

    expect(first.result).toEqual({ changed: true, written: [PATH] });
    expect(h.runner.tasks.get(PATH)).toBe(h.adapter.renderEntry(job));
    expect(h.runner.tasks.get(PATH)).toContain('--state-dir C:\\Données\\cronsync acme/backup</Arguments>');
    expect(h.runner.tasks.get(PATH)).toContain('<UserId>CORP\\müller</UserId>');
    expect(query).not.toContain('Données');
    expect(query).not.toContain('müller');
    expect(second.installed.map((e) => [e.key, e.marker?.jobId, e.drifted, e.raw === h.adapter.renderEntry(job)])).toEqual([[`windows:${PATH}`, 'acme/backup', false, true]]);
    expect([second.plan.add, second.plan.update]).toEqual([[], []]);
    expect(second.result).toEqual({ changed: false, written: [] });
    expect(h.creates()).toBe(before);
  });

  it.each(['cp437', 'latin1'] as const)('through %s: the ASCII part of Arguments edited in the Task Scheduler UI is drift, and the next sync restores it', async (cp) => {
    const h = setup(cp);
    await sync(h.adapter, [job]);
    h.runner.tasks.set(PATH, h.runner.tasks.get(PATH)!.replace('Données\\cronsync acme/backup', 'Données\\cronsync-old acme/backup'));

    const { installed, plan, result } = await sync(h.adapter, [job]);

    expect(installed.map((e) => [e.key, e.drifted])).toEqual([[`windows:${PATH}`, true]]);
    expect(plan.update.map((u) => [u.desired.id, u.changes])).toEqual([['acme/backup', ['drift']]]);
    expect(result).toEqual({ changed: true, written: [PATH] });
    expect(h.runner.tasks.get(PATH)).toBe(h.adapter.renderEntry(job));
  });

  it.each([
    ['the ASCII part of the state dir', { ...UNICODE, stateDir: 'C:\\Données\\cronsync2' }],
    ['a non-ASCII character of the state dir (é → è)', { ...UNICODE, stateDir: 'C:\\Donnèes\\cronsync' }],
    ['the user', { ...UNICODE, user: 'CORP\\müllers' }],
  ])('through cp437: a change of %s in the config rewrites the task once', async (_, changed) => {
    const h = setup('cp437');
    await sync(h.adapter, [job]);
    const adapter = h.adapterOf(changed);

    const first = await sync(adapter, [job]);
    const second = await sync(adapter, [job]);

    expect(first.result).toEqual({ changed: true, written: [PATH] });
    expect(h.runner.tasks.get(PATH)).toBe(adapter.renderEntry(job));
    expect(second.result).toEqual({ changed: false, written: [] });
  });
});
