import { spawnSync } from 'node:child_process';
import { homedir, tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { accountGroups, dropPrivileges, findSetpriv, hostRunAsPorts, lookupAccounts, lookupUser, ownWorkingDir, parsePasswdLine, userEnv } from '../../src/system/users.js';
import type { PasswdEntry } from '../../src/system/users.js';

const hasGetent = spawnSync('sh', ['-c', 'command -v getent'], { stdio: 'ignore' }).status === 0;

describe('system/users', () => {
  it.each([
    { line: 'backup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n', want: { name: 'backup', uid: 34, gid: 34, home: '/var/backups', shell: '/usr/sbin/nologin' } },
    { line: 'svc:x:1001:1002::/home/svc:', want: { name: 'svc', uid: 1001, gid: 1002, home: '/home/svc', shell: '/bin/sh' } },
    { line: 'odd:x:1001:1002:::/bin/bash', want: { name: 'odd', uid: 1001, gid: 1002, home: '/', shell: '/bin/bash' } },
    { line: 'short:x:1', want: null },
    { line: 'bad:x:-1:0::/:/bin/sh', want: null },
    { line: ':x:1:1::/:/bin/sh', want: null },
  ])('parsePasswdLine($line)', ({ line, want }) => {
    expect(parsePasswdLine(line)).toEqual(want);
  });

  it('dropPrivileges runs the command through setpriv in place, with the account\'s groups, masking inherited descriptors', () => {
    const user: PasswdEntry = { name: 'svc', uid: 1001, gid: 1002, home: '/home/svc', shell: '/bin/sh' };

    const cmd = dropPrivileges({ file: '/bin/sh', args: ['-c', 'echo "$1"', 'sh', 'a b'], cwd: '/tmp', env: { A: '1' } }, user, '/usr/bin/setpriv', [1002, 27]);
    const none = dropPrivileges({ file: '/bin/true', args: [] }, user, '/usr/bin/setpriv', []);

    expect(cmd).toEqual({
      file: '/usr/bin/setpriv', args: ['--reuid=1001', '--regid=1002', '--groups=1002,27', '--', '/bin/sh', '-c', 'echo "$1"', 'sh', 'a b'],
      cwd: '/tmp', env: { A: '1' }, maskInheritedFds: true,
    });
    expect(none.args).toEqual(['--reuid=1001', '--regid=1002', '--clear-groups', '--', '/bin/true']);
    expect(userEnv(user)).toEqual({ PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/home/svc', USER: 'svc', LOGNAME: 'svc', SHELL: '/bin/sh' });
  });

  it.each([
    { name: 'a home that is a directory', platform: 'linux', home: '/home/agent', dirs: ['/home/agent'], want: '/home/agent' },
    { name: 'a missing home', platform: 'linux', home: '/nonexistent', dirs: [], want: '/' },
    { name: 'no home at all (no HOME, no passwd entry)', platform: 'linux', home: null, dirs: ['/'], want: '/' },
    { name: 'an empty HOME', platform: 'linux', home: '', dirs: [''], want: '/' },
    { name: 'a relative HOME', platform: 'linux', home: 'agent', dirs: ['agent'], want: '/' },
    { name: 'a Windows profile', platform: 'win32', home: 'C:\\Users\\agent', dirs: ['C:\\Users\\agent'], want: 'C:\\Users\\agent' },
    { name: 'a missing Windows profile', platform: 'win32', home: 'C:\\Users\\gone', dirs: [], want: undefined },
  ] as const)('ownWorkingDir: $name gives $want', ({ platform, home, dirs, want }) => {
    const ports = {
      platform, isDir: (p: string) => (dirs as readonly string[]).includes(p),
      home: () => {
        if (home === null) throw new Error('ENOENT: no such file or directory, uv_os_homedir');
        return home;
      },
    };

    expect(ownWorkingDir(ports)).toBe(want);
  });

  it('the host\'s home is os.homedir(), and a home that cannot be looked at is not a directory', () => {
    expect(hostRunAsPorts.home()).toBe(homedir());
    expect(hostRunAsPorts.isDir(process.execPath)).toBe(false);
    expect(hostRunAsPorts.isDir(`${process.execPath}/x`)).toBe(false);
    expect(hostRunAsPorts.isDir(tmpdir())).toBe(true);
  });

  it('findSetpriv returns the first executable candidate, or null', () => {
    expect(findSetpriv(['/nonexistent/setpriv', '/bin/sh'])).toBe('/bin/sh');
    expect(findSetpriv(['/nonexistent/setpriv'])).toBeNull();
  });

  it('lookupAccounts looks each name up once and keeps lookup errors per name', async () => {
    const asked: string[] = [];

    const m = await lookupAccounts(['a', 'b', 'a', 'c'], async (n) => {
      asked.push(n);
      if (n === 'c') throw new Error('ldap down');
      return n === 'a' ? { name: 'a', uid: 7, gid: 7, home: '/', shell: '/bin/sh' } : null;
    });

    expect(asked).toEqual(['a', 'b', 'c']);
    expect([...m]).toEqual([['a', { uid: 7 }], ['b', null], ['c', { error: 'ldap down' }]]);
  });

  it.runIf(hasGetent)('lookupUser reads the password database (getent) and never takes a number for a name', async () => {
    expect(await lookupUser('root')).toMatchObject({ name: 'root', uid: 0, gid: 0 });
    expect(await lookupUser('csnosuchuser')).toBeNull();
    expect(await lookupUser('0')).toBeNull();
  });

  it.runIf(hasGetent)('accountGroups reads an account\'s group ids by name, and fails with the reason for a missing one', async () => {
    const want = spawnSync('id', ['-G', 'root'], { encoding: 'utf8' }).stdout.trim().split(' ').map(Number);

    expect(await accountGroups('root')).toEqual(want);
    expect(want).toContain(0);
    await expect(accountGroups('csnosuchuser')).rejects.toThrow(/^id -G csnosuchuser failed: \S/);
  });
});
