/**
 * SSH commit signatures, checked as `git verify-commit` does with `gpg.format=ssh`: the
 * principals of the signing key are looked up in the allowed-signers file
 * (`ssh-keygen -Y find-principals`), then the payload is verified for one of them in the `git`
 * namespace (`ssh-keygen -Y verify`). Key validity (`valid-after`, `valid-before`) is checked
 * at the time of verification, so a key retired by date stops being accepted.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunResult } from '../system/runner.js';
import { readKeyFile } from './key-file.js';
import type { CheckInput, CheckOutcome } from './verify.js';

/** Most time one ssh-keygen run may take. */
const TIMEOUT_MS = 30_000;

/**
 * ssh-keygen's rejection of an allowed-signers entry of the signing key at the time of the check:
 * `FILE:LINE: key has expired: verify time T > valid-before T` or `… key is not yet valid: verify
 * time T < valid-after T`.
 */
const OUT_OF_WINDOW = /^(.*):(\d+): key (has expired|is not yet valid): verify time (\S+) [<>] (valid-before|valid-after) (\S+)$/;

/**
 * Checks an SSH signature against the allowed-signers file `allowed`. ssh-keygen reads a private
 * copy of it (the file checked is the file used), and its messages name `allowed` instead.
 * @throws {Error} when the file cannot be read, holds no key, or ssh-keygen cannot parse it.
 */
export async function verifySsh(input: CheckInput, allowed: string): Promise<CheckOutcome> {
  const text = readKeyFile(allowed, 'sshAllowedSigners');
  if (!text.toString('utf8').split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#'))) throw new Error(`source.verify.sshAllowedSigners ${allowed} holds no key`);
  const copy = path.join(input.dir, 'allowed_signers');
  await writeFile(copy, text, { mode: 0o600 });
  const sig = path.join(input.dir, 'commit.sig');
  await writeFile(sig, input.signature, { mode: 0o600 });
  const keygen = async (args: string[], stdin?: Buffer): Promise<RunResult> => {
    const r = await input.runner.run({ file: 'ssh-keygen', args, env: { PATH: process.env.PATH, LANG: 'C' } }, { stdin, signal: input.signal, timeoutMs: TIMEOUT_MS });
    if (r.spawnError) throw new Error(`ssh-keygen cannot be run: ${r.spawnError}`);
    if (r.timedOut || r.cancelled) throw new Error(`ssh-keygen ${r.timedOut ? 'timed out' : 'was cancelled'}`);
    return { ...r, stdout: r.stdout.split(copy).join(allowed), stderr: r.stderr.split(copy).join(allowed) };
  };
  const found = await keygen(['-Y', 'find-principals', '-f', copy, '-s', sig]);
  const principals = found.exitCode === 0 ? found.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
  const windows: RegExpExecArray[] = [];
  if (principals.length === 0) {
    // "No principal matched." is the one answer for a key not in the file, and an entry of the
    // key outside its valid-after/valid-before window is one for a key no longer (or not yet)
    // trusted; anything else is ssh-keygen unable to read a line of it, which must not pass
    // for an untrusted signer.
    const complaints = found.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && l !== 'No principal matched.' && !l.startsWith('sig_find_principals:'));
    const unread = complaints.find((l) => !OUT_OF_WINDOW.test(l));
    if (unread !== undefined) throw new Error(`ssh-keygen cannot read source.verify.sshAllowedSigners: ${unread.slice(0, 200)}`);
    for (const l of complaints) windows.push(OUT_OF_WINDOW.exec(l) as RegExpExecArray);
  }
  let last = '';
  let namespace = false;
  for (const principal of principals) {
    const r = await keygen(['-Y', 'verify', '-f', copy, '-I', principal, '-n', 'git', '-s', sig], input.payload);
    if (r.exitCode === 0) return { result: 'valid', signer: `${principal} (${keyOf(r.stdout + r.stderr) ?? 'SSH key'})`, detail: '' };
    last = lastLine(r.stderr || r.stdout);
    // Signed for another namespace, or a key the file allows for other namespaces only: a
    // trusted key used for something else, not a signature that fails to match (tampering).
    namespace ||= /namespace/i.test(r.stderr);
  }
  if (principals.length > 0) return { result: namespace ? 'untrusted' : 'invalid', signer: principals.join(', '), detail: last };
  // Not a trusted key: name it by its fingerprint when the signature is at least well formed.
  const anyKey = await keygen(['-Y', 'check-novalidate', '-n', 'git', '-s', sig], input.payload);
  const key = anyKey.exitCode === 0 ? keyOf(anyKey.stdout + anyKey.stderr) : undefined;
  if (windows.length === 0) return { result: 'untrusted', signer: key ?? null, detail: key ? '' : 'unknown key, and the signature does not verify' };
  const lines = text.toString('utf8').split('\n');
  const named = [...new Set(windows.map((m) => principalsOf(lines[Number(m[2]) - 1] ?? '')).filter(Boolean))].join(', ');
  const detail = windows.map(windowDetail).join('; ').slice(0, 400);
  return { result: 'untrusted', signer: key ? (named ? `${named} (${key})` : key) : named || null, detail: key ? detail : `${detail}; and the signature does not verify` };
}

/** One line naming the entry and its window, from an {@link OUT_OF_WINDOW} match. */
function windowDetail(m: RegExpExecArray): string {
  const [, file, line, what, at, option, bound] = m;
  const window = option === 'valid-before' ? `only before ${bound}` : `only from ${bound}`;
  return `the key ${what}: ${file}:${line} trusts it ${window} (${option}), and the check ran at ${at}`;
}

/** The principals field of an allowed-signers line (quoted or not), or '' when it has none. */
function principalsOf(line: string): string {
  const m = /^\s*(?:"([^"]*)"|(\S+))/.exec(line);
  return m?.[1] ?? m?.[2] ?? '';
}

/** `ED25519 key SHA256:…` from ssh-keygen's `Good "git" signature … with ED25519 key SHA256:…`. */
function keyOf(text: string): string | undefined {
  return / with (\S+ key SHA256:[A-Za-z0-9+/=]+)/.exec(text)?.[1];
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.slice(0, 200) ?? '';
}
