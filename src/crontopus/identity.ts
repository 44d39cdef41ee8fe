/**
 * The endpoint identity store, `<stateDir>/crontopus/endpoint.json` (mode 0600): written by the
 * daemon, read by `exec` at each check-in. An enrolled endpoint keeps its token here; a
 * pre-provisioned one keeps only the path of its token file, read at each send. Synchronous
 * and dependency-free: it is on the check-in path of `cronsync exec`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileOrNullSync, writeFileAtomicSync } from '../state/sync-io.js';

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
 * enrolled, another backend, an unreadable or empty token file). Never throws: the caller
 * keeps the check-in spooled instead.
 */
export function readEndpointIdentity(stateDir: string, url: string): EndpointIdentity | null {
  try {
    const s = readStoredIdentity(stateDir);
    if (!s || trimSlash(s.url) !== trimSlash(url)) return null;
    const token = (s.tokenFile !== undefined ? readFileSync(s.tokenFile, 'utf8') : s.token ?? '').trim();
    return token ? { endpointId: s.endpointId, token } : null;
  } catch {
    return null;
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
