import { describe, expect, it } from 'vitest';
import { SchedulerError } from '../../src/errors.js';
import { createCrontabAdapter } from '../../src/scheduler/crontab/index.js';
import { findBlocks } from '../../src/scheduler/crontab/parse.js';
import { mergeBlock } from '../../src/scheduler/crontab/render.js';
import { FakeRunner, fakeCrontab } from '../fakes/FakeRunner.js';
import { desired, options, planOf, signal, SOURCE } from './fixtures.js';

const BLOCK = `# BEGIN cronsync ${SOURCE}\nX\n# END cronsync ${SOURCE}\n`;

describe('scheduler/crontab', () => {
  it.each([
    { name: 'empty', before: '', want: BLOCK },
    { name: 'missing final newline', before: 'MAILTO=a\r\n5 * * * * mine', want: `MAILTO=a\r\n5 * * * * mine\n${BLOCK}` },
    { name: 'CRLF kept around a replaced block', before: `A=1\r\n# BEGIN cronsync ${SOURCE}\r\nold\r\n# END cronsync ${SOURCE}\r\n1 1 * * * tail\r\n`, want: `A=1\r\n${BLOCK}1 1 * * * tail\r\n` },
    { name: 'duplicate blocks collapse', before: `${BLOCK}mid\n${BLOCK}`, want: `${BLOCK}mid\n` },
    { name: 'other source untouched', before: '# BEGIN cronsync other\nY\n# END cronsync other\n', want: `# BEGIN cronsync other\nY\n# END cronsync other\n${BLOCK}` },
  ])('merges the block keeping foreign bytes: $name', ({ before, want }) => {
    expect(mergeBlock(before, BLOCK, SOURCE)).toBe(want);
  });

  it('removes the block when no job is left, and never adds an empty one', () => {
    expect(mergeBlock(`a\n${BLOCK}b\n`, '', SOURCE)).toBe('a\nb\n');
    expect(mergeBlock('a\n', '', SOURCE)).toBe('a\n');
  });

  it('ends an unterminated block at the first foreign line', () => {
    const text = `# BEGIN cronsync ${SOURCE}\n# cronsync:v1 {}\n1 2 * * * mine\n`;

    const [b] = findBlocks(text);

    expect(text.slice(b!.start, b!.end)).toBe(`# BEGIN cronsync ${SOURCE}\n# cronsync:v1 {}\n`);
    expect(mergeBlock(text, BLOCK, SOURCE)).toBe(`${BLOCK}1 2 * * * mine\n`);
    expect(mergeBlock(`# BEGIN cronsync ${SOURCE}\nmid\n${BLOCK}`, BLOCK, SOURCE)).toBe(`${BLOCK}mid\n`);
  });

  it('treats "no crontab for" as empty, writes once, and does not call crontab - when nothing changed', async () => {
    const tabs = new Map<string, string>();
    const runner = fakeCrontab(tabs);
    const adapter = createCrontabAdapter(options({ user: 'root' }), { runner, crontabSpool: null, identity: { user: 'root', isRoot: true } });
    const plan = planOf([desired('a', '0 2 * * *'), desired('p', '0 3 * * *', { paused: true })]);

    await adapter.apply(plan, signal);
    const writes = runner.calls.filter((c) => c.argv.includes('-'));
    runner.calls.length = 0;
    const again = await adapter.apply(plan, signal);

    expect(writes).toHaveLength(1);
    expect(writes[0]!.argv).toEqual(['crontab', '-']);
    expect(again).toEqual({ changed: false, written: [] });
    expect(runner.calls.map((c) => c.argv)).toEqual([['crontab', '-l']]);
    const tab = tabs.get('root')!;
    expect(tab).not.toMatch(/^[A-Z_]+=/m);
    expect(tab).toContain('0 2 * * * /usr/bin/node /opt/cronsync/dist/cli/launch.cjs exec --scheduled acme/a\n');
    expect(tab).toContain('#paused: 0 3 * * * /usr/bin/node');
    const inv = await adapter.inventory(signal);
    expect(inv.map((e) => [e.marker?.jobId, e.paused, e.drifted])).toEqual([['acme/a', false, false], ['acme/p', true, false]]);
  });

  it('uses -u for another user as root, passes a non-default state dir, and refuses as non-root', async () => {
    const tabs = new Map([['alice', '# mine\n']]);
    const runner = fakeCrontab(tabs);
    const adapter = createCrontabAdapter(options({ user: 'alice', stateDir: '/srv/cs' }), { runner, crontabSpool: null, identity: { user: 'root', isRoot: true } });

    await adapter.apply(planOf([desired('a', '0 2 * * *')]), signal);

    expect(runner.calls.map((c) => c.argv)).toEqual([['crontab', '-u', 'alice', '-l'], ['crontab', '-u', 'alice', '-l'], ['crontab', '-u', 'alice', '-']]);
    expect(tabs.get('alice')).toMatch(/^# mine\n# BEGIN cronsync/);
    expect(tabs.get('alice')).toContain('exec --scheduled --state-dir /srv/cs acme/a\n');
    const bob = createCrontabAdapter(options({ user: 'alice' }), { runner, crontabSpool: runner.spool, identity: { user: 'bob', isRoot: false } });
    await expect(bob.inventory(signal)).rejects.toThrow(SchedulerError);
  });

  it('turns other crontab failures into a SchedulerError with argv, exit code and stderr', async () => {
    const runner = new FakeRunner(() => ({ exitCode: 1, stderr: 'crontab: your UID isn\'t in the passwd file.\n' }));
    const adapter = createCrontabAdapter(options(), { runner, crontabSpool: null, identity: { user: 'root', isRoot: true } });

    const err = await adapter.inventory(signal).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SchedulerError);
    expect((err as SchedulerError).data).toMatchObject({ argv: ['crontab', '-l'], exitCode: 1 });
  });

  it('lists foreign lines and marks a hand edit inside the block as drift', async () => {
    const tabs = new Map([['root', 'MAILTO=x\n# note\n*/5 * * * * /bin/mine\n']]);
    const runner = fakeCrontab(tabs);
    const adapter = createCrontabAdapter(options(), { runner, crontabSpool: runner.spool, identity: { user: 'root', isRoot: true } });
    await adapter.apply(planOf([desired('a', '0 2 * * *')]), signal);
    tabs.set('root', tabs.get('root')!.replace('0 2 * * * /usr', '0 4 * * * /usr'));

    const inv = await adapter.inventory(signal);

    expect(inv.map((e) => [e.marker?.jobId ?? null, e.drifted, e.raw.slice(0, 20)])).toEqual([
      ['acme/a', true, '# cronsync:v1 {"sour'],
      [null, false, '*/5 * * * * /bin/min'],
    ]);
  });
});

describe('scheduler/crontab: entries of a previous source id', () => {
  const OLD = `# BEGIN cronsync old-id\nold entry\n# END cronsync old-id\n`;
  const OTHER = '# BEGIN cronsync other\nY\n# END cronsync other\n';

  it.each([
    { name: 'old block replaced in place', before: `A=1\r\n${OLD}1 1 * * * tail\r\n`, want: `A=1\r\n${BLOCK}1 1 * * * tail\r\n` },
    { name: 'old block dropped when ours exists', before: `${OLD}mid\n${BLOCK}`, want: `mid\n${BLOCK}` },
    { name: 'old block removed when no job is left', before: `a\n${OLD}b\n`, want: 'a\nb\n', block: '' },
    { name: 'another source untouched', before: `${OTHER}${OLD}`, want: `${OTHER}${BLOCK}` },
  ])('merges: $name', ({ before, want, block }) => {
    expect(mergeBlock(before, block ?? BLOCK, SOURCE, ['old-id'])).toBe(want);
  });

  it('moves the jobs of an old block into the new one, keeping every other byte, and then writes nothing', async () => {
    const own = '# mine\r\n*/5 * * * * /bin/mine\r\n';
    const tail = '0 1 * * *\t/bin/true\r\n';
    const tabs = new Map([['root', own]]);
    const runner = fakeCrontab(tabs);
    const ports = { runner, crontabSpool: runner.spool, identity: { user: 'root', isRoot: true } };
    const jobs = [desired('a', '0 2 * * *'), desired('b', '0 3 * * *')];
    await createCrontabAdapter(options({ sourceId: 'old-id' }), ports).apply({ ...planOf(jobs), sourceId: 'old-id' }, signal);
    tabs.set('root', `${tabs.get('root')!}${OTHER}${tail}`);
    const adapter = createCrontabAdapter(options(), ports);

    const first = await adapter.apply({ ...planOf(jobs), ownedSourceIds: [SOURCE, 'old-id'] }, signal);
    const text = tabs.get('root')!;
    const second = await adapter.apply({ ...planOf(jobs), ownedSourceIds: [SOURCE] }, signal);

    expect(first.changed).toBe(true);
    expect(second.changed).toBe(false);
    expect(text).not.toContain('old-id');
    expect(findBlocks(text).map((b) => b.sourceId)).toEqual([SOURCE, 'other']);
    expect(text.startsWith(own)).toBe(true);
    expect(text.endsWith(`${OTHER}${tail}`)).toBe(true);
    expect((await adapter.inventory(signal)).filter((e) => e.marker).map((e) => [e.marker!.sourceId, e.marker!.jobId, e.drifted])).toEqual([
      [SOURCE, 'acme/a', false],
      [SOURCE, 'acme/b', false],
    ]);
  });

  it('refuses a plan made for another source id', async () => {
    const runner = fakeCrontab(new Map());
    const adapter = createCrontabAdapter(options(), { runner, crontabSpool: runner.spool, identity: { user: 'root', isRoot: true } });

    await expect(adapter.apply({ ...planOf([]), sourceId: 'someone-else' }, signal)).rejects.toThrow(SchedulerError);
    expect(runner.calls).toEqual([]);
  });
});
