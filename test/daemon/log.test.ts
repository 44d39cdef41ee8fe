import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SourceError, UsageError } from '../../src/errors.js';
import { REDACTED, createLogger, isSensitiveKey, nullLogger, parseLogLevel, resolvePretty, sanitizeForLog } from '../../src/log.js';
import type { LogLevel, Logger } from '../../src/log.js';
import { redact } from '../../src/shim/checkin.js';
import { createLineLogger } from '../../src/shim/log.js';

/** A pino stream sink collecting raw lines (pino test/helper.js style). */
function sink(): { stream: Writable; lines: string[]; records: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  return { stream, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function logger(level: LogLevel = 'debug') {
  const s = sink();
  const log = createLogger({ level, destination: s.stream, pretty: false });
  return { log, ...s };
}

describe('log', () => {
  it('writes one JSON object per line with level label, ISO time and message', () => {
    const { log, records } = logger();

    log.info({ jobId: 'acme/backup' }, 'Sync done');

    const [rec] = records();
    expect(rec).toMatchObject({ level: 'info', msg: 'Sync done', jobId: 'acme/backup' });
    expect(String(rec?.time)).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('honours the level', () => {
    const { log, records } = logger('warn');

    log.info({}, 'hidden');
    log.debug({}, 'hidden');
    log.warn({}, 'shown');

    expect(records().map((r) => r.msg)).toEqual(['shown']);
  });

  it.each([
    ['secret', { secret: 's3cr3t-value' }],
    ['password', { password: 's3cr3t-value' }],
    ['token', { token: 's3cr3t-value' }],
    ['nested apiKey', { a: { b: { apiKey: 's3cr3t-value' } } }],
    ['authorization header', { req: { headers: { authorization: 'Bearer s3cr3t-value' } } }],
    ['Authorization header (case)', { headers: { Authorization: 'Bearer s3cr3t-value' } }],
    ['cookie', { headers: { cookie: 'session=s3cr3t-value' } }],
    ['set-cookie', { res: { headers: { 'set-cookie': ['sid=s3cr3t-value'] } } }],
    ['array of objects', { list: [{ checkinSecret: 's3cr3t-value' }] }],
  ])('redacts %s at any depth', (_name, fields) => {
    const { log, lines } = logger();

    log.info(fields, 'Request');

    expect(lines.join('\n')).not.toContain('s3cr3t-value');
    expect(lines.join('\n')).toContain(REDACTED);
  });

  it('uses one redaction marker, [redacted], in logs, the exec log and check-in messages', () => {
    const { log, records } = logger();
    let execLine = '';

    log.info({ token: 's3cr3t-value', msg2: 'Authorization: Bearer s3cr3t-value-2' }, 'Request');
    createLineLogger({ write: (s: string) => { execLine += s; return true; } }, 'info').info({ secret: 's3cr3t-value' }, 'Run');
    const checkin = redact('server said: bad key s3cr3t-value', ['s3cr3t-value']);

    expect(REDACTED).toBe('[redacted]');
    expect(records()[0]).toMatchObject({ token: '[redacted]', msg2: 'Authorization: Bearer [redacted]' });
    expect(execLine).toContain('"secret":"[redacted]"');
    expect(checkin).toBe('server said: bad key [redacted]');
  });

  it('keeps fields that only name where a secret lives', () => {
    const { log, records } = logger();

    log.info({ passwordFile: '/etc/cronsync/git-token', secretEnv: 'HOOK_SECRET' }, 'Config');

    expect(records()[0]).toMatchObject({ passwordFile: '/etc/cronsync/git-token', secretEnv: 'HOOK_SECRET' });
  });

  it('strips URL credentials from messages, fields, bindings and format arguments', () => {
    const { log, lines, records } = logger();
    const child = log.child({ source: 'https://bot:hunter2@git.example.com/ops/jobs.git' });

    child.info({ url: 'https://user:hunter2@git.example.com/x.git', list: ['ssh://git:hunter2@h/r'] }, 'Fetch https://bot:hunter2@git.example.com/r.git failed');
    (log as unknown as { info: (m: string, a: string) => void }).info('Fetching %s', 'http://a:hunter2@h/r');

    expect(lines.join('\n')).not.toContain('hunter2');
    expect(records()[0]).toMatchObject({
      source: 'https://git.example.com/ops/jobs.git',
      url: 'https://git.example.com/x.git',
      msg: 'Fetch https://git.example.com/r.git failed',
    });
    expect(records()[1]?.msg).toBe('Fetching http://h/r');
  });

  it('sanitizes errors: message, stack, data and cause, including a bare log.error(err)', () => {
    const { log, lines, records } = logger();
    const cause = new Error('connect to https://u:hunter2@git.example.com refused');
    const err = new SourceError('network', 'Fetch of https://u:hunter2@git.example.com/r.git failed', { url: 'https://u:hunter2@git.example.com/r.git', token: 'hunter2' }, { cause });

    log.error({ err }, 'Sync failed');
    log.error(err);

    const text = lines.join('\n');
    expect(text).not.toContain('hunter2');
    const [first, second] = records();
    expect(first?.err).toMatchObject({ type: 'SourceError', code: 'CRONSYNC_SOURCE_NETWORK', message: 'Fetch of https://git.example.com/r.git failed' });
    expect(second?.msg).toBe('Fetch of https://git.example.com/r.git failed');
  });

  it('sanitizes bindings of nested children and keeps both levels', () => {
    const { log, records } = logger();

    log.child({ source: 'https://a:hunter2@h/r' }).child({ jobId: 'acme/x', token: 'hunter2' }).warn({}, 'Nested');

    expect(records()[0]).toMatchObject({ source: 'https://h/r', jobId: 'acme/x', token: REDACTED, msg: 'Nested' });
  });

  it('does not loop on cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;

    expect(sanitizeForLog(a)).toEqual({ name: 'a', self: '[Circular]' });
  });

  it.each([
    ['info', 'info'],
    [' DEBUG ', 'debug'],
    ['silent', 'silent'],
  ])('parses log level %j', (input, want) => {
    expect(parseLogLevel(input)).toBe(want);
  });

  it('rejects an unknown log level with a UsageError', () => {
    expect(() => parseLogLevel('verbose')).toThrow(UsageError);
  });

  it.each`
    option       | custom   | tty      | want
    ${undefined} | ${false} | ${true}  | ${true}
    ${undefined} | ${false} | ${false} | ${false}
    ${undefined} | ${true}  | ${true}  | ${false}
    ${true}      | ${true}  | ${false} | ${true}
    ${false}     | ${false} | ${true}  | ${false}
  `('pretty=$want when option=$option custom=$custom tty=$tty', ({ option, custom, tty, want }) => {
    expect(resolvePretty(option, custom, tty)).toBe(want);
  });

  it('pretty output is human text, still redacted', () => {
    const s = sink();
    const log = createLogger({ level: 'info', destination: s.stream, pretty: true });

    log.info({ token: 'hunter2', url: 'https://u:hunter2@h/r' }, 'Hello');

    const text = s.lines.join('\n');
    expect(text).toContain('Hello');
    expect(text).toContain('INFO');
    expect(text).not.toContain('hunter2');
    expect(() => JSON.parse(s.lines[0] ?? '')).toThrow();
  });

  it('classifies sensitive keys', () => {
    expect([isSensitiveKey('Authorization'), isSensitiveKey('client_secret'), isSensitiveKey('passwordFile'), isSensitiveKey('jobId')]).toEqual([true, true, false, false]);
  });

  it('a pino logger and nullLogger satisfy the Logger port', () => {
    const ports: Logger[] = [logger().log, nullLogger, nullLogger.child({ a: 1 })];

    for (const p of ports) p.info({ a: 1 }, 'x');

    expect(ports).toHaveLength(3);
  });

  it('redacts header values in raw header lists and pairs, and credentials after an auth scheme anywhere', () => {
    const inner = Object.assign(new Error('request failed'), {
      rawHeaders: ['Authorization', 'Basic Ym9iOmh1bnRlcjI=', 'Cookie', 'sid=s3cr3t', 'Accept', 'text/plain'],
      pairs: [['x-gitlab-token', 'glpat-abcdef123456']],
      options: { auth: 'bob:hunter2', headers: new Headers({ authorization: 'Bearer tok-headers-1', accept: 'x' }) },
      text: 'sent "Authorization: Bearer eyJhbGciOi.abc.def" to the server',
    });
    const err = new AggregateError([new Error('at https://u:pw@h/')], 'several', { cause: inner });

    const out = JSON.stringify(sanitizeForLog({ err, m: new Map([['token', 'map-token-value']]) }));

    for (const secret of ['Ym9iOmh1bnRlcjI=', 's3cr3t', 'glpat-abcdef123456', 'hunter2', 'tok-headers-1', 'eyJhbGciOi', 'map-token-value', ':pw@']) expect(out).not.toContain(secret);
    expect(out).toContain('"Accept","text/plain"');
    expect(out).toContain('"accept":"x"');
    expect(out).toContain('https://h/');
  });

  it('keeps prose that merely mentions an auth scheme, and still redacts real token values', () => {
    const prose = ['Token expired for job', 'basic authentication required', 'invalid token received', 'Bearer token missing'];

    const out = sanitizeForLog({ prose, header: 'Authorization: token ghp_abc123def456', bearer: 'bearer-less Bearer abcdef' }) as { prose: string[]; header: string; bearer: string };

    expect(out.prose).toEqual(prose);
    expect(out.header).toBe(`Authorization: token ${REDACTED}`);
    expect(out.bearer).toBe(`bearer-less Bearer ${REDACTED}`);
  });

  it('strips the whole userinfo of a URL whose password holds an @ (WHATWG URLs allow it)', () => {
    const out = sanitizeForLog({ url: 'https://bob:p@ss@git.example.com/ops/jobs.git', msg: 'clone of https://bob:a@b@c@git.example.com/x failed' });

    expect(out).toEqual({ url: 'https://git.example.com/ops/jobs.git', msg: 'clone of https://git.example.com/x failed' });
  });
});


describe('log: an embedded run\'s logger', () => {
  it('names the job once on every line, whether or not the run\'s own fields name it', async () => {
    const { jobLogger } = await import('../../src/cli/commands/daemon-run.js');
    const { log, lines, records } = logger();
    const run = jobLogger(log, 'acme/backup');

    run.warn({ jobId: 'acme/backup', runId: 'r1' }, 'Check-in spooled for later delivery');
    run.info({ attempt: 2 }, 'Run failed, retrying');

    expect(lines.map((l) => l.match(/"jobId"/g)?.length)).toEqual([1, 1]);
    expect(records().map((r) => [r.jobId, r.msg])).toEqual([['acme/backup', 'Check-in spooled for later delivery'], ['acme/backup', 'Run failed, retrying']]);
  });
});
