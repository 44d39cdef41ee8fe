/**
 * Counting the spool's drop record: chunked, resumed from where it stopped, never hung by a FIFO;
 * rotated at its size with the count kept, across restarts, cut rotations and other processes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, openSync, closeSync, readFileSync, renameSync, statSync, truncateSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { DROPPED_COUNT_FILE, DROPPED_ROTATED_FILE, DROP_RECORD_MAX_BYTES, createLineCounter } from '../../src/state/drop-count.js';
import { DROPPED_FILE, createFsStateStore, dropLines } from '../../src/state/fs-store.js';
import { IoError } from '../../src/errors.js';
import { testTempDir } from '../system/tempdir.js';

const line = (i: number) => `${JSON.stringify({ at: '2026-12-07T00:00:00.000Z', jobId: 'acme/job', runId: `run-${i}`, reason: 'rejected' })}\n`;

describe('state/drop-count', () => {
  it('counts non-blank lines: blank ones are not drops, a last line without its newline is', () => {
    const file = join(testTempDir('cronsync-drops-'), 'd.jsonl');
    writeFileSync(file, `${line(1)}\n  \r\n${line(2)}{"partial":tru`);

    expect(createLineCounter().count(file)).toBe(3);
  });

  it('counts a record of many chunks exactly, lines split across chunk edges included', () => {
    const file = join(testTempDir('cronsync-drops-'), 'd.jsonl');
    // 100 bytes per line: 64 KiB chunks end inside lines.
    const body = Array.from({ length: 20_000 }, (_, i) => `${'x'.repeat(93)}${String(i).padStart(6, '0')}\n`).join('');
    writeFileSync(file, body);

    expect(createLineCounter().count(file)).toBe(20_000);
  });

  it('goes on from where it stopped: bytes already counted are not read again', () => {
    const file = join(testTempDir('cronsync-drops-'), 'd.jsonl');
    writeFileSync(file, `${line(1)}${line(2)}{"half":`);
    const counter = createLineCounter();
    expect(counter.count(file)).toBe(3);

    // Counted bytes changed in place (same file, same size): a counter that read them again
    // would now find 2 + 40 lines. The half line after the last newline is read again.
    const fd = openSync(file, 'r+');
    writeSync(fd, `${'\n{}'.repeat(40)}\n`, 0);
    closeSync(fd);
    appendFileSync(file, `1}\n${line(3)}`);

    expect(counter.count(file)).toBe(4);
    expect(createLineCounter().count(file)).toBe(41 + 2);
  });

  it('counts a replaced, truncated or removed record from its start', () => {
    const dir = testTempDir('cronsync-drops-');
    const file = join(dir, 'd.jsonl');
    writeFileSync(file, `${line(1)}${line(2)}${line(3)}`);
    const counter = createLineCounter();
    expect(counter.count(file)).toBe(3);

    truncateSync(file, 0);
    appendFileSync(file, line(4));
    expect(counter.count(file)).toBe(1);

    writeFileSync(join(dir, 'new'), `${line(5)}${line(6)}${line(7)}${line(8)}${line(9)}`);
    renameSync(join(dir, 'new'), file);
    expect(counter.count(file)).toBe(5);

    execFileSync('rm', [file]);
    expect(counter.count(file)).toBe(0);
  });

  it('a FIFO in the record\'s place is an error naming it, not a hang', () => {
    const file = join(testTempDir('cronsync-drops-'), 'd.jsonl');
    execFileSync('mkfifo', [file]);

    expect(() => createLineCounter().count(file)).toThrow(IoError);
    expect(() => createLineCounter().count(file)).toThrow(`Cannot read ${file}: not a regular file (a FIFO)`);
  });

  it('the state store\'s checkins.dropped follows appends by other processes', async () => {
    const dir = testTempDir('cronsync-drops-');
    const store = createFsStateStore(dir);
    await store.recordDropped([{ at: '2026-12-07T00:00:00.000Z', jobId: 'acme/a', runId: 'r1', reason: 'rejected' }]);
    expect(await store.spoolStats()).toEqual({ spooled: 0, dropped: 1 });

    appendFileSync(join(dir, DROPPED_FILE), dropLines([
      { at: '2026-12-07T00:01:00.000Z', jobId: 'acme/a', runId: 'r2', reason: 'max-age' },
      { at: '2026-12-07T00:01:00.000Z', jobId: 'acme/b', runId: 'r3', reason: 'max-count' },
    ]));

    expect(await store.spoolStats()).toEqual({ spooled: 0, dropped: 3 });
  });

  it('rotates the record once it reaches 1 MiB onto .1, replacing the older one, and checkins.dropped keeps counting, also after a restart', async () => {
    const dir = testTempDir('cronsync-drops-');
    const file = join(dir, DROPPED_FILE);
    const rotated = join(dir, DROPPED_ROTATED_FILE);
    const store = createFsStateStore(dir);
    const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => line(from + i)).join('');
    const per = Math.ceil(DROP_RECORD_MAX_BYTES / line(0).length);
    const drop = (runId: string) => store.recordDropped([{ at: '2026-12-07T00:00:00.000Z', jobId: 'acme/a', runId, reason: 'rejected' }]);

    appendFileSync(file, lines(0, per));
    expect(await store.spoolStats()).toEqual({ spooled: 0, dropped: per });
    await drop('first');
    const afterFirst = await store.spoolStats();
    const firstGeneration = readFileSync(rotated, 'utf8');
    const recordLeft = existsSync(file);

    appendFileSync(file, lines(per, per));
    // .1 was last written long ago: no late append into it can be left.
    utimesSync(rotated, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    await drop('second');
    const afterSecond = await store.spoolStats();
    await drop('third');

    expect(afterFirst).toEqual({ spooled: 0, dropped: per + 1 });
    expect(recordLeft).toBe(false);
    expect(firstGeneration.split('\n').filter(Boolean).slice(-1)).toEqual([JSON.stringify({ at: '2026-12-07T00:00:00.000Z', jobId: 'acme/a', runId: 'first', reason: 'rejected' })]);
    expect(afterSecond).toEqual({ spooled: 0, dropped: 2 * per + 2 });
    expect(readFileSync(rotated, 'utf8').split('\n').filter(Boolean)).toHaveLength(per + 1);
    expect(statSync(rotated).size).toBeLessThan(2 * DROP_RECORD_MAX_BYTES);
    expect(JSON.parse(readFileSync(join(dir, DROPPED_COUNT_FILE), 'utf8'))).toMatchObject({ version: 1, carried: per + 1 });
    expect(await store.spoolStats()).toEqual({ spooled: 0, dropped: 2 * per + 3 });
    expect(await createFsStateStore(dir).spoolStats()).toEqual({ spooled: 0, dropped: 2 * per + 3 });
  });

  it('a rotation cut between its two steps (the total written, the record not yet renamed) counts the same, and the next one completes it', async () => {
    const dir = testTempDir('cronsync-drops-');
    const file = join(dir, DROPPED_FILE);
    const rotated = join(dir, DROPPED_ROTATED_FILE);
    const opts = { dropRecord: { maxBytes: 1000, settleMs: 0 } };
    writeFileSync(rotated, `${line(1)}${line(2)}`);
    writeFileSync(file, `${line(3)}${line(4)}${line(5)}`);
    writeFileSync(join(dir, DROPPED_COUNT_FILE), JSON.stringify({ version: 1, carried: 10, folded: null }));
    expect(await createFsStateStore(dir, opts).spoolStats()).toEqual({ spooled: 0, dropped: 15 });
    const st = statSync(rotated);

    // Step 1 of a rotation killed before step 2: .1 is in the total, and named there.
    writeFileSync(join(dir, DROPPED_COUNT_FILE), JSON.stringify({ version: 1, carried: 12, folded: { dev: st.dev, ino: st.ino } }));
    const cut = await createFsStateStore(dir, opts).spoolStats();
    appendFileSync(file, Array.from({ length: 12 }, (_, i) => line(10 + i)).join(''));
    const store = createFsStateStore(dir, opts);
    await store.recordDropped([{ at: 'x', jobId: 'acme/a', runId: 'r', reason: 'max-age' }]);

    expect(cut).toEqual({ spooled: 0, dropped: 15 });
    expect(existsSync(file)).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, DROPPED_COUNT_FILE), 'utf8'))).toMatchObject({ carried: 12 });
    expect(await store.spoolStats()).toEqual({ spooled: 0, dropped: 15 + 12 + 1 });
  });

  it('names the folded .1 by device and inode as decimal strings, so Windows file ids beyond 2^53 are kept exactly (numbers of earlier builds are read too)', async () => {
    const dir = testTempDir('cronsync-drops-');
    const file = join(dir, DROPPED_FILE);
    const rotated = join(dir, DROPPED_ROTATED_FILE);
    const total = join(dir, DROPPED_COUNT_FILE);
    const opts = { dropRecord: { maxBytes: 100, settleMs: 0 } };
    writeFileSync(rotated, line(1));
    writeFileSync(file, Array.from({ length: 5 }, (_, i) => line(10 + i)).join(''));
    const first = statSync(rotated, { bigint: true });

    await createFsStateStore(dir, opts).recordDropped([{ at: 'x', jobId: 'acme/a', runId: 'r', reason: 'max-age' }]);
    const written = JSON.parse(readFileSync(total, 'utf8')) as { carried: number; folded: { dev: unknown; ino: unknown } };
    // An NTFS file id with a sequence number in its top bits: over 2^53, not a safe number.
    writeFileSync(total, JSON.stringify({ version: 1, carried: written.carried, folded: { dev: written.folded.dev, ino: '11258999068426240123' } }));
    const windowsLike = await createFsStateStore(dir, opts).spoolStats();

    expect(written.folded).toEqual({ dev: String(first.dev), ino: String(first.ino) });
    // Read, not "damaged": the old .1's line carried, plus the new .1 (the 6 lines of the record renamed).
    expect(windowsLike).toEqual({ spooled: 0, dropped: 1 + 6 });
  });

  it('keeps .1 while it was written within the settle time (an append that opened the record before its rename), and the count', async () => {
    const dir = testTempDir('cronsync-drops-');
    const file = join(dir, DROPPED_FILE);
    const store = createFsStateStore(dir, { dropRecord: { maxBytes: 1000, settleMs: 60_000 } });
    writeFileSync(join(dir, DROPPED_ROTATED_FILE), `${line(1)}${line(2)}`);
    appendFileSync(file, Array.from({ length: 12 }, (_, i) => line(10 + i)).join(''));

    await store.recordDropped([{ at: 'x', jobId: 'acme/a', runId: 'r', reason: 'max-age' }]);

    expect(readFileSync(join(dir, DROPPED_ROTATED_FILE), 'utf8')).toBe(`${line(1)}${line(2)}`);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(13);
    expect(await store.spoolStats()).toEqual({ spooled: 0, dropped: 15 });
  });

  it('a damaged running total is an error naming it (status keeps its last count), never a guess, and the record is not rotated', async () => {
    const dir = testTempDir('cronsync-drops-');
    const total = join(dir, DROPPED_COUNT_FILE);
    writeFileSync(join(dir, DROPPED_ROTATED_FILE), line(1));
    writeFileSync(total, '{"version":1,"carried":-3}');
    const store = createFsStateStore(dir, { dropRecord: { maxBytes: 100, settleMs: 0 } });

    await store.recordDropped([{ at: 'x', jobId: 'acme/a', runId: 'r', reason: 'max-age' }]);

    await expect(store.spoolStats()).rejects.toThrow(`Cannot read ${total}: it is damaged`);
    expect(readFileSync(join(dir, DROPPED_ROTATED_FILE), 'utf8')).toBe(line(1));
    expect(existsSync(join(dir, DROPPED_FILE))).toBe(true);
  });

  it('appends and rotations of several processes at once lose no line and no count, and the count read meanwhile never goes down', async () => {
    const dir = testTempDir('cronsync-drops-');
    const script = join(dir, 'appender.mjs');
    buildSync({
      stdin: {
        contents: `
          import { createFsStateStore } from './fs-store.ts';
          const [dir, id, n] = process.argv.slice(2);
          const store = createFsStateStore(dir, { dropRecord: { maxBytes: 2048, settleMs: 200 } });
          const nap = new Int32Array(new SharedArrayBuffer(4));
          for (let i = 0; i < Number(n); i++) {
            await store.recordDropped([{ at: new Date().toISOString(), jobId: 'acme/' + id, runId: id + '-' + i, reason: 'max-count' }]);
            Atomics.wait(nap, 0, 0, 2);
          }
        `,
        resolveDir: fileURLToPath(new URL('../../src/state', import.meta.url)), loader: 'ts',
      },
      bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: script, logLevel: 'warning',
    });
    const run = (id: string) => new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [script, dir, id, '300'], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('close', resolve);
    });
    const reader = createFsStateStore(dir);
    const seen: number[] = [];
    let done = false;
    const children = Promise.all(['a', 'b', 'c'].map(run)).finally(() => (done = true));
    while (!done) {
      seen.push((await reader.spoolStats()).dropped);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }

    expect(await children).toEqual([0, 0, 0]);
    expect(seen.every((n, i) => i === 0 || n >= (seen[i - 1] as number))).toBe(true);
    expect(await reader.spoolStats()).toEqual({ spooled: 0, dropped: 900 });
    expect(await createFsStateStore(dir).spoolStats()).toEqual({ spooled: 0, dropped: 900 });
    // Several rotations happened, and every line left is whole.
    expect(JSON.parse(readFileSync(join(dir, DROPPED_COUNT_FILE), 'utf8')).carried).toBeGreaterThan(0);
    for (const f of [DROPPED_FILE, DROPPED_ROTATED_FILE]) {
      const text = existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '';
      for (const l of text.split('\n').filter(Boolean)) expect(JSON.parse(l)).toMatchObject({ reason: 'max-count' });
    }
  }, 30_000);
});
