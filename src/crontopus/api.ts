/**
 * Requests of the Crontopus agent API that the daemon makes (enroll, heartbeat, job instances)
 * and the parsing of the enrollment reply. Pure; the check-in request is built by
 * src/shim/checkin.ts, on `exec`'s path.
 */
import type { HttpRequest } from '../system/http.js';
import type { EndpointIdentity } from './identity.js';
import { isUsableToken } from './identity.js';
import type { JobInstance } from './instances.js';
import { hostOs } from '../system/platform.js';

/** The body of `POST /api/endpoints/enroll`; only `name` is required by the backend. */
export interface EnrollBody {
  name: string;
  hostname: string;
  machine_id: string;
  platform: string;
  version: string;
  git_repo_url: string;
  git_branch: string;
}

/** What this host reports as its platform and version (enrollment and heartbeat). */
export interface AgentInfo {
  platform: string;
  version: string;
}

function base(url: string): string {
  return url.replace(/\/+$/, '');
}

function post(url: string, token: string, body: unknown, timeoutMs: number): HttpRequest {
  return { url, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body), timeoutMs };
}

/** `POST {url}/api/endpoints/enroll` with the enrollment token (`cet_…`). */
export function enrollRequest(url: string, enrollmentToken: string, body: EnrollBody, timeoutMs: number): HttpRequest {
  return post(`${base(url)}/api/endpoints/enroll`, enrollmentToken, body, timeoutMs);
}

/**
 * The endpoint id and token of an enrollment reply (201 `{agent_id, token}`; older backends say
 * `endpoint_id`), or null when it has neither, or a token that cannot be sent (isUsableToken).
 */
export function parseEnrollReply(text: string): EndpointIdentity | null {
  try {
    const v = JSON.parse(text) as { agent_id?: unknown; endpoint_id?: unknown; token?: unknown } | null;
    const id = v?.agent_id ?? v?.endpoint_id;
    return typeof id === 'number' && Number.isInteger(id) && id > 0 && typeof v?.token === 'string' && isUsableToken(v.token) ? { endpointId: id, token: v.token } : null;
  } catch {
    return null;
  }
}

/** `POST {url}/api/endpoints/{id}/heartbeat` with `{"status": "active", platform, version}`. */
export function heartbeatRequest(url: string, id: EndpointIdentity, info: AgentInfo, timeoutMs: number): HttpRequest {
  return post(`${base(url)}/api/endpoints/${id.endpointId}/heartbeat`, id.token, { status: 'active', platform: info.platform, version: info.version }, timeoutMs);
}

/** `POST {url}/api/endpoints/{id}/job-instances`: the whole set of this endpoint's jobs. */
export function jobInstancesRequest(url: string, id: EndpointIdentity, instances: readonly JobInstance[], timeoutMs: number): HttpRequest {
  return post(`${base(url)}/api/endpoints/${id.endpointId}/job-instances`, id.token, { instances }, timeoutMs);
}

/** The platform name the Crontopus agent reports: linux, darwin, windows. */
export function platformName(platform: NodeJS.Platform = hostOs): string {
  return platform === 'win32' ? 'windows' : platform;
}
