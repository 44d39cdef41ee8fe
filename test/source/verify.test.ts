import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitMatchesId, splitSignedCommit, verifyCommit } from '../../src/source/verify.js';
import type { VerifyConfig } from '../../src/source/verify.js';
import { dearmorKeys, keyBlockProblem, readStatus } from '../../src/source/verify-openpgp.js';
import { verifySourceProblem } from '../../src/source/verify-config.js';
import { nodeRunner } from '../../src/system/runner.js';
import { createRepo, git, gitAvailable } from '../e2e/helpers/git-server.js';
import type { TestRepo } from '../e2e/helpers/git-server.js';
import { createSigningKeys, signingAvailable } from '../e2e/helpers/signing.js';
import type { Signer, SigningKeys } from '../e2e/helpers/signing.js';

const SIGNED = [
  'tree 080e8750f1e6197cdeaaf87cc5e107b20fc8eee5',
  'author T <t@e> 1700000000 +0000',
  'committer T <t@e> 1700000000 +0000',
  'gpgsig -----BEGIN SSH SIGNATURE-----',
  ' U1NIU0lH',
  ' ',
  ' -----END SSH SIGNATURE-----',
  'gpgsig-sha256 -----BEGIN PGP SIGNATURE-----',
  ' other',
  ' -----END PGP SIGNATURE-----',
  '',
  'message',
  'gpgsig not a header here',
  '',
].join('\n');

describe('source/verify', () => {
  it('splits a commit into payload and signature as git does (continuations, other-algorithm header, message kept)', () => {
    const s = splitSignedCommit(Buffer.from(SIGNED));

    expect(s.signature).toBe('-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n\n-----END SSH SIGNATURE-----\n');
    expect(s.format).toBe('ssh');
    expect(s.payload.toString()).toBe('tree 080e8750f1e6197cdeaaf87cc5e107b20fc8eee5\nauthor T <t@e> 1700000000 +0000\ncommitter T <t@e> 1700000000 +0000\n\nmessage\ngpgsig not a header here\n');
  });

  it('reads an unsigned commit as payload only', () => {
    const raw = Buffer.from('tree 080e8750f1e6197cdeaaf87cc5e107b20fc8eee5\n\nmsg\n');

    expect(splitSignedCommit(raw)).toEqual({ payload: raw, signature: null, format: null });
  });

  it('checks that an object hashes to its commit id', () => {
    const raw = Buffer.from('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b> 0 +0000\ncommitter A <a@b> 0 +0000\n\nx\n');
    const id = spawnSync('git', ['hash-object', '-t', 'commit', '--stdin'], { input: raw, encoding: 'utf8' }).stdout.trim();

    expect([commitMatchesId(id, raw), commitMatchesId(id, Buffer.concat([raw, Buffer.from('y')])), commitMatchesId('abc', raw)]).toEqual([true, false, false]);
  });

  it.each([
    { name: 'good', code: 0, lines: ['GOODSIG E640C163137F6089 Bob <bob@example.com>', 'VALIDSIG 3074DB 2026-12-06 1 0 4 0 22 8 00 3074DBC4'], want: { result: 'valid', signer: 'Bob <bob@example.com> (key 3074DBC4)' } },
    { name: 'bad', code: 1, lines: ['BADSIG E640C163137F6089 Bob <bob@example.com>'], want: { result: 'invalid', signer: 'Bob <bob@example.com> (key E640C163137F6089)' } },
    { name: 'missing key', code: 2, lines: ['ERRSIG E640C163137F6089 22 8 00 1796524762 9 3074DBC4', 'NO_PUBKEY E640C163137F6089'], want: { result: 'untrusted', signer: 'key 3074DBC4' } },
    { name: 'expired key', code: 1, lines: ['EXPKEYSIG E640C163137F6089 Bob <bob@example.com>'], want: { result: 'untrusted', signer: 'Bob <bob@example.com> (key E640C163137F6089)' } },
    { name: 'good but exit 2', code: 2, lines: ['GOODSIG E6 Bob', 'VALIDSIG 30 x'], want: { result: 'error', signer: null } },
    { name: 'nothing', code: 2, lines: [], want: { result: 'error', signer: null } },
  ])('reads gpgv status: $name', ({ code, lines, want }) => {
    const out = readStatus(['[GNUPG:] NEWSIG', ...lines.map((l) => `[GNUPG:] ${l}`)].join('\n'), code);

    expect({ result: out.result, signer: out.signer }).toEqual(want);
  });

  it('decodes several armored key blocks, with headers and checksums, into binary packets', () => {
    const a = Buffer.from('first key packets');
    const b = Buffer.from('second');
    const block = (data: Buffer, header: string): string => `-----BEGIN PGP PUBLIC KEY BLOCK-----\n${header}\n${data.toString('base64')}\n=AbCd\n-----END PGP PUBLIC KEY BLOCK-----\n`;

    const keys = dearmorKeys(Buffer.from(`text before\n${block(a, 'Comment: one\n')}${block(b, '')}`));

    expect(keys).toEqual(Buffer.concat([a, b]));
    expect(dearmorKeys(Buffer.from([0x99, 1, 2]))).toEqual(Buffer.from([0x99, 1, 2]));
  });

  it('accepts only runs of OpenPGP packets that start with a public key', () => {
    expect(keyBlockProblem(Buffer.from([0x98, 2, 4, 0, 0xb4, 1, 0x41]))).toBeNull();
    expect(keyBlockProblem(Buffer.from([0xc6, 2, 4, 0]))).toBeNull();
    expect(keyBlockProblem(Buffer.from([0x98, 5, 4, 0]))).toBe('it ends inside a packet');
    expect(keyBlockProblem(Buffer.from([0x88, 1, 0]))).toBe('it does not start with a public key packet');
    expect(keyBlockProblem(Buffer.from('hello'))).toBe('byte 0 does not start an OpenPGP packet');
    expect(keyBlockProblem(Buffer.alloc(0))).toBe('it is empty');
  });

  it('refuses verify on a plain directory source, not on Git sources', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cronsync-vcfg-'));
    try {
      writeFileSync(path.join(dir, 'a.yaml'), 'x');

      const problems = [
        verifySourceProblem(dir, 'head'),
        verifySourceProblem(dir, 'off'),
        verifySourceProblem(dir, undefined),
        verifySourceProblem('https://git.example/r.git', 'head'),
        verifySourceProblem('git@git.example:org/r.git', 'head'),
        verifySourceProblem('ssh://git@git.example/r.git', 'head'),
      ];

      expect(problems[0]).toContain('is a plain directory');
      expect(problems.slice(1)).toEqual([null, null, null, null, null]);
      // As the sync decides: a .git without HEAD is no repository; a missing path is named so.
      mkdirSync(path.join(dir, '.git'));
      expect(verifySourceProblem(dir, 'head')).toContain('is a plain directory');
      expect(verifySourceProblem(path.join(dir, 'missing'), 'head')).toBe(`source.verify.mode head needs a Git source, but source.url ${path.join(dir, 'missing')} does not exist: use a Git repository or set source.verify.mode off`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!gitAvailable || !signingAvailable)('source/verify with real signatures', () => {
  let keys: SigningKeys;
  let root: string;
  let repo: TestRepo;
  beforeAll(() => {
    keys = createSigningKeys();
    root = mkdtempSync(path.join(tmpdir(), 'cronsync-verify-repo-'));
    repo = createRepo(root, 'r', { 'a.yaml': 'a: 1\n' });
  }, 60_000);
  afterAll(() => {
    keys?.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  const both = (): VerifyConfig => ({ mode: 'head', sshAllowedSigners: keys.allowedSigners, openpgpKeys: keys.openpgpKeys });
  const check = (commit: string, cfg: VerifyConfig = both()) => verifyCommit(commit, Buffer.from(git(['--git-dir', repo.gitdir, 'cat-file', 'commit', commit]) + '\n'), cfg, { runner: nodeRunner });

  it.each<{ signer: Signer; result: string; signer_: RegExp | null }>([
    { signer: 'ssh', result: 'valid', signer_: /^alice@example\.com \(ED25519 key SHA256:/ },
    { signer: 'gpg', result: 'valid', signer_: /^Bob <bob@example\.com> \(key [0-9A-F]{40}\)$/ },
    { signer: null, result: 'unsigned', signer_: null },
    { signer: 'ssh-unknown', result: 'untrusted', signer_: /^ED25519 key SHA256:/ },
    { signer: 'gpg-unknown', result: 'untrusted', signer_: /^key [0-9A-F]{40}$/ },
  ])('a commit signed by $signer is $result', async ({ signer, result, signer_ }) => {
    const commit = keys.commit(repo, { 'a.yaml': `a: ${String(signer)}\n` }, signer);

    const v = await check(commit);

    expect(v.result).toBe(result);
    expect(v.commit).toBe(commit);
    if (signer_) expect(v.signer).toMatch(signer_);
    else expect(v.signer).toBeNull();
    expect(v.message).toContain(commit);
  });

  it('names the unknown OpenPGP key by its fingerprint', async () => {
    const commit = keys.commit(repo, { 'a.yaml': 'a: eve\n' }, 'gpg-unknown');

    expect((await check(commit)).signer).toBe(`key ${keys.fpr['gpg-unknown']}`);
  });

  it.each<Signer>(['ssh', 'gpg'])('refuses a tampered commit signed by %s: the signature no longer matches', async (signer) => {
    const signed = keys.commit(repo, { 'a.yaml': `a: tamper-${String(signer)}\n` }, signer);
    const forged = keys.tamper(repo, signed);

    const v = await check(forged);

    expect(forged).not.toBe(signed);
    expect(v.result).toBe('invalid');
    expect(v.signer).toMatch(signer === 'ssh' ? /^alice@example\.com$/ : /^Bob <bob@example\.com>/);
  });

  it('refuses an object that does not hash to the commit id', async () => {
    const commit = keys.commit(repo, { 'a.yaml': 'a: swap\n' }, 'ssh');
    const raw = Buffer.from(git(['--git-dir', repo.gitdir, 'cat-file', 'commit', commit]).replace('a: swap', 'x') + '\n');

    const v = await verifyCommit(commit, Buffer.concat([raw, Buffer.from('extra')]), both(), { runner: nodeRunner });

    expect([v.result, v.signer]).toEqual(['invalid', null]);
  });

  it('checks only the head: a signed head whose parent is unsigned is valid', async () => {
    const parent = keys.commit(repo, { 'a.yaml': 'a: parent\n' }, null);
    const head = keys.commit(repo, { 'a.yaml': 'a: head\n' }, 'ssh');

    expect(git(['--git-dir', repo.gitdir, 'rev-parse', `${head}^`])).toBe(parent);
    expect((await check(head)).result).toBe('valid');
  });

  it('treats a signature of a kind with no key file configured as untrusted', async () => {
    const ssh = keys.commit(repo, { 'a.yaml': 'a: only-gpg\n' }, 'ssh');

    const v = await check(ssh, { mode: 'head', openpgpKeys: keys.openpgpKeys });

    expect(v.result).toBe('untrusted');
    expect(v.message).toContain('source.verify.sshAllowedSigners is not set');
  });

  it('reports an unreadable key file as an error, never as valid', async () => {
    const commit = keys.commit(repo, { 'a.yaml': 'a: nokeys\n' }, 'gpg');

    const v = await check(commit, { mode: 'head', openpgpKeys: path.join(root, 'missing.asc') });

    expect(v.result).toBe('error');
    expect(v.message).toContain('cannot read source.verify.openpgpKeys');
  });

  it('refuses a source without commits', async () => {
    const v = await verifyCommit(null, undefined, both(), { runner: nodeRunner });

    expect(v.result).toBe('error');
  });

  /** A key file in the test's dir holding `text` with `mode`. */
  const keyFile = (name: string, text: string | Buffer, mode = 0o644): string => {
    const file = path.join(root, name);
    writeFileSync(file, text);
    chmodSync(file, mode);
    return file;
  };

  it('checks the OpenPGP keys it reads: a good key file passes, a damaged one is an error naming the file, never "untrusted"', async () => {
    const commit = keys.commit(repo, { 'a.yaml': 'a: badkeys\n' }, 'gpg');
    const good = readFileSync(keys.openpgpKeys, 'utf8');
    const pasted = `${good}-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nc3NoLWVkMjU1MTkgQUFBQUMzTnph\n-----END PGP PUBLIC KEY BLOCK-----\n`;

    const valid = await check(commit, { mode: 'head', openpgpKeys: keyFile('two-blocks.asc', `${good}${good}`) });
    const mixed = await check(commit, { mode: 'head', openpgpKeys: keyFile('pasted.asc', pasted) });
    const junk = await check(commit, { mode: 'head', openpgpKeys: keyFile('junk.asc', 'hello\n') });

    expect(valid.result).toBe('valid');
    expect(mixed.result).toBe('error');
    expect(mixed.message).toContain(`source.verify.openpgpKeys ${path.join(root, 'pasted.asc')} is not a valid OpenPGP public key file (key block 2: `);
    expect(junk.result).toBe('error');
    expect(junk.message).toContain(`source.verify.openpgpKeys ${path.join(root, 'junk.asc')} is not a valid OpenPGP public key file (byte 0 does not start an OpenPGP packet)`);
  });

  it.each(['ssh', 'gpg'] as const)('refuses a %s key file that others can write, or that is a FIFO or a directory, at once and naming it', async (signer) => {
    const commit = keys.commit(repo, { 'a.yaml': `a: perms-${signer}\n` }, signer);
    const setting = signer === 'ssh' ? 'sshAllowedSigners' : 'openpgpKeys';
    const cfg = (file: string): VerifyConfig => ({ mode: 'head', [setting]: file });
    const writable = keyFile(`writable-${signer}`, readFileSync(signer === 'ssh' ? keys.allowedSigners : keys.openpgpKeys), 0o664);
    const fifo = path.join(root, `fifo-${signer}`);
    spawnSync('mkfifo', [fifo]);
    const dir = path.join(root, `dir-${signer}`);
    mkdirSync(dir, { recursive: true });

    const results = [await check(commit, cfg(writable)), await check(commit, cfg(fifo)), await check(commit, cfg(dir))];

    expect(results.map((v) => v.result)).toEqual(['error', 'error', 'error']);
    expect(results[0]?.message).toContain(`source.verify.${setting} ${writable} is writable by group or others (mode 664): whoever can write it can add a trusted key; run chmod go-w`);
    expect(results[1]?.message).toContain(`cannot read source.verify.${setting} ${fifo}: not a regular file (a FIFO)`);
    expect(results[2]?.message).toMatch(new RegExp(`cannot read source\\.verify\\.${setting} ${dir}: (not a regular file \\(a directory\\)|it is a directory)`));
  });

  it('reports an allowed-signers file ssh-keygen cannot read, or one without keys, as an error, never as "untrusted"', async () => {
    const commit = keys.commit(repo, { 'a.yaml': 'a: typo\n' }, 'ssh');
    const typo = keyFile('typo_signers', readFileSync(keys.allowedSigners, 'utf8').replace('namespaces=', 'namespace='));
    const empty = keyFile('empty_signers', '# nobody yet\n');

    const bad = await check(commit, { mode: 'head', sshAllowedSigners: typo });
    const none = await check(commit, { mode: 'head', sshAllowedSigners: empty });

    expect(bad.result).toBe('error');
    expect(bad.message).toContain(`ssh-keygen cannot read source.verify.sshAllowedSigners: ${typo}:2: bad options`);
    expect(none.result).toBe('error');
    expect(none.message).toContain(`source.verify.sshAllowedSigners ${empty} holds no key`);
  });

  it.each([
    { option: 'valid-before="20200101"', says: 'the key has expired', window: 'only before 2020-01-01T00:00:00 (valid-before)' },
    { option: 'valid-after="20990101"', says: 'the key is not yet valid', window: 'only from 2099-01-01T00:00:00 (valid-after)' },
  ])('reads a trusted SSH key outside its $option window as untrusted, naming the window, not as an unreadable file', async ({ option, says, window }) => {
    const commit = keys.commit(repo, { 'a.yaml': `a: ${option}\n` }, 'ssh');
    const file = keyFile(`window_signers_${option.split('=')[0] ?? ''}`, readFileSync(keys.allowedSigners, 'utf8').replace('namespaces="git"', `namespaces="git",${option}`));

    const v = await check(commit, { mode: 'head', sshAllowedSigners: file });

    expect(v.result).toBe('untrusted');
    expect(v.signer).toMatch(/^alice@example\.com \(ED25519 key SHA256:/);
    expect(v.message).toContain(`which is not a trusted key of source.verify.sshAllowedSigners (${says}: ${file}:2 trusts it ${window}, and the check ran at `);
    expect(v.message).not.toContain('cannot read');
  });

  it('still reports an allowed-signers file with an unreadable line as an error when another entry of the key is out of its window', async () => {
    const commit = keys.commit(repo, { 'a.yaml': 'a: window-and-typo\n' }, 'ssh');
    const entry = readFileSync(keys.allowedSigners, 'utf8').split('\n')[1] ?? '';
    const file = keyFile('window_typo_signers', `${entry.replace('namespaces="git"', 'namespaces="git",valid-before="20200101"')}\n${entry.replace('namespaces=', 'namespace=')}\n`);

    const v = await check(commit, { mode: 'head', sshAllowedSigners: file });

    expect(v.result).toBe('error');
    expect(v.message).toContain(`ssh-keygen cannot read source.verify.sshAllowedSigners: ${file}:2: bad options`);
  });

  it('reads a trusted SSH key used outside the git namespace as untrusted, not as tampering', async () => {
    const commit = keys.commit(repo, { 'a.yaml': 'a: namespace\n' }, 'ssh');
    const other = keyFile('file_ns_signers', readFileSync(keys.allowedSigners, 'utf8').replace('namespaces="git"', 'namespaces="file"'));

    const v = await check(commit, { mode: 'head', sshAllowedSigners: other });

    expect(v.result).toBe('untrusted');
    expect(v.message).toContain('namespace "git"');
  });
});
