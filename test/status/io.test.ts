import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { main } from '../../src/cli/main.js';
import { CronsyncError } from '../../src/errors.js';
import { MAX_STATUS_BYTES, readStatus, serializeStatus, stableRow, writeStatus } from '../../src/status/io.js';
import type { StatusFile, StatusJob } from '../../src/status/types.js';
import { testTempDir } from '../system/tempdir.js';

/** Valid counts (status.v1.schema.json): a status file read back is checked against the schema. */
const COUNTS = { desired: 0, installed: 0, added: 0, updated: 0, removed: 0, unchanged: 0, invalid: 0, conflicts: 0, orphaned: 0 };

function stateWith(text: string): string {
  const dir = testTempDir('cronsync-status-io-');
  writeFileSync(join(dir, 'status.json'), text);
  return dir;
}

function sink(): { write(s: string): boolean; text: string } {
  return { text: '', write(s: string) { this.text += s; return true; } };
}

describe('readStatus', () => {
  it.each([
    ['no fields', '{"schemaVersion":1}'],
    ['jobs not a list', '{"schemaVersion":1,"agent":{},"scheduler":{},"source":{},"lastAttempt":{},"lastSuccess":null,"counts":{},"jobs":null,"problems":[],"checkins":{}}'],
    ['a job that is null', '{"schemaVersion":1,"agent":{},"scheduler":{},"source":{},"lastAttempt":{},"lastSuccess":null,"counts":{},"jobs":[null],"problems":[],"checkins":{}}'],
    ['a job without id', '{"schemaVersion":1,"agent":{},"scheduler":{},"source":{},"lastAttempt":{},"lastSuccess":null,"counts":{},"jobs":[{"schedule":5}],"problems":[],"checkins":{}}'],
  ])('rejects a damaged status file (%s) with a CronsyncError naming the file', async (_what, text) => {
    const dir = stateWith(text);
    const err = await readStatus(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CronsyncError);
    expect((err as Error).message).toContain(join(dir, 'status.json'));
  });

  it('`cronsync status` reports a damaged status file without an internal error', async () => {
    const dir = stateWith('{"schemaVersion":1,"jobs":[null]}');
    const stdout = sink();
    const stderr = sink();
    const code = await main(['status', '--state-dir', dir], { stdout, stderr, env: {}, cwd: dir } as never);
    expect(code).toBe(1);
    expect(stderr.text).toContain('status.json');
    expect(stderr.text).not.toContain('internal error');
  });
});

describe.skipIf(process.platform === 'win32')('readStatus / writeStatus: what is not a status file', () => {
  /** A FIFO at `path`; a reader left blocked on it (the bug) gets its end of file when the test ends. */
  function fifoAt(path: string): void {
    execFileSync('mkfifo', [path]);
    onTestFinished(() => {
      try {
        closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // No reader: nothing blocked.
      }
    });
  }

  it('refuses a FIFO, a directory and a file past the size limit, naming them, without reading them', async () => {
    const fifo = testTempDir('cronsync-status-io-');
    fifoAt(join(fifo, 'status.json'));
    const dir = testTempDir('cronsync-status-io-');
    mkdirSync(join(dir, 'status.json'));
    const big = testTempDir('cronsync-status-io-');
    // Sparse: it claims its size and occupies nothing.
    writeFileSync(join(big, 'status.json'), '{');
    truncateSync(join(big, 'status.json'), MAX_STATUS_BYTES + 1);

    const errors = await Promise.all([fifo, dir, big].map((d) => readStatus(d).catch((err: Error) => err)));

    expect(errors.map((e) => [(e as CronsyncError).code, (e as Error).message])).toEqual([
      ['CRONSYNC_IO', `${join(fifo, 'status.json')} is a FIFO, not a regular file; remove it, and the next sync writes the status file again`],
      ['CRONSYNC_IO', `${join(dir, 'status.json')} is a directory, not a regular file; remove it, and the next sync writes the status file again`],
      ['CRONSYNC_IO', `${join(big, 'status.json')} is ${MAX_STATUS_BYTES + 1} bytes, more than the ${MAX_STATUS_BYTES} a status file can be; remove it, and the next sync writes it again`],
    ]);
  });

  it('replaces a FIFO in the place of the status file without reading it', async () => {
    const dir = testTempDir('cronsync-status-io-');
    fifoAt(join(dir, 'status.json'));
    const status = { schemaVersion: 1, agent: { name: 'h', tenant: 'acme', labels: {}, version: '0' }, scheduler: { kind: 'embedded', reason: 't' }, source: { id: 's', url: 'u', ref: 'main', commit: null, fetchedAt: null }, lastAttempt: { startedAt: 'a', finishedAt: 'a', result: 'ok', error: null }, lastSuccess: null, counts: COUNTS, jobs: [], problems: [], checkins: { spooled: 0, dropped: 0 } } as StatusFile;

    await writeStatus(dir, status);

    expect(readFileSync(join(dir, 'status.json'), 'utf8')).toBe(serializeStatus(status));
  });
});

describe('writeStatus / readStatus (what this process last wrote or read)', () => {
  const status = (attempt: string): StatusFile => ({ schemaVersion: 1, agent: { name: 'h', tenant: 'acme', labels: {}, version: '0' }, scheduler: { kind: 'embedded', reason: 't' }, source: { id: 's', url: 'u', ref: 'main', commit: null, fetchedAt: null }, lastAttempt: { startedAt: attempt, finishedAt: attempt, result: 'ok', error: null }, lastSuccess: null, counts: COUNTS, jobs: [], problems: [], checkins: { spooled: 0, dropped: 0 } }) as unknown as StatusFile;

  it('writes nothing for the same status, and sees a file changed by someone else', async () => {
    const dir = testTempDir('cronsync-status-io-');
    const file = join(dir, 'status.json');
    await writeStatus(dir, status('a'));
    const first = statSync(file, { bigint: true });

    await writeStatus(dir, status('a'));
    const same = statSync(file, { bigint: true });
    expect(same.ino).toBe(first.ino);
    expect(same.mtimeNs).toBe(first.mtimeNs);
    expect((await readStatus(dir))?.lastAttempt.startedAt).toBe('a');

    // Another writer (in place: the same inode).
    writeFileSync(file, serializeStatus(status('bb')));
    expect((await readStatus(dir))?.lastAttempt.startedAt).toBe('bb');
    writeFileSync(file, serializeStatus(status('ccc')));
    await writeStatus(dir, status('a'));
    expect(readFileSync(file, 'utf8')).toBe(serializeStatus(status('a')));
  });
});

describe('writeStatus: the text of one write never shows in another', () => {
  const status = (attempt: string, jobs: number): StatusFile => ({ schemaVersion: 1, agent: { name: 'h', tenant: 'acme', labels: {}, version: '0' }, scheduler: { kind: 'embedded', reason: 't' }, source: { id: 's', url: 'u', ref: 'main', commit: null, fetchedAt: null }, lastAttempt: { startedAt: attempt, finishedAt: attempt, result: 'ok', error: null }, lastSuccess: null, counts: COUNTS, jobs: Array.from({ length: jobs }, (_, i) => Object.freeze({ id: `acme/j${i}`, schedule: '* * * * *', timezone: 'UTC', state: 'installed', nextRun: null, lastRun: null, path: 'p', commit: attempt })), problems: [], checkins: { spooled: 0, dropped: 0 } }) as unknown as StatusFile;

  it('writes each status whole, in turn, growing and shrinking, unchanged ones included, and reads back the last', async () => {
    const dir = testTempDir('cronsync-status-io-');
    const file = join(dir, 'status.json');
    const seen: [string, boolean, string | undefined][] = [];
    // Same sizes in a row too ('b' to 'c', 'e' to 'f'): a text that differs only in its bytes.
    for (const [attempt, jobs] of [['a', 3], ['b', 300], ['b', 300], ['c', 300], ['d', 0], ['e', 301], ['e', 301], ['f', 301], ['g', 5]] as const) {
      const s = status(attempt, jobs);
      await writeStatus(dir, s);
      seen.push([attempt, readFileSync(file, 'utf8') === serializeStatus(s), (await readStatus(dir))?.lastAttempt.startedAt]);
    }
    expect(seen).toEqual(seen.map(([a]) => [a, true, a]));
  });

  it('keeps two writes to the same file at once apart: the file holds one of them whole', async () => {
    const dir = testTempDir('cronsync-status-io-');
    const file = join(dir, 'status.json');
    const sizes = { x: 200, y: 100, z: 150 } as const;
    const texts = (['x', 'y', 'z'] as const).map((a) => serializeStatus(status(a, sizes[a])));
    for (let round = 0; round < 5; round++) {
      await Promise.all((['x', 'y', 'z'] as const).map((a) => writeStatus(dir, status(a, sizes[a]))));
      expect(texts).toContain(readFileSync(file, 'utf8'));
      await writeStatus(dir, status(`w${round}`, 100));
      expect(readFileSync(file, 'utf8')).toBe(serializeStatus(status(`w${round}`, 100)));
    }
  });
});

describe('writeStatus: what is known of the last write', () => {
  const base = { schemaVersion: 1, agent: { name: 'h', tenant: 'acme', labels: {}, version: '0' }, scheduler: { kind: 'embedded', reason: 't' }, source: { id: 's', url: 'u', ref: 'main', commit: null, fetchedAt: null }, lastAttempt: { startedAt: 'a', finishedAt: 'a', result: 'ok', error: null }, lastSuccess: null, counts: COUNTS, problems: [], checkins: { spooled: 0, dropped: 0 } };

  it('writes again a frozen row whose insides changed, unless it was declared stable', async () => {
    const dir = testTempDir('cronsync-status-io-');
    const file = join(dir, 'status.json');
    const run = { startedAt: 't1', status: 'success' };
    const row = Object.freeze({ id: 'acme/a', schedule: '* * * * *', timezone: 'UTC', state: 'installed', lastRun: run });
    const odd = Object.freeze({ id: 'acme/b', schedule: '* * * * *', timezone: 'UTC', state: 'installed', toJSON: () => undefined });
    const status = { ...base, jobs: [row, odd] } as unknown as StatusFile;

    await writeStatus(dir, status);
    run.status = 'failure';
    await writeStatus(dir, status);

    expect(JSON.parse(readFileSync(file, 'utf8')).jobs).toEqual([{ ...row, lastRun: { startedAt: 't1', status: 'failure' } }, null]);
    const kept = stableRow(Object.freeze({ id: 'acme/c', schedule: '* * * * *', timezone: 'UTC', state: 'installed', nextRun: null, lastRun: null, path: 'p', commit: null }) as StatusJob);
    await writeStatus(dir, { ...base, jobs: [kept] } as unknown as StatusFile);
    expect(readFileSync(file, 'utf8')).toBe(serializeStatus({ ...base, jobs: [kept] } as unknown as StatusFile));
  });

  it('writes nothing for the text that was read from the file', async () => {
    const dir = testTempDir('cronsync-status-io-');
    const file = join(dir, 'status.json');
    const status = { ...base, jobs: [{ id: 'acme/a', path: 'p', commit: null, schedule: '* * * * *', timezone: 'UTC', nextRun: null, state: 'installed', lastRun: null }] } as unknown as StatusFile;
    writeFileSync(file, serializeStatus(status));
    expect((await readStatus(dir))?.jobs).toHaveLength(1);
    const read = statSync(file, { bigint: true });

    await writeStatus(dir, status);

    const after = statSync(file, { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([read.ino, read.mtimeNs]);
  });
});

describe('serializeStatus', () => {
  const job = (i: number) => ({ id: `acme/job-${i}`, path: `prod/f${i}.yaml`, commit: 'c'.repeat(40), schedule: '0 2 * * *', timezone: 'Europe/London', nextRun: null, state: 'installed', lastRun: i % 2 ? null : { startedAt: 't', status: 'success', exitCode: 0, durationMs: 5, attempts: 1 }, provenance: { sourceId: 's', url: 'https://git.example/a "quoted" \\ path', ref: 'main', commit: 'c', path: `prod/f${i}.yaml`, index: i, manifestHash: 'h' } });

  it('writes each job and problem on a line of its own, the other fields indented, and parses back to the same status', () => {
    const status = { schemaVersion: 1, agent: { name: 'h', tenant: 'acme', labels: { 'a\nb': 'x' }, version: '0' }, jobs: [job(0), job(1), job(2)], problems: [{ path: 'p.yaml', line: 3, column: 4, rule: 'cron-range', severity: 'error', message: 'bad\nline' }], checkins: { spooled: 0, dropped: 0 }, daemon: undefined, counts: {} } as unknown as StatusFile;

    const text = serializeStatus(status);
    const lines = text.split('\n');

    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(status)));
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['schemaVersion', 'agent', 'jobs', 'problems', 'checkins', 'counts']);
    for (const j of [job(0), job(1), job(2)]) {
      const mine = lines.filter((l) => l.includes(`"acme/${j.id.slice(5)}"`));
      expect(mine).toHaveLength(1);
      expect(JSON.parse(mine[0]!.trim().replace(/,$/, ''))).toEqual(j);
    }
    expect(lines.filter((l) => l.includes('cron-range'))).toHaveLength(1);
    expect(lines.slice(0, 3)).toEqual(['{', '  "schemaVersion": 1,', '  "agent": {']);
    expect(text.endsWith('\n}\n')).toBe(true);
    expect(serializeStatus({ jobs: [], problems: [] } as unknown as StatusFile)).toBe('{\n  "jobs": [],\n  "problems": []\n}\n');
    expect(serializeStatus({} as StatusFile)).toBe('{}\n');
  });

  it('is JSON that parses back to what JSON.stringify makes of the status, whatever the values', () => {
    fc.assert(fc.property(fc.dictionary(fc.oneof(fc.constant('jobs'), fc.constant('problems'), fc.string()), fc.oneof(fc.jsonValue(), fc.array(fc.jsonValue()), fc.constant(undefined))), (status) => {
      const text = serializeStatus(status as unknown as StatusFile);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(status)));
      expect(text.endsWith('\n')).toBe(true);
    }), { seed: 5, numRuns: 500 });
  });
});
