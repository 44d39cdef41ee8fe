/** The adapter contract (STYLE §7), run over every cron adapter of the registry. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdapter, createRegistry } from '../../src/scheduler/registry.js';
import type { SchedulerAdapter, SchedulerKind } from '../../src/scheduler/types.js';
import { fakeCrontab } from '../fakes/FakeRunner.js';
import { desired, options, planOf, signal } from './fixtures.js';

interface Harness {
  adapter: SchedulerAdapter;
  /** Installs foreign content and returns a function reading it back. */
  addForeign(): Promise<() => Promise<string>>;
  /** Number of writes performed so far. */
  writes(): Promise<number>;
  cleanup(): Promise<void>;
}

const FOREIGN = '# my own jobs\r\nMAILTO=ops@example.com\r\n17 * * * * /usr/local/bin/mine --flag %s\r\n';

async function harness(kind: SchedulerKind): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'contract-'));
  const tabs = new Map<string, string>();
  const runner = fakeCrontab(tabs);
  const adapter = createAdapter(createRegistry(), kind, options({ cronDir: dir, hostZone: 'America/New_York' }), { runner, crontabSpool: runner.spool, identity: { user: 'root', isRoot: true } });
  let lastMtime = 0;
  let fileWrites = 0;
  return {
    adapter,
    async addForeign() {
      if (kind === 'cron.d') {
        await writeFile(join(dir, 'php'), FOREIGN);
        return () => readFile(join(dir, 'php'), 'utf8');
      }
      tabs.set('root', FOREIGN.slice(0, -2)); // no final newline either
      return async () => tabs.get('root')!.slice(0, FOREIGN.length - 2);
    },
    async writes() {
      if (kind === 'crontab') return runner.calls.filter((c) => c.argv.includes('-')).length;
      const { stat } = await import('node:fs/promises');
      const m = await stat(join(dir, 'cronsync')).then((s) => s.mtimeMs, () => 0);
      if (m !== lastMtime) fileWrites++;
      lastMtime = m;
      return fileWrites;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

const jobs = [
  desired('backup', '0 2 * * *', { timezone: 'America/New_York' }),
  desired('report', '30 6 * * 1-5', { timezone: 'Europe/London' }),
  desired('odd', '0 12 */2 * 1'),
  desired('held', '*/10 * * * *', { paused: true }),
];

describe.each(['cron.d', 'crontab'] as const)('scheduler contract: %s', (kind) => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('reads back what it renders: one entry per job, marker intact, raw = renderEntry', async () => {
    h = await harness(kind);

    await h.adapter.apply(planOf(jobs), signal);
    const inv = (await h.adapter.inventory(signal)).filter((e) => e.marker);

    expect(inv.map((e) => e.marker!.jobId).sort()).toEqual(jobs.map((j) => j.id).sort());
    for (const d of jobs) {
      const e = inv.find((x) => x.marker!.jobId === d.id)!;
      expect(e.marker).toMatchObject({ jobId: d.id, manifestHash: d.manifestHash, path: d.provenance.path, commit: d.provenance.commit });
      expect(e.raw).toBe(h.adapter.renderEntry(d));
      expect(e.drifted).toBe(false);
    }
    expect(h.adapter.render(jobs).files[0]!.content).toContain(h.adapter.renderEntry(jobs[0]!));
  });

  it('a second apply of the same plan writes nothing', async () => {
    h = await harness(kind);
    const first = await h.adapter.apply(planOf(jobs), signal);
    const writesAfterFirst = await h.writes();

    const second = await h.adapter.apply(planOf(jobs), signal);

    expect(first.changed).toBe(true);
    expect(second).toEqual({ changed: false, written: [] });
    expect(await h.writes()).toBe(writesAfterFirst);
  });

  it('foreign entries survive byte-identical through add, change and removal of all jobs', async () => {
    h = await harness(kind);
    const readForeign = await h.addForeign();

    await h.adapter.apply(planOf(jobs), signal);
    await h.adapter.apply(planOf([jobs[0]!]), signal);
    await h.adapter.apply(planOf([]), signal);

    expect(await readForeign()).toBe(FOREIGN.slice(0, kind === 'crontab' ? -2 : undefined));
    expect((await h.adapter.inventory(signal)).filter((e) => e.marker)).toEqual([]);
  });

  it('paused jobs stay installed, inactive, with their marker', async () => {
    h = await harness(kind);

    await h.adapter.apply(planOf(jobs), signal);
    const held = (await h.adapter.inventory(signal)).find((e) => e.marker?.jobId === 'acme/held');

    expect(held?.paused).toBe(true);
    expect(held?.raw.split('\n').slice(1).every((l) => l.startsWith('#'))).toBe(true);
  });
});
