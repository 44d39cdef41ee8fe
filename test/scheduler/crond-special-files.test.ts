/**
 * The cron dir may hold what is no cron table: a FIFO, a link to a device, a file far too large.
 * The cron.d adapter reads every file there, so it must never block on one (a FIFO has no
 * writer), never read a device, never hold a huge file in memory, and never replace or remove
 * what is not its own. Debian's cron skips files that are not regular ("NOT A REGULAR FILE").
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { lstat, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CronFileTooLarge, MAX_CRON_FILE_BYTES, nodeCronDirFs } from '../../src/scheduler/crond/files.js';
import { createCronDAdapter } from '../../src/scheduler/crond/index.js';
import { desired, options, planOf, signal } from './fixtures.js';

const dirs: string[] = [];
const fifos: string[] = [];
afterEach(async () => {
  // A reader left blocked on a FIFO (the bug) gets its end of file, so the worker can exit.
  for (const f of fifos.splice(0)) {
    try {
      closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No reader (ENXIO) or gone: nothing blocked.
    }
  }
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function cronDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'crond-special-'));
  dirs.push(d);
  return d;
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
  fifos.push(path);
}

/** What a file is now: its type and, for a regular file, its text. */
async function kind(path: string): Promise<string> {
  const st = await lstat(path);
  if (st.isFIFO()) return 'fifo';
  if (st.isSymbolicLink()) return 'symlink';
  return st.isFile() ? `file:${await readFile(path, 'utf8')}` : 'other';
}

const job = desired('backup', '0 1 * * *');
/** Another source's marker: the inventory lists it, from whichever file holds it. */
const foreignMarker = `# cronsync:v1 {"source":"other-src","job":"acme/theirs","commit":null,"path":"x.yaml","index":0,"hash":"h"}\n0 3 * * * root /bin/true\n`;

describe.skipIf(process.platform === 'win32')('scheduler/crond: files that are no cron table', () => {
  it('skips a FIFO and a link to /dev/zero without opening them, syncs around them, and leaves them as they are', { timeout: 10_000 }, async () => {
    const dir = await cronDir();
    mkfifo(join(dir, 'other-job'));
    await symlink('/dev/zero', join(dir, 'zero'));
    await writeFile(join(dir, 'theirs'), foreignMarker);
    const adapter = createCronDAdapter(options({ cronDir: dir }));

    const before = await adapter.inventory(signal);
    const result = await adapter.apply(planOf([job]), signal);
    const after = await adapter.inventory(signal);

    expect(before.map((e) => e.marker?.jobId)).toEqual(['acme/theirs']);
    expect(result.written).toEqual([join(dir, 'cronsync')]);
    expect(after.map((e) => e.marker?.jobId).sort()).toEqual(['acme/backup', 'acme/theirs']);
    expect([await kind(join(dir, 'other-job')), await kind(join(dir, 'zero'))]).toEqual(['fifo', 'symlink']);
  });

  it('refuses to replace a FIFO named cronsync, and leaves a FIFO named cronsync-2 alone', { timeout: 10_000 }, async () => {
    const dir = await cronDir();
    mkfifo(join(dir, 'cronsync'));
    const first = createCronDAdapter(options({ cronDir: dir }));
    const refused = await first.apply(planOf([job]), signal).catch((err: Error) => err);
    const other = await cronDir();
    mkfifo(join(other, 'cronsync-2'));
    const second = createCronDAdapter(options({ cronDir: other }));

    await second.apply(planOf([job]), signal);

    expect(refused).toMatchObject({ code: 'CRONSYNC_SCHEDULER', message: `${join(dir, 'cronsync')} is not a regular file; cronsync writes its entries to that file and never replaces what is not one: remove it` });
    expect(await kind(join(dir, 'cronsync'))).toBe('fifo');
    expect(await kind(join(other, 'cronsync-2'))).toBe('fifo');
    expect((await second.inventory(signal)).map((e) => e.marker?.jobId)).toEqual(['acme/backup']);
  });

  it('skips a foreign file too large to be a cron table, and fails on one of its own names that large', { timeout: 10_000 }, async () => {
    // Sparse: each claims gigabytes and occupies nothing.
    const dir = await cronDir();
    await writeFile(join(dir, 'huge'), foreignMarker);
    await truncate(join(dir, 'huge'), 3 * 1024 ** 3);
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const ours = await cronDir();
    await writeFile(join(ours, 'cronsync-2'), '# Managed by cronsync\n');
    await truncate(join(ours, 'cronsync-2'), MAX_CRON_FILE_BYTES + 1);
    const oversized = createCronDAdapter(options({ cronDir: ours }));

    const listed = await adapter.inventory(signal);
    await adapter.apply(planOf([job]), signal);
    const failed = await oversized.inventory(signal).catch((err: Error) => err);
    const refused = await oversized.apply(planOf([job]), signal).catch((err: Error) => err);

    expect(listed).toEqual([]);
    expect((await adapter.inventory(signal)).map((e) => e.marker?.jobId)).toEqual(['acme/backup']);
    for (const err of [failed, refused]) {
      expect(err).toBeInstanceOf(CronFileTooLarge);
      expect(err).toMatchObject({ code: 'CRONSYNC_IO', message: `Cannot read ${join(ours, 'cronsync-2')}: ${MAX_CRON_FILE_BYTES + 1} bytes, more than the ${MAX_CRON_FILE_BYTES} bytes a cron.d file of cronsync can hold; move it out of the cron dir or shorten it` });
    }
    expect((await lstat(join(ours, 'cronsync-2'))).size).toBe(MAX_CRON_FILE_BYTES + 1);
    expect(await lstat(join(ours, 'cronsync')).catch(() => null)).toBeNull();
  });

  it('reads nothing from a FIFO, a device or a missing file, with or without a buffer', { timeout: 10_000 }, async () => {
    const dir = await cronDir();
    mkfifo(join(dir, 'fifo'));
    const into = Buffer.alloc(64);

    const got = await Promise.all([
      nodeCronDirFs.read(join(dir, 'fifo')),
      nodeCronDirFs.readBytes!(join(dir, 'fifo'), into),
      nodeCronDirFs.read('/dev/zero'),
      nodeCronDirFs.readBytes!('/dev/null'),
      nodeCronDirFs.read(join(dir, 'missing')),
    ]);

    expect(got).toEqual([null, null, null, null, null]);
  });
});
