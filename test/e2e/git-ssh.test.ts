import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { createSource } from '../../src/source/index.js';
import { createRepo, gitAvailable, makeFakeSsh } from './helpers/git-server.js';

const never = new AbortController().signal;

/** Whether `pid` runs; a zombie left to an init that does not reap counts as stopped. */
function running(pid: number): boolean {
  try {
    if (existsSync('/proc/self/stat')) return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!gitAvailable)('e2e/git-ssh', () => {
  let dir: string;
  let fakeSsh: string;
  let knownHosts: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-ssh-'));
    ({ fakeSsh, knownHosts } = makeFakeSsh(dir));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fetches over ssh through the system git, with strict host key options', async () => {
    const repo = createRepo(dir, 'r', { 'a.yaml': 'a: 1\n', 'b.txt': 'no' });
    const source = createSource({ url: `ssh://git@git.example.test${repo.gitdir}`, ssh: { knownHosts, keyFile: '/nonexistent/key' } }, { stateDir: path.join(dir, 'state'), sshProgram: fakeSsh });

    const s1 = await source.fetch(never);
    repo.commit({ 'a.yaml': 'a: 2\n' });
    const s2 = await source.fetch(never, s1);
    const s3 = await source.fetch(never, s2);

    expect([s1.commit, s1.ref, s1.files.map((f) => f.path)]).toEqual([repo.revParse('main^'), 'main', ['a.yaml']]);
    expect(s2.changes.modified).toEqual(['a.yaml']);
    expect(s2.files[0]?.content.toString()).toBe('a: 2\n');
    expect(s3.unchanged).toBe(true);
  });

  it.each([
    ['an empty object file (power loss)', (gitdir: string) => {
      for (const f of readdirSync(path.join(gitdir, 'objects'), { recursive: true }) as string[]) if (/^[0-9a-f]{2}[/\\][0-9a-f]{38}$/.test(f)) truncateSync(path.join(gitdir, 'objects', f), 0);
    }],
    ['a cut shallow file', (gitdir: string) => writeFileSync(path.join(gitdir, 'shallow'), '4b825dc6\n')],
    ['a HEAD that is not a ref', (gitdir: string) => writeFileSync(path.join(gitdir, 'HEAD'), '')],
  ])('rebuilds a clone damaged by %s on its own', async (_name, damage) => {
    const repo = createRepo(dir, `damaged-${readdirSync(dir).length}`, { 'a.yaml': 'a: 1\n' });
    const stateDir = mkdtempSync(path.join(dir, 'state-'));
    const make = () => createSource({ url: `ssh://git@git.example.test${repo.gitdir}`, ssh: { knownHosts } }, { stateDir, sshProgram: fakeSsh });
    const s1 = await make().fetch(never);
    damage(path.join(stateDir, 'sources', s1.sourceId));
    repo.commit({ 'b.yaml': 'b: 1\n' });

    const s2 = await make().fetch(never);

    expect(s2.files.map((f) => [f.path, f.content.toString()])).toEqual([['a.yaml', 'a: 1\n'], ['b.yaml', 'b: 1\n']]);
  });

  it.each([
    'kex_exchange_identification: read: Connection reset by peer',
    'ssh: connect to host git.example.test port 22: No route to host',
    'client_loop: send disconnect: Broken pipe',
  ])('a connection lost after ls-remote (%s) is a network error and keeps the clone', async (message) => {
    const repo = createRepo(dir, `flaky-${readdirSync(dir).length}`, { 'a.yaml': 'a: 1\n' });
    const stateDir = mkdtempSync(path.join(dir, 'state-'));
    const s1 = await createSource({ url: `ssh://git@git.example.test${repo.gitdir}`, ssh: { knownHosts } }, { stateDir, sshProgram: fakeSsh }).fetch(never);
    const gitdir = path.join(stateDir, 'sources', s1.sourceId);
    const objects = (d: string): string[] => (readdirSync(path.join(d, 'objects'), { recursive: true }) as string[]).sort();
    const before = objects(gitdir);
    repo.commit({ 'b.yaml': 'b: 1\n' });
    // ls-remote gets through; the fetch that follows loses its connection.
    const seen = path.join(stateDir, 'ssh-seen');
    const flakySsh = path.join(stateDir, 'flaky-ssh');
    writeFileSync(flakySsh, `#!/bin/sh\nfor a; do [ "$a" = -G ] && exit 0; done\nif [ -e '${seen}' ]; then echo '${message}' >&2; exit 255; fi\n: > '${seen}'\nfor last; do :; done\nexec sh -c "$last"\n`);
    chmodSync(flakySsh, 0o755);

    const err = (await createSource({ url: `ssh://git@git.example.test${repo.gitdir}`, ssh: { knownHosts } }, { stateDir, sshProgram: flakySsh }).fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(objects(gitdir)).toEqual(before);
    expect(err).toBeInstanceOf(SourceError);
    expect(err.kind).toBe('network');
  });

  it('a branch moved to a tree is a not-found error naming the ref', async () => {
    const repo = createRepo(dir, 'to-tree', { 'a.yaml': 'a: 1\n' });
    const source = createSource({ url: `ssh://git@git.example.test${repo.gitdir}`, ssh: { knownHosts } }, { stateDir: mkdtempSync(path.join(dir, 'state-')), sshProgram: fakeSsh });
    await source.fetch(never);
    repo.setBranch('main', repo.revParse('main^{tree}'));

    const err = (await source.fetch(never).catch((e: unknown) => e)) as SourceError;

    expect([err.kind, err.message]).toEqual(['not-found', `Git source ssh://git.example.test${repo.gitdir}: ref main points at a tree (${repo.revParse('main')}), not a commit`]);
  });

  it('reports a host missing from known_hosts before connecting', async () => {
    const source = createSource({ url: 'git@other.example.test:org/repo.git', ssh: { knownHosts } }, { stateDir: dir, sshProgram: '/bin/false' });

    const err = (await source.fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(err).toBeInstanceOf(SourceError);
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('host key of other.example.test is unknown');
  });

  it('requires a known_hosts file', async () => {
    const err = (await createSource({ url: 'ssh://git@git.example.test/r.git' }, { stateDir: dir }).fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(err.message).toContain('source.ssh.knownHosts is required');
  });

  it('a server that never answers hits source.timeout: reported as a timeout, and ssh is stopped with git', async () => {
    const pidFile = path.join(dir, 'silent-ssh.pid');
    const silentSsh = path.join(dir, 'silent-ssh');
    writeFileSync(silentSsh, `#!/bin/sh\nfor a; do [ "$a" = -G ] && exit 0; done\necho $$ > '${pidFile}'\nexec sleep 30\n`);
    chmodSync(silentSsh, 0o755);
    // Long enough for git and the relay in front of ssh to start on a busy machine.
    const source = createSource({ url: 'ssh://git@git.example.test/r.git', ssh: { knownHosts }, timeoutMs: 5000 }, { stateDir: path.join(dir, 'state-silent'), sshProgram: silentSsh });

    const err = (await source.fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(err.kind).toBe('network');
    expect(err.data.timeout).toBe(true);
    expect(err.message).toContain('timed out after 5000 ms (source.timeout)');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      alive = running(pid);
      if (alive) await new Promise((r) => setTimeout(r, 20));
    }
    if (alive) process.kill(pid, 'SIGKILL');
    expect(alive).toBe(false);
   }, 30_000);

  it('source.timeout fires also when the garbage collector runs meanwhile', async () => {
    const silentSsh = path.join(dir, 'silent-ssh-gc');
    writeFileSync(silentSsh, '#!/bin/sh\nfor a; do [ "$a" = -G ] && exit 0; done\nexec sleep 30\n');
    chmodSync(silentSsh, 0o755);
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const source = createSource({ url: 'ssh://git@git.example.test/r.git', ssh: { knownHosts }, timeoutMs: 5000 }, { stateDir: path.join(dir, 'state-silent-gc'), sshProgram: silentSsh });

    const fetching = source.fetch(never).catch((e: unknown) => e);
    let done = false;
    void fetching.then(() => (done = true));
    while (!done) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    const err = (await fetching) as SourceError;

    expect(err.kind).toBe('network');
    expect(err.data.timeout).toBe(true);
  }, 60_000);

  it('reports a missing git binary clearly', async () => {
    const source = createSource({ url: 'ssh://git@git.example.test/r.git', ssh: { knownHosts } }, { stateDir: dir, gitBinary: '/nonexistent/git' });

    const err = (await source.fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(err.kind).toBe('other');
    expect(err.message).toContain('the git binary (/nonexistent/git) is not installed');
  });
});
