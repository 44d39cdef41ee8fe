/**
 * Real commit signatures for the `source.verify` tests: SSH keys made with `ssh-keygen` and
 * OpenPGP keys made with `gpg` in a private GNUPGHOME, commits signed by git itself
 * (`commit-tree -S`), and a tampered copy of a signed commit (message changed, signature kept).
 * Two keys of each kind: one trusted (in the files the agent is given), one unknown.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { git } from './git-server.js';
import type { TestRepo } from './git-server.js';

/** Whether ssh-keygen, gpg and gpgv are installed. */
export const signingAvailable = ['ssh-keygen', 'gpg', 'gpgv', 'gpgconf'].every((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status === 0);

/** Who signs a commit: a trusted or unknown SSH key, a trusted or unknown OpenPGP key, or nobody. */
export type Signer = 'ssh' | 'ssh-unknown' | 'gpg' | 'gpg-unknown' | null;

/** Keys and trusted-key files of one test file. */
export interface SigningKeys {
  readonly dir: string;
  /** allowed_signers file trusting only the `ssh` key (principal alice@example.com). */
  readonly allowedSigners: string;
  /** Armored public key file trusting only the `gpg` key (Bob <bob@example.com>). */
  readonly openpgpKeys: string;
  /** Fingerprints of the OpenPGP keys. */
  readonly fpr: { gpg: string; 'gpg-unknown': string };
  /** Commits `files` on `branch` of `repo` signed by `signer`; returns the commit id. */
  commit(repo: TestRepo, files: Record<string, string | null>, signer: Signer, opts?: { branch?: string; message?: string }): string;
  /** Writes a copy of `commit` with another message and the same signature, moves `branch` to it. */
  tamper(repo: TestRepo, commit: string, branch?: string): string;
  /** Stops gpg-agent and removes every key. */
  cleanup(): void;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(file, args, { env: { PATH: process.env.PATH, LANG: 'C', ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Generates the keys (a second or two: ed25519 everywhere). */
export function createSigningKeys(): SigningKeys {
  const dir = mkdtempSync(path.join(tmpdir(), 'cronsync-sign-'));
  const home = path.join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const gpgEnv = { GNUPGHOME: home };
  const sshKey = (name: string): string => {
    const file = path.join(dir, name);
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
    return file;
  };
  const keys = { ssh: sshKey('alice'), 'ssh-unknown': sshKey('mallory') };
  const allowedSigners = path.join(dir, 'allowed_signers');
  writeFileSync(allowedSigners, `# trusted commit signers\nalice@example.com namespaces="git" ${readFileSync(`${keys.ssh}.pub`, 'utf8')}`);
  const gpgKey = (uid: string): string => {
    run('gpg', ['--batch', '--quiet', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never'], gpgEnv);
    const colons = run('gpg', ['--batch', '--with-colons', '--list-keys', uid], gpgEnv);
    return /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1] ?? '';
  };
  const fpr = { gpg: gpgKey('Bob <bob@example.com>'), 'gpg-unknown': gpgKey('Eve <eve@example.com>') };
  const openpgpKeys = path.join(dir, 'trusted.asc');
  writeFileSync(openpgpKeys, run('gpg', ['--batch', '--armor', '--export', fpr.gpg], gpgEnv));

  const signArgs = (signer: Exclude<Signer, null>): string[] =>
    signer.startsWith('ssh') ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${keys[signer as 'ssh']}`] : ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${fpr[signer as 'gpg']}`];

  return {
    dir, allowedSigners, openpgpKeys, fpr,
    commit(repo, files, signer, { branch = 'main', message } = {}) {
      const plain = repo.commit(files, { branch, message });
      if (signer === null) return plain;
      const g = ['--git-dir', repo.gitdir];
      const tree = git([...g, 'rev-parse', `${plain}^{tree}`]);
      const parents = git([...g, 'rev-list', '--parents', '-n', '1', plain]).split(' ').slice(1);
      const signed = git([...g, ...signArgs(signer), 'commit-tree', '-S', tree, ...parents.flatMap((p) => ['-p', p]), '-m', message ?? `signed by ${signer}`], { env: gpgEnv });
      git([...g, 'update-ref', `refs/heads/${branch}`, signed]);
      return signed;
    },
    tamper(repo, commit, branch = 'main') {
      const g = ['--git-dir', repo.gitdir];
      const raw = git([...g, 'cat-file', 'commit', commit]) + '\n';
      const changed = raw.replace(/\n\n[\s\S]*$/, '\n\nnot what was signed\n');
      const forged = git([...g, 'hash-object', '-t', 'commit', '-w', '--stdin'], { input: changed });
      git([...g, 'update-ref', `refs/heads/${branch}`, forged]);
      return forged;
    },
    cleanup() {
      spawnSync('gpgconf', ['--kill', 'all'], { env: { PATH: process.env.PATH, ...gpgEnv } });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
