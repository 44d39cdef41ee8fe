/**
 * The endpoint identity store, `<stateDir>/crontopus/endpoint.json` (mode 0600): written by the
 * daemon, read by `exec` at each check-in. An enrolled endpoint keeps its token here; a
 * pre-provisioned one keeps only the path of its token file, read at each send. Synchronous
 * and dependency-free: it is on the check-in path of `cronsync exec`.
 */
import { join } from 'node:path';
import { readFileOrNullSync, writeFileAtomicSync } from '../state/sync-io.js';
import { nodePlatform, type Platform } from '../system/platform.js';
import { readRegularFileSync } from '../system/regular-file.js';

/** What the store holds. Never logged, never copied into status or spool entries. */
export interface StoredIdentity {
  version: 1;
  /** The backend base URL the identity belongs to. */
  url: string;
  endpointId: number;
  /** Enrolled: the endpoint token. */
  token?: string;
  /** Pre-provisioned: the file holding the endpoint token. */
  tokenFile?: string;
  /** Enrolled: the machine_id sent, reused when enrolling again. */
  machineId?: string;
  enrolledAt?: string;
}

/** EndpointIdentity is what a request to the agent API needs. */
export interface EndpointIdentity {
  endpointId: number;
  token: string;
}

/**
 * What a bearer token can hold: visible ASCII, no space or control character (RFC 6750's
 * b64token, loosely), at most 4 KiB. Anything else cannot be sent in an Authorization header.
 */
export function isUsableToken(token: string): boolean {
  return token.length > 0 && token.length <= 4096 && /^[\x21-\x7e]+$/.test(token);
}

/** Why a token file is not used (a file name is named; the token never is). */
const REASONS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EPERM: 'permission denied', ENOTREG: 'not a regular file' };

/**
 * The token in a token file (checkin.tokenFile, checkin.enrollmentTokenFile), trailing
 * whitespace dropped, or why it cannot be used: unreadable, readable by other users (as for the
 * secrets file: POSIX group/other mode bits, a broad Windows ACL), empty, over 4 KiB, or holding
 * characters a token cannot have. Never throws.
 */
export function readTokenFile(path: string, platform: Platform = nodePlatform): { token: string } | { error: string } {
  let text: string;
  try {
    const { data } = readRegularFileSync(path, {
      maxBytes: 8192,
      check: (st) => {
        const why = platform.publicReason(path, st);
        if (why !== null) throw Object.assign(new Error(why), { code: 'EPUBLIC' });
      },
    });
    if (data.length > 8192) return { error: `token file ${path} is over 8 KiB` };
    text = data.toString('utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EPUBLIC') return { error: `token file ${path} is readable by other users: ${e.message}` };
    return { error: `cannot read token file ${path}: ${REASONS[e.code ?? ''] ?? e.code ?? 'error'}` };
  }
  const token = text.trim();
  if (token === '') return { error: `token file ${path} is empty` };
  if (!isUsableToken(token)) return { error: `token file ${path} holds characters a token cannot have (visible ASCII only: no space or control character)` };
  return { token };
}

/** Path of the store in a state dir. */
export function identityPath(stateDir: string): string {
  return join(stateDir, 'crontopus', 'endpoint.json');
}

/** The stored record, or null when there is none or it is damaged. @throws {IoError} when unreadable. */
export function readStoredIdentity(stateDir: string): StoredIdentity | null {
  const text = readFileOrNullSync(identityPath(stateDir));
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as StoredIdentity | null;
    const ok = v && v.version === 1 && Number.isInteger(v.endpointId) && v.endpointId > 0 && typeof v.url === 'string' && (typeof v.token === 'string' || typeof v.tokenFile === 'string');
    return ok ? v : null;
  } catch {
    return null;
  }
}

/** Writes the record atomically with mode 0600 (fsynced). @throws {IoError} */
export function writeStoredIdentity(stateDir: string, identity: StoredIdentity): void {
  writeFileAtomicSync(identityPath(stateDir), `${JSON.stringify(identity, null, 2)}\n`, 0o600, true);
}

/**
 * The identity to send with, for the backend at `url`, or null when there is none yet (not
 * enrolled, another backend, a token file that readTokenFile refuses, an unusable stored token).
 * Never throws: the caller keeps the check-in spooled instead.
 */
export function readEndpointIdentity(stateDir: string, url: string, platform: Platform = nodePlatform): EndpointIdentity | null {
  try {
    const s = readStoredIdentity(stateDir);
    if (!s || trimSlash(s.url) !== trimSlash(url)) return null;
    if (s.tokenFile !== undefined) {
      const r = readTokenFile(s.tokenFile, platform);
      return 'token' in r ? { endpointId: s.endpointId, token: r.token } : null;
    }
    return s.token !== undefined && isUsableToken(s.token) ? { endpointId: s.endpointId, token: s.token } : null;
  } catch {
    return null;
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
