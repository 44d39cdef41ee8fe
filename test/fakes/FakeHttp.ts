/**
 * FakeHttp is a scripted HttpClient: each request gets the next scripted answer (a response, or
 * an errno to throw as a transport error) and is recorded.
 */
import type { HttpClient, HttpRequest, HttpResponse } from '../../src/system/http.js';
import { HttpTransportError } from '../../src/system/http.js';

/** One scripted answer: a status (with optional headers/body) or a transport error code. */
export type FakeAnswer = number | { status: number; headers?: Record<string, string>; body?: string } | { errno: string };

/** A scripted fake HttpClient; after the script ends it answers `fallback`. */
export class FakeHttp implements HttpClient {
  readonly requests: HttpRequest[] = [];

  constructor(private readonly script: FakeAnswer[] = [], private readonly fallback: FakeAnswer = 200) {}

  async request(req: HttpRequest): Promise<HttpResponse> {
    this.requests.push(req);
    const a = this.script.shift() ?? this.fallback;
    if (typeof a === 'object' && 'errno' in a) throw new HttpTransportError(a.errno, `fake ${a.errno}`);
    const r = typeof a === 'number' ? { status: a } : a;
    return { statusCode: r.status, headers: r.headers ?? {}, body: r.body ?? '' };
  }

  /** Parsed JSON bodies of the requests. */
  bodies(): Array<Record<string, unknown>> {
    return this.requests.map((r) => JSON.parse(String(r.body)) as Record<string, unknown>);
  }
}
