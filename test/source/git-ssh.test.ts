import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { createGitSshSource } from '../../src/source/git-ssh.js';
import { testTempDir } from '../system/tempdir.js';

const never = new AbortController().signal;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

describe.skipIf(process.platform === 'win32')('source/git-ssh', () => {
  it('hands git the URL without its password, and keeps the user name', async () => {
    const dir = testTempDir('cronsync-ssh-argv-');
    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:2 ${KEY}\n`);
    // Stands in for git: records each argv and refuses everything but --version.
    const argvLog = path.join(dir, 'argv');
    const git = path.join(dir, 'git');
    writeFileSync(git, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\n[ "$1" = --version ] && exit 0\necho 'fatal: Could not read from remote repository.' >&2\nexit 128\n`);
    chmodSync(git, 0o755);
    const source = createGitSshSource({ url: 'ssh://alice:SshPw S3cret@127.0.0.1:2/repo.git', ssh: { knownHosts } }, { stateDir: dir, gitBinary: git });

    const err = (await source.fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(readFileSync(argvLog, 'utf8').split('\n')).toEqual(['--version', 'ls-remote --symref -- ssh://alice@127.0.0.1:2/repo.git', '']);
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).not.toContain('S3cret');
    expect(JSON.stringify(err.data)).not.toContain('S3cret');
  });
});
