/**
 * OpenPGP commit signatures, checked with `gpgv`: GnuPG's verify-only tool, which takes the
 * trusted keys as a keyring file and has no trust database, no agent and no state to keep.
 * The armored keys of `source.verify.openpgpKeys` are decoded into a binary keyring in the
 * private temporary directory, which is also its GNUPGHOME, so nothing of the host's GnuPG
 * setup is read or written. Every key in the file is trusted; no other key is.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CheckInput, CheckOutcome } from './verify.js';

/** Most time one gpgv run may take. */
const TIMEOUT_MS = 30_000;

/**
 * Decodes ASCII-armored OpenPGP public key blocks into binary packets, concatenated. A file
 * that is not armored is taken as binary packets already (an exported keyring).
 */
export function dearmorKeys(file: Buffer): Buffer {
  const text = file.toString('latin1');
  if (!text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) return file;
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
  return Buffer.concat(out);
}

/** Checks an OpenPGP signature against the public keys in `keysFile`. @throws {Error} when the file cannot be read or holds no key. */
export async function verifyOpenPgp(input: CheckInput, keysFile: string): Promise<CheckOutcome> {
  let keys: Buffer;
  try {
    keys = dearmorKeys(await readFile(keysFile));
  } catch {
    throw new Error(`cannot read source.verify.openpgpKeys ${keysFile}`);
  }
  if (keys.length === 0) throw new Error(`source.verify.openpgpKeys ${keysFile} holds no public key`);
  const keyring = path.join(input.dir, 'trusted.gpg');
  const sig = path.join(input.dir, 'commit.asc');
  await writeFile(keyring, keys, { mode: 0o600 });
  await writeFile(sig, input.signature, { mode: 0o600 });
  const r = await input.runner.run(
    { file: 'gpgv', args: ['--status-fd', '1', '--keyring', keyring, sig, '-'], env: { PATH: process.env.PATH, LANG: 'C', GNUPGHOME: input.dir } },
    { stdin: input.payload, signal: input.signal, timeoutMs: TIMEOUT_MS },
  );
  if (r.spawnError) throw new Error(`gpgv cannot be run: ${r.spawnError}`);
  if (r.timedOut || r.cancelled) throw new Error(`gpgv ${r.timedOut ? 'timed out' : 'was cancelled'}`);
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
