import { describe, expect, it } from 'vitest';
import type { JobId } from '../../src/manifest/types.js';
import { nullLogger } from '../../src/log.js';
import type { InstalledEntry } from '../../src/plan/types.js';
import { elsewhereFinder, runsWithStateDir } from '../../src/scheduler/elsewhere.js';
import { defineScheduler } from '../../src/scheduler/registry.js';
import type { SchedulerDeps } from '../../src/scheduler/registry.js';
import type { SchedulerKind } from '../../src/scheduler/types.js';

const entry = (sourceId: string | null, jobId: string, raw: string): InstalledEntry => ({
  key: `${sourceId}:${jobId}`, marker: sourceId === null ? null : { sourceId, jobId: jobId as JobId, commit: null, path: 'a.yaml', index: 0, manifestHash: 'h' },
  paused: false, drifted: false, raw,
});

/** A registration whose inventory is `entries` (or throws `entries`). */
const kind = (k: SchedulerKind, entries: InstalledEntry[] | Error, inProcess = false) => defineScheduler({
  kind: k, inProcess,
  options: () => ({}),
  create: () => ({
    kind: k,
    inventory: async () => {
      if (entries instanceof Error) throw entries;
      return entries;
    },
    render: () => ({ kind: k, files: [] }),
    renderEntry: () => '',
    apply: async () => ({ changed: false, written: [] }),
  }),
});

const deps = { sourceId: 'src1', execCommand: { file: '/usr/bin/node', args: ['/opt/cronsync/dist/cli/launch.cjs'] }, runner: { run: async () => { throw new Error('no'); } }, clock: { now: () => new Date(0) }, log: nullLogger } as unknown as SchedulerDeps;
const config = { scheduler: { kind: 'cron.d' as const, cronDir: '/etc/cron.d', unitDir: '/u', taskFolder: '\\c' }, stateDir: '/srv/state' };
const line = (dir: string, id: string) => `* * * * * root /usr/bin/node /opt/cronsync/dist/cli/launch.cjs exec --scheduled --state-dir ${dir} ${id}`;

describe('scheduler/elsewhere', () => {
  it('finds entries of the owned sources that run this state dir, in every kind but the one in use', async () => {
    const registry = [
      kind('cron.d', [entry('src1', 'acme/in-use', line('/srv/state', 'acme/in-use'))]),
      kind('crontab', [
        entry('src1', 'acme/a', line('/srv/state', 'acme/a')),
        entry('old', 'acme/b', line('/srv/state', 'acme/b')),
        entry('src1', 'acme/other-agent', line('/srv/other', 'acme/other-agent')),
        entry('src2', 'acme/foreign', line('/srv/state', 'acme/foreign')),
        entry(null, '', '0 1 * * * /bin/true'),
      ]),
      kind('systemd', new Error('systemctl: not found')),
      kind('embedded', [entry('src1', 'acme/e', '{"source":"src1","job":"acme/e"}')], true),
    ];
    const find = elsewhereFinder('cron.d', config, deps, registry);

    const found = await find(new Set(['src1', 'old']), new AbortController().signal);

    expect(found.map((f) => [f.kind, f.entries.map((e) => e.marker?.jobId)])).toEqual([['crontab', ['acme/a', 'acme/b']], ['embedded', ['acme/e']]]);
  });

  it.each([
    ['a cron line', line('/srv/state', 'acme/a'), '/srv/state', true],
    ['another state dir', line('/srv/state2', 'acme/a'), '/srv/state', false],
    ['another job', line('/srv/state', 'acme/ab'), '/srv/state', false],
    ['a quoted cron dir with %', `x exec --scheduled --state-dir '/srv/my state\\%' acme/a`, '/srv/my state%', true],
    ['a systemd ExecStart', 'ExecStart=/usr/bin/node "/opt/x" exec --scheduled --state-dir "/srv/my state" acme/a\n', '/srv/my state', true],
    ['a crontab line with the default dir', '# cronsync:v1 {}\n0 2 * * * /usr/bin/node /x/launch.cjs exec --scheduled acme/a', '/var/lib/cronsync', true],
    ['a crontab line without a dir, for another dir', '0 2 * * * /usr/bin/node /x/launch.cjs exec --scheduled acme/a', '/srv/state', false],
    ['a paused crontab line with the default dir', '#paused: 0 2 * * * node exec --scheduled acme/a', '/var/lib/cronsync', true],
    ['a task\'s arguments on Windows', '<Arguments>"C:\\cronsync\\dist\\cli\\launch.cjs" exec --scheduled --state-dir C:\\state acme/a</Arguments>', 'C:\\state', true],
    ['a task\'s arguments', '<Arguments>/opt/launch.cjs exec --scheduled --state-dir /srv/state acme/a</Arguments>', '/srv/state', true],
  ])('runsWithStateDir: %s', (_name, raw, dir, want) => {
    expect(runsWithStateDir(raw, 'acme/a', dir)).toBe(want);
  });
});
