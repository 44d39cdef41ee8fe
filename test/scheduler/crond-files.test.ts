/**
 * The cron.d adapter spreads its entries over `cronsync`, `cronsync-2`, … so that no file passes
 * Debian cron's 10,000-line limit (SPEC §8; issue 11 item 6): a big sync is not refused, a
 * second sync writes nothing, an added job rewrites one file, files left empty are deleted,
 * other sources' entries and stray lines stay in their file, and foreign files are untouched.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesiredJob } from '../../src/desired/types.js';
import { nodeCronDirFs } from '../../src/scheduler/crond/files.js';
import type { CronDirFs } from '../../src/scheduler/crond/files.js';
import { createCronDAdapter } from '../../src/scheduler/crond/index.js';
import { layoutCronD, MAX_LINES, renderHeader } from '../../src/scheduler/crond/render.js';
import type { CronDFile, CurrentFile } from '../../src/scheduler/crond/render.js';
import { desired, options, planOf, signal, SOURCE } from './fixtures.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'crond-files-'));
  dirs.push(d);
  return d;
}

const job = (i: number): DesiredJob => desired(`job-${String(i).padStart(5, '0')}`, '0 1 * * *');
/**
 * UTC jobs on a UTC host: marker + one cron line, and a blank line before each entry, so 3
 * lines each; with the 4-line header 3,332 entries fill a file to exactly 10,000 lines.
 * 7,000 jobs fill `cronsync` and `cronsync-2` and put 336 into `cronsync-3`.
 */
const JOBS = Array.from({ length: 7000 }, (_, i) => job(i));
const PER_FILE = 3332;
const HEADER = `${renderHeader().join('\n')}\n\n`;

/** Lines of a file text (it ends with a newline). */
const lineCount = (text: string): number => text.split('\n').length - 1;
/** Job ids of the markers in a text, in order. */
const markerIds = (text: string): string[] => [...text.matchAll(/^# cronsync:v1 .*"job":"([^"]+)"/gm)].map((m) => m[1]!);

async function files(dir: string, names: readonly string[]): Promise<{ text: string; mtimeMs: number; ino: number; mode: number }[]> {
  return Promise.all(names.map(async (n) => {
    const s = await stat(join(dir, n));
    return { text: await readFile(join(dir, n), 'utf8'), mtimeMs: s.mtimeMs, ino: s.ino, mode: s.mode & 0o777 };
  }));
}

describe('scheduler/crond: entries spread over several files', () => {
  it('syncs 7,000 jobs (a sync refused before) into three files of at most 10,000 lines, in job id order, and a second sync writes nothing', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const foreign = '# e2scrub\n30 3 * * 0 root /bin/true\n';
    await writeFile(join(dir, 'e2scrub_all'), foreign);
    // A directory, even one named like our files, is neither read nor replaced: its number is skipped.
    await mkdir(join(dir, 'cronsync-3'));
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const ours = ['cronsync', 'cronsync-2', 'cronsync-4'];

    const first = await adapter.apply(planOf(JOBS), signal);
    const written = await files(dir, ours);
    const inv = await adapter.inventory(signal);
    const rendered = adapter.render(JOBS);
    const second = await adapter.apply(planOf(JOBS), signal);
    const after = await files(dir, ours);

    expect(first).toEqual({ changed: true, written: ours.map((n) => join(dir, n)) });
    expect((await readdir(dir)).sort()).toEqual(['cronsync', 'cronsync-2', 'cronsync-3', 'cronsync-4', 'e2scrub_all']);
    expect(written.map((f) => lineCount(f.text))).toEqual([MAX_LINES, MAX_LINES, 4 + 336 * 3]);
    expect(written.every((f) => f.text.startsWith(HEADER) && f.mode === 0o644)).toBe(true);
    expect(written.map((f) => markerIds(f.text))).toEqual([0, 1, 2].map((k) => JOBS.slice(k * PER_FILE, (k + 1) * PER_FILE).map((j) => j.id)));
    expect(inv).toHaveLength(JOBS.length);
    expect(inv.every((e) => e.marker?.sourceId === SOURCE && !e.drifted)).toBe(true);
    expect(inv.find((e) => e.marker?.jobId === 'acme/job-06999')?.key).toBe('cron.d:cronsync-4:acme/job-06999');
    expect(inv.find((e) => e.marker?.jobId === 'acme/job-03000')?.raw).toBe(adapter.renderEntry(JOBS[3000]!));
    // Render is pure: it numbers the files as in an empty dir.
    expect(rendered.files.map((f) => [f.name, f.content])).toEqual(['cronsync', 'cronsync-2', 'cronsync-3'].map((n, i) => [join(dir, n), written[i]!.text]));
    expect(second).toEqual({ changed: false, written: [] });
    expect(after.map((f) => [f.mtimeMs, f.ino])).toEqual(written.map((f) => [f.mtimeMs, f.ino]));
    expect(await readFile(join(dir, 'e2scrub_all'), 'utf8')).toBe(foreign);
  });

  it('rewrites only the file with room for an added job, merges files when jobs are removed, and deletes the empty ones', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    await adapter.apply(planOf(JOBS), signal);
    const before = await files(dir, ['cronsync', 'cronsync-2', 'cronsync-3']);
    // Sorts before every other id, yet `cronsync` and `cronsync-2` are full: it goes to `cronsync-3`.
    const extra = desired('aaa-new', '0 1 * * *');

    const added = await adapter.apply(planOf([extra, ...JOBS]), signal);
    const afterAdd = await files(dir, ['cronsync', 'cronsync-2', 'cronsync-3']);
    const addedAgain = await adapter.apply(planOf([extra, ...JOBS]), signal);
    // 400 jobs fewer in `cronsync-2` leave room for the 337 entries of `cronsync-3`.
    const fewer = [extra, ...JOBS.filter((_, i) => i < PER_FILE || i >= PER_FILE + 400)];
    const merged = await adapter.apply(planOf(fewer), signal);
    const afterMerge = await files(dir, ['cronsync', 'cronsync-2']);
    const mergedNames = (await readdir(dir)).sort();
    const inv = await adapter.inventory(signal);
    const mergedAgain = await adapter.apply(planOf(fewer), signal);
    // Only jobs that were in the last file: they move to the first, the others are deleted.
    const last = JOBS.slice(-50);
    const shrunk = await adapter.apply(planOf(last), signal);
    const names = await readdir(dir);

    expect(added).toEqual({ changed: true, written: [join(dir, 'cronsync-3')] });
    expect(afterAdd.slice(0, 2).map((f) => [f.mtimeMs, f.ino])).toEqual(before.slice(0, 2).map((f) => [f.mtimeMs, f.ino]));
    expect(markerIds(afterAdd[2]!.text)).toEqual([extra.id, ...JOBS.slice(2 * PER_FILE).map((j) => j.id)]);
    expect(addedAgain.changed).toBe(false);
    expect(merged).toEqual({ changed: true, written: [join(dir, 'cronsync-2'), join(dir, 'cronsync-3')] });
    expect(mergedNames).toEqual(['cronsync', 'cronsync-2']);
    expect([afterMerge[0]!.mtimeMs, afterMerge[0]!.ino]).toEqual([before[0]!.mtimeMs, before[0]!.ino]);
    expect(afterMerge.map((f) => lineCount(f.text) <= MAX_LINES)).toEqual([true, true]);
    expect(markerIds(afterMerge[1]!.text)).toEqual([extra, ...JOBS.slice(PER_FILE + 400)].map((j) => j.id));
    expect(inv.map((e) => e.marker?.jobId).sort()).toEqual(fewer.map((j) => j.id).sort());
    expect(mergedAgain.changed).toBe(false);
    expect(shrunk.changed).toBe(true);
    expect(names).toEqual(['cronsync']);
    expect(markerIds(await readFile(join(dir, 'cronsync'), 'utf8'))).toEqual(last.map((j) => j.id));
    expect((await adapter.apply(planOf(last), signal)).changed).toBe(false);
  });

  it('keeps other sources\' entries and stray lines in the file they are in, skips a foreign cronsync-2 and removes stale temps', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const other = createCronDAdapter(options({ cronDir: dir, sourceId: 'other-src' }));
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const otherPlan = { ...planOf([desired('x', '0 5 * * *', {}, 'beta')]), sourceId: 'other-src' };
    await other.apply(otherPlan, signal);
    const foreign = '# not ours, same prefix\n0 4 * * * root /bin/true\n';
    await writeFile(join(dir, 'cronsync-2'), foreign);
    await writeFile(join(dir, '.cronsync-3.0a1b2c3d4e5f.tmp'), 'partial');
    await writeFile(join(dir, '.cronsync-notes.tmp'), 'someone else\'s');
    const jobs = JOBS.slice(0, 4000);

    await adapter.apply(planOf(jobs), signal);
    const names = (await readdir(dir)).sort();
    const [one, three] = (await files(dir, ['cronsync', 'cronsync-3'])).map((f) => f.text);
    const stray = '# added by hand\n5 5 * * * root /usr/local/bin/hand';
    await writeFile(join(dir, 'cronsync-3'), `${three}\n${stray}\n`);
    const shrunk = await adapter.apply(planOf(jobs.slice(0, 100)), signal);
    const inv = await adapter.inventory(signal);
    const settled = [(await adapter.apply(planOf(jobs.slice(0, 100)), signal)).changed, (await other.apply(otherPlan, signal)).changed];

    expect(names).toEqual(['.cronsync-notes.tmp', 'cronsync', 'cronsync-2', 'cronsync-3']);
    expect(await readFile(join(dir, 'cronsync-2'), 'utf8')).toBe(foreign);
    expect(markerIds(one!)).toEqual([...jobs.slice(0, PER_FILE - 1).map((j) => j.id), 'beta/x']);
    expect(markerIds(three!)).toEqual(jobs.slice(PER_FILE - 1).map((j) => j.id));
    expect(shrunk.written).toEqual([join(dir, 'cronsync'), join(dir, 'cronsync-3')]);
    expect(await readFile(join(dir, 'cronsync-3'), 'utf8')).toBe(`${HEADER}# Not managed by cronsync, kept as found:\n${stray}\n`);
    expect(markerIds(await readFile(join(dir, 'cronsync'), 'utf8'))).toEqual([...jobs.slice(0, 100).map((j) => j.id), 'beta/x']);
    expect(inv.filter((e) => !e.marker).map((e) => [e.key, e.raw])).toEqual([['cron.d:cronsync-3:line:8', '5 5 * * * root /usr/local/bin/hand']]);
    expect(inv.filter((e) => e.marker?.sourceId === 'other-src').map((e) => e.key)).toEqual(['cron.d:cronsync:beta/x']);
    expect(settled).toEqual([false, false]);
    expect(await readFile(join(dir, 'cronsync-2'), 'utf8')).toBe(foreign);
  });

  it('writes an entry to its new file before it leaves the old one: a crash in between leaves a duplicate, never a gap', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    let renames = 0;
    let failAt = 0;
    const fs: CronDirFs = {
      ...nodeCronDirFs,
      async rename(from, to) {
        if (++renames === failAt) throw new Error('killed before rename');
        return nodeCronDirFs.rename(from, to);
      },
    };
    const adapter = createCronDAdapter(options({ cronDir: dir }), { fs });
    const jobs = JOBS.slice(0, 3400);
    await adapter.apply(planOf(jobs), signal);
    // job-00005 grows from 2 to 5 lines: the full `cronsync` sheds its highest id to `cronsync-2`.
    const grown = jobs.map((j, i) => (i === 5 ? desired('job-00005', '30 * * * *', { timezone: 'Australia/Lord_Howe' }) : j));
    const moved = 'acme/job-03331';

    renames = 0;
    failAt = 2;
    const crashed = await adapter.apply(planOf(grown), signal).catch((e: unknown) => e);
    const torn = await adapter.inventory(signal);
    failAt = 0;
    const healed = await adapter.apply(planOf(grown), signal);
    const inv = await adapter.inventory(signal);

    expect((crashed as Error).message).toBe('killed before rename');
    expect(new Set(torn.map((e) => e.marker?.jobId)).size).toBe(jobs.length);
    expect(torn.filter((e) => e.marker?.jobId === moved).map((e) => e.key)).toEqual([`cron.d:cronsync:${moved}`, `cron.d:cronsync-2:${moved}`]);
    expect(healed).toEqual({ changed: true, written: [join(dir, 'cronsync')] });
    expect(inv).toHaveLength(jobs.length);
    expect(inv.filter((e) => e.marker?.jobId === moved).map((e) => e.key)).toEqual([`cron.d:cronsync-2:${moved}`]);
    expect((await readdir(dir)).sort()).toEqual(['cronsync', 'cronsync-2']);
    expect((await adapter.apply(planOf(grown), signal)).changed).toBe(false);
  });
});

describe('scheduler/crond: reading our files again', () => {
  it('sees every change to a file of ours, a rewrite in place to the same size with the same times included, a UTF-8 one, and its removal', async () => {
    const dir = await tempDir();
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const jobs = [job(1), job(2)];
    await adapter.apply(planOf(jobs), signal);
    const file = join(dir, 'cronsync');
    const text = await readFile(file, 'utf8');
    const times = await stat(file);
    const rawOf = async (): Promise<(string | undefined)[]> => (await adapter.inventory(signal)).map((e) => e.raw);

    const before = await rawOf();
    await writeFile(file, text.replace('0 1 * * *', '0 2 * * *'));
    await utimes(file, times.atime, times.mtime);
    const sameSize = await rawOf();
    // Once more to the same size: what was read last is not what the next read overwrites.
    await writeFile(file, text.replace('0 1 * * *', '0 3 * * *'));
    const sameAgain = await rawOf();
    await writeFile(file, text.replace('0 1 * * *', '0 \u00e9 * * *'));
    const utf8 = await rawOf();
    await rm(file);
    const gone = await rawOf();

    expect(before).toEqual(jobs.map((j) => adapter.renderEntry(j)));
    expect(sameSize[0]).toBe(before[0]!.replace('0 1 * * *', '0 2 * * *'));
    expect(sameAgain[0]).toBe(before[0]!.replace('0 1 * * *', '0 3 * * *'));
    expect(utf8[0]).toContain('0 \u00e9 * * *');
    expect(gone).toEqual([]);
  });
});

describe('scheduler/crond: reading a file into a buffer in use', () => {
  it('reads a file that fits into the buffer, one that does not (or only just) into one of its own, and nothing from a missing file or a directory', async () => {
    const dir = await tempDir();
    const file = join(dir, 'cronsync');
    const text = `${'0 1 * * * root /bin/true\n'.repeat(40)}\u00e9\n`;
    await writeFile(file, text);
    const size = Buffer.byteLength(text);
    const read = nodeCronDirFs.readBytes!;
    const big = Buffer.alloc(size * 2, 0x78);

    const fits = await read(file, big);
    const exact = Buffer.alloc(size);
    const tight = await read(file, exact);
    const small = Buffer.alloc(7);
    const over = await read(file, small);

    expect(fits?.toString('utf8')).toBe(text);
    expect(fits?.buffer).toBe(big.buffer);
    expect([tight?.toString('utf8'), tight?.buffer === exact.buffer]).toEqual([text, false]);
    expect([over?.toString('utf8'), over?.buffer === small.buffer]).toEqual([text, false]);
    expect(await read(join(dir, 'missing'), big)).toBeNull();
    await mkdir(join(dir, 'cronsync-2'));
    expect(await read(join(dir, 'cronsync-2'), big)).toBeNull();
    expect(await read(join(dir, 'cronsync-2'))).toBeNull();
  });
});

describe('scheduler/crond: the layout kept between syncs', () => {
  it('is made again when a file of ours changed since the last sync, so the same jobs rewrite it as a new adapter would', async () => {
    const dir = await tempDir();
    const file = join(dir, 'cronsync');
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const plan = planOf([job(1), job(2), job(3)]);
    await adapter.apply(plan, signal);
    const clean = await readFile(file, 'utf8');
    const times = await stat(file);
    const tampers: [string, () => Promise<void>][] = [
      ['an entry changed in place, same size and times', async () => {
        await writeFile(file, clean.replace('0 1 * * *', '0 2 * * *'));
        await utimes(file, times.atime, times.mtime);
      }],
      ['a line added by hand', () => writeFile(file, `${clean}5 5 * * * root /usr/local/bin/hand\n`)],
      ['an entry deleted', () => writeFile(file, clean.slice(0, clean.lastIndexOf('\n# cronsync:v1')) + '\n')],
      ['the file removed', () => rm(file)],
    ];
    const results: { name: string; changed: boolean; kept: string; fresh: string; again: boolean }[] = [];
    for (const [name, tamper] of tampers) {
      await writeFile(file, clean);
      await tamper();
      const changed = (await adapter.apply(plan, signal)).changed;
      const kept = await readFile(file, 'utf8');
      const again = (await adapter.apply(plan, signal)).changed;
      await writeFile(file, clean);
      await tamper();
      await createCronDAdapter(options({ cronDir: dir })).apply(plan, signal);
      results.push({ name, changed, kept, fresh: await readFile(file, 'utf8'), again });
    }

    for (const r of results) expect({ ...r, same: r.kept === r.fresh }).toEqual({ name: r.name, changed: true, kept: r.fresh, fresh: r.fresh, again: false, same: true });
    expect(results.map((r) => r.kept === clean)).toEqual([true, false, true, true]);
    expect(results[1]!.kept).toContain('# Not managed by cronsync, kept as found:\n5 5 * * * root /usr/local/bin/hand\n');
  });

  it('keeps lines added by hand, a PATH= among them, when the file has no entries left, and a new adapter keeps the same file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'cronsync');
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const one = planOf([job(1)]);
    await adapter.apply(one, signal);
    const hand = 'PATH=/opt/bin\n5 5 * * * root tool\n';
    await writeFile(file, `${await readFile(file, 'utf8')}${hand}`);
    await adapter.apply(one, signal);
    const emptied = await adapter.apply(planOf([]), signal);
    const text = await readFile(file, 'utf8');
    const again = await adapter.apply(planOf([]), signal);
    const fresh = await createCronDAdapter(options({ cronDir: dir })).apply(planOf([]), signal);

    expect(emptied.changed).toBe(true);
    expect(text).toBe(`${HEADER}# Not managed by cronsync, kept as found:\n${hand}`);
    expect([again.changed, fresh.changed]).toEqual([false, false]);
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('is what a new adapter makes of the files as written, whatever the jobs, other sources\' entries and lines added by hand', { timeout: 60_000 }, async () => {
    const stray = ['PATH=/opt/bin', 'SHELL=/bin/bash', 'MAILTO=ops', '# a note', '', '5 5 * * * root tool', '# Not managed by cronsync, kept as found:', '# Managed by cronsync agents'];
    const step = fc.record({
      mine: fc.subarray([1, 2, 3, 4, 5]),
      theirs: fc.subarray(['x', 'y']),
      hand: fc.array(fc.constantFrom(...stray), { maxLength: 3 }),
      at: fc.nat(),
    });
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), async (steps) => {
      const dir = await tempDir();
      const file = join(dir, 'cronsync');
      const adapter = createCronDAdapter(options({ cronDir: dir }));
      const other = createCronDAdapter(options({ cronDir: dir, sourceId: 'other-src' }));
      for (const st of steps) {
        await other.apply({ ...planOf(st.theirs.map((n) => desired(n, '0 5 * * *', {}, 'beta'))), sourceId: 'other-src' }, signal);
        if (st.hand.length > 0) {
          const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n');
          lines.splice(st.at % (lines.length + 1), 0, ...st.hand);
          await writeFile(file, lines.join('\n'));
        }
        const plan = planOf(st.mine.map((i) => job(i)));
        await adapter.apply(plan, signal);
        // No file at all when nothing is left to hold (no entry of any source, no line kept).
        const text = await readFile(file, 'utf8').catch(() => null);
        const again = await adapter.apply(plan, signal);
        const fresh = await createCronDAdapter(options({ cronDir: dir })).apply(plan, signal);

        expect([again.changed, fresh.changed]).toEqual([false, false]);
        expect(await readFile(file, 'utf8').catch(() => null)).toBe(text);
        expect(text !== null || st.mine.length + st.theirs.length === 0).toBe(true);
        expect(text).not.toBe(`${renderHeader().join('\n')}\n`);
      }
    }), { seed: 7, numRuns: 60 });
  });

  it('is made again when the jobs, our files (one replaced by a file not ours) or the owned source ids change', async () => {
    const dir = await tempDir();
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const big = JOBS.slice(0, 3400);
    await adapter.apply(planOf(big), signal);
    const before = (await readdir(dir)).sort();
    // A file not ours takes the name `cronsync-2` is in: its entries move to `cronsync-3`.
    const two = await readFile(join(dir, 'cronsync-2'), 'utf8');
    await rm(join(dir, 'cronsync-2'));
    await writeFile(join(dir, 'cronsync-2'), '# not ours\n');
    const moved = await adapter.apply(planOf(big), signal);
    const afterTaken = await readFile(join(dir, 'cronsync-3'), 'utf8');
    const fewer = await adapter.apply(planOf(big.slice(0, 10)), signal);
    // An entry of a source id this agent had before: kept until the plan owns that id.
    const old = createCronDAdapter(options({ cronDir: dir, sourceId: 'src-old' }));
    await old.apply({ ...planOf([desired('x', '0 5 * * *', {}, 'beta')]), sourceId: 'src-old' }, signal);
    const withOld = markerIds(await readFile(join(dir, 'cronsync'), 'utf8'));
    const same = await adapter.apply(planOf(big.slice(0, 10)), signal);
    const owning = await adapter.apply({ ...planOf(big.slice(0, 10)), ownedSourceIds: [SOURCE, 'src-old'] }, signal);

    expect(before).toEqual(['cronsync', 'cronsync-2']);
    expect(moved.written).toEqual([join(dir, 'cronsync-3')]);
    expect(markerIds(afterTaken)).toEqual(markerIds(two));
    expect(await readFile(join(dir, 'cronsync-2'), 'utf8')).toBe('# not ours\n');
    expect(fewer.written).toEqual([join(dir, 'cronsync'), join(dir, 'cronsync-3')]);
    expect(markerIds(await readFile(join(dir, 'cronsync'), 'utf8'))).toEqual(big.slice(0, 10).map((j) => j.id));
    expect(withOld).toEqual([...big.slice(0, 10).map((j) => j.id), 'beta/x']);
    expect(same.changed).toBe(false);
    expect(owning.written).toEqual([join(dir, 'cronsync')]);
    expect(markerIds(await readFile(join(dir, 'cronsync'), 'utf8'))).toEqual(big.slice(0, 10).map((j) => j.id));
  });
});

describe('scheduler/crond: layout of entries over files', () => {
  const ctx = { sourceId: SOURCE, hostZone: 'UTC', exec: ['/usr/bin/cronsync'], execOptions: [], user: 'root' };
  /** Synthetic entries: a marker-like first line plus `size - 1` lines, so big files are cheap. */
  const texts = new Map<string, string>();
  const sized = (sizes: ReadonlyMap<string, number>) => (d: DesiredJob): string => {
    const key = `${d.id} ${sizes.get(d.id) ?? 1}`;
    let text = texts.get(key);
    if (text === undefined) texts.set(key, (text = [`# entry ${d.id}`, ...Array.from({ length: (sizes.get(d.id) ?? 1) - 1 }, (_, k) => `0 ${k % 24} * * * root x ${d.id}`)].join('\n')));
    return text;
  };
  const currentOf = (laid: readonly CronDFile[]): CurrentFile[] =>
    laid.map((f) => ({ index: f.name === 'cronsync' ? 1 : Number(f.name.slice('cronsync-'.length)), kept: { entries: [], lines: [] }, owned: f.ids }));

  it('sheds the highest ids of a file that grew past the limit, and nothing else moves', () => {
    const jobs = Array.from({ length: 30 }, (_, i) => job(i));
    const sizes = new Map(jobs.map((j) => [j.id as string, 600]));
    const first = layoutCronD(jobs, ctx, { entry: sized(sizes) });
    sizes.set(jobs[3]!.id, 1200);

    const grown = layoutCronD(jobs, ctx, { current: currentOf(first), entry: sized(sizes) });

    // 16 entries of 601 lines (+ header) fill a file; the grown one pushes the 16th out.
    expect(first.map((f) => f.ids.length)).toEqual([16, 14]);
    expect(grown.map((f) => f.ids)).toEqual([first[0]!.ids.slice(0, 15), [...first[1]!.ids, jobs[15]!.id].sort()]);
    expect(grown.every((f) => lineCount(f.text) <= MAX_LINES)).toBe(true);
  });

  it('never passes the limit, holds every entry once, and is a fixed point, whatever the changes', { timeout: 30_000 }, () => {
    // 40 entries of up to 1,000 lines: one to four files.
    const ids = Array.from({ length: 40 }, (_, i) => i);
    const change = fc.record({ keep: fc.subarray(ids), sizes: fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 40, maxLength: 40 }) });
    fc.assert(fc.property(fc.array(change, { minLength: 1, maxLength: 4 }), (steps) => {
      let laid: CronDFile[] = [];
      for (const step of steps) {
        const jobs = step.keep.map((i) => JOBS[i]!);
        const sizes = new Map(jobs.map((j, k) => [j.id as string, step.sizes[step.keep[k]!]!]));
        laid = layoutCronD(jobs, ctx, { current: currentOf(laid), entry: sized(sizes) });
        const again = layoutCronD(jobs, ctx, { current: currentOf(laid), entry: sized(sizes) });

        expect(again.map((f) => [f.name, f.ids, f.text === laid.find((l) => l.name === f.name)?.text])).toEqual(laid.map((f) => [f.name, f.ids, true]));
        // `cronsync` first, and no file without an entry: none at all for no jobs.
        expect(laid[0]?.name).toBe(jobs.length > 0 ? 'cronsync' : undefined);
        expect(laid.every((f) => lineCount(f.text) <= MAX_LINES && f.text.startsWith(`${renderHeader().join('\n')}\n`))).toBe(true);
        expect(laid.every((f) => f.ids.length > 0)).toBe(true);
        expect(laid.flatMap((f) => f.ids).sort()).toEqual(jobs.map((j) => j.id as string).sort());
      }
    }), { seed: 11, numRuns: 25 });
  });
});
