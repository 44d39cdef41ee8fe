/**
 * The daemon's side of a Crontopus backend (checkin.protocol crontopus-agent): the endpoint
 * identity (pre-provisioned, or enrolled once and kept in the state dir), a heartbeat at start
 * and every 30 s with jitter, and the job instances after every sync that changed them and at
 * least every 5 minutes. Calls run one at a time off the sync path: a down backend never
 * blocks a sync, a failed call is made again at the next tick, and the last outcome of each
 * kind is reported for the status file. Tokens stay in memory and in the 0600 identity store.
 */
import { randomUUID } from 'node:crypto';
import { jittered } from '../daemon/loop.js';
import { safeUrl } from '../shim/checkin.js';
import type { Logger } from '../shim/types.js';
import type { CrontopusCall, StatusCrontopus } from '../status/types.js';
import type { Clock } from '../system/clock.js';
import type { HttpClient, HttpRequest } from '../system/http.js';
import { HttpTransportError } from '../system/http.js';
import type { AgentInfo, EnrollBody } from './api.js';
import { enrollRequest, heartbeatRequest, jobInstancesRequest, parseEnrollReply } from './api.js';
import type { EndpointIdentity } from './identity.js';
import { isUsableToken, readStoredIdentity, readTokenFile, writeStoredIdentity } from './identity.js';
import type { JobInstance } from './instances.js';

/** Heartbeat period of the Crontopus agent. */
export const HEARTBEAT_MS = 30_000;
/** Job instances are sent again after this long even when unchanged. */
export const INSTANCES_MAX_AGE_MS = 5 * 60_000;
/**
 * Enrolling again after an accepted enrollment waits this long, doubled for each further one
 * up to REENROLL_MAX_MS, until a call with the new token is accepted: a backend that refuses
 * every endpoint token gets a new endpoint about once an hour, not at every heartbeat.
 */
export const REENROLL_MIN_MS = 60_000;
export const REENROLL_MAX_MS = 60 * 60_000;

/** Options of {@link createCrontopusAgent}. */
export interface CrontopusAgentOptions {
  /** The backend's base URL (checkin.url). */
  url: string;
  stateDir: string;
  /** Pre-provisioned (endpointId + tokenFile) or enrolled (enrollmentTokenFile); validated by the config. */
  identity: { endpointId?: number; tokenFile?: string; enrollmentTokenFile?: string };
  /** The enrollment body but the machine id. */
  enroll: Omit<EnrollBody, 'machine_id'>;
  info: AgentInfo;
  /** This host's machine id, or null; a random id is kept in the store instead. */
  machineId: () => Promise<string | null>;
  http: HttpClient;
  clock: Clock;
  log: Logger;
  random?: () => number;
  requestTimeoutMs?: number;
  heartbeatMs?: number;
  instancesMaxAgeMs?: number;
  /** Each new status block, after every call (not awaited). */
  onStatus?: (block: StatusCrontopus) => void;
  /** After enrolling again: check-ins spooled after a 401 can be sent now. */
  onEnrolled?: () => void;
}

/** CrontopusAgent is the running daemon side. */
export interface CrontopusAgent {
  /** Enrolls when needed and starts the heartbeat; a second call does nothing. */
  start(): void;
  /** Stops the heartbeat and waits for the call in flight. */
  stop(): Promise<void>;
  /** The job instances after a sync; sent when they changed or are due. Returns at once. */
  afterSync(instances: readonly JobInstance[]): void;
  /** A check-in was refused with 401: an enrolled endpoint enrolls again, once per refused token. */
  tokenRefused(): void;
  status(): StatusCrontopus;
}

/** Creates the daemon side of a Crontopus backend; call start(). */
export function createCrontopusAgent(o: CrontopusAgentOptions): CrontopusAgent {
  const { clock, log } = o;
  const enrolled = o.identity.enrollmentTokenFile !== undefined;
  const timeoutMs = o.requestTimeoutMs ?? 10_000;
  const heartbeatMs = o.heartbeatMs ?? HEARTBEAT_MS;
  const state: StatusCrontopus = { identity: enrolled ? 'enrolled' : 'provisioned', endpointId: o.identity.endpointId ?? null, enrollment: null, heartbeat: null, jobInstances: null };
  let queue: Promise<void> = Promise.resolve();
  let loopDone: Promise<void> = Promise.resolve();
  const stopCtrl = new AbortController();
  let started = false;
  let desired: { list: readonly JobInstance[]; json: string } | null = null;
  let sent: { json: string; at: number } | null = null;
  /** The set the backend last refused for good (a 4xx but 401, 408 and 429): not sent again until it changes or is due anyway. */
  let refused: { json: string; at: number } | null = null;
  /** The last token given up after a refused check-in: each token is given up once. */
  let refusedToken: string | undefined;
  /** Enrollments the backend accepted since a call was last accepted, and when the next may be made. */
  const reenroll = { count: 0, notBefore: 0 };
  /** Why the last identity could not be had (a token file problem), for the status. */
  let identityError: string | null = null;

  const now = (): number => clock.now().getTime();
  const publish = (): void => {
    try {
      o.onStatus?.(structuredClone(state));
    } catch (err) {
      log.warn({ err }, 'Cannot record the Crontopus status');
    }
  };
  const enqueue = (fn: () => Promise<void>): Promise<void> => {
    queue = queue.then(fn).catch((err: unknown) => log.error({ err: { message: (err as Error)?.message } }, 'Crontopus call failed'));
    return queue;
  };

  /** Sends one request; the outcome as a status entry (no token in it). */
  async function send(req: HttpRequest): Promise<{ call: CrontopusCall; body: string }> {
    const at = clock.now().toISOString();
    if (stopCtrl.signal.aborted) return { call: { at, ok: false, error: 'stopped' }, body: '' };
    // A signal of its own per request, so that nothing piles listeners onto the long-lived one.
    const ctrl = new AbortController();
    const abort = (): void => ctrl.abort();
    stopCtrl.signal.addEventListener('abort', abort, { once: true });
    try {
      const res = await o.http.request({ ...req, signal: ctrl.signal });
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      return { call: { at, ok, statusCode: res.statusCode, ...(ok ? {} : { error: `HTTP ${res.statusCode}` }) }, body: res.body };
    } catch (err) {
      return { call: { at, ok: false, error: err instanceof HttpTransportError ? err.errno : 'request failed' }, body: '' };
    } finally {
      stopCtrl.signal.removeEventListener('abort', abort);
    }
  }

  function readToken(file: string): string | null {
    const r = readTokenFile(file);
    if ('token' in r) return r.token;
    identityError = r.error;
    log.error({ error: r.error }, 'Cannot use the Crontopus token file');
    return null;
  }

  /** Enrolls with the same machine id as before; stores and returns the new identity, or null. */
  async function enroll(): Promise<EndpointIdentity | null> {
    if (now() < reenroll.notBefore) {
      identityError = `enrolling again after ${new Date(reenroll.notBefore).toISOString()}: the backend refused the tokens of the last ${reenroll.count} enrollment(s)`;
      return null;
    }
    const stored = readStoredIdentity(o.stateDir);
    const enrollmentToken = readToken(o.identity.enrollmentTokenFile as string);
    if (!enrollmentToken) {
      state.enrollment = { at: clock.now().toISOString(), ok: false, error: identityError ?? 'enrollment token file unusable' };
      return null;
    }
    const machineId = stored?.machineId ?? (await o.machineId().catch(() => null)) ?? randomUUID();
    const { call, body } = await send(enrollRequest(o.url, enrollmentToken, { ...o.enroll, machine_id: machineId }, timeoutMs));
    if (call.ok) {
      // The backend made an endpoint: the next enrollment waits until one of its calls is accepted.
      reenroll.count++;
      reenroll.notBefore = now() + Math.min(REENROLL_MAX_MS, REENROLL_MIN_MS * 2 ** (reenroll.count - 1));
    }
    const identity = call.ok ? parseEnrollReply(body) : null;
    if (call.ok && !identity) Object.assign(call, { ok: false, error: 'enrollment reply without an endpoint id and a usable token' });
    state.enrollment = call;
    if (!identity) {
      log.warn({ url: safeUrl(o.url), statusCode: call.statusCode, error: call.error }, 'Crontopus enrollment failed; retrying later');
      return null;
    }
    writeStoredIdentity(o.stateDir, { version: 1, url: o.url, endpointId: identity.endpointId, token: identity.token, machineId, enrolledAt: call.at });
    // What the previous endpoint was sent, or refused, says nothing about a new one.
    if (state.endpointId !== identity.endpointId) sent = refused = null;
    state.endpointId = identity.endpointId;
    log.info({ url: safeUrl(o.url), endpointId: identity.endpointId }, 'Enrolled with the Crontopus backend');
    return identity;
  }

  /** The identity to call with: stored (enrolled) or from the config and token file, enrolling when there is none. */
  async function identity(): Promise<EndpointIdentity | null> {
    identityError = null;
    const stored = readStoredIdentity(o.stateDir);
    const sameBackend = stored !== null && stored.url.replace(/\/+$/, '') === o.url.replace(/\/+$/, '');
    if (!enrolled) {
      const { endpointId, tokenFile } = o.identity as { endpointId: number; tokenFile: string };
      // `exec` finds the token file through the store; the token itself is never copied.
      if (!sameBackend || stored.endpointId !== endpointId || stored.tokenFile !== tokenFile) writeStoredIdentity(o.stateDir, { version: 1, url: o.url, endpointId, tokenFile });
      const token = readToken(tokenFile);
      return token ? { endpointId, token } : null;
    }
    // A stored token that cannot be sent (written by an older version) is enrolled anew.
    if (sameBackend && stored.token !== undefined && isUsableToken(stored.token)) {
      state.endpointId = stored.endpointId;
      return { endpointId: stored.endpointId, token: stored.token };
    }
    return enroll();
  }

  /** One call with the current identity; an enrolled endpoint whose token gets a 401 enrolls again and retries once. Its outcome. */
  async function call(kind: 'heartbeat' | 'jobInstances', build: (id: EndpointIdentity) => HttpRequest): Promise<{ ok: boolean; statusCode?: number | undefined }> {
    let id = await identity();
    let res = id ? await send(build(id)) : null;
    if (id && res?.call.statusCode === 401 && enrolled) {
      if (now() >= reenroll.notBefore) log.warn({ url: safeUrl(o.url), call: kind }, 'Crontopus endpoint token refused; enrolling again');
      id = await enroll();
      if (id) {
        o.onEnrolled?.();
        res = await send(build(id));
      } else if (identityError !== null) {
        res = { ...res, call: { ...res.call, error: `${res.call.error ?? 'HTTP 401'}; ${identityError}` } };
      }
    }
    const outcome = res?.call ?? { at: clock.now().toISOString(), ok: false, error: identityError ?? 'no endpoint identity yet' };
    if (outcome.ok) Object.assign(reenroll, { count: 0, notBefore: 0 });
    if (kind === 'jobInstances') state.jobInstances = { ...outcome, count: desired?.list.length ?? 0 };
    else state.heartbeat = outcome;
    if (!outcome.ok) log.warn({ url: safeUrl(o.url), call: kind, statusCode: outcome.statusCode, error: outcome.error }, 'Crontopus call failed; retrying later');
    return outcome;
  }

  async function sendInstancesIfDue(): Promise<void> {
    const want = desired;
    if (!want) return;
    const maxAge = o.instancesMaxAgeMs ?? INSTANCES_MAX_AGE_MS;
    if (sent && sent.json === want.json && now() - sent.at < maxAge) return;
    // A set the backend refused (a validation error, say) is refused again: sent once more when
    // it changes or after the same wait as an unchanged one, not at every tick of every host.
    if (refused && refused.json === want.json && now() - refused.at < maxAge) return;
    const res = await call('jobInstances', (id) => jobInstancesRequest(o.url, id, want.list, timeoutMs));
    if (res.ok) sent = { json: want.json, at: now() };
    const code = res.statusCode ?? 0;
    refused = !res.ok && code >= 400 && code < 500 && code !== 401 && code !== 408 && code !== 429 ? { json: want.json, at: now() } : null;
    publish();
  }

  async function tick(): Promise<void> {
    await call('heartbeat', (id) => heartbeatRequest(o.url, id, o.info, timeoutMs));
    publish();
    await sendInstancesIfDue();
  }

  async function run(): Promise<void> {
    while (!stopCtrl.signal.aborted) {
      await enqueue(tick);
      try {
        await clock.sleep(jittered(heartbeatMs, 0.1, (o.random ?? Math.random)()), stopCtrl.signal);
      } catch {
        // Stopped.
      }
    }
  }

  return {
    start() {
      if (started) return;
      started = true;
      loopDone = run();
    },
    async stop() {
      stopCtrl.abort();
      await loopDone;
      await queue;
    },
    afterSync(instances) {
      desired = { list: instances, json: JSON.stringify(instances) };
      if (started && !stopCtrl.signal.aborted) void enqueue(sendInstancesIfDue);
    },
    tokenRefused() {
      if (!enrolled || stopCtrl.signal.aborted) return;
      // The token the refused check-in was sent with: the one in the store now.
      const token = readStoredIdentity(o.stateDir)?.token;
      void enqueue(async () => {
        // Given up already, or replaced since by another enrollment.
        if (token === undefined || token === refusedToken || readStoredIdentity(o.stateDir)?.token !== token) return;
        log.warn({ url: safeUrl(o.url) }, 'Crontopus endpoint token refused for a check-in; enrolling again');
        if (await enroll()) {
          refusedToken = token;
          o.onEnrolled?.();
        }
        publish();
      });
    },
    status: () => structuredClone(state),
  };
}
