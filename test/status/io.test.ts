import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { CronsyncError } from '../../src/errors.js';
import { readStatus } from '../../src/status/io.js';
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
