/**
 * A loopback fake of a Crontopus backend's agent API (issue #12, "What the backend expects"):
 * exactly the four routes cronsync uses, with the backend's validation, answers and semantics.
 * Each rule names the fact it implements. Everything else answers 404, as FastAPI does.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One endpoint as the backend keeps it. */
export interface FakeEndpoint {
  id: number;
  token: string;
  machineId: string | null;
  enroll: Record<string, unknown>;
  heartbeats: Array<Record<string, unknown>>;
  /** The current job instances (the last list replaced the set). */
  instances: Array<Record<string, unknown>>;
}

/** One recorded run (POST /api/runs/check-in answered 201). */
export interface FakeRun {
  runId: number;
  body: Record<string, unknown>;
  authorization: string | undefined;
}

/** A request as received, with the answer given. */
export interface FakeRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
  status: number;
}

/** A running fake backend. */
export interface CrontopusBackend {
  url: string;
  /** Valid enrollment tokens (cet_…). */
  readonly enrollmentTokens: Set<string>;
  readonly endpoints: Map<number, FakeEndpoint>;
  readonly runs: FakeRun[];
  readonly requests: FakeRequest[];
  /** Replaces an endpoint's token with one nobody knows: its next check-in gets 401. */
  revokeToken(id: number): void;
  /** Stops listening (connections refused) and listens again on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const json = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** FastAPI's 422 for a body that fails its pydantic model. */
const unprocessable = (res: http.ServerResponse, field: string, msg: string): void => json(res, 422, { detail: [{ loc: ['body', field], msg, type: 'value_error' }] });

/** Starts the fake on 127.0.0.1:0. */
export async function startCrontopusBackend(opts: { enrollmentTokens?: string[] } = {}): Promise<CrontopusBackend> {
  const enrollmentTokens = new Set(opts.enrollmentTokens ?? []);
  const endpoints = new Map<number, FakeEndpoint>();
  const runs: FakeRun[] = [];
  const requests: FakeRequest[] = [];
  let nextEndpoint = 1;
  let nextRun = 1;
  let tokens = 0;
  const newToken = (): string => `fake-endpoint-token-${++tokens}-${Math.random().toString(36).slice(2)}`;

  function handle(method: string, path: string, auth: string | undefined, text: string, res: http.ServerResponse): void {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return unprocessable(res, 'body', 'JSON object expected');
    }
    const bearer = /^Bearer (.+)$/.exec(auth ?? '')?.[1];
    const route = /^\/api\/endpoints\/(\d+)\/(heartbeat|job-instances)$/.exec(path);
    if (method === 'POST' && path === '/api/endpoints/enroll') {
      // Fact: enroll takes `Authorization: Bearer cet_…`, an enrollment token.
      if (!bearer || !enrollmentTokens.has(bearer)) return json(res, 401, { detail: 'Invalid enrollment token' });
      // Fact: of {name, hostname, machine_id, platform, version, git_repo_url, git_branch} only name is required.
      if (typeof body.name !== 'string') return unprocessable(res, 'name', 'field required');
      const machineId = typeof body.machine_id === 'string' && body.machine_id ? body.machine_id : null;
      // Fact: the same machine_id enrolling again reuses that endpoint and gets a new token.
      let ep = machineId ? [...endpoints.values()].find((e) => e.machineId === machineId) : undefined;
      if (ep) {
        ep.token = newToken();
        ep.enroll = body;
      } else {
        ep = { id: nextEndpoint++, token: newToken(), machineId, enroll: body, heartbeats: [], instances: [] };
        endpoints.set(ep.id, ep);
      }
      // Fact: the reply is 201 {"agent_id": N, "token": "…", "message": …}.
      return json(res, 201, { agent_id: ep.id, token: ep.token, message: 'Agent enrolled successfully' });
    }
    if (method === 'POST' && route) {
      const ep = endpoints.get(Number(route[1]));
      // Fact: an unknown endpoint gets a 404. (The backend checks no token on these two routes.)
      if (!ep) return json(res, 404, { detail: 'Endpoint not found' });
      if (route[2] === 'heartbeat') {
        // Fact: {"status": "active", platform, version}; any other status value gets a 422.
        if (body.status !== undefined && body.status !== null && body.status !== 'active') return unprocessable(res, 'status', "value is not a valid enumeration member; permitted: 'active'");
        ep.heartbeats.push(body);
        return json(res, 200, { message: 'Heartbeat recorded', endpoint_id: ep.id });
      }
      // Fact: {"instances": [{job_name, namespace, status, source, original_command}]}; job_name and status are required.
      const list = body.instances;
      if (!Array.isArray(list)) return unprocessable(res, 'instances', 'field required');
      for (const [i, inst] of list.entries()) {
        const r = inst as Record<string, unknown>;
        if (typeof r.job_name !== 'string') return unprocessable(res, `instances.${i}.job_name`, 'field required');
        if (typeof r.status !== 'string') return unprocessable(res, `instances.${i}.status`, 'field required');
      }
      // Fact: any status but scheduled|running|paused|error makes the backend fail with a 500.
      if (list.some((r) => !['scheduled', 'running', 'paused', 'error'].includes((r as { status: string }).status))) return json(res, 500, { detail: 'Internal Server Error' });
      // Fact: the list replaces the endpoint's whole set.
      ep.instances = list as Array<Record<string, unknown>>;
      return json(res, 200, { message: 'Job instances updated', instances_updated: list.length, endpoint_id: ep.id });
    }
    if (method === 'POST' && path === '/api/runs/check-in') {
      // Fact: endpoint_id, job_name, namespace and status are required: the 422 cronsync's legacy body got.
      for (const f of ['endpoint_id', 'job_name', 'namespace', 'status']) if (body[f] === undefined || body[f] === null) return unprocessable(res, f, 'field required');
      if (!Number.isInteger(body.endpoint_id)) return unprocessable(res, 'endpoint_id', 'value is not a valid integer');
      // Fact: duration is integer seconds.
      if (body.duration !== undefined && body.duration !== null && !Number.isInteger(body.duration)) return unprocessable(res, 'duration', 'value is not a valid integer');
      // Fact: output is at most 10,000 characters.
      if (typeof body.output === 'string' && [...body.output].length > 10_000) return unprocessable(res, 'output', 'ensure this value has at most 10000 characters');
      const ep = endpoints.get(body.endpoint_id as number);
      // Fact: an unknown endpoint gets 404, a wrong token 401 (Authorization: Bearer <endpoint token>).
      if (!ep) return json(res, 404, { detail: 'Endpoint not found' });
      if (bearer !== ep.token) return json(res, 401, { detail: 'Invalid endpoint token' });
      // Fact: extra fields such as run_id are ignored; the reply is 201 {run_id, message}. Not idempotent.
      const run = { runId: nextRun++, body, authorization: auth };
      runs.push(run);
      return json(res, 201, { run_id: run.runId, message: 'Check-in recorded successfully' });
    }
    return json(res, 404, { detail: 'Not Found' });
  }

  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '').replace(/\?.*$/, '');
      const auth = req.headers.authorization;
      const before = res.statusCode;
      handle(req.method ?? '', path, auth, text, res);
      requests.push({ method: req.method ?? '', path, authorization: auth, body: text, status: res.statusCode ?? before });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  let port = 0;
  const listen = (): Promise<void> => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      port = (server.address() as AddressInfo).port;
      resolve();
    });
  });
  const down = (): Promise<void> => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
  await listen();
  return {
    url: `http://127.0.0.1:${port}`,
    enrollmentTokens, endpoints, runs, requests,
    revokeToken(id) {
      const ep = endpoints.get(id);
      if (ep) ep.token = newToken();
    },
    down,
    up: listen,
    close: down,
  };
}
