/**
 * OpenPGP commit signatures, checked with `gpgv`: GnuPG's verify-only tool, which takes the
 * trusted keys as a keyring file and has no trust database, no agent and no state to keep.
 * The armored keys of `source.verify.openpgpKeys` are decoded into a binary keyring in the
 * private temporary directory, which is also its GNUPGHOME, so nothing of the host's GnuPG
 * setup is read or written. Every key in the file is trusted; no other key is.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readKeyFile } from './key-file.js';
import type { CheckInput, CheckOutcome } from './verify.js';

/** Most time one gpgv run may take. */
const TIMEOUT_MS = 30_000;

/**
 * Decodes ASCII-armored OpenPGP public key blocks into binary packets, one buffer per block; a
 * file that is not armored is taken as binary packets already (an exported keyring).
 */
export function dearmorBlocks(file: Buffer): Buffer[] {
  const text = file.toString('latin1');
  if (!text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) return [file];
  const out: Buffer[] = [];
  const re = /-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PUBLIC KEY BLOCK-----/g;
  for (const m of text.matchAll(re)) {
    const lines = (m[1] ?? '').split(/\r?\n/);
    // Armor headers (`Comment: …`) end at the first blank line.
    const blank = lines.findIndex((l) => l.trim() === '');
    const body = lines.slice(lines.slice(0, Math.max(blank, 0)).every((l) => /^[A-Za-z-]+: /.test(l)) ? blank + 1 : 0);
    const base64 = body.filter((l) => !l.startsWith('=')).join('').replace(/\s+/g, '');
    out.push(Buffer.from(base64, 'base64'));
  }
  return out;
}

/** The blocks of {@link dearmorBlocks}, concatenated: the keyring gpgv reads. */
export function dearmorKeys(file: Buffer): Buffer {
  return Buffer.concat(dearmorBlocks(file));
}

/**
 * Why `block` is not a run of OpenPGP packets starting with a public key (RFC 9580 §4.2: old
 * and new packet headers, definite lengths only), or null when it is. gpgv reads a keyring that
 * is not one as holding no key at all, which would report every signer as untrusted.
 */
export function keyBlockProblem(block: Buffer): string | null {
  let pos = 0;
  let first = true;
  while (pos < block.length) {
    const b = block[pos] as number;
    if ((b & 0x80) === 0) return `byte ${pos} does not start an OpenPGP packet`;
    let tag: number;
    let len: number;
    let head: number;
    if (b & 0x40) {
      tag = b & 0x3f;
      const l0 = block[pos + 1];
      if (l0 === undefined) return 'it ends inside a packet header';
      if (l0 < 192) [len, head] = [l0, 2];
      else if (l0 < 224) [len, head] = [((l0 - 192) << 8) + (block[pos + 2] ?? 0) + 192, 3];
      else if (l0 === 255) [len, head] = [block.length > pos + 5 ? block.readUInt32BE(pos + 2) : Infinity, 6];
      else return 'it holds a partial-length packet, which a key never has';
    } else {
      tag = (b >> 2) & 0x0f;
      const type = b & 0x03;
      if (type === 3) return 'it holds an indeterminate-length packet, which a key never has';
      head = 1 + [1, 2, 4][type]!;
      if (pos + head > block.length) return 'it ends inside a packet header';
      len = type === 0 ? block[pos + 1]! : type === 1 ? block.readUInt16BE(pos + 1) : block.readUInt32BE(pos + 1);
    }
    if (first && tag !== 6) return 'it does not start with a public key packet';
    first = false;
    pos += head + len;
  }
  if (pos > block.length) return 'it ends inside a packet';
  return first ? 'it is empty' : null;
}

/** Checks an OpenPGP signature against the public keys in `keysFile`. @throws {Error} when the file cannot be read or is not a keyring. */
export async function verifyOpenPgp(input: CheckInput, keysFile: string): Promise<CheckOutcome> {
  const blocks = dearmorBlocks(readKeyFile(keysFile, 'openpgpKeys'));
  if (blocks.length === 0) throw new Error(`source.verify.openpgpKeys ${keysFile} holds no public key`);
  for (const [i, block] of blocks.entries()) {
    const why = keyBlockProblem(block);
    if (why !== null) throw new Error(`source.verify.openpgpKeys ${keysFile} is not a valid OpenPGP public key ${blocks.length > 1 ? `file (key block ${i + 1}: ${why})` : `file (${why})`}`);
  }
  const keyring = path.join(input.dir, 'trusted.gpg');
  const sig = path.join(input.dir, 'commit.asc');
  await writeFile(keyring, Buffer.concat(blocks), { mode: 0o600 });
  await writeFile(sig, input.signature, { mode: 0o600 });
  const r = await input.runner.run(
    { file: 'gpgv', args: ['--status-fd', '1', '--keyring', keyring, sig, '-'], env: { PATH: process.env.PATH, LANG: 'C', GNUPGHOME: input.dir } },
    { stdin: input.payload, signal: input.signal, timeoutMs: TIMEOUT_MS },
  );
  if (r.spawnError) throw new Error(`gpgv cannot be run: ${r.spawnError}`);
  if (r.timedOut || r.cancelled) throw new Error(`gpgv ${r.timedOut ? 'timed out' : 'was cancelled'}`);
  // A keyring gpgv could not read (a packet the check above let through) holds, to gpgv, no
  // key: every signer would read as untrusted.
  const keydb = r.stderr.split('\n').find((l) => l.includes('keydb_search failed'));
  if (keydb !== undefined) throw new Error(`gpgv cannot read the keys of source.verify.openpgpKeys ${keysFile} (${keydb.trim().slice(0, 200)})`);
  return readStatus(r.stdout, r.exitCode, r.stderr);
}

/** Turns gpgv's `[GNUPG:]` status lines into an outcome (see GnuPG's doc/DETAILS). */
export function readStatus(stdout: string, exitCode: number, stderr = ''): CheckOutcome {
  const st = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const m = /^\[GNUPG:\] (\S+) ?(.*)$/.exec(line);
    if (m) st.set(m[1] as string, (m[2] as string).split(' '));
  }
  const uid = (f: string[] | undefined): string => (f ?? []).slice(1).join(' ');
  const good = st.get('GOODSIG');
  const validsig = st.get('VALIDSIG');
  if (exitCode === 0 && good && validsig && !st.has('BADSIG') && !st.has('ERRSIG')) {
    return { result: 'valid', signer: `${uid(good)} (key ${validsig[validsig.length - 1] ?? validsig[0]})`, detail: '' };
  }
  const bad = st.get('BADSIG');
  if (bad) return { result: 'invalid', signer: `${uid(bad)} (key ${bad[0]})`, detail: '' };
  for (const [code, why] of [['EXPKEYSIG', 'the key has expired'], ['REVKEYSIG', 'the key is revoked'], ['EXPSIG', 'the signature has expired']] as const) {
    const f = st.get(code);
    if (f) return { result: 'untrusted', signer: `${uid(f)} (key ${f[0]})`, detail: why };
  }
  const err = st.get('ERRSIG');
  if (err) {
    // ERRSIG <keyid> <pkalgo> <hashalgo> <class> <time> <rc> [<fpr>]; rc 9 is a missing key.
    const fpr = err[6] && err[6] !== '-' ? err[6] : err[0];
    if (err[5] === '9' || st.has('NO_PUBKEY')) return { result: 'untrusted', signer: `key ${fpr}`, detail: '' };
    return { result: 'error', signer: `key ${fpr}`, detail: `gpgv error code ${err[5] ?? '?'}` };
  }
  return { result: 'error', signer: null, detail: stderr.trim().split('\n').pop()?.slice(0, 200) || `gpgv exited with ${exitCode}` };
}
