/**
 * Once-per-instant markers of scheduled runs (src/state/fired.ts): exactly one claim per job
 * and minute, also for processes racing on the same minute; bounded by day-directory pruning.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { STALE_CLAIM_MS, claimFireInstant, firedDir, firedMarkerPath, isStaleClaim, pruneFiredMarkers, removeFiredMarkers } from '../../src/state/fired.js';
import { hostMonotonicMs } from '../../src/system/clock.js';
import { deleteLastRun, lastRunPath, writeLastRun } from '../../src/state/runs.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cronsync-fired-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const at = (iso: string): Date => new Date(iso);

describe('state/fired: claims', () => {
  it('claims a minute once per job: seconds ignored, other minutes and jobs independent', () => {
    const dir = tempDir();

    const first = claimFireInstant(dir, 'acme/job', at('2026-11-23T10:00:00Z'));
    const again = claimFireInstant(dir, 'acme/job', at('2026-11-23T10:00:41.500Z'));
    const next = claimFireInstant(dir, 'acme/job', at('2026-11-23T10:01:00Z'));
    const other = claimFireInstant(dir, 'acme/other', at('2026-11-23T10:00:00Z'));

    expect([first.claimed, again.claimed, next.claimed, other.claimed]).toEqual([true, false, true, true]);
    expect(again.path).toBe(first.path);
    expect(first.path).toBe(join(dir, 'runs', 'acme', 'job', 'fired', '2026-11-23', '1000'));
    expect(firedMarkerPath(dir, 'acme/job', at('2026-11-23T23:59:59.999Z'))).toBe(join(firedDir(dir, 'acme/job'), '2026-11-23', '2359'));
  });

  it('creates the marker 0600 in 0700 directories, beside the last-run record', async () => {
    const dir = tempDir();
    await writeLastRun(dir, 'acme/job', { runId: 'r', startedAt: '2026-11-23T10:00:00.000Z', finishedAt: '2026-11-23T10:00:01.000Z', status: 'success', exitCode: 0, durationMs: 1000, attempts: 1 });

    const { path } = claimFireInstant(dir, 'acme/job', at('2026-11-23T10:00:00Z'));

    expect(statSync(path).mode & 0o777).toBe(0o600);
    for (const d of [join(dir, 'runs', 'acme', 'job'), firedDir(dir, 'acme/job'), join(firedDir(dir, 'acme/job'), '2026-11-23')]) {
      expect(statSync(d).mode & 0o777).toBe(0o700);
    }
    expect(existsSync(lastRunPath(dir, 'acme/job'))).toBe(true);
  });

  it('throws an IoError when the marker cannot be created, and a UsageError for a bad id', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'runs', 'acme'), { recursive: true });
    writeFileSync(join(dir, 'runs', 'acme', 'job'), 'not a directory');

    expect(() => claimFireInstant(dir, 'acme/job', at('2026-11-23T10:00:00Z'))).toThrow(expect.objectContaining({ code: 'CRONSYNC_IO' }));
    expect(() => claimFireInstant(dir, '../etc/x', at('2026-11-23T10:00:00Z'))).toThrow(expect.objectContaining({ code: 'CRONSYNC_USAGE' }));
    expect(() => claimFireInstant(dir, 'acme/ok', new Date(Number.NaN))).toThrow(expect.objectContaining({ code: 'CRONSYNC_IO' }));
  });

  // Node 20's recursive mkdir never returns under /proc/1: a regression fails on the timeout.
  it.skipIf(!existsSync('/proc/1'))('fails at once with an IoError when the day directory cannot be created', { timeout: 10_000 }, () => {
    expect(() => claimFireInstant('/proc/1/nope', 'acme/job', at('2026-11-23T10:00:00Z'))).toThrow(/Cannot create directory \/proc\/1\/nope\/runs\/acme\/job\/fired\/2026-11-23 \(at \/proc\/1\/nope\)/);
  });

  it('removing a job removes its markers with its last-run record', async () => {
    const dir = tempDir();
    await writeLastRun(dir, 'acme/job', { runId: 'r', startedAt: '2026-11-23T10:00:00.000Z', finishedAt: '2026-11-23T10:00:01.000Z', status: 'success', exitCode: 0, durationMs: 1000, attempts: 1 });
    claimFireInstant(dir, 'acme/job', at('2026-11-23T10:00:00Z'));
    claimFireInstant(dir, 'acme/keep', at('2026-11-23T10:00:00Z'));

    expect(await deleteLastRun(dir, 'acme/job')).toBe(true);

    expect(existsSync(join(dir, 'runs', 'acme', 'job'))).toBe(false);
    expect(existsSync(lastRunPath(dir, 'acme/job'))).toBe(false);
    expect(existsSync(firedDir(dir, 'acme/keep'))).toBe(true);
    expect(removeFiredMarkers(dir, 'acme/job')).toBe(false);
    expect(await deleteLastRun(dir, 'acme/never')).toBe(false);
  });
});

const DAY = 86_400_000;

describe('state/fired: a minute claimed under a clock set ahead', () => {
  const minute = at('2026-11-23T10:05:00Z');

  it('the marker holds the host monotonic clock of its claim, by default now', () => {
    const dir = tempDir();
    const given = claimFireInstant(dir, 'acme/given', minute, () => 5_000.7);
    const before = hostMonotonicMs();
    const byDefault = claimFireInstant(dir, 'acme/default', minute);
    const after = hostMonotonicMs();

    expect(readFileSync(given.path, 'utf8')).toBe('5000\n');
    const recorded = Number(readFileSync(byDefault.path, 'utf8'));
    expect(recorded).toBeGreaterThanOrEqual(before);
    expect(recorded).toBeLessThanOrEqual(after);
    // The host's clock, not this process's (performance.now starts near 0 with each process).
    expect(Math.abs(recorded - Number(process.hrtime.bigint() / 1_000_000n))).toBeLessThan(60_000);
  });

  it('up to a day later by the monotonic clock the minute stays claimed; later, its next slot is claimed, once', () => {
    const dir = tempDir();
    const early = claimFireInstant(dir, 'acme/job', minute, () => 1_000);
    const dayLater = claimFireInstant(dir, 'acme/job', minute, () => 1_000 + STALE_CLAIM_MS);
    const come = claimFireInstant(dir, 'acme/job', minute, () => 1_000 + STALE_CLAIM_MS + 1);
    const duplicate = claimFireInstant(dir, 'acme/job', minute, () => 1_000 + STALE_CLAIM_MS + 60_000);

    expect(STALE_CLAIM_MS).toBe(DAY);
    expect([early.claimed, dayLater.claimed, come.claimed, duplicate.claimed]).toEqual([true, false, true, false]);
    expect(come.path).toBe(`${early.path}.1`);
    expect(duplicate.path).toBe(come.path);
    expect(readFileSync(come.path, 'utf8')).toBe(`${1_000 + DAY + 1}\n`);
  });

  it('a claim of an earlier boot (a higher monotonic time) is stale only once this boot is more than a day old', () => {
    const dir = tempDir();
    claimFireInstant(dir, 'acme/job', minute, () => 5 * DAY);

    expect(claimFireInstant(dir, 'acme/job', minute, () => 2 * 3_600_000).claimed).toBe(false);
    expect(claimFireInstant(dir, 'acme/job', minute, () => DAY).claimed).toBe(false);
    expect(claimFireInstant(dir, 'acme/job', minute, () => DAY + 1).claimed).toBe(true);
  });

  it('an empty, unreadable or malformed marker keeps its minute claimed (older versions wrote empty ones)', () => {
    const dir = tempDir();
    const path = (name: string): string => firedMarkerPath(dir, `acme/${name}`, minute);
    const cases: Record<string, string | null> = { empty: '', word: 'early\n', suffix: '12abc\n', negative: '-5\n', long: '12345678901234567\n', dir: null };
    for (const [name, text] of Object.entries(cases)) {
      mkdirSync(text === null ? path(name) : dirname(path(name)), { recursive: true });
      if (text !== null) writeFileSync(path(name), text);
    }

    const claims = Object.keys(cases).map((name) => [name, claimFireInstant(dir, `acme/${name}`, minute, () => 30 * DAY).claimed]);

    expect(Object.fromEntries(claims)).toEqual(Object.fromEntries(Object.keys(cases).map((n) => [n, false])));
  });

  it('a minute has at most nine slots: past them a start skips', () => {
    const dir = tempDir();
    let mono = 2 * DAY;
    const claims: boolean[] = [];
    for (let i = 0; i < 10; i++, mono += 2 * DAY) claims.push(claimFireInstant(dir, 'acme/job', minute, () => mono).claimed);

    expect(claims).toEqual([...Array<boolean>(9).fill(true), false]);
    expect(readdirSync(dirname(firedMarkerPath(dir, 'acme/job', minute))).sort()).toEqual(['1005', ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => `1005.${n}`)]);
  });

  it('the clock is read after a marker already there: a rival claiming between our start and our read is not stale', () => {
    const dir = tempDir();
    const marker = firedMarkerPath(dir, 'acme/job', minute);
    // The host has been up 3 days. A rival start claims the minute right after our start, at a
    // later reading of the clock than ours would have been if taken at our start.
    let rival: boolean | undefined;
    const clock = (): number => {
      if (rival === undefined) {
        mkdirSync(dirname(marker), { recursive: true });
        try {
          writeFileSync(marker, `${3 * DAY}\n`, { flag: 'wx' });
          rival = true;
        } catch {
          rival = false;
        }
        return 3 * DAY - 5;
      }
      return 3 * DAY + 5;
    };

    const ours = claimFireInstant(dir, 'acme/job', minute, clock);

    // Exactly one of the two holds the minute.
    expect([ours.claimed, rival]).toContain(true);
    expect(Number(ours.claimed) + Number(rival === true)).toBe(1);
  });

  it('isStaleClaim', () => {
    expect(isStaleClaim('100\n', 100 + DAY + 1)).toBe(true);
    // Cut short (no final newline): a write that did not finish.
    expect(isStaleClaim('100', 100 + DAY + 1)).toBe(false);
    expect(isStaleClaim('100\n', 100 + DAY)).toBe(false);
    expect(isStaleClaim(`${10 * DAY}\n`, DAY + 1)).toBe(true);
    expect(isStaleClaim(`${10 * DAY}\n`, DAY)).toBe(false);
    expect(isStaleClaim('', 10 * DAY)).toBe(false);
    expect(isStaleClaim(' 100\n', 10 * DAY)).toBe(false);
    expect(isStaleClaim('100\n', Number.NaN)).toBe(false);
  });
});

describe('state/fired: pruning', () => {
  const days = ['2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22', '2026-11-24', '2026-11-25', '2026-11-30'];

  function seeded(): { dir: string; fired: string } {
    const dir = tempDir();
    const fired = firedDir(dir, 'acme/job');
    for (const d of days) {
      mkdirSync(join(fired, d), { recursive: true });
      writeFileSync(join(fired, d, '0200'), '');
    }
    mkdirSync(join(fired, 'not-a-day'));
    return { dir, fired };
  }

  it('the first claim of a day removes days before yesterday and more than a day ahead', () => {
    const { dir, fired } = seeded();

    expect(claimFireInstant(dir, 'acme/job', at('2026-11-23T00:05:00Z')).claimed).toBe(true);

    expect(readdirSync(fired).sort()).toEqual(['2026-11-22', '2026-11-23', '2026-11-24', 'not-a-day']);
    // Kept days still refuse their minutes; a pruned day's can be claimed again.
    expect(claimFireInstant(dir, 'acme/job', at('2026-11-22T02:00:00Z')).claimed).toBe(false);
    expect(claimFireInstant(dir, 'acme/job', at('2026-11-24T02:00:00Z')).claimed).toBe(false);
    expect(claimFireInstant(dir, 'acme/job', at('2026-11-21T02:00:00Z')).claimed).toBe(true);
  });

  it('later claims of the same day do not list the directory again', () => {
    const dir = tempDir();
    claimFireInstant(dir, 'acme/job', at('2026-11-23T00:05:00Z'));
    const stale = join(firedDir(dir, 'acme/job'), '2026-11-01');
    mkdirSync(stale);

    claimFireInstant(dir, 'acme/job', at('2026-11-23T00:06:00Z'));
    expect(existsSync(stale)).toBe(true);
    claimFireInstant(dir, 'acme/job', at('2026-11-24T00:00:00Z'));
    expect(existsSync(stale)).toBe(false);
  });

  it('pruneFiredMarkers is quiet about a missing directory and counts what it removed', () => {
    const { fired } = seeded();
    expect(pruneFiredMarkers(join(fired, 'missing'), Date.parse('2026-11-23T00:00:00Z'))).toBe(0);
    expect(pruneFiredMarkers(fired, Date.parse('2026-11-23T00:00:00Z'))).toBe(5);
    expect(pruneFiredMarkers(fired, Date.parse('2026-11-23T00:00:00Z'))).toBe(0);
  });
});

describe('state/fired: processes racing for the same minute', () => {
  let work: string;
  let script: string;
  const root = fileURLToPath(new URL('../..', import.meta.url));

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'cronsync-fired-race-'));
    script = join(work, 'claim.mjs');
    // Each child reports "ready", waits for the go file, claims, and prints the outcome.
    buildSync({
      stdin: {
        contents: `import { existsSync } from 'node:fs';
import { claimFireInstant } from './src/state/fired.ts';
const [dir, go, ...instants] = process.argv.slice(2);
process.stdout.write('ready\\n');
while (!existsSync(go)) await new Promise((r) => setTimeout(r, 1));
const mono = process.env.MONO === undefined ? undefined : Number(process.env.MONO);
const out = instants.map((i) => (claimFireInstant(dir, 'acme/job', new Date(i), mono === undefined ? undefined : () => mono).claimed ? 'claimed' : 'taken'));
process.stdout.write(out.join(' ') + '\\n');
`,
        resolveDir: root, loader: 'ts',
      },
      bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: script, logLevel: 'error',
    });
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function race(dir: string, n: number, instants: string[], mono?: number, prefix: string[] = []): Promise<string[][]> {
    const go = join(dir, `go-${Math.random().toString(36).slice(2)}`);
    const children = Array.from({ length: n }, () => {
      const env = mono === undefined ? process.env : { ...process.env, MONO: String(mono) };
      const argv = [...prefix, process.execPath, script, dir, go, ...instants];
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env });
      let out = '';
      const ready = new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('ready\n')) resolve();
      }));
      const done = new Promise<string[]>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(out.replace('ready\n', '').trim().split(' ')) : reject(new Error(`child exited ${code}`))));
      });
      return { ready, done };
    });
    await Promise.all(children.map((c) => c.ready));
    writeFileSync(go, '');
    return Promise.all(children.map((c) => c.done));
  }

  it('exactly one of 8 processes claims each minute, whether the day directory exists or not', async () => {
    const dir = tempDir();
    // Round 1: no directory yet (every child creates it); round 2: the day exists; one child
    // of round 2 also claims a minute of a new day while the others do not.
    const round1 = await race(dir, 8, ['2026-11-23T10:00:00Z', '2026-11-23T10:00:30Z', '2026-11-23T10:01:00Z']);
    const round2 = await race(dir, 8, ['2026-11-23T10:02:00Z', '2026-11-23T10:00:00Z', '2026-11-24T00:00:00Z']);

    const winners = (rounds: string[][], i: number): number => rounds.filter((r) => r[i] === 'claimed').length;
    expect(round1).toHaveLength(8);
    expect([winners(round1, 0), winners(round1, 1), winners(round1, 2)]).toEqual([1, 0, 1]);
    expect([winners(round2, 0), winners(round2, 1), winners(round2, 2)]).toEqual([1, 0, 1]);
    expect(readdirSync(join(firedDir(dir, 'acme/job'), '2026-11-23')).sort()).toEqual(['1000', '1001', '1002']);
  }, 60_000);

  // A Linux time namespace whose monotonic clock is two days ahead: a host up for two days
  // (CI machines are fresh). Needs unshare(1) and the right to create one (root here).
  const UP_TWO_DAYS = ['unshare', '-T', '--monotonic', String(2 * 86_400)];
  const canUnshare = process.platform === 'linux' && spawnSync(UP_TWO_DAYS[0]!, [...UP_TWO_DAYS.slice(1), 'true'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!canUnshare)('on a host up for more than a day, still exactly one of 8 processes claims each minute', async () => {
    const dir = tempDir();
    const minutes = ['2026-11-23T23:58:00Z', '2026-11-23T23:59:00Z', '2026-11-24T00:00:00Z', '2026-11-24T00:01:00Z'];

    const rounds = [await race(dir, 8, minutes, undefined, UP_TWO_DAYS), await race(dir, 8, minutes, undefined, UP_TWO_DAYS)];

    // Each minute once in the first round; none again in the second (same minutes, all claimed).
    expect(minutes.map((_, i) => rounds[0]!.filter((r) => r[i] === 'claimed').length)).toEqual([1, 1, 1, 1]);
    expect(rounds[1]!.flat().filter((r) => r !== 'taken')).toEqual([]);
    expect(readdirSync(join(firedDir(dir, 'acme/job'), '2026-11-24')).sort()).toEqual(['0000', '0001']);
    // Their claims hold the namespace's clock, two days up.
    expect(Number(readFileSync(join(firedDir(dir, 'acme/job'), '2026-11-24', '0000'), 'utf8'))).toBeGreaterThan(2 * DAY);
  }, 60_000);

  it('exactly one of 8 processes claims a minute whose marker is stale, on its next slot', async () => {
    const dir = tempDir();
    const stale = firedMarkerPath(dir, 'acme/job', at('2026-11-23T10:00:00Z'));
    mkdirSync(dirname(stale), { recursive: true });
    writeFileSync(stale, '1000\n');

    const round = await race(dir, 8, ['2026-11-23T10:00:00Z'], 1_000 + 2 * DAY);

    expect(round.filter((r) => r[0] === 'claimed')).toHaveLength(1);
    expect(readdirSync(dirname(stale)).sort()).toEqual(['1000', '1000.1']);
    expect(readFileSync(`${stale}.1`, 'utf8')).toBe(`${1_000 + 2 * DAY}\n`);
  }, 60_000);
});
