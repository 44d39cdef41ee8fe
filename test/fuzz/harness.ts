/**
 * Fuzz harnesses, one per registered scheduler kind: how to build the adapter over fakes, how
 * to read back what apply() wrote, and a checker that parses rendered or written text and
 * compares its structure with what was meant (issue 11 item 7). A kind registered without a
 * harness here fails the fuzz suite, as the contract suite does. The checkers are in checks/.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DesiredJob } from '../../src/desired/types.js';
import { createAdapter, loadSchedulers } from '../../src/scheduler/registry.js';
import type { SchedulerAdapter, SchedulerKind } from '../../src/scheduler/types.js';
import { fakeCrontab } from '../fakes/FakeRunner.js';
import { fakeSchtasks } from '../fakes/FakeSchtasks.js';
import { fakeSystemctl } from '../fakes/FakeSystemctl.js';
import { schedulerConfig, schedulerDeps } from '../scheduler/fixtures.js';
import { checkCron } from './checks/cron.js';
import { STATE_DIR } from './checks/shared.js';
import type { Written } from './checks/shared.js';
import { checkTasks } from './checks/tasks.js';
import { checkRegistry, checkUnits } from './checks/units.js';

await loadSchedulers();

export type { Written } from './checks/shared.js';

/** One adapter instance with its fakes. */
export interface FuzzHarness {
  adapter: SchedulerAdapter;
  /** What apply() has written so far, sorted by name. */
  written(): Promise<Written[]>;
  /** A rendered file's name without this instance's temp dir, so instances compare equal. */
  name(rendered: string): string;
  cleanup(): Promise<void>;
}

/** A kind's fuzz support. */
export interface FuzzKind {
  make(): Promise<FuzzHarness>;
  /** Problems found in `texts` (rendered or written) for exactly `jobs`; empty when as meant. */
  check(texts: readonly Written[], jobs: readonly DesiredJob[]): string[];
}

const HOST_ZONE = 'America/New_York';

async function readDir(dir: string): Promise<Written[]> {
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(dir, name), 'utf8') })));
}

/** The fuzz support of each kind; a registered kind missing here fails the suite. */
export const FUZZ_KINDS: Partial<Record<SchedulerKind, FuzzKind>> = {
  'cron.d': {
    async make() {
      const dir = await mkdtemp(join(tmpdir(), 'fuzz-crond-'));
      const adapter = createAdapter('cron.d', schedulerConfig({ cronDir: dir }, STATE_DIR), schedulerDeps({ hostZone: HOST_ZONE }));
      return { adapter, written: () => readDir(dir), name: (n) => n.replace(`${dir}/`, ''), cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
    check: (texts, jobs) => checkCron(texts, jobs, { user: 'root' }),
  },
  crontab: {
    async make() {
      const tabs = new Map<string, string>();
      const runner = fakeCrontab(tabs);
      const adapter = createAdapter('crontab', schedulerConfig({}, STATE_DIR), schedulerDeps({ runner, crontabSpool: runner.spool, hostZone: HOST_ZONE }));
      return { adapter, written: async () => [...tabs].map(([name, text]) => ({ name, text })), name: (n) => n, cleanup: async () => undefined };
    },
    check: (texts, jobs) => checkCron(texts, jobs, { block: true }),
  },
  windows: {
    async make() {
      const runner = fakeSchtasks();
      const adapter = createAdapter('windows', schedulerConfig({ user: undefined }, STATE_DIR), schedulerDeps({ runner, hostZone: HOST_ZONE }));
      return { adapter, written: async () => [...runner.tasks].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, text]) => ({ name, text })), name: (n) => n, cleanup: async () => undefined };
    },
    check: checkTasks,
  },
  systemd: {
    async make() {
      const dir = await mkdtemp(join(tmpdir(), 'fuzz-systemd-'));
      const runner = fakeSystemctl({ unitDir: dir });
      const adapter = createAdapter('systemd', schedulerConfig({ unitDir: dir }, STATE_DIR), schedulerDeps({ runner }));
      return { adapter, written: () => readDir(dir), name: (n) => n.replace(`${dir}/`, ''), cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
    check: (texts, jobs) => checkUnits(texts, jobs, 'root'),
  },
  embedded: {
    async make() {
      const stateDir = await mkdtemp(join(tmpdir(), 'fuzz-embedded-'));
      const timers = { setTimeout: (): never => { throw new Error('the fuzz suite must not start timers'); }, clearTimeout: () => undefined };
      const adapter = createAdapter('embedded', schedulerConfig({}, stateDir), schedulerDeps({ inProcess: { runJob: async () => 0, timers } }));
      return { adapter, written: () => readDir(stateDir), name: (n) => n.replace(`${stateDir}/`, ''), cleanup: () => rm(stateDir, { recursive: true, force: true }) };
    },
    check: checkRegistry,
  },
};

/**
 * The fuzz support of `kind`.
 * @throws {Error} when the kind has no harness here.
 */
export function fuzzKind(kind: SchedulerKind): FuzzKind {
  const k = FUZZ_KINDS[kind];
  if (!k) throw new Error(`scheduler "${kind}" is registered but has no fuzz harness in test/fuzz/harness.ts`);
  return k;
}
