import { chmodSync, existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../system/tempdir.js';
import { cli } from './helpers.js';

const job = (name: string, extra = ''): string => `apiVersion: v1\nkind: Job\nmetadata: { name: ${name}, tenant: acme }\nspec: { schedule: "0 3 * * *", command: /bin/true${extra} }\n`;
const EVIL = 'x\n\u001b[31mFAKE\u202e';

/** A local-dir source with `files`, a cron.d dir and a config; returns the temp dir (the cwd). */
function agent(files: Record<string, string>, config = ''): string {
  const dir = testTempDir('cronsync-cli-sync-');
  mkdirSync(join(dir, 'repo'));
  mkdirSync(join(dir, 'cron'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'repo', name), text);
  writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: acme }\nsource: { url: ${join(dir, 'repo')} }\nscheduler: { kind: cron.d, cronDir: ${join(dir, 'cron')}, user: root }\nstateDir: ${join(dir, 'state')}\n${config}`);
  return dir;
}

/** Whether the text holds a raw ESC or bidi override. */
const raw = (text: string): boolean[] => [text.includes('\u001b'), text.includes('\u202e')];

// Several in-process CLI runs per test: the timeout is a bound for a loaded machine, not a speed check.
describe.skipIf(process.platform === 'win32' || process.getuid?.() !== 0)('cli/commands/sync and diff', { timeout: 30_000 }, () => {
  it('escape a newline, an ESC sequence and a bidi override from a manifest in the plan and the report', async () => {
    const dir = agent({ 'a.yaml': job('a'), 'evil.yaml': job('evil', `, timezone: ${JSON.stringify(EVIL)}`) });

    const diff = await cli(['diff', '--config', 'config.yaml'], dir);
    const sync = await cli(['sync', '--config', 'config.yaml'], dir);
    const status = await cli(['status', '--config', 'config.yaml'], dir);
    const json = await cli(['status', '--json', '--config', 'config.yaml'], dir);

    const escaped = 'unknown time zone "x\\n\\x1b[31mFAKE\\u{202e}"';
    for (const run of [diff, sync, status]) {
      expect(run.out).toContain(escaped);
      expect(raw(run.out)).toEqual([false, false]);
      expect(run.out.split('\n').filter((l) => l.startsWith('FAKE') || l.startsWith('\u001b'))).toEqual([]);
    }
    expect(diff.code).toBe(3);
    expect(sync.code).toBe(0);
    expect(status.out).toMatch(/^acme\/evil +default +- +- +- +invalid/m);
    expect(JSON.parse(json.out).problems.find((p: { rule: string }) => p.rule === 'timezone').message).toContain(EVIL);
  });

  it.each([
    ['a name', 'name: db-Backup'],
    ['a tenant', 'tenant: Acme'],
    ['a name with a trailing space', 'name: "db-backup "'],
  ])('keeps a job installed when a typo in %s makes its manifest invalid, and the others still sync', async (_what, typo) => {
    const dir = agent({ 'db-backup.yaml': job('db-backup'), 'b.yaml': job('b'), 'c.yaml': job('c') });
    expect((await cli(['sync', '--config', 'config.yaml'], dir)).code).toBe(0);
    const broken = typo.startsWith('tenant') ? job('db-backup').replace('tenant: acme', typo) : job('db-backup').replace('name: db-backup', typo);
    writeFileSync(join(dir, 'repo', 'db-backup.yaml'), broken);
    writeFileSync(join(dir, 'repo', 'new.yaml'), job('new'));

    const sync = await cli(['sync', '--config', 'config.yaml'], dir);
    const crond = readFileSync(join(dir, 'cron', 'cronsync'), 'utf8');

    expect(sync.out).toContain('acme/db-backup: manifest is invalid; the last applied version');
    expect(sync.out).not.toContain('removed');
    expect(crond).toContain('acme/db-backup');
    expect(crond).toContain('acme/new');
    expect(existsSync(join(dir, 'state', 'jobs', 'acme', 'db-backup.json'))).toBe(true);
    expect(sync.code).toBe(0);
  });

  it('removes a job its own valid manifest disables, even when another document of its file is invalid', async () => {
    const dir = agent({ 'jobs.yaml': `${job('a')}---\n${job('b')}` });
    expect((await cli(['sync', '--config', 'config.yaml'], dir)).code).toBe(0);
    writeFileSync(join(dir, 'repo', 'jobs.yaml'), `${job('a', ', enabled: false')}---\n${job('b').replace('0 3 * * *', '0 25 * * *')}`);

    const sync = await cli(['sync', '--config', 'config.yaml'], dir);
    const crond = readFileSync(join(dir, 'cron', 'cronsync'), 'utf8');

    expect(sync.out).toMatch(/- acme\/a +removed: enabled: false/);
    expect(sync.out).toContain('acme/b: manifest is invalid; the last applied version');
    expect(crond).not.toContain('acme/a');
    expect(crond).toContain('acme/b');
  });

  it('reports an unsafe secrets file in the sync output and in status, and still applies', async () => {
    const dir = agent({ 'a.yaml': job('a') }, 'secretsFile: secrets.env\n');
    writeFileSync(join(dir, 'secrets.env'), 'TOKEN=s3cr3t-value\n');
    chmodSync(join(dir, 'secrets.env'), 0o640);

    const sync = await cli(['sync', '--config', 'config.yaml'], dir);
    const status = await cli(['status', '--config', 'config.yaml'], dir);

    expect(sync.out).toMatch(/Problem \[secrets-file\]: Refusing secrets file .*secrets\.env: it is accessible by group or others \(mode 640\)/);
    expect(sync.out).toContain('Sync applied with problems');
    expect(status.out).toContain('error [secrets-file] Refusing secrets file');
    expect(sync.out + status.out).not.toContain('s3cr3t-value');
    expect(sync.code).toBe(0);
  });

  it('diff at the removal guard still reports this agent\'s entries in another scheduler, with the guard line and exit 3', async () => {
    const dir = agent(Object.fromEntries(['a', 'b', 'c', 'd'].map((n) => [`${n}.yaml`, job(n)])));
    expect((await cli(['sync', '--config', 'config.yaml'], dir)).code).toBe(0);
    // The embedded scheduler's registry in the state dir, as an earlier `scheduler.kind: embedded` left it.
    expect((await cli(['render', '--scheduler', 'embedded', '--config', 'config.yaml', '--out', 'state', 'repo'], dir)).code).toBe(0);
    const warning = 'Warning [other-scheduler]: 4 jobs of this agent (acme/a, acme/b, acme/c, acme/d) are still installed in the embedded scheduler, which this agent no longer uses (it uses cron.d)';
    const plain = await cli(['diff', '--config', 'config.yaml'], dir);
    for (const n of ['b', 'c', 'd']) unlinkSync(join(dir, 'repo', `${n}.yaml`));

    const guarded = await cli(['diff', '--config', 'config.yaml'], dir);

    expect(plain.code).toBe(0);
    expect(plain.out).toContain(warning);
    expect(guarded.err).not.toContain('cronsync:');
    expect(guarded.code).toBe(3);
    expect(guarded.out).toContain('Plan: 0 to add, 0 to change, 3 to remove, 1 unchanged.');
    expect(guarded.out).toContain(warning);
    expect(guarded.out).toContain("Removal guard: 'cronsync sync' would stop before this plan (RemovalGuardTripped): it would remove 3 of 4 installed jobs");
  });

  // Node 20's recursive mkdir never returns under /proc/1: a regression fails on the timeout.
  it.skipIf(!existsSync('/proc/1'))('fails fast with a clear error when the state dir cannot be created', { timeout: 15_000 }, async () => {
    const dir = agent({ 'a.yaml': job('a') });

    const res = await cli(['sync', '--config', 'config.yaml', '--state-dir', '/proc/1/nope'], dir);

    expect(res.err).toMatch(/^cronsync: sync failed \(StateDirFailed\): Cannot create directory \/proc\/1\/nope: /m);
    expect(res.code).toBe(1);
  });

  it.each([
    [['--log-level', 'loud']],
    [['--scheduler', 'atd']],
    [['--no-such-flag']],
  ])('exits 2 on a usage error: %j', async (flags) => {
    const dir = agent({ 'a.yaml': job('a') });

    const runs = await Promise.all(['sync', 'diff', 'prune'].map((cmd) => cli([cmd, '--config', 'config.yaml', ...(cmd === 'prune' ? ['--all'] : []), ...flags], dir)));

    expect(runs.map((r) => r.code)).toEqual([2, 2, 2]);
    expect(runs[0]!.err).not.toContain('internal error');
  });
});
