import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SchedulerError } from '../../src/errors.js';
import { createCronDAdapter } from '../../src/scheduler/crond/index.js';
import { parseCronD } from '../../src/scheduler/crond/parse.js';
import { assertEntryFits, renderCronD } from '../../src/scheduler/crond/render.js';
import { desired, options, planOf, signal, SOURCE } from './fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crond-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ctx = { sourceId: SOURCE, hostZone: 'UTC', exec: ['/usr/bin/node', '/opt/c/main.js'], execOptions: ['--state-dir', '/var/lib/cronsync'], user: 'root' };

describe('scheduler/crond', () => {
  it('renders a source-neutral header and one marked entry per job, sorted by id', () => {
    const text = renderCronD([desired('b', '0 1 * * *'), desired('a', '*/5 * * * *', { paused: true })], ctx);

    expect(text).toMatchSnapshot();
    expect(text.indexOf('acme/a')).toBeLessThan(text.indexOf('acme/b'));
    expect(text).toContain('\n#paused: 0-55/5 * * * * root /usr/bin/node /opt/c/main.js exec --scheduled --state-dir /var/lib/cronsync acme/a\n');
    expect(text).toContain('\n0 1 * * * root /usr/bin/node /opt/c/main.js exec --scheduled --state-dir /var/lib/cronsync acme/b\n');
    expect(text).not.toContain('CRONSYNC_STATE_DIR');
    expect(text.split('\n\n')[0]).not.toContain(SOURCE);
  });

  it('escapes % and quotes odd paths in the command', () => {
    const text = renderCronD([desired('a', '0 1 * * *')], { ...ctx, exec: ['/opt/my app/100%/cronsync'] });

    expect(text).toContain("root '/opt/my app/100\\%/cronsync' exec --scheduled --state-dir /var/lib/cronsync acme/a");
  });

  it('puts the state dir into every entry, the default one too, quoted and %-escaped', async () => {
    const odd = createCronDAdapter(options({ cronDir: dir, stateDir: "/srv/my state/50%'s" }));
    const plain = createCronDAdapter(options({ cronDir: dir }));
    const jobs = [desired('a', '0 1 * * *'), desired('b', '0 2 * * *', { paused: true })];

    await odd.apply(planOf(jobs), signal);
    const text = await readFile(join(dir, 'cronsync'), 'utf8');
    const inv = await odd.inventory(signal);

    expect(text).toContain(`\n0 1 * * * root /usr/bin/node /opt/cronsync/dist/cli/launch.cjs exec --scheduled --state-dir '/srv/my state/50\\%'\\''s' acme/a\n`);
    expect(text).toContain(`\n#paused: 0 2 * * * root /usr/bin/node /opt/cronsync/dist/cli/launch.cjs exec --scheduled --state-dir '/srv/my state/50\\%'\\''s' acme/b\n`);
    expect(inv.map((e) => [e.marker?.jobId, e.drifted, e.raw === odd.renderEntry(jobs.find((j) => j.id === e.marker?.jobId)!)])).toEqual([['acme/a', false, true], ['acme/b', false, true]]);
    expect(plain.renderEntry(jobs[0]!)).toMatch(/ exec --scheduled --state-dir \/var\/lib\/cronsync acme\/a$/);
  });

  it('refuses commands Debian would reject as too long, and only entries that no file can hold', () => {
    expect(() => renderCronD([desired('a', '0 1 * * *')], { ...ctx, exec: [`/${'x'.repeat(990)}`] })).toThrow(SchedulerError);
    expect(() => renderCronD([desired('a', '0 1 * * *')], { ...ctx, execOptions: ['--state-dir', `/${'s'.repeat(960)}`] })).toThrow(/command too long/);
    // Header (4 lines) + blank line + entry: 9,995 entry lines fill a file exactly.
    expect(() => assertEntryFits(Array.from({ length: 9995 }, () => 'x').join('\n'), 'acme/a')).not.toThrow();
    expect(() => assertEntryFits(Array.from({ length: 9996 }, () => 'x').join('\n'), 'acme/a')).toThrow(/entry of acme\/a has 9996 lines; a cron.d file holds at most 10000/);
  });

  it('parses back what it renders: markers, paused flags, no drift', () => {
    const jobs = [desired('a', '0 2 * * *', { timezone: 'America/New_York' }), desired('b', '*/5 * * * *', { paused: true })];
    const text = renderCronD(jobs, ctx);

    const parsed = parseCronD(text, 'cronsync', SOURCE);

    expect(parsed.kept).toEqual({ entries: [], lines: [] });
    expect(parsed.entries.map((e) => [e.marker?.jobId, e.marker?.manifestHash, e.paused, e.drifted])).toEqual([
      ['acme/a', jobs[0]!.manifestHash, false, false],
      ['acme/b', jobs[1]!.manifestHash, true, false],
    ]);
  });

  it('keeps variable lines added by hand below the header (they configure the foreign lines after them), and then writes nothing', async () => {
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const plan = planOf([desired('a', '0 2 * * *')]);
    await adapter.apply(plan, signal);
    const own = '# my tool\nSHELL=/bin/bash\nPATH=/opt/tool/bin:/usr/bin:/bin\nCRONSYNC_STATE_DIR=/srv/other\n0 1 * * * root mytool\n';
    await writeFile(join(dir, 'cronsync'), `${await readFile(join(dir, 'cronsync'), 'utf8')}\n${own}`);

    await adapter.apply(planOf([desired('a', '0 3 * * *')]), signal);
    const text = await readFile(join(dir, 'cronsync'), 'utf8');
    const again = await adapter.apply(planOf([desired('a', '0 3 * * *')]), signal);

    expect(text).toContain(own);
    expect(text.match(/^SHELL=/gm)).toEqual(['SHELL=', 'SHELL=']);
    expect(text.indexOf(own)).toBeGreaterThan(text.indexOf('exec --scheduled acme/a'));
    expect(again.changed).toBe(false);
  });

  it('marks a hand-edited entry as drifted and reports stray lines as foreign', () => {
    const text = renderCronD([desired('a', '0 2 * * *')], ctx).replace('0 2 * * * root', '5 2 * * * root') + '7 7 * * * root /bin/true\n';

    const parsed = parseCronD(text, 'cronsync', SOURCE);

    expect(parsed.entries.find((e) => e.marker?.jobId === 'acme/a')?.drifted).toBe(true);
    expect(parsed.entries.filter((e) => e.marker === null).map((e) => e.raw)).toEqual(['7 7 * * * root /bin/true']);
    expect(parsed.kept).toEqual({ entries: [], lines: ['7 7 * * * root /bin/true'] });
  });

  it('writes 0644 atomically, only when bytes differ, and never touches other files', async () => {
    const foreign = '# e2scrub\r\n30 3 * * 0 root /bin/true\n';
    await writeFile(join(dir, 'e2scrub_all'), foreign);
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const plan = planOf([desired('a', '0 2 * * *')]);

    const first = await adapter.apply(plan, signal);
    const before = await stat(join(dir, 'cronsync'));
    const second = await adapter.apply(plan, signal);
    const after = await stat(join(dir, 'cronsync'));

    expect(first).toEqual({ changed: true, written: [join(dir, 'cronsync')] });
    expect(second).toEqual({ changed: false, written: [] });
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.ino).toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o644);
    expect(await readFile(join(dir, 'e2scrub_all'), 'utf8')).toBe(foreign);
    expect((await readdir(dir)).sort()).toEqual(['cronsync', 'e2scrub_all']);
  });

  it('names scheduler.cronDir when it does not exist (cron not installed), creates nothing, and has nothing to do without jobs', async () => {
    const missing = join(dir, 'cron.d');
    const adapter = createCronDAdapter(options({ cronDir: missing }));

    const applied = adapter.apply(planOf([desired('a', '0 2 * * *')]), signal);

    await expect(applied).rejects.toThrow(SchedulerError);
    await expect(applied).rejects.toThrow(`scheduler.cronDir ${missing} does not exist (is cron installed? cronsync does not create it)`);
    expect(await readdir(dir)).toEqual([]);
    // No job to install (prune, an uninstall after cron was removed): nothing to do, no error.
    expect(await adapter.apply(planOf([]), signal)).toEqual({ changed: false, written: [] });
    expect(await readdir(dir)).toEqual([]);
  });

  it('sees a hand edit of the file it just wrote, on the same adapter (its parses are keyed by the text)', async () => {
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const plan = planOf([desired('a', '0 2 * * *'), desired('b', '0 3 * * *')]);
    await adapter.apply(plan, signal);
    const clean = await adapter.inventory(signal);
    const text = await readFile(join(dir, 'cronsync'), 'utf8');
    await writeFile(join(dir, 'cronsync'), text.replace('\n0 3 * * * root', '\n* * * * * root'));

    const edited = await adapter.inventory(signal);
    const again = await adapter.apply(plan, signal);

    expect(clean.map((e) => [e.marker?.jobId, e.drifted])).toEqual([['acme/a', false], ['acme/b', false]]);
    expect(edited.map((e) => [e.marker?.jobId, e.drifted])).toEqual([['acme/a', false], ['acme/b', true]]);
    expect(again).toEqual({ changed: true, written: [join(dir, 'cronsync')] });
    expect(await readFile(join(dir, 'cronsync'), 'utf8')).toBe(text);
  });

  it('keeps other sources\' entries and stray lines of its file through a rewrite', async () => {
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const other = createCronDAdapter(options({ cronDir: dir, sourceId: 'other-src' }));
    await other.apply({ ...planOf([desired('x', '0 5 * * *', {}, 'beta')]), sourceId: 'other-src' }, signal);
    const otherText = await readFile(join(dir, 'cronsync'), 'utf8');
    const otherEntry = otherText.split('\n').filter((l) => l.includes('beta/x'));

    await adapter.apply(planOf([desired('a', '0 2 * * *')]), signal);
    await adapter.apply(planOf([desired('a', '0 3 * * *')]), signal);
    const inv = await adapter.inventory(signal);

    const text = await readFile(join(dir, 'cronsync'), 'utf8');
    for (const l of otherEntry) expect(text).toContain(l);
    expect(inv.map((e) => [e.marker?.sourceId, e.marker?.jobId])).toEqual([[SOURCE, 'acme/a'], ['other-src', 'beta/x']]);
    expect(await adapter.apply(planOf([desired('a', '0 3 * * *')]), signal)).toEqual({ changed: false, written: [] });
  });

  it('copies preserved entries through byte-identical', async () => {
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    await adapter.apply(planOf([desired('a', '0 2 * * *'), desired('k', '0 4 * * *')]), signal);
    const kept = (await adapter.inventory(signal)).find((e) => e.marker?.jobId === 'acme/k')!;

    await adapter.apply({ ...planOf([desired('a', '0 3 * * *')]), preserve: [kept] }, signal);

    const inv = await adapter.inventory(signal);
    expect(inv.find((e) => e.marker?.jobId === 'acme/k')?.raw).toBe(kept.raw);
    expect(inv).toHaveLength(2);
  });

  it('removes temp files left by a crash and repairs a wrong mode', async () => {
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const plan = planOf([desired('a', '0 2 * * *')]);
    await adapter.apply(plan, signal);
    await writeFile(join(dir, '.cronsync.deadbeef.tmp'), 'partial');
    const { chmod } = await import('node:fs/promises');
    await chmod(join(dir, 'cronsync'), 0o664);

    const r = await adapter.apply(plan, signal);

    expect(r.changed).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['cronsync']);
    expect((await stat(join(dir, 'cronsync'))).mode & 0o777).toBe(0o644);
  });

  it('renderEntry equals the raw text inventory reads back', async () => {
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    const d = desired('a', '15 2 * * 1', { timezone: 'Australia/Lord_Howe' });
    await adapter.apply(planOf([d]), signal);

    const [entry] = await adapter.inventory(signal);

    expect(entry?.raw).toBe(adapter.renderEntry(d));
    expect(entry?.drifted).toBe(false);
  });

  it('rewrites the entries of a previous source id under the current one: no duplicates, others kept', async () => {
    const old = createCronDAdapter(options({ cronDir: dir, sourceId: 'old-id' }));
    const other = createCronDAdapter(options({ cronDir: dir, sourceId: 'other-src' }));
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    await other.apply({ ...planOf([desired('x', '0 5 * * *', {}, 'beta')]), sourceId: 'other-src' }, signal);
    await old.apply({ ...planOf([desired('a', '0 2 * * *'), desired('b', '0 3 * * *')]), sourceId: 'old-id' }, signal);

    await adapter.apply({ ...planOf([desired('a', '0 2 * * *')]), ownedSourceIds: [SOURCE, 'old-id'] }, signal);
    const text = await readFile(join(dir, 'cronsync'), 'utf8');
    const inv = await adapter.inventory(signal);

    expect(text).not.toContain('old-id');
    expect(text.match(/exec --scheduled --state-dir \S+ acme\/a$/gm)).toHaveLength(1);
    expect(inv.map((e) => [e.marker?.sourceId, e.marker?.jobId, e.drifted])).toEqual([[SOURCE, 'acme/a', false], ['other-src', 'beta/x', false]]);
    expect(await adapter.apply({ ...planOf([desired('a', '0 2 * * *')]), ownedSourceIds: [SOURCE] }, signal)).toEqual({ changed: false, written: [] });
  });

  it('copies a preserved entry of a previous source id through unchanged, once', async () => {
    const old = createCronDAdapter(options({ cronDir: dir, sourceId: 'old-id' }));
    const adapter = createCronDAdapter(options({ cronDir: dir }));
    await old.apply({ ...planOf([desired('a', '0 2 * * *'), desired('k', '0 4 * * *')]), sourceId: 'old-id' }, signal);
    const kept = (await old.inventory(signal)).find((e) => e.marker?.jobId === 'acme/k')!;

    await adapter.apply({ ...planOf([desired('a', '0 2 * * *')]), ownedSourceIds: [SOURCE, 'old-id'], preserve: [kept] }, signal);
    const inv = await adapter.inventory(signal);

    expect(inv.map((e) => [e.marker?.sourceId, e.marker?.jobId])).toEqual([[SOURCE, 'acme/a'], ['old-id', 'acme/k']]);
    expect(inv[1]!.raw).toBe(kept.raw);
  });

  it('refuses a plan made for another source id', async () => {
    const adapter = createCronDAdapter(options({ cronDir: dir }));

    await expect(adapter.apply({ ...planOf([]), sourceId: 'someone-else' }, signal)).rejects.toThrow(SchedulerError);
    expect(await readdir(dir)).toEqual([]);
  });
});
