/**
 * Signed-commit verification (`source.verify`, SPEC §8a). The head commit to be applied is
 * checked from its raw object bytes: the signature is cut out of the `gpgsig` header as git
 * does, and the rest of the object (the signed payload) is verified against the configured keys
 * by the system tools, `ssh-keygen -Y verify` for SSH signatures and `gpgv` for OpenPGP ones.
 * Anything but a good signature by a trusted key is a refusal; an error of the tools is one too.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Runner } from '../system/runner.js';

/** `source.verify.mode`: `off`, or `head` (the commit to be applied must be signed by a trusted key). */
export type VerifyMode = 'off' | 'head';

/** The `source.verify` section of the agent config. */
export interface VerifyConfig {
  mode: VerifyMode;
  /** Trusted SSH keys, in the format of git's `gpg.ssh.allowedSignersFile`. */
  sshAllowedSigners?: string;
  /** Trusted OpenPGP public keys, ASCII-armored (or a binary keyring). */
  openpgpKeys?: string;
}

/**
 * The outcome of checking one commit: `valid` (good signature by a trusted key), `unsigned`,
 * `untrusted` (signed, but not by a trusted key), `invalid` (the signature does not match the
 * commit: tampered), or `error` (the check itself could not be done).
 */
export type VerifyResult = 'valid' | 'unsigned' | 'untrusted' | 'invalid' | 'error';

/** Verification is what one check found; only `valid` lets a commit be applied. */
export interface Verification {
  mode: 'head';
  /** The commit checked (null when the source has no commits). */
  commit: string | null;
  result: VerifyResult;
  /** Who signed, as far as the signature tells (principal or user id, and key); null when unknown. */
  signer: string | null;
  /** One line for the status problem and the log. */
  message: string;
}

/** Signature formats git writes into `gpgsig`. */
export type SignatureFormat = 'openpgp' | 'ssh' | 'x509';

/** A commit object split into the bytes that were signed and the signature. */
export interface SignedCommit {
  payload: Buffer;
  /** The armored signature, or null for an unsigned commit. */
  signature: string | null;
  format: SignatureFormat | null;
}

/** What the signature checkers get. */
export interface CheckInput {
  payload: Buffer;
  signature: string;
  /** A private temporary directory for the signature and key files (removed afterwards). */
  dir: string;
  runner: Runner;
  signal?: AbortSignal;
}

/** What a signature checker reports; `valid` only for a good signature by a trusted key. */
export interface CheckOutcome { result: Exclude<VerifyResult, 'unsigned'>; signer: string | null; detail: string }

/** Dependencies of {@link verifyCommit}. */
export interface VerifyDeps {
  runner: Runner;
  signal?: AbortSignal;
  /** Parent of the private temporary directory (default the OS temp dir). */
  tmpdir?: string;
}

/**
 * Splits a raw commit object (without the `commit <size>\0` header) into the signed payload
 * and the signature, exactly as git's `parse_buffer_signed_by_header` does: every `gpgsig*`
 * header with its continuation lines is left out of the payload, and the one of the object's
 * hash algorithm is the signature.
 */
export function splitSignedCommit(data: Buffer, sigHeader: 'gpgsig' | 'gpgsig-sha256' = 'gpgsig'): SignedCommit {
  const payload: Buffer[] = [];
  const sig: Buffer[] = [];
  let inSig = false;
  let other = false;
  const prefix = `${sigHeader} `;
  let pos = 0;
  while (pos < data.length) {
    const nl = data.indexOf(0x0a, pos);
    let next = nl < 0 ? data.length : nl + 1;
    const line = data.subarray(pos, next);
    let s: Buffer | null = null;
    if (inSig && line[0] === 0x20) s = line.subarray(1);
    else if (line.subarray(0, prefix.length).toString('latin1') === prefix) {
      s = line.subarray(prefix.length);
      other = false;
    } else if (line.subarray(0, 6).toString('latin1') === 'gpgsig') other = true;
    else if (other && line[0] !== 0x20) other = false;
    if (s) {
      sig.push(s);
      inSig = true;
    } else {
      // The blank line ends the header: the message is payload, whatever it holds.
      if (line[0] === 0x0a) next = data.length;
      if (!other) payload.push(data.subarray(pos, next));
      inSig = false;
    }
    pos = next;
  }
  const signature = sig.length > 0 ? Buffer.concat(sig).toString('utf8') : null;
  return { payload: Buffer.concat(payload), signature, format: signature === null ? null : signatureFormat(signature) };
}

/** The format of an armored signature, as git tells them apart; null when unknown. */
export function signatureFormat(signature: string): SignatureFormat | null {
  if (/^-----BEGIN PGP (SIGNATURE|MESSAGE)-----/.test(signature)) return 'openpgp';
  if (signature.startsWith('-----BEGIN SSH SIGNATURE-----')) return 'ssh';
  if (signature.startsWith('-----BEGIN SIGNED MESSAGE-----')) return 'x509';
  return null;
}

/** Whether `data` is the commit object whose id is `commit` (SHA-1 or SHA-256 by the id's length). */
export function commitMatchesId(commit: string, data: Buffer): boolean {
  const algo = commit.length === 64 ? 'sha256' : commit.length === 40 ? 'sha1' : null;
  if (!algo) return false;
  return createHash(algo).update(`commit ${data.length}\0`).update(data).digest('hex') === commit.toLowerCase();
}

/**
 * Checks the signature of `commit`, whose raw object is `object`, against the trusted keys of
 * `cfg`. Never throws: a failure of the tools is the result `error`.
 */
export async function verifyCommit(commit: string | null, object: Buffer | undefined, cfg: VerifyConfig, deps: VerifyDeps): Promise<Verification> {
  const done = (result: VerifyResult, signer: string | null, message: string): Verification => ({ mode: 'head', commit, result, signer, message });
  if (commit === null || object === undefined) return done('error', null, 'source.verify needs a Git source: this source has no commit to verify');
  if (!commitMatchesId(commit, object)) return done('invalid', null, `commit ${commit} refused: its object does not match its id`);
  const signed = splitSignedCommit(object, commit.length === 64 ? 'gpgsig-sha256' : 'gpgsig');
  if (signed.signature === null) return done('unsigned', null, `commit ${commit} refused: it is not signed (source.verify.mode is head)`);
  if (signed.format === null || signed.format === 'x509') return done('untrusted', null, `commit ${commit} refused: ${signed.format === 'x509' ? 'X.509 signatures are not supported' : 'unknown signature format'}`);
  const setting = signed.format === 'ssh' ? 'sshAllowedSigners' : 'openpgpKeys';
  const keys = cfg[setting];
  if (keys === undefined) return done('untrusted', null, `commit ${commit} refused: it has an ${signed.format === 'ssh' ? 'SSH' : 'OpenPGP'} signature and source.verify.${setting} is not set`);
  let dir: string | undefined;
  try {
    dir = await mkdtemp(path.join(deps.tmpdir ?? tmpdir(), 'cronsync-verify-'));
    const input: CheckInput = { payload: signed.payload, signature: signed.signature, dir, runner: deps.runner, signal: deps.signal };
    // The checkers are loaded only by agents that verify, and only the one the signature needs.
    const out = signed.format === 'ssh' ? await (await import('./verify-ssh.js')).verifySsh(input, keys) : await (await import('./verify-openpgp.js')).verifyOpenPgp(input, keys);
    const by = out.signer ? ` by ${out.signer}` : '';
    const what: Record<CheckOutcome['result'], string> = {
      valid: `commit ${commit} has a good signature${by}`,
      untrusted: `commit ${commit} refused: signed${by}, which is not a trusted key of source.verify.${setting}`,
      invalid: `commit ${commit} refused: its signature${by} does not match the commit (tampered or corrupt)`,
      error: `commit ${commit} refused: its signature${by} could not be checked`,
    };
    return done(out.result, out.signer, out.detail ? `${what[out.result]} (${out.detail})` : what[out.result]);
  } catch (err) {
    return done('error', null, `commit ${commit} refused: its signature could not be checked (${(err as Error).message})`);
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
