/** Counting the spool's drop record: chunked, resumed from where it stopped, never hung by a FIFO. */
import { execFileSync } from 'node:child_process';
import { appendFileSync, openSync, closeSync, renameSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLineCounter } from '../../src/state/drop-count.js';
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
});
