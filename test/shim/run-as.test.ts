import { afterEach, describe, expect, it } from 'vitest';
import { runExec } from '../../src/shim/run.js';
import { EXIT } from '../../src/shim/types.js';
import { readLastRun } from '../../src/state/runs.js';
import type { Command } from '../../src/system/runner.js';
import type { PasswdEntry, RunAsPorts } from '../../src/system/users.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { FakeHttp } from '../fakes/FakeHttp.js';
import { FakeRunner } from '../fakes/FakeRunner.js';
import { install, makeJob, memoryLog, removeTempStateDirs, tempStateDir } from './fixtures.js';

afterEach(removeTempStateDirs);

const BACKUP: PasswdEntry = { name: 'backup', uid: 34, gid: 34, home: '/var/backups', shell: '/usr/sbin/nologin' };

function ports(o: Partial<RunAsPorts> = {}): RunAsPorts {
  return { lookup: async (n) => (n === 'backup' ? BACKUP : null), setpriv: () => '/usr/bin/setpriv', groups: async (n) => (n === 'backup' ? [34, 6] : []), uid: () => 0, platform: 'linux', isDir: () => true, home: () => '/home/agent', ...o };
}

async function run(spec: Parameters<typeof makeJob>[1], p: RunAsPorts, allowedUsers?: readonly string[] | '*') {
  const dir = tempStateDir();
  const id = await install(dir, makeJob('dump', { checkin: { enabled: false, timeout: 60 }, ...spec }), { secretsFile: undefined, ...(allowedUsers === undefined ? {} : { allowedUsers }) });
  const seen: Command[] = [];
  const runner = new FakeRunner((cmd) => {
    seen.push(cmd);
    return {};
  });
  let err = '';
  const code = await runExec({
    jobId: id, stateDir: dir, clock: new FakeClock(), http: new FakeHttp(), log: memoryLog(),
    env: { PATH: '/agent/bin', AGENT_TOKEN: 'agent-only', DB_PASS: 'pw' }, stdout: { write: () => true }, stderr: { write: (c) => void (err += String(c)) },
    runner, runAsPorts: p,
  });
  return { code, seen, err, last: await readLastRun(dir, id) };
}

describe('shim/run: spec.user', () => {
  it('checks spec.user against the allowedUsers of the last sync: a narrowed list stops a kept job', async () => {
    const allowed = await run({ user: 'backup', command: 'pg_dump' }, ports(), ['backup']);
    const narrowed = await run({ user: 'backup', command: 'pg_dump' }, ports(), []);
    const root = await run({ user: 'root', command: 'id' }, ports({ lookup: async (n) => (n === 'root' ? { ...BACKUP, name: 'root', uid: 0, gid: 0, home: '/root' } : null) }), '*');

    expect(allowed.code).toBe(0);
    expect(narrowed.code).toBe(EXIT.runAs);
    expect(narrowed.seen).toEqual([]);
    expect(narrowed.err).toContain('spec.user "backup" is not allowed on this agent (scheduler.allowedUsers: empty)');
    expect(root.code).toBe(EXIT.runAs);
    expect(root.err).toContain('is root (uid 0)');
  });

  it('runs the command through setpriv with the account\'s ids, login variables and home, and none of the agent\'s variables', async () => {
    const r = await run({ user: 'backup', command: 'pg_dump', env: { PASS: '${DB_PASS}' } }, ports());

    expect(r.code).toBe(0);
    expect(r.seen).toHaveLength(1);
    const cmd = r.seen[0]!;
    expect([cmd.file, ...cmd.args]).toEqual(['/usr/bin/setpriv', '--reuid=34', '--regid=34', '--groups=34,6', '--', '/bin/sh', '-c', 'pg_dump']);
    expect(cmd.maskInheritedFds).toBe(true);
    expect(cmd.cwd).toBe('/var/backups');
    expect(cmd.env).toEqual({
      PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/var/backups', USER: 'backup', LOGNAME: 'backup', SHELL: '/usr/sbin/nologin',
      CRONSYNC_JOB: 'acme/dump', CRONSYNC_RUN_ID: expect.any(String) as string, PASS: 'pw',
    });
  });

  it('keeps an explicit workingDir', async () => {
    const r = await run({ user: 'backup', workingDir: '/srv/dumps' }, ports());

    expect(r.seen[0]?.cwd).toBe('/srv/dumps');
  });

  it('starts in / when the home does not exist, with HOME as in the password database', async () => {
    const r = await run({ user: 'backup' }, ports({ isDir: () => false }));

    expect(r.seen[0]?.cwd).toBe('/');
    expect(r.seen[0]?.env?.HOME).toBe('/var/backups');
  });

  it('needs no switch when the shim already runs as the account', async () => {
    const r = await run({ user: 'backup' }, ports({ uid: () => 34, groups: async () => { throw new Error('not called'); } }));

    expect(r.code).toBe(0);
    expect(r.seen[0]?.file).toBe('/bin/sh');
    expect(r.seen[0]?.env?.HOME).toBe('/var/backups');
    // Still none of the agent's descriptors: the account is the shim's own, the job is not.
    expect(r.seen[0]?.maskInheritedFds).toBe(true);
  });

  it('leaves a job without spec.user as it was: the agent\'s environment, no setpriv', async () => {
    const r = await run({}, ports({ lookup: async () => { throw new Error('not called'); } }));

    expect(r.seen[0]?.file).toBe('/bin/sh');
    expect(r.seen[0]?.env?.AGENT_TOKEN).toBe('agent-only');
    expect(r.seen[0]?.maskInheritedFds).toBeUndefined();
  });

  it.each([
    { name: 'the shim\'s own home', spec: {}, p: ports(), cwd: '/home/agent' },
    { name: '/ when that home does not exist', spec: {}, p: ports({ isDir: () => false }), cwd: '/' },
    { name: 'an explicit workingDir', spec: { workingDir: '/srv/app' }, p: ports({ home: () => { throw new Error('not called'); } }), cwd: '/srv/app' },
    { name: 'the scheduler\'s own on Windows when the profile does not exist', spec: {}, p: ports({ platform: 'win32', isDir: () => false }), cwd: undefined },
  ])('starts a job without spec.user in $name', async ({ spec, p, cwd }) => {
    const r = await run(spec, p);

    expect(r.code).toBe(0);
    expect(r.seen[0]?.cwd).toBe(cwd);
  });

  it.each([
    { name: 'a missing account', p: ports(), user: 'ghost', message: 'spec.user "ghost" does not exist on this host' },
    { name: 'a non-root shim', p: ports({ uid: () => 1000 }), user: 'backup', message: 'cannot run as user "backup": cronsync exec runs as uid 1000, and only root can switch to another user' },
    { name: 'no setpriv', p: ports({ setpriv: () => null }), user: 'backup', message: 'cannot run as user "backup": setpriv (util-linux) is not installed' },
    { name: 'Windows', p: ports({ platform: 'win32' }), user: 'backup', message: 'spec.user "backup" is not supported on Windows agents yet' },
    { name: 'groups that cannot be read', p: ports({ groups: async () => { throw new Error('id -G backup failed: cannot find name for group ID 34'); } }), user: 'backup', message: 'cannot look up the groups of user "backup": id -G backup failed' },
    { name: 'a failing lookup', p: ports({ lookup: async () => { throw new Error('getent passwd backup failed (1)'); } }), user: 'backup', message: 'cannot look up user "backup": getent passwd backup failed (1)' },
  ])('refuses to run with $name, never as the agent (exit 67)', async ({ p, user, message }) => {
    const r = await run({ user }, p);

    expect(r.code).toBe(EXIT.runAs);
    expect(r.seen).toEqual([]);
    expect(r.err).toContain(message);
    expect(r.last).toMatchObject({ status: 'failure', exitCode: EXIT.runAs, attempts: 0 });
  });
});
