import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { CronsyncError } from '../../src/errors.js';
import { readStatus, serializeStatus, writeStatus } from '../../src/status/io.js';
import type { StatusFile } from '../../src/status/types.js';
import { testTempDir } from '../system/tempdir.js';

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

describe('writeStatus / readStatus (what this process last wrote or read)', () => {
  const status = (attempt: string): StatusFile => ({ schemaVersion: 1, agent: { name: 'h', tenant: 'acme', labels: {}, version: '0' }, scheduler: { kind: 'embedded', reason: 't' }, source: { id: 's', url: 'u', ref: 'main', commit: null, fetchedAt: null }, lastAttempt: { startedAt: attempt, finishedAt: attempt, result: 'ok', error: null }, lastSuccess: null, counts: {}, jobs: [], problems: [], checkins: { spooled: 0, dropped: 0 } }) as unknown as StatusFile;

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
