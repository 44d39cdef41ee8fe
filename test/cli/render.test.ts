import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { outFileName, writeRenderedFiles } from '../../src/cli/commands/render.js';
import { cli } from './helpers.js';
import { createRepo, git, gitAvailable, startGitServer } from '../e2e/helpers/git-server.js';
import { schedulerNames } from '../../src/scheduler/registry.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const job = (name: string): string => `apiVersion: v1\nkind: Job\nmetadata: { name: ${name}, tenant: acme }\nspec: { schedule: "0 3 * * *", command: /bin/true }\n`;

/** A temp dir with `repo/` holding one manifest per [name, schedule, timezone]. */
function repo(...jobs: [string, string, string?][]): string {
  const dir = mkdtempSync(join(tmpdir(), 'cronsync-render-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'repo'));
  for (const [name, schedule, tz] of jobs) {
    writeFileSync(join(dir, `repo/${name}.yaml`), `apiVersion: v1\nkind: Job\nmetadata: { name: ${name}, tenant: acme }\nspec: { schedule: "${schedule}", timezone: ${tz ?? 'UTC'}, command: /bin/true }\n`);
  }
  return dir;
}

describe('cli/render', () => {
  it('reports a symlink in the directory as [source-file], as sync does, and escapes manifest text in its errors', async () => {
    const dir = repo(['a', '0 3 * * *'], ['evil', '0 3 * * *', '"x\\e[31mRED"']);
    symlinkSync(join(dir, 'repo/a.yaml'), join(dir, 'repo/link.yaml'));

    const res = await cli(['render', '--scheduler', 'crond', '--host-zone', 'UTC', 'repo'], dir);

    expect(res.err).toContain('repo/link.yaml:1:1: error [source-file] symbolic link not followed');
    expect(res.err).toContain('error [timezone] unknown time zone "x\\x1b[31mRED"');
    expect(res.err).not.toContain('\u001b');
    expect(res.out).toContain('acme/a');
    expect(res.code).toBe(1);
  });

  it('reports a job whose entry is over cron\'s 999-character limit and still renders the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cronsync-render-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'repo'));
    const long = `l${'o'.repeat(60)}ng`;
    writeFileSync(join(dir, 'repo/a.yaml'), job('a'));
    writeFileSync(join(dir, 'repo/long.yaml'), job(long));
    const config = (stateDir: string): string => {
      writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: acme }\nsource: { url: ${join(dir, 'repo')} }\nstateDir: ${stateDir}\n`);
      return 'config.yaml';
    };
    // Pad the state dir so that job a's entry is just under the limit and the long job's is over it.
    const short = await cli(['render', '--scheduler', 'crontab', '--config', config('/s'), 'repo'], dir);
    const entryA = short.out.split('\n').find((l) => l.endsWith(' acme/a'))!;
    expect(short.code).toBe(0);
    const padded = `/s${'x'.repeat(990 - entryA.length)}`;

    const res = await cli(['render', '--scheduler', 'crontab', '--config', config(padded), 'repo'], dir);

    expect(res.code).toBe(1);
    expect(res.out.split('\n').filter((l) => l.endsWith(' acme/a'))).toHaveLength(1);
    expect(res.out).not.toContain(`acme/${long}`);
    expect(res.err).toMatch(new RegExp(`long\\.yaml: error \\[entry-invalid\\] acme/${long}: `));
    expect(res.err).not.toMatch(/internal error|\n\s+at /);
  });
});

describe('cli/render: applied times', () => {
  it('with --config, prints what sync installed, applied times included, and no time for a version not applied yet', async () => {
    const dir = repo(['a', '0 3 * * *'], ['b', '0 4 * * *']);
    mkdirSync(join(dir, 'cron.d'));
    writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: acme }\nsource: { url: ${join(dir, 'repo')} }\nscheduler: { kind: cron.d, cronDir: ${join(dir, 'cron.d')} }\nstateDir: ${join(dir, 'state')}\n`);
    const sync = await cli(['sync', '--config', 'config.yaml'], dir);
    const installed = readFileSync(join(dir, 'cron.d/cronsync'), 'utf8');

    // From the source directory, as the usage says, so that the paths are the source's.
    const same = await cli(['render', '--scheduler', 'crond', '--config', '../config.yaml', '.'], join(dir, 'repo'));
    writeFileSync(join(dir, 'repo/b.yaml'), job('b'));
    const changed = await cli(['render', '--scheduler', 'crond', '--config', '../config.yaml', '.'], join(dir, 'repo'));
    const markerOf = (text: string, id: string): string => text.split('\n').find((l) => l.includes(`"job":"${id}"`)) ?? '';

    expect(sync.code, sync.err).toBe(0);
    expect(installed).toMatch(/"applied":"\d{4}-\d\d-\d\dT[^"]+Z"/);
    expect(same.out).toBe(installed);
    expect(markerOf(changed.out, 'acme/a')).toBe(markerOf(installed, 'acme/a'));
    expect(markerOf(changed.out, 'acme/b')).not.toContain('"applied"');
    expect(markerOf(changed.out, 'acme/b')).toContain('"ref":""');
  });
});

describe('cli/render: the source\'s selection', () => {
  it('with --config, renders only the files the source selects (paths, exclude), and a plain directory with a configured ref records none, as sync does', async () => {
    const dir = repo(['a', '0 3 * * *']);
    mkdirSync(join(dir, 'repo/drafts'));
    writeFileSync(join(dir, 'repo/drafts/d.yaml'), job('d'));
    mkdirSync(join(dir, 'cron.d'));
    writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: acme }\nsource: { url: ${join(dir, 'repo')}, ref: main, exclude: ["drafts/**"] }\nscheduler: { kind: cron.d, cronDir: ${join(dir, 'cron.d')} }\nstateDir: ${join(dir, 'state')}\n`);
    const sync = await cli(['sync', '--config', 'config.yaml'], dir);
    const installed = readFileSync(join(dir, 'cron.d/cronsync'), 'utf8');

    const res = await cli(['render', '--scheduler', 'crond', '--config', '../config.yaml', '.'], join(dir, 'repo'));

    expect(sync.code, sync.err).toBe(0);
    expect(installed).not.toContain('acme/d');
    expect(installed).toContain('"ref":""');
    expect(res.out).toBe(installed);
  });
});

describe('cli/render: a git source', () => {
  it.skipIf(!gitAvailable)('with --config, prints byte for byte what sync installed from a git server: its URL as fetched, the remote HEAD\'s branch, and each job\'s commit', async () => {
    const server = await startGitServer();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'cronsync-render-git-'));
      dirs.push(dir);
      const repo = createRepo(server.root, 'jobs', { 'a.yaml': job('a'), 'b.yaml': job('b') });
      const first = repo.revParse('main');
      mkdirSync(join(dir, 'cron.d'));
      // No ref (the remote HEAD), and a URL the transport normalises (trailing slash).
      writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: acme }\nsource: { url: "${server.repoUrl('jobs')}/" }\nscheduler: { kind: cron.d, cronDir: ${join(dir, 'cron.d')} }\nstateDir: ${join(dir, 'state')}\n`);
      const synced1 = await cli(['sync', '--config', 'config.yaml'], dir);
      // A commit that changes b only: a keeps the commit it was applied from.
      const second = repo.commit({ 'b.yaml': job('b').replace('0 3 * * *', '0 5 * * *') });
      const synced2 = await cli(['sync', '--config', 'config.yaml'], dir);
      const installed = readFileSync(join(dir, 'cron.d/cronsync'), 'utf8');
      git(['clone', '-q', repo.gitdir, join(dir, 'checkout')]);

      const res = await cli(['render', '--scheduler', 'crond', '--config', '../config.yaml', '.'], join(dir, 'checkout'));

      expect([synced1.code, synced2.code], synced1.err + synced2.err).toEqual([0, 0]);
      expect(installed).toContain(`"commit":"${first}"`);
      expect(installed).toContain(`"commit":"${second}"`);
      expect(installed).toContain(`"url":"${server.repoUrl('jobs')}","ref":"main"`);
      expect(res.err).toBe('');
      expect(res.out).toBe(installed);
    } finally {
      await server.stop();
    }
  });
});

describe('cli/render --scheduler', () => {
  it.each(['crond', 'cron.d', 'crontab', 'windows', 'embedded'])('renders for %s', async (kind) => {
    const dir = repo(['a', '0 3 * * *']);

    const res = await cli(['render', '--scheduler', kind, '--host-zone', 'UTC', 'repo'], dir);

    expect(res).toMatchObject({ code: 0, err: '' });
    expect(res.out).toContain('acme/a');
  });

  it('prints a Windows task as UTF-8 XML, one task per job in the task folder', async () => {
    const dir = repo(['a', '0 3 * * *'], ['b', '*/15 * * * *']);

    const res = await cli(['render', '--scheduler', 'windows', '--host-zone', 'UTC', 'repo'], dir);

    expect(res.code).toBe(0);
    expect(res.out.match(/<Task /g)).toHaveLength(2);
    expect(res.out).toContain('<URI>\\cronsync\\acme\\a</URI>');
    expect(res.out).not.toContain('\uFEFF');
  });

  it.each([['launchd'], ['cron'], ['']])('refuses --scheduler "%s" with a usage error listing the registered kinds', async (kind) => {
    const dir = repo(['a', '0 3 * * *']);

    const res = await cli(['render', '--scheduler', kind, 'repo'], dir);

    expect(res.code).toBe(2);
    expect(res.err).toContain(`--scheduler must be one of ${schedulerNames().join(', ')} (got "${kind}")`);
    expect(res.out).toBe('');
  });

  it('lists the registered kinds in its usage', async () => {
    const res = await cli(['render', '--help'], tmpdir());

    expect(res.out).toContain(`KIND is one of: ${schedulerNames().join(', ')}.`);
    expect(schedulerNames()).toEqual(expect.arrayContaining(['windows', 'cron.d', 'crond', 'crontab', 'embedded']));
    expect(res.out).toMatch(/--host-zone ZONE[\s\S]*--out DIR[\s\S]*--fires FROM\.\.TO[\s\S]*--format/);
  });
});

describe('cli/render --host-zone', () => {
  it('translates the cron entries of a UTC job for a host in another zone', async () => {
    const dir = repo(['a', '0 3 * * *']);

    const utc = await cli(['render', '--scheduler', 'crond', '--host-zone', 'UTC', 'repo'], dir);
    const tokyo = await cli(['render', '--scheduler', 'crond', '--host-zone', 'Asia/Tokyo', 'repo'], dir);

    expect([utc.code, tokyo.code]).toEqual([0, 0]);
    expect(utc.out).toMatch(/^0 3 \* \* \* /m);
    expect(tokyo.out).toMatch(/^0 12 \* \* \* /m);
    expect(tokyo.out).not.toMatch(/^0 3 \* \* \* /m);
  });

  it.each(['Mars/Olympus', '+02:00', ''])('refuses the zone "%s" with a usage error', async (zone) => {
    const dir = repo(['a', '0 3 * * *']);

    const res = await cli(['render', '--scheduler', 'crond', '--host-zone', zone, 'repo'], dir);

    expect(res.code).toBe(2);
    expect(res.err).toContain(`--host-zone must be an IANA time zone such as Europe/Berlin (got "${zone}")`);
  });
});

describe('cli/render --out', () => {
  it('writes each Windows task as UTF-16LE with a BOM under DIR/<tenant>/<name>.xml, creating DIR', async () => {
    const dir = repo(['a', '0 3 * * *'], ['b', '30 2 * * *', 'Europe/Berlin']);
    const printed = await cli(['render', '--scheduler', 'windows', '--host-zone', 'Europe/Berlin', 'repo'], dir);

    const res = await cli(['render', '--scheduler', 'windows', '--host-zone', 'Europe/Berlin', '--out', 'out/tasks', 'repo'], dir);

    expect(res.code).toBe(0);
    expect(res.out).toBe('');
    expect(readdirSync(join(dir, 'out/tasks/acme')).sort()).toEqual(['a.xml', 'b.xml']);
    const bytes = readFileSync(join(dir, 'out/tasks/acme/a.xml'));
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    const text = bytes.subarray(2).toString('utf16le');
    expect(text).toContain('<URI>\\cronsync\\acme\\a</URI>');
    expect(printed.out).toContain(text);
    expect(res.err).toContain(`wrote ${join(dir, 'out/tasks/acme/a.xml')}`);
  });

  it('writes the cron.d file byte-identical to what it prints', async () => {
    const dir = repo(['a', '0 3 * * *']);
    const printed = await cli(['render', '--scheduler', 'crond', '--host-zone', 'UTC', 'repo'], dir);

    const res = await cli(['render', '--scheduler', 'crond', '--host-zone', 'UTC', '--out', 'out', 'repo'], dir);

    expect(res.code).toBe(0);
    expect(readdirSync(join(dir, 'out'))).toEqual(['cronsync']);
    expect(readFileSync(join(dir, 'out/cronsync'), 'utf8')).toBe(printed.out);
  });

  // Node 20's recursive mkdir never returns under /proc/1: a regression fails on the timeout.
  it.skipIf(!existsSync('/proc/1'))('fails at once with a clear error when DIR cannot be created', { timeout: 15_000 }, async () => {
    const dir = repo(['a', '0 3 * * *']);

    const res = await cli(['render', '--scheduler', 'crond', '--host-zone', 'UTC', '--out', '/proc/1/nope/out', 'repo'], dir);

    expect(res.err).toMatch(/^cronsync: Cannot create directory \/proc\/1\/nope\/out \(at \/proc\/1\/nope\): /m);
    expect(res.code).toBe(1);
  });

  it('needs --scheduler', async () => {
    const dir = repo(['a', '0 3 * * *']);

    const res = await cli(['render', '--out', 'out', '--fires', '2026-01-01..2026-01-02', 'repo'], dir);

    expect(res.code).toBe(2);
    expect(res.err).toContain('--out needs --scheduler');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it.each(['../evil.xml', 'acme/../../evil.xml', '/etc/evil.xml', 'C:/evil.xml', 'acme\\..\\evil.xml', 'acme//a.xml', './a.xml'])('never writes outside DIR: refuses the file name %s', async (fileName) => {
    const dir = repo();

    await expect(writeRenderedFiles(join(dir, 'out'), [{ name: 'x', content: 'x', fileName }])).rejects.toThrow(/not a relative path inside the output directory/);
    expect(readdirSync(dir)).toEqual(['repo']);
  });

  it('never writes through a symbolic link on the way', async () => {
    const dir = repo();
    mkdirSync(join(dir, 'out'));
    mkdirSync(join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'out/acme'));

    await expect(writeRenderedFiles(join(dir, 'out'), [{ name: 'x', content: 'x', fileName: 'acme/a.xml' }])).rejects.toThrow(/not a plain directory/);
    expect(readdirSync(join(dir, 'elsewhere'))).toEqual([]);
  });

  it('writes `data` when given, else `content` as UTF-8; names come from fileName, else from name', async () => {
    const dir = repo();

    const written = await writeRenderedFiles(join(dir, 'out'), [
      { name: '\\cronsync\\acme\\a', content: 'shown', fileName: 'acme/a.xml', data: Uint8Array.from([1, 2, 3]) },
      { name: '/etc/cron.d/cronsync-2', content: 'é\n' },
      { name: 'crontab of root', content: 'c\n' },
    ]);

    expect(written).toEqual(['acme/a.xml', 'cronsync-2', 'crontab-of-root'].map((f) => join(dir, 'out', f)));
    expect([...readFileSync(join(dir, 'out/acme/a.xml'))]).toEqual([1, 2, 3]);
    expect(readFileSync(join(dir, 'out/cronsync-2'), 'utf8')).toBe('é\n');
    expect(outFileName({ name: 'C:\\ProgramData\\cronsync\\state\\embedded.json' })).toEqual(['embedded.json']);
  });

  it('refuses two files with one name before writing anything', async () => {
    const dir = repo();

    await expect(writeRenderedFiles(join(dir, 'out'), [{ name: '/a/x', content: '1' }, { name: '/b/x', content: '2' }])).rejects.toThrow(/both be written to x/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe('cli/render --fires', () => {
  it('prints each job\'s §2a fires in [FROM, TO) as JSON, across a spring-forward gap', async () => {
    const dir = repo(['a', '30 2 * * *', 'Europe/Berlin'], ['b', '0 0 * * *']);

    const res = await cli(['render', '--fires', '2026-03-28T01:30:00Z..2026-03-30T00:00:00Z', 'repo'], dir);

    expect(res.code).toBe(0);
    expect(JSON.parse(res.out)).toEqual({
      from: '2026-03-28T01:30:00.000Z', to: '2026-03-30T00:00:00.000Z', limit: 10000,
      jobs: [
        { id: 'acme/a', schedule: '30 2 * * *', timezone: 'Europe/Berlin', paused: false, capped: false, fires: ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z'] },
        { id: 'acme/b', schedule: '0 0 * * *', timezone: 'UTC', paused: false, capped: false, fires: ['2026-03-29T00:00:00.000Z'] },
      ],
    });
  });

  it('lists only the jobs the scheduler can hold, and prints them as text with --format text', async () => {
    const dir = repo(['a', '0 12 * * *']);

    const res = await cli(['render', '--scheduler', 'windows', '--host-zone', 'UTC', '--fires', '2026-01-01..2026-01-03', '--format', 'text', 'repo'], dir);

    expect(res.code).toBe(0);
    expect(res.out).toBe('acme/a 2026-01-01T12:00:00.000Z\nacme/a 2026-01-02T12:00:00.000Z\n');
  });

  it('writes the files with --out and prints only the fires on stdout', async () => {
    const dir = repo(['a', '0 12 * * *']);

    const res = await cli(['render', '--scheduler', 'windows', '--host-zone', 'UTC', '--out', 'out', '--fires', '2026-01-01..2026-01-02', 'repo'], dir);

    expect(res.code).toBe(0);
    expect(readdirSync(join(dir, 'out/acme'))).toEqual(['a.xml']);
    expect((JSON.parse(res.out) as { jobs: { fires: string[] }[] }).jobs[0]!.fires).toEqual(['2026-01-01T12:00:00.000Z']);
  });

  it('caps the fires of a job at 10000 and says so', async () => {
    const dir = repo(['a', '* * * * *']);

    const res = await cli(['render', '--fires', '2026-01-01..2026-01-08', '--format', 'json', 'repo'], dir);

    const job = (JSON.parse(res.out) as { jobs: { fires: string[]; capped: boolean }[] }).jobs[0]!;
    expect(res.code).toBe(0);
    expect(job.capped).toBe(true);
    expect(job.fires).toHaveLength(10000);
    expect(job.fires.at(-1)).toBe('2026-01-07T22:39:00.000Z');
    expect(res.err).toContain('acme/a: more than 10000 fires in the window; only the first 10000 are listed');
  });

  it.each([
    ['2026-03-01', 'expected FROM..TO'],
    ['2026-02-30..2026-03-01', 'FROM and TO must be dates'],
    ['2026-03-01T00:00..2026-03-02', 'FROM and TO must be dates'],
    ['2026-03-02..2026-03-01', 'FROM must be before TO'],
    ['2026-03-01..2026-03-01', 'FROM must be before TO'],
  ])('refuses --fires %s with a usage error', async (window, message) => {
    const dir = repo(['a', '0 3 * * *']);

    const res = await cli(['render', '--fires', window, 'repo'], dir);

    expect(res.code).toBe(2);
    expect(res.err).toContain(`--fires: ${message}`);
    expect(res.out).toBe('');
  });

  it.each([
    [['--format', 'json', '--scheduler', 'crond'], '--format json goes with --fires'],
    [['--format', 'xml', '--fires', '2026-01-01..2026-01-02'], '--format must be json or text (got "xml")'],
  ])('refuses %j with a usage error', async (args, message) => {
    const dir = repo(['a', '0 3 * * *']);

    const res = await cli(['render', ...args, 'repo'], dir);

    expect(res.code).toBe(2);
    expect(res.err).toContain(message);
  });
});
