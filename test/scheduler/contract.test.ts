/**
 * The adapter contract (STYLE §7), run over every kind of the registry: a kind registered
 * without a harness here fails the suite, so no adapter skips the contract.
 */
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesiredJob } from '../../src/desired/types.js';
import type { JobId } from '../../src/manifest/types.js';
import { planChanges } from '../../src/plan/plan.js';
import type { Plan } from '../../src/plan/types.js';
import { recordLine } from '../../src/scheduler/embedded/registry.js';
import type { EmbeddedRecord } from '../../src/scheduler/embedded/registry.js';
import { createAdapter, loadSchedulers, registeredKinds } from '../../src/scheduler/registry.js';
import type { SchedulerAdapter, SchedulerKind } from '../../src/scheduler/types.js';
import { fakeCrontab } from '../fakes/FakeRunner.js';
import { fakeSchtasks } from '../fakes/FakeSchtasks.js';
import { fakeSystemctl } from '../fakes/FakeSystemctl.js';
import { PAUSED_NOTE } from '../../src/scheduler/systemd/render.js';
import { SOURCE, desired, schedulerConfig, schedulerDeps, signal } from './fixtures.js';

await loadSchedulers();

interface Harness {
  adapter: SchedulerAdapter;
  /**
   * Installs an entry made by someone else: how to read it back, what it must stay, and the
   * source ids of the foreign entries that carry a marker (another agent's).
   */
  addForeign(): Promise<{ read: () => Promise<string | undefined>; expected: string; markedBy: string[] }>;
  /** Number of writes performed so far. */
  writes(): Promise<number>;
  /** Edits an installed entry's schedule behind the adapter's back (someone at the console). */
  tamper(raw: string): Promise<void>;
  /** A valid entry text other than `text` (e.g. its schedule edited), never what apply() renders. */
  variant(text: string): string;
  /** Directory the harness keeps its files in ('' if none): apply results name paths under it. */
  root: string;
  /** Everything the scheduler holds (files, crontabs, tasks) and the systemctl calls made, as one text. */
  state(): Promise<string>;
  /** Does an installed entry's raw text show it inactive (commented out, disabled)? */
  isPausedRaw(raw: string): boolean;
  cleanup(): Promise<void>;
}

const FOREIGN = '# my own jobs\r\nMAILTO=ops@example.com\r\n17 * * * * /usr/local/bin/mine --flag %s\r\n';

/** Counts replacements of a file written atomically (each gives a new inode or change time). */
function fileWrites(path: string): () => Promise<number> {
  let last = '';
  let count = 0;
  return async () => {
    const s = await stat(path, { bigint: true }).then((x) => `${x.ino}:${x.ctimeNs}:${x.size}`, () => '');
    if (s !== last) count++;
    last = s;
    return count;
  };
}

/** The entry with its first field (the minute) changed to 7. */
const tamperCron = (raw: string): string => raw.replace(/^(?!#)\S+/m, '7');
/** The entry with the minute of its first cron line, paused or not, changed to 7. */
const variantCron = (raw: string): string => raw.replace(/\n(#paused: )?\S+/, '\n$17');
const tamperRecord = (raw: string): string => raw.replace(/"schedule":"[^"]*"/, '"schedule":"7 7 * * *"');
const tamperTimer = (text: string): string => text.replace(/^OnCalendar=(.*) (\d\d:\d\d:\d\d) /m, 'OnCalendar=$1 07:07:00 ');
const tamperTask = (xml: string): string => xml.replace(/<StartBoundary>[^<]*<\/StartBoundary>/, '<StartBoundary>2024-01-01T07:07:00</StartBoundary>');

/** The names and texts of the files in `dir`, sorted by name. */
async function dirState(dir: string): Promise<string> {
  const names = (await readdir(dir)).sort();
  return (await Promise.all(names.map(async (n) => `== ${n}\n${await readFile(join(dir, n), 'utf8')}`))).join('\n');
}

const cronPaused = (raw: string): boolean => raw.split('\n').slice(1).every((l) => l.startsWith('#'));

const HARNESSES: Partial<Record<SchedulerKind, () => Promise<Harness>>> = {
  async 'cron.d'() {
    const dir = await mkdtemp(join(tmpdir(), 'contract-'));
    const adapter = createAdapter('cron.d', schedulerConfig({ cronDir: dir }), schedulerDeps({ hostZone: 'America/New_York' }));
    return {
      adapter,
      root: dir,
      async addForeign() {
        await writeFile(join(dir, 'php'), FOREIGN);
        return { read: () => readFile(join(dir, 'php'), 'utf8'), expected: FOREIGN, markedBy: [] };
      },
      writes: fileWrites(join(dir, 'cronsync')),
      async tamper(raw) {
        const text = await readFile(join(dir, 'cronsync'), 'utf8');
        await writeFile(join(dir, 'cronsync'), text.replace(raw, tamperCron(raw)));
      },
      variant: variantCron,
      state: () => dirState(dir),
      isPausedRaw: cronPaused,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
  async crontab() {
    const tabs = new Map<string, string>();
    const runner = fakeCrontab(tabs);
    const adapter = createAdapter('crontab', schedulerConfig(), schedulerDeps({ runner, crontabSpool: runner.spool, hostZone: 'America/New_York' }));
    return {
      adapter,
      root: '',
      async addForeign() {
        tabs.set('root', FOREIGN.slice(0, -2)); // no final newline either
        return { read: async () => tabs.get('root')!.slice(0, FOREIGN.length - 2), expected: FOREIGN.slice(0, -2), markedBy: [] };
      },
      writes: async () => runner.calls.filter((c) => c.argv.includes('-')).length,
      async tamper(raw) {
        tabs.set('root', tabs.get('root')!.replace(raw, tamperCron(raw)));
      },
      variant: variantCron,
      state: async () => [...tabs].sort().map(([user, text]) => `== ${user}\n${text}`).join('\n'),
      isPausedRaw: cronPaused,
      cleanup: async () => undefined,
    };
  },
  async embedded() {
    const stateDir = await mkdtemp(join(tmpdir(), 'contract-'));
    const path = join(stateDir, 'embedded.json');
    // apply() and inventory() never arm a timer: only the daemon's start() does.
    const timers = { setTimeout: (): never => { throw new Error('the contract must not start timers'); }, clearTimeout: () => undefined };
    const adapter = createAdapter('embedded', schedulerConfig({}, stateDir), schedulerDeps({ inProcess: { runJob: async () => 0, timers } }));
    return {
      adapter,
      root: stateDir,
      async addForeign() {
        const other: EmbeddedRecord = { sourceId: 'other-src', jobId: 'ops/mine', commit: 'b'.repeat(40), path: 'mine.yaml', index: 0, manifestHash: 'h', schedule: '17 * * * *', timezone: 'UTC', paused: false };
        await writeFile(path, `{"version":1,"jobs":[${recordLine(other)}]}\n`);
        const read = async (): Promise<string | undefined> => (await readFile(path, 'utf8')).split('\n').map((l) => l.trim().replace(/,$/, '')).find((l) => l.includes('"other-src"'));
        return { read, expected: recordLine(other), markedBy: ['other-src'] };
      },
      writes: fileWrites(path),
      async tamper(raw) {
        await writeFile(path, (await readFile(path, 'utf8')).replace(raw, tamperRecord(raw)));
      },
      variant: tamperRecord,
      state: () => dirState(stateDir),
      isPausedRaw: (raw) => (JSON.parse(raw) as { paused: boolean }).paused,
      cleanup: () => rm(stateDir, { recursive: true, force: true }),
    };
  },
  async systemd() {
    const dir = await mkdtemp(join(tmpdir(), 'contract-'));
    const runner = fakeSystemctl({ unitDir: dir });
    const adapter = createAdapter('systemd', schedulerConfig({ unitDir: dir }), schedulerDeps({ runner }));
    const unitsState = async (): Promise<string> => (await Promise.all((await readdir(dir)).sort().map(async (n) => {
      const s = await stat(join(dir, n), { bigint: true });
      return `${n}:${s.ino}:${s.ctimeNs}:${s.size}`;
    }))).join('|');
    let last = '';
    let fileWritesSeen = 0;
    return {
      adapter,
      root: dir,
      async addForeign() {
        const unit = '# my own timer\n[Timer]\nOnCalendar=*-*-* *:17:00\n\n[Install]\nWantedBy=timers.target\n';
        await writeFile(join(dir, 'backup-home.timer'), unit);
        return { read: () => readFile(join(dir, 'backup-home.timer'), 'utf8'), expected: unit, markedBy: [] };
      },
      async writes() {
        const now = await unitsState();
        if (now !== last) fileWritesSeen++;
        last = now;
        return fileWritesSeen + runner.mutations().length;
      },
      async tamper(raw) {
        const name = (await readdir(dir)).find((n) => n.endsWith('.timer') && raw.includes(`Unit=${n.replace(/\.timer$/, '.service')}`))!;
        const text = await readFile(join(dir, name), 'utf8');
        await writeFile(join(dir, name), tamperTimer(text));
      },
      variant: (text) => text.replace('\nAccuracySec=1s\n', '\nAccuracySec=2s\n'),
      state: async () => `${await dirState(dir)}\n== systemctl\n${runner.mutations().map((argv) => argv.join(' ')).join('\n')}`,
      isPausedRaw: (raw) => raw.split('\n').includes(PAUSED_NOTE),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
  async windows() {
    const runner = fakeSchtasks();
    const adapter = createAdapter('windows', schedulerConfig({ user: undefined }), schedulerDeps({ runner, hostZone: 'America/New_York' }));
    return {
      adapter,
      root: '',
      async addForeign() {
        const path = '\\cronsync\\ops\\mine';
        const xml = `<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\r\n  <RegistrationInfo><URI>${path}</URI></RegistrationInfo>\r\n  <Triggers><CalendarTrigger><StartBoundary>2024-01-01T00:17:00</StartBoundary><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger></Triggers>\r\n  <Actions Context="Author"><Exec><Command>C:\\mine.exe</Command><Arguments>--flag %s</Arguments></Exec></Actions>\r\n</Task>\r\n`;
        runner.tasks.set(path, xml);
        return { read: async () => runner.tasks.get(path), expected: xml, markedBy: [] };
      },
      writes: async () => runner.calls.filter((c) => c.argv.some((a) => /^\/(create|delete|change)$/i.test(a))).length,
      async tamper(raw) {
        const path = [...runner.tasks.keys()].find((k) => runner.tasks.get(k)!.includes(raw.match(/<URI>[^<]*<\/URI>/)![0]))!;
        runner.tasks.set(path, tamperTask(runner.tasks.get(path)!));
      },
      variant: tamperTask,
      state: async () => [...runner.tasks].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, xml]) => `== ${path}\n${xml}`).join('\n'),
      isPausedRaw: (raw) => /<Settings>[\s\S]*<Enabled>false<\/Enabled>[\s\S]*<\/Settings>/.test(raw),
      cleanup: async () => undefined,
    };
  },
};

async function harness(kind: SchedulerKind): Promise<Harness> {
  const make = HARNESSES[kind];
  if (!make) throw new Error(`scheduler "${kind}" is registered but has no contract harness in test/scheduler/contract.test.ts`);
  return make();
}

/**
 * The plan a sync would apply to install exactly `final` (prune on): whole-file adapters
 * render `final`, one-object-per-job adapters follow add/update/remove. With `rendered`, the
 * plan carries each job's entry text as the reconciler attaches it: `rendered(d)`.
 */
async function planOf(adapter: SchedulerAdapter, final: DesiredJob[], rendered?: (d: DesiredJob) => string): Promise<Plan> {
  const desiredState = new Map<JobId, DesiredJob>(final.map((d) => [d.id, d]));
  const plan = planChanges({
    sourceId: SOURCE, desired: desiredState, excluded: new Map(), invalid: new Set(), brokenFiles: new Set(),
    installed: await adapter.inventory(signal), applied: desiredState,
    isCurrent: (e, d) => e.raw === adapter.renderEntry(d), prune: true, force: false, allowMassRemoval: true,
  }).plan;
  if (rendered) plan.rendered = new Map(plan.final.map((d) => [d.id, rendered(d)]));
  return plan;
}

/** `d` with a job whose `spec.schedule` counts its reads: every adapter's entry depends on it. */
function scheduleReads(d: DesiredJob): { job: DesiredJob; reads: () => number } {
  let reads = 0;
  const spec = { ...d.job.spec };
  const schedule = spec.schedule;
  Object.defineProperty(spec, 'schedule', { enumerable: true, get: () => (reads++, schedule) });
  return { job: { ...d, job: { ...d.job, spec } }, reads: () => reads };
}

const jobs = [
  desired('backup', '0 2 * * *', { timezone: 'America/New_York' }),
  desired('report', '30 6 * * 1-5', { timezone: 'Europe/London' }),
  desired('odd', '0 12 */2 * 1'),
  desired('held', '*/10 * * * *', { paused: true }),
];

describe.each(registeredKinds())('scheduler contract: %s', (kind) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
  });

  it('has a contract harness', () => {
    expect(HARNESSES[kind], `add a harness for "${kind}"`).toBeTypeOf('function');
  });

  it('reads back what it renders: one entry per job, marker intact, raw = renderEntry', async () => {
    h = await harness(kind);

    await h.adapter.apply(await planOf(h.adapter, jobs), signal);
    const inv = (await h.adapter.inventory(signal)).filter((e) => e.marker);

    expect(inv.map((e) => e.marker!.jobId).sort()).toEqual(jobs.map((j) => j.id).sort());
    for (const d of jobs) {
      const e = inv.find((x) => x.marker!.jobId === d.id)!;
      expect(e.marker).toMatchObject({ sourceId: SOURCE, jobId: d.id, manifestHash: d.manifestHash, path: d.provenance.path, commit: d.provenance.commit });
      expect(e.raw).toBe(h.adapter.renderEntry(d));
      expect(e.drifted).toBe(false);
    }
    expect(h.adapter.render(jobs).files.some((f) => f.content.includes(h!.adapter.renderEntry(jobs[0]!)))).toBe(true);
  });

  it('a second apply of the same plan writes nothing', async () => {
    h = await harness(kind);
    const plan = await planOf(h.adapter, jobs);
    const first = await h.adapter.apply(plan, signal);
    const writesAfterFirst = await h.writes();

    const second = await h.adapter.apply(plan, signal);

    expect(first.changed).toBe(true);
    expect(writesAfterFirst).toBeGreaterThan(0);
    expect(second).toEqual({ changed: false, written: [] });
    expect(await h.writes()).toBe(writesAfterFirst);
  });

  it('foreign entries survive byte-identical through add, change and removal of all jobs', async () => {
    h = await harness(kind);
    const foreign = await h.addForeign();

    await h.adapter.apply(await planOf(h.adapter, jobs), signal);
    await h.adapter.apply(await planOf(h.adapter, [jobs[0]!]), signal);
    await h.adapter.apply(await planOf(h.adapter, []), signal);

    expect(await foreign.read()).toBe(foreign.expected);
    expect((await h.adapter.inventory(signal)).filter((e) => e.marker).map((e) => e.marker!.sourceId)).toEqual(foreign.markedBy);
  });

  it('paused jobs stay installed, inactive, with their marker', async () => {
    h = await harness(kind);

    await h.adapter.apply(await planOf(h.adapter, jobs), signal);
    const inv = await h.adapter.inventory(signal);
    const held = inv.find((e) => e.marker?.jobId === 'acme/held');
    const active = inv.find((e) => e.marker?.jobId === 'acme/backup');

    expect(held?.paused).toBe(true);
    expect(h.isPausedRaw(held!.raw)).toBe(true);
    expect(active?.paused).toBe(false);
    expect(h.isPausedRaw(active!.raw)).toBe(false);
  });

  it('writes the same bytes whether the plan carries the rendered entries or not', async () => {
    const changed = [desired('backup', '15 3 * * *', { timezone: 'America/New_York' }), jobs[1]!, jobs[3]!];
    const without = await harness(kind);
    const withMap = await harness(kind);
    try {
      for (const final of [jobs, changed, jobs, []]) {
        const a = await without.adapter.apply(await planOf(without.adapter, final), signal);
        const b = await withMap.adapter.apply(await planOf(withMap.adapter, final, (d) => withMap.adapter.renderEntry(d)), signal);

        expect(b).toEqual(without.root === '' ? a : JSON.parse(JSON.stringify(a).replaceAll(without.root, withMap.root)));
        expect(await withMap.state()).toBe(await without.state());
      }
    } finally {
      await without.cleanup();
      await withMap.cleanup();
    }
  });

  it('installs the entry text given in plan.rendered verbatim instead of rendering it', async () => {
    h = await harness(kind);
    const plan = await planOf(h.adapter, jobs, (d) => h!.variant(h!.adapter.renderEntry(d)));

    await h.adapter.apply(plan, signal);
    const state = await h.state();

    for (const d of jobs) {
      expect(h.variant(h.adapter.renderEntry(d))).not.toBe(h.adapter.renderEntry(d));
      expect(state).toContain(plan.rendered!.get(d.id)!);
      expect(state).not.toContain(h.adapter.renderEntry(d));
    }
  });

  it.skipIf(kind === 'embedded')('renders no entry that plan.rendered holds; a job missing from it is rendered', async () => {
    // (embedded reads each job's schedule to arm its timer, rendered or not; the test above covers it)
    h = await harness(kind);
    const counted = jobs.map(scheduleReads);
    const plan = await planOf(h.adapter, counted.map((c) => c.job), (d) => h!.adapter.renderEntry(d));
    (plan.rendered as Map<JobId, string>).delete(counted[0]!.job.id);
    const before = counted.map((c) => c.reads());

    await h.adapter.apply(plan, signal);
    const reads = counted.map((c, i) => c.reads() - before[i]!);

    expect(reads[0]).toBeGreaterThan(0);
    expect(reads.slice(1)).toEqual([0, 0, 0]);
  });

  it('an entry edited behind its back is reported as drift and restored by the next apply', async () => {
    h = await harness(kind);
    await h.adapter.apply(await planOf(h.adapter, jobs), signal);
    const backup = jobs[0]!;
    await h.tamper(h.adapter.renderEntry(backup));
    const edited = (await h.adapter.inventory(signal)).find((e) => e.marker?.jobId === backup.id)!;

    const plan = await planOf(h.adapter, jobs);
    await h.adapter.apply(plan, signal);
    const restored = (await h.adapter.inventory(signal)).find((e) => e.marker?.jobId === backup.id)!;

    expect(edited.raw).not.toBe(h.adapter.renderEntry(backup));
    expect(plan.update.map((u) => [u.desired.id, u.changes])).toEqual([[backup.id, ['drift']]]);
    expect(restored.raw).toBe(h.adapter.renderEntry(backup));
    expect(restored.drifted).toBe(false);
  });
});
