/** Shared by the systemd adapter tests: an adapter over a temp unit dir and the fake systemctl. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DesiredJob } from '../../../src/desired/types.js';
import type { InstalledEntry, Plan } from '../../../src/plan/types.js';
import { createSystemdAdapter } from '../../../src/scheduler/systemd/index.js';
import type { SystemdAdapterOptions } from '../../../src/scheduler/systemd/index.js';
import { fakeSystemctl } from '../../fakes/FakeSystemctl.js';
import type { FakeSystemctlOptions } from '../../fakes/FakeSystemctl.js';
import { SOURCE, planOf } from '../fixtures.js';

/** Temp dirs of the current file, removed by {@link removeDirs}. */
const dirs: string[] = [];

/** Removes the dirs the setups made (call in afterEach). */
export async function removeDirs(): Promise<void> {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
}

/** A systemd adapter in system mode over a new temp unit dir, with the fake systemctl. */
export async function setupSystemd(over: Partial<SystemdAdapterOptions> = {}, fake: Partial<FakeSystemctlOptions> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'systemd-adapter-'));
  dirs.push(dir);
  const unitDir = over.unitDir ?? dir;
  const runner = fakeSystemctl({ unitDir, ...fake });
  const adapter = createSystemdAdapter({
    sourceId: SOURCE, execCommand: { file: '/usr/bin/node', args: ['/opt/cronsync/dist/cli/launch.cjs'] }, stateDir: '/var/lib/cronsync',
    unitDir, mode: 'system', user: 'root', now: () => new Date('2026-06-01T00:00:00Z'), ...over,
  }, { runner });
  return { dir: unitDir, runner, adapter };
}

/** A plan removing `remove` and installing `final`; `add` lists jobs the planner adds. */
export const planWith = (final: DesiredJob[], remove: InstalledEntry[] = [], add: DesiredJob[] = []): Plan => ({ ...planOf(final), remove, add });
