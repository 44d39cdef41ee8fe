/**
 * SSH commit signatures, checked as `git verify-commit` does with `gpg.format=ssh`: the
 * principals of the signing key are looked up in the allowed-signers file
 * (`ssh-keygen -Y find-principals`), then the payload is verified for one of them in the `git`
 * namespace (`ssh-keygen -Y verify`). Key validity (`valid-after`, `valid-before`) is checked
 * at the time of verification, so a key retired by date stops being accepted.
 */
import { access, constants, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunResult } from '../system/runner.js';
import type { CheckInput, CheckOutcome } from './verify.js';

/** Most time one ssh-keygen run may take. */
const TIMEOUT_MS = 30_000;

/** Checks an SSH signature against the allowed-signers file `allowed`. @throws {Error} when the file cannot be read. */
export async function verifySsh(input: CheckInput, allowed: string): Promise<CheckOutcome> {
  try {
    await access(allowed, constants.R_OK);
  } catch {
    throw new Error(`cannot read source.verify.sshAllowedSigners ${allowed}`);
  }
  const sig = path.join(input.dir, 'commit.sig');
  await writeFile(sig, input.signature, { mode: 0o600 });
  const keygen = async (args: string[], stdin?: Buffer): Promise<RunResult> => {
    const r = await input.runner.run({ file: 'ssh-keygen', args, env: { PATH: process.env.PATH, LANG: 'C' } }, { stdin, signal: input.signal, timeoutMs: TIMEOUT_MS });
    if (r.spawnError) throw new Error(`ssh-keygen cannot be run: ${r.spawnError}`);
    if (r.timedOut || r.cancelled) throw new Error(`ssh-keygen ${r.timedOut ? 'timed out' : 'was cancelled'}`);
    return r;
  };
  const found = await keygen(['-Y', 'find-principals', '-f', allowed, '-s', sig]);
  const principals = found.exitCode === 0 ? found.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
  let last = '';
  for (const principal of principals) {
    const r = await keygen(['-Y', 'verify', '-f', allowed, '-I', principal, '-n', 'git', '-s', sig], input.payload);
    if (r.exitCode === 0) return { result: 'valid', signer: `${principal} (${keyOf(r.stdout + r.stderr) ?? 'SSH key'})`, detail: '' };
    last = lastLine(r.stderr || r.stdout);
  }
  if (principals.length > 0) return { result: 'invalid', signer: principals.join(', '), detail: last };
  // Not a trusted key: name it by its fingerprint when the signature is at least well formed.
  const anyKey = await keygen(['-Y', 'check-novalidate', '-n', 'git', '-s', sig], input.payload);
  const key = anyKey.exitCode === 0 ? keyOf(anyKey.stdout + anyKey.stderr) : undefined;
  return { result: 'untrusted', signer: key ?? null, detail: key ? '' : 'unknown key, and the signature does not verify' };
}

/** `ED25519 key SHA256:…` from ssh-keygen's `Good "git" signature … with ED25519 key SHA256:…`. */
function keyOf(text: string): string | undefined {
  return / with (\S+ key SHA256:[A-Za-z0-9+/=]+)/.exec(text)?.[1];
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.slice(0, 200) ?? '';
}
