/**
 * `cronsync exec` in-process (runExec) with real child processes: exit codes, output, timeouts,
 * signals, retries (injected clock), concurrency, guards, steps, secrets.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../../src/manifest/types.js';
import { MASK } from '../../src/shim/mask.js';
import { runExec } from '../../src/shim/run.js';
import type { ExecOptions } from '../../src/shim/run.js';
import { readLastRun } from '../../src/state/runs.js';
import type { SnapshotRuntime } from '../../src/state/snapshots.js';
import { nodeRunner } from '../../src/system/runner.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { FakeHttp } from '../fakes/FakeHttp.js';
import { install, makeJob, memoryLog, nodeScript, tempStateDir } from '../shim/fixtures.js';

const made: string[] = [];
/** A temporary state dir, removed after the test. */
function tmp(): string {
  const d = tempStateDir();
  made.push(d);
  return d;
}
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Alive and not a zombie (containers without a reaping init keep zombies around). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
  } catch {
    return false;
  }
}

class Sink {
  chunks: Buffer[] = [];
  write(c: Uint8Array | string): boolean {
    this.chunks.push(Buffer.from(c));
    return true;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

interface Harness {
  dir: string;
  http: FakeHttp;
  clock: FakeClock;
  log: ReturnType<typeof memoryLog>;
  stdout: Sink;
  stderr: Sink;
  run(jobId: string, extra?: Partial<ExecOptions>): Promise<number>;
  checkins(): Array<Record<string, unknown>>;
}

function harness(dir = tmp()): Harness {
  const h: Harness = {
    dir, http: new FakeHttp(), clock: new FakeClock(Date.UTC(2026, 10, 23, 10, 0, 3)), log: memoryLog(), stdout: new Sink(), stderr: new Sink(),
    run: (jobId, extra = {}) => runExec({
      jobId, stateDir: dir, clock: h.clock, http: h.http, log: h.log, env: { PATH: process.env.PATH, CHECKIN_SECRET: 'tok-123' },
      stdout: h.stdout, stderr: h.stderr, runner: nodeRunner, random: () => 0.5, killGraceMs: 300, uuid: () => `00000000-0000-4000-8000-${String(Math.random()).slice(2, 14).padEnd(12, '0')}`,
      ...extra,
    }),
    checkins: () => h.http.bodies(),
  };
  return h;
}

async function setup(spec: Partial<Job['spec']>, runtime: Partial<SnapshotRuntime> = {}): Promise<Harness & { id: string }> {
  const h = harness();
  const id = await install(h.dir, makeJob('job', spec), runtime);
  return { ...h, id };
}

describe('e2e/shim exec', () => {
  it.each([0, 1, 2, 255])('passes exit code %i through and reports it', async (code) => {
    const h = await setup({ command: `exit ${code}` });

    const rc = await h.run(h.id);

    expect(rc).toBe(code);
    expect(h.checkins()).toEqual([expect.objectContaining({ status: code === 0 ? 'success' : 'failure', exit_code: code, attempts: 1, job_name: 'job', tenant: 'acme', agent_id: 'host-1', commit: 'a'.repeat(40) })]);
    expect(h.http.requests[0]?.headers).toMatchObject({ authorization: 'Bearer tok-123', 'idempotency-key': h.checkins()[0]?.run_id });
    expect(await readLastRun(h.dir, h.id)).toMatchObject({ status: code === 0 ? 'success' : 'failure', exitCode: code, attempts: 1 });
  });

  it.each([
    [200, 'delivered'],
    [400, 'rejected'],
    [503, 'spooled'],
  ] as const)('tells onCheckin what became of the final check-in (HTTP %i: %s)', async (status, outcome) => {
    const h = await setup({ command: 'true' });
    h.http = new FakeHttp([], status);
    const seen: string[] = [];

    expect(await h.run(h.id, { http: h.http, checkinBudgetMs: 1, onCheckin: (o) => seen.push(o) })).toBe(0);
    expect(seen).toEqual([outcome]);
  });

  it('reports 137 for a child killed by SIGKILL', async () => {
    const h = await setup({ command: nodeScript(tmp(), 'k', "process.kill(process.pid, 'SIGKILL')") });

    expect(await h.run(h.id)).toBe(137);
    expect(h.checkins()[0]).toMatchObject({ status: 'failure', exit_code: 137 });
  });

  it('streams >1 MB unchanged and checks in only a safe 10,000-character tail', async () => {
    const script = "const s = 'é😀x'.repeat(150000); process.stdout.write(s); process.stderr.write('bad thing\\n'); process.stdout.write('END'); process.exitCode = 3";
    const h = await setup({ command: nodeScript(tmp(), 'big', script) });

    await h.run(h.id);

    const out = h.stdout.text();
    expect(Buffer.byteLength(out)).toBe(150000 * 7 + 3);
    const c = h.checkins()[0] as { output: string; error_message: string };
    expect(c.output.length).toBeLessThanOrEqual(10_000);
    expect(c.output).toMatch(/^\[cronsync: output truncated, 1050013 bytes/);
    expect(c.output.replace('bad thing\n', '').endsWith('é😀xEND')).toBe(true);
    expect(c.output).not.toContain('\uFFFD');
    expect(c.error_message).toBe('bad thing\nexit code 3');
  });

  it('sends the last 500 characters of stderr and the reason as error_message, with no truncation notice in them', async () => {
    const h = await setup({ command: 'i=0; while [ $i -lt 60 ]; do printf "stderr line %03d\\n" $i >&2; i=$((i+1)); done; exit 2' });

    expect(await h.run(h.id)).toBe(2);

    const lines = Array.from({ length: 60 }, (_, i) => `stderr line ${String(i).padStart(3, '0')}`).join('\n');
    const c = h.checkins()[0] as { error_message: string };
    expect(c.error_message).toBe(`${lines}\nexit code 2`.slice(-500));
  });

  it('passes args without re-parsing, merges env (secrets file), sets workingDir', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'secrets.env'), 'DB_PASS=pw from file\n', { mode: 0o600 });
    const h = await setup({ command: 'printf "%s|" "$(pwd)" "$DB_PASS" "$CRONSYNC_JOB"', args: ['a b', '$HOME', "it's;rm -rf /"], env: { DB_PASS: '${DB_PASS}' }, workingDir: dir }, { secretsFile: join(dir, 'secrets.env') });

    expect(await h.run(h.id)).toBe(0);
    // The resolved value reached the command (else empty) and was masked in its output.
    expect(h.stdout.text()).toBe(`${dir}|${MASK}|acme/job|a b|$HOME|it's;rm -rf /|`);
  });

  it('masks resolved ${VAR} values in what the job prints: its stdout and stderr, the check-in output and error_message, also when a write cuts one', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'secrets.env'), 'API_TOKEN=tk-9f8e7d6c5b\n', { mode: 0o600 });
    const h = await setup({
      command: 'printf "token=tk-9f8e"; sleep 0.2; printf "7d6c5b and tk-9f8e7d6c5\\n"; echo "denied for tk-9f8e7d6c5b" >&2; exit 3',
      env: { TOKEN: '${API_TOKEN}' },
    }, { secretsFile: join(dir, 'secrets.env') });

    expect(await h.run(h.id)).toBe(3);
    expect(h.stdout.text()).toBe(`token=${MASK} and tk-9f8e7d6c5\n`);
    expect(h.stderr.text()).toContain(`denied for ${MASK}\n`);
    const c = h.checkins()[0] as { output: string; error_message: string };
    expect(c.output).toContain(`token=${MASK} and tk-9f8e7d6c5\n`);
    expect(c.error_message).toBe(`denied for ${MASK}\nexit code 3`);
    expect(JSON.stringify(h.checkins())).not.toContain('tk-9f8e7d6c5b');
  });

  it('refuses an unsafe secrets file with exit 77, without running', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'secrets.env'), 'CHECKIN_SECRET=x\n', { mode: 0o644 });
    const marker = join(dir, 'ran');
    const h = await setup({ command: `touch '${marker}'` }, { secretsFile: join(dir, 'secrets.env') });

    const rc = await h.run(h.id, { env: { PATH: process.env.PATH } });

    expect(rc).toBe(77);
    expect(h.stderr.text()).toContain('Refusing secrets file');
    expect(existsSync(marker)).toBe(false);
    expect(await readLastRun(h.dir, h.id)).toMatchObject({ status: 'failure', exitCode: 77 });
  });

  it('exits 78 with a clear message when the job is not installed, 64 for a bad id', async () => {
    const h = harness();

    expect(await h.run('acme/nope')).toBe(78);
    expect(h.stderr.text()).toContain('job acme/nope is not installed');
    expect(await h.run('../etc')).toBe(64);
  });

  it('timeout kills the whole tree, grandchildren included, and reports 124', async () => {
    const dir = tmp();
    const pidFile = join(dir, 'gc.pid');
    const h = await setup({ command: `sleep 30 & echo $! > '${pidFile}'; wait`, timeout: '1s' });

    const rc = await h.run(h.id);

    expect(rc).toBe(124);
    const gc = Number(readFileSync(pidFile, 'utf8'));
    expect(running(gc)).toBe(false);
    expect(h.checkins()[0]).toMatchObject({ status: 'timeout', exit_code: 124, error_message: 'timed out after 1.0s' });
  });

  it('when the command exits, stops what it left running in its process group; a process in its own session is left alone', async () => {
    const dir = tmp();
    const bg = join(dir, 'bg.pid');
    const own = join(dir, 'own.pid');
    const h = await setup({ command: `sleep 30 & echo $! > '${bg}'; setsid sleep 30 > /dev/null 2>&1 < /dev/null & echo $! > '${own}'; echo main exits` });

    const rc = await h.run(h.id);

    const left = Number(readFileSync(bg, 'utf8'));
    const session = Number(readFileSync(own, 'utf8'));
    try {
      expect(rc).toBe(0);
      expect(running(left)).toBe(false);
      expect(running(session)).toBe(true);
      expect(h.checkins()[0]).toMatchObject({ status: 'success', exit_code: 0 });
    } finally {
      process.kill(session, 'SIGKILL');
    }
  });

  it('forwards a cancel signal to the child group and reports cancelled (128+signo)', async () => {
    const dir = tmp();
    const marker = join(dir, 'got');
    const script = `process.on('SIGINT', () => { require('fs').writeFileSync(${JSON.stringify(marker)}, 'SIGINT'); process.exit(0) }); console.log('ready'); setInterval(() => {}, 1000)`;
    const h = await setup({ command: nodeScript(dir, 'trap', script) });
    const ac = new AbortController();
    const poll = setInterval(() => h.stdout.text().includes('ready') && ac.abort('SIGINT'), 10);

    const rc = await h.run(h.id, { signal: ac.signal });
    clearInterval(poll);

    expect(rc).toBe(130);
    expect(readFileSync(marker, 'utf8')).toBe('SIGINT');
    expect(h.checkins()[0]).toMatchObject({ status: 'cancelled', exit_code: 130 });
  });

  it.each`
    backoff          | delays
    ${'fixed'}       | ${[10_000, 10_000, 10_000]}
    ${'exponential'} | ${[10_000, 20_000, 25_000]}
  `('retries with $backoff backoff on the injected clock', async ({ backoff, delays }) => {
    const h = await setup({ command: 'echo try; exit 4', retry: { enabled: true, attempts: 3, backoff, delay: '10s', maxDelay: '25s' } });

    const rc = await h.run(h.id);

    expect(rc).toBe(4);
    expect(h.clock.sleeps).toEqual(delays);
    expect(h.checkins()[0]).toMatchObject({ status: 'failure', attempts: 4, duration: 45 + (backoff === 'fixed' ? -15 : 10) });
    expect((h.checkins()[0] as { output: string }).output).toContain('[cronsync] attempt 4 of 4');
  });

  it('stops retrying at the first success', async () => {
    const dir = tmp();
    const n = join(dir, 'n');
    const h = await setup({ command: `echo x >> '${n}'; test $(wc -l < '${n}') -ge 3`, retry: { enabled: true, attempts: 5, backoff: 'fixed', delay: '1s', maxDelay: '1s' } });

    expect(await h.run(h.id)).toBe(0);
    expect(h.checkins()[0]).toMatchObject({ status: 'success', attempts: 3 });
  });

  it('Forbid skips an overlapping run, records it, and does not check in', async () => {
    const dir = tmp();
    const go = join(dir, 'go');
    const h = await setup({ command: `echo started; while [ ! -e '${go}' ]; do sleep 0.02; done` });
    const first = h.run(h.id);
    while (!h.stdout.text().includes('started')) await new Promise((r) => setTimeout(r, 10));

    const second = await h.run(h.id);
    const skipped = await readLastRun(h.dir, h.id);
    writeFileSync(go, '');
    const firstRc = await first;

    expect(second).toBe(0);
    expect(skipped).toMatchObject({ status: 'skipped', exitCode: null, attempts: 0 });
    expect(firstRc).toBe(0);
    expect(h.checkins()).toHaveLength(1);
    expect(h.log.lines.map((l) => l.msg)).toContain('Previous run still going; this run is skipped');
    expect(await readLastRun(h.dir, h.id)).toMatchObject({ status: 'success' });
  });

  it('Replace cancels the running instance, then runs', async () => {
    const h = await setup({ command: 'if [ "$MODE" = long ]; then echo started; sleep 30; else echo second; fi', concurrency: 'Replace' });
    const first = h.run(h.id, { env: { PATH: process.env.PATH, CHECKIN_SECRET: 't', MODE: 'long' } });
    while (!h.stdout.text().includes('started')) await new Promise((r) => setTimeout(r, 10));

    const second = await h.run(h.id, { clock: { now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) } });

    expect(await first).toBe(143);
    expect(second).toBe(0);
    expect(h.checkins().map((c) => c.status).sort()).toEqual(['cancelled', 'success']);
  });

  it('an in-process run (the daemon\'s) says so in its run lock, so that Replace by hand never signals the daemon', async () => {
    const h = await setup({ command: 'cat "$LOCK"', concurrency: 'Forbid' });
    const [tenant, name] = h.id.split('/');
    const env = { PATH: process.env.PATH, CHECKIN_SECRET: 't', LOCK: join(h.dir, 'locks', tenant!, `${name!}.lock`) };

    await h.run(h.id, { env, inProcess: true });
    const inProcess = JSON.parse(h.stdout.text()) as Record<string, unknown>;
    h.stdout.chunks = [];
    await h.run(h.id, { env });
    const shim = JSON.parse(h.stdout.text()) as Record<string, unknown>;

    expect(inProcess).toMatchObject({ pid: process.pid, inProcess: true });
    expect(shim).toMatchObject({ pid: process.pid });
    expect(shim).not.toHaveProperty('inProcess');
  });

  it('a scheduled run of a paused job exits 0 silently; a manual one runs with a warning', async () => {
    const dir = tmp();
    const marker = join(dir, 'ran');
    const h = await setup({ command: `touch '${marker}'`, paused: true });

    expect(await h.run(h.id, { scheduled: true })).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(h.http.requests).toHaveLength(0);
    expect(await h.run(h.id)).toBe(0);
    expect(existsSync(marker)).toBe(true);
    expect(h.log.lines.find((l) => l.level === 'warn')?.msg).toBe('Job is paused; running it anyway because it was started by hand');
  });

  it('the timezone guard sees the start minute and skips non-fire minutes', async () => {
    const h = await setup({ command: 'echo ran' });
    const seen: string[] = [];

    const skipped = await h.run(h.id, { scheduled: true, isFireTime: (_j, m) => (seen.push(m.toISOString()), false) });
    const ran = await h.run(h.id, { scheduled: true, isFireTime: () => true });
    const manual = await h.run(h.id, { isFireTime: () => false });

    expect([skipped, ran, manual]).toEqual([0, 0, 0]);
    // The start minute, then the ten before it: a start that late still runs its fire.
    expect(seen).toEqual(Array.from({ length: 11 }, (_, i) => new Date(Date.parse('2026-11-23T10:00:00.000Z') - i * 60_000).toISOString()));
    expect(h.stdout.text()).toBe('ran\nran\n');
    expect(h.checkins()).toHaveLength(2);
  });

  describe('once per scheduled minute (SPEC §8)', () => {
    const DUPLICATE = 'Already started for this scheduled minute; duplicate start skipped';

    it('runs the first scheduled start of a minute only; the next minute runs; a manual run always runs', async () => {
      const h = await setup({ command: 'echo "ran $CRONSYNC_RUN_ID"', concurrency: 'Allow' });
      const fire = { scheduled: true, isFireTime: () => true };

      const first = await h.run(h.id, fire);
      const firstRecord = await readLastRun(h.dir, h.id);
      h.clock.advance(40_000); // 10:00:43, still the same minute
      const again = await h.run(h.id, fire);
      const manual = await h.run(h.id);
      h.clock.advance(20_000); // 10:01:03
      const next = await h.run(h.id, fire);

      expect([first, again, manual, next]).toEqual([0, 0, 0, 0]);
      expect(h.stdout.text().split('\n').filter(Boolean)).toHaveLength(3);
      expect(h.checkins()).toHaveLength(3);
      expect(h.log.lines.filter((l) => l.msg === DUPLICATE)).toEqual([
        expect.objectContaining({ level: 'debug', obj: expect.objectContaining({ jobId: h.id, minute: '2026-11-23T10:00:00.000Z' }) }),
      ]);
      expect(firstRecord?.status).toBe('success');
      expect(h.stderr.text()).toBe('');
    });

    it('a duplicate start while the first still runs exits 0 silently, without a skipped record (Forbid)', async () => {
      const go = join(tmp(), 'go');
      const h = await setup({ command: `echo started; while [ ! -e '${go}' ]; do sleep 0.02; done` });
      const first = h.run(h.id, { scheduled: true, env: { PATH: process.env.PATH, CHECKIN_SECRET: 't' } });
      while (!h.stdout.text().includes('started')) await new Promise((r) => setTimeout(r, 10));

      const second = await h.run(h.id, { scheduled: true });
      const during = await readLastRun(h.dir, h.id);
      writeFileSync(go, '');
      await first;

      expect(second).toBe(0);
      expect(during).toBeNull();
      expect(h.log.lines.filter((l) => l.level === 'warn')).toEqual([]);
      expect(h.log.lines.map((l) => l.msg)).toContain(DUPLICATE);
    });

    it('in-process scheduled runs (the embedded scheduler) racing for a minute run once; scheduledFor names the minute', async () => {
      const h = await setup({ command: 'echo ran', concurrency: 'Allow' });

      // As the daemon wires it: scheduled, no isFireTime (its fire loop is the §2a guard).
      const rcs = await Promise.all([h.run(h.id, { scheduled: true }), h.run(h.id, { scheduled: true }), h.run(h.id, { scheduled: true })]);
      h.clock.advance(90_000); // 10:01:33: a late start of the 10:00 fire is still the 10:00 fire
      const late = await h.run(h.id, { scheduled: true, scheduledFor: new Date('2026-11-23T10:00:00Z') });
      const own = await h.run(h.id, { scheduled: true, scheduledFor: new Date('2026-11-23T10:01:00Z') });

      expect([...rcs, late, own]).toEqual([0, 0, 0, 0, 0]);
      expect(h.stdout.text()).toBe('ran\nran\n');
      expect(h.log.lines.filter((l) => l.msg === DUPLICATE).map((l) => l.obj.minute)).toEqual([
        '2026-11-23T10:00:00.000Z', '2026-11-23T10:00:00.000Z', '2026-11-23T10:00:00.000Z',
      ]);
    });

    it('the minute checked by isFireTime is the one claimed, and a non-fire minute claims nothing', async () => {
      const h = await setup({ command: 'echo ran' });
      const seen: string[] = [];

      await h.run(h.id, { scheduled: true, isFireTime: (_j, m) => (seen.push(m.toISOString()), false) });
      const ran = await h.run(h.id, { scheduled: true, isFireTime: () => true });

      expect(seen[0]).toBe('2026-11-23T10:00:00.000Z');
      expect(ran).toBe(0);
      expect(h.stdout.text()).toBe('ran\n');
    });

    // Debian cron runs the lines of a skipped hour when the clock jumps forward, sleeping 10 s
    // after each batch: with several jobs in the gap, a fire right after it starts a minute late.
    it('a start up to ten minutes after a fire time runs that fire once, unless it already ran', async () => {
      const h = await setup({ command: 'echo ran' });
      const fireAt = Date.parse('2026-11-23T10:00:00.000Z');
      const onlyTen = { scheduled: true, isFireTime: (_j: unknown, m: Date) => m.getTime() === fireAt };

      h.clock.advance(61_000); // 10:01:04, the 10:00 line started late
      const late = await h.run(h.id, onlyTen);
      h.clock.advance(60_000); // 10:02:04, another late start of the same line: 10:00 ran
      const again = await h.run(h.id, onlyTen);
      h.clock.advance(9 * 60_000); // 10:11:04: too late for 10:00
      const tooLate = await h.run(h.id, onlyTen);

      expect([late, again, tooLate]).toEqual([0, 0, 0]);
      expect(h.stdout.text()).toBe('ran\n');
      expect(h.log.lines.find((l) => l.level === 'info')?.msg).toBe('Started late for a fire time; it runs now unless it already ran');
      expect(h.log.lines.filter((l) => l.msg === DUPLICATE)).toHaveLength(1);
    });

    it('a state dir that cannot hold the marker does not stop the job: it runs, with a warning', async () => {
      const h = await setup({ command: 'echo ran' });
      mkdirSync(join(h.dir, 'runs', 'acme'), { recursive: true });
      writeFileSync(join(h.dir, 'runs', 'acme', 'job'), 'in the way');

      expect(await h.run(h.id, { scheduled: true })).toBe(0);

      expect(h.stdout.text()).toBe('ran\n');
      expect(h.log.lines.find((l) => l.level === 'warn')?.msg).toBe('Cannot record the scheduled minute; running without the duplicate-start guard');
    });
  });

  /** A step's retry policy that never retries. */
  const NO_RETRY = { enabled: false, attempts: 0, backoff: 'fixed' as const, delay: '1s', maxDelay: '1s' };

  it('runs steps in order with onFailure stop/continue, per-step retry, and a summary in the check-in', async () => {
    const h = await setup({
      command: undefined,
      steps: [
        { name: 'init', run: 'echo init', retry: NO_RETRY, onFailure: 'stop' },
        { name: 'lint', run: 'echo lint >&2; exit 3', retry: { ...NO_RETRY, enabled: true, attempts: 1 }, onFailure: 'continue' },
        { name: 'deploy', run: 'exit 5', retry: NO_RETRY, onFailure: 'stop' },
        { name: 'verify', run: 'echo never', retry: NO_RETRY, onFailure: 'stop' },
      ],
    });

    const rc = await h.run(h.id);

    expect(rc).toBe(5);
    expect(h.stdout.text()).toBe('init\n');
    expect(h.clock.sleeps).toEqual([1000]);
    const c = h.checkins()[0] as { status: string; output: string; error_message: string };
    expect(c.status).toBe('failure');
    expect(c.output).toContain('[cronsync] steps:\n  ok     init (exit 0, 1 attempt');
    expect(c.output).toContain('  failed lint (exit 3, 2 attempts');
    expect(c.output).toContain('  failure deploy (exit 5, 1 attempt');
    expect(c.output).toContain('  skipped verify');
    expect(c.error_message).toContain('step "deploy": exit code 5');
  });

  it('a step failing with onFailure: continue does not fail the job when the other steps succeed', async () => {
    const h = await setup({
      command: undefined,
      steps: [
        { name: 'fmt-check', run: 'exit 3', retry: NO_RETRY, onFailure: 'continue' },
        { name: 'deploy', run: 'echo deployed', retry: NO_RETRY, onFailure: 'stop' },
      ],
    });

    const rc = await h.run(h.id);

    expect(rc).toBe(0);
    expect(h.stdout.text()).toBe('deployed\n');
    const c = h.checkins()[0] as { status: string; output: string; error_message: string | null };
    expect(c.status).toBe('success');
    expect(c.output).toContain('  failed fmt-check (exit 3, 1 attempt');
    expect(c.output).toContain(', continued');
    expect(c.output).toContain('  ok     deploy (exit 0, 1 attempt');
    expect(c.error_message).toBeNull();
  });

  it('sends a running check-in first when checkin.start is set', async () => {
    const h = await setup({ command: 'true' }, { checkin: { url: 'http://127.0.0.1:9/c', protocol: 'crontopus', start: true } });

    await h.run(h.id);

    expect(h.checkins().map((c) => c.status)).toEqual(['running', 'success']);
    expect(h.http.requests[0]?.headers?.['idempotency-key']).toBe(`${h.checkins()[0]?.run_id}-running`);
  });

  it('without a check-in URL, or with checkin disabled, sends nothing', async () => {
    const a = await setup({ command: 'true' }, { checkin: { protocol: 'crontopus', start: false } });
    const b = await setup({ command: 'true', checkin: { enabled: false, timeout: 1 } });

    expect([await a.run(a.id), await b.run(b.id)]).toEqual([0, 0]);
    expect([a.http.requests.length, b.http.requests.length]).toEqual([0, 0]);
  });
});
