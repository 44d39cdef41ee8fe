import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { createSource } from '../../src/source/index.js';
import { createRepo, gitAvailable } from './helpers/git-server.js';

const never = new AbortController().signal;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

describe.skipIf(!gitAvailable)('e2e/git-ssh', () => {
  let dir: string;
  let fakeSsh: string;
  let knownHosts: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-ssh-'));
    // Stands in for ssh: runs the remote command (git-upload-pack '<path>') locally.
    fakeSsh = path.join(dir, 'fake-ssh');
    writeFileSync(fakeSsh, '#!/bin/sh\nfor last; do :; done\nexec sh -c "$last"\n');
    chmodSync(fakeSsh, 0o755);
    knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `git.example.test ${KEY}\n`);
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

  it('reports a missing git binary clearly', async () => {
    const source = createSource({ url: 'ssh://git@git.example.test/r.git', ssh: { knownHosts } }, { stateDir: dir, gitBinary: '/nonexistent/git' });

    const err = (await source.fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(err.kind).toBe('other');
    expect(err.message).toContain('the git binary (/nonexistent/git) is not installed');
  });
});
