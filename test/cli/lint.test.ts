import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { testTempDir } from '../system/tempdir.js';
import { cli } from './helpers.js';

/** A temp dir holding `files`, removed when the test finishes. */
function tree(files: Record<string, string | Buffer>): string {
  const dir = testTempDir('cronsync-lint-');
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

const valid = 'apiVersion: v1\nkind: Job\nmetadata: { name: ok, tenant: t }\nspec: { schedule: "0 0 * * *", command: /bin/true }\n';
const four = [
  'apiVersion: v1', 'kind: Job', 'metadata:', '  name: four', '  tenant: acme', '  name: four-again',
  'spec:', '  schedule: "0 25 * * *"', '  timezone: Nowhere/Land', '  command: /bin/true', '  retries: 3', '',
].join('\n');

describe('cli/lint', () => {
  it('lints the bundled example clean', async () => {
    const res = await cli(['lint', 'manifests-example'], process.cwd());

    expect(res.err).toBe('');
    expect(res.out).toMatch(/8 file\(s\), 12 valid job\(s\), 0 error\(s\)/);
    expect(res.code).toBe(0);
  });

  it.skipIf(process.platform !== 'linux')('lints files and directories whose names are not UTF-8, shown with U+FFFD as sync shows them', async () => {
    const dir = testTempDir('cronsync-lint-');
    const latin1 = Buffer.from([0x6c, 0xe9]);
    mkdirSync(Buffer.concat([Buffer.from(`${dir}/`), latin1]));
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), latin1, Buffer.from('/a.yaml')]), valid.replace('name: ok', 'name: in-dir'));
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), latin1, Buffer.from('.yaml')]), valid.replace('0 0 * * *', '0 25 * * *'));

    const res = await cli(['lint'], dir);

    expect(res.err).toBe('');
    expect(res.out).toContain('l\uFFFD.yaml:4:');
    expect(res.out).toMatch(/2 file\(s\), 1 valid job\(s\), 1 error\(s\)/);
    expect(res.code).toBe(1);
  });

  it('reports all four problems of one file at their line:col and exits 1', async () => {
    const dir = tree({ 'jobs/four.yml': four, 'jobs/ok.yaml': valid, 'jobs/notes.txt': 'ignored' });

    const res = await cli(['lint'], dir);

    expect(res.out.split('\n').slice(0, 4)).toEqual([
      'jobs/four.yml:6:3: error [yaml-duplicate-key] duplicate key "name" in metadata (first at 4:3)',
      'jobs/four.yml:8:16: error [cron-range] hour value 25 is out of range 0-23',
      'jobs/four.yml:9:13: error [timezone] unknown time zone "Nowhere/Land" (use an IANA name such as UTC or America/New_York)',
      'jobs/four.yml:11:3: error [unknown-field] unknown field "spec.retries" (did you mean "retry"?)',
    ]);
    expect(res.code).toBe(1);
  });

  it('prints JSON and GitHub annotations', async () => {
    const dir = tree({ 'four.yaml': four });

    const json = await cli(['lint', '--format', 'json', '.'], dir);
    const gh = await cli(['lint', '--format=github', 'four.yaml'], dir);

    expect(JSON.parse(json.out)).toMatchObject({ valid: false, files: 1, jobs: 0, errors: 4, warnings: 0 });
    expect(gh.out.split('\n')[1]).toBe('::error file=four.yaml,line=8,col=16,title=cron-range::hour value 25 is out of range 0-23');
    expect(gh.code).toBe(1);
  });

  it('passes warnings unless --strict', async () => {
    const dir = tree({ 'w.yaml': valid.replace('/bin/true', 'no-such-command-xyz') });

    const loose = await cli(['lint', '.'], dir);
    const strict = await cli(['lint', '--strict', '.'], dir);

    expect(loose.out).toContain('warning [command-not-found]');
    expect(loose.code).toBe(0);
    expect(strict.code).toBe(1);
  });

  it('uses colour only on a TTY without NO_COLOR', async () => {
    const dir = tree({ 'four.yaml': four });

    const tty = await cli(['lint'], dir, { PATH: '' }, true);
    const noColor = await cli(['lint'], dir, { PATH: '', NO_COLOR: '1' }, true);
    const pipe = await cli(['lint'], dir, { PATH: '' }, false);

    expect(tty.out).toContain('\u001b[31merror');
    expect(noColor.out).not.toContain('\u001b[');
    expect(pipe.out).not.toContain('\u001b[');
  });

  it.each([
    [['lint', '--format', 'xml'], 2, /--format must be text, json or github/],
    [['lint', '--bogus'], 2, /Unknown option '--bogus'/],
    [['lint', '--log-level', 'loud'], 2, /Unknown log level "loud"/],
    [['lint', 'does/not/exist'], 2, /cannot read does\/not\/exist: no such file or directory/],
    [['frobnicate'], 2, /unknown command "frobnicate"/],
  ])('%j exits %i with a clear message', async (argv, code, message) => {
    const res = await cli(argv, tree({}));

    expect(res.err).toMatch(message);
    expect(res.err).not.toMatch(/\n\s+at /);
    expect(res.code).toBe(code);
  });

  it('lints what the configured source holds with --config', async () => {
    const dir = tree({ 'repo/jobs/four.yaml': four, 'repo/jobs/ok.yaml': valid, 'repo/skip/x.yaml': four });
    writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: acme }\nsource: { url: ${join(dir, 'repo')}, paths: ["jobs/**"] }\nstateDir: ${join(dir, 'state')}\n`);

    const res = await cli(['lint', '--config', 'config.yaml'], dir);

    expect(res.out).toContain('jobs/four.yaml:8:16: error [cron-range]');
    expect(res.out).not.toContain('skip/');
    expect(res.out).toMatch(/2 file\(s\), 1 valid job\(s\), 4 error\(s\)/);
    expect(res.code).toBe(1);
  });

  it.skipIf(process.platform === 'win32')('reports a FIFO or device named on the command line without opening it, and lints the rest', { timeout: 10_000 }, async () => {
    const dir = tree({ 'ok.yaml': valid });
    const fifo = join(dir, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    // A regression blocks in open(2) on the FIFO: a writer unblocks it so the test fails instead of hanging.
    onTestFinished(() => {
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // No reader: nothing is blocked.
      }
    });

    const res = await cli(['lint', 'pipe.yaml', '/dev/null', 'ok.yaml'], dir);

    expect(res.err).toBe('cronsync: cannot read /dev/null: not a regular file (a character device)\ncronsync: cannot read pipe.yaml: not a regular file (a FIFO)\n');
    expect(res.out).toMatch(/^1 file\(s\), 1 valid job\(s\), 0 error\(s\)/);
    expect(res.code).toBe(2);
  });

  it.skipIf(process.platform === 'win32')('reports symlinks and FIFOs in a directory as [source-file] errors, exactly as the configured source does', async () => {
    const dir = tree({ 'repo/ok.yaml': valid, 'shared/linked.yaml': valid.replace('name: ok', 'name: linked') });
    symlinkSync('../shared/linked.yaml', join(dir, 'repo/linked.yaml'));
    symlinkSync('/etc/passwd', join(dir, 'repo/passwd.yaml'));
    execFileSync('mkfifo', [join(dir, 'repo/fifo.yaml')]);
    writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: t }\nsource: { url: ${join(dir, 'repo')} }\nstateDir: ${join(dir, 'state')}\n`);

    const walked = await cli(['lint', '.'], join(dir, 'repo'));
    const configured = await cli(['lint', '--config', '../config.yaml'], join(dir, 'repo'));
    const json = await cli(['lint', '--format', 'json', 'repo'], dir);

    expect(walked.out.split('\n').slice(0, 3)).toEqual([
      'fifo.yaml:1:1: error [source-file] not a regular file',
      'linked.yaml:1:1: error [source-file] symbolic link not followed',
      'passwd.yaml:1:1: error [source-file] symbolic link not followed',
    ]);
    expect(walked.out).toBe(configured.out);
    expect([walked.err, walked.code, configured.code]).toEqual(['', 1, 1]);
    expect(JSON.parse(json.out)).toMatchObject({ valid: false, files: 4, jobs: 1, errors: 3 });
    expect(JSON.parse(json.out).issues[1]).toEqual({ file: 'repo/linked.yaml', line: 1, col: 1, path: '', rule: 'source-file', severity: 'error', message: 'symbolic link not followed' });
  });

  // The README's CI recipe in a repository with CI configs and hooks, which are no manifests
  // and which the agent's default selection `**/*.{yaml,yml}` (dot: false) never reads.
  it('skips dot-files, dot-directories and node_modules in `lint --format github .`, and lints a dot-file named explicitly', async () => {
    const workflow = 'name: ci\non: [push]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npx cronsync lint --format github .\n';
    const dir = tree({
      'jobs/ok.yaml': valid,
      '.github/workflows/ci.yml': workflow,
      '.gitlab-ci.yml': 'stages: [test]\n',
      '.pre-commit-config.yaml': 'repos: []\n',
      'node_modules/pkg/fixture.yaml': 'a: 1\n',
    });

    const res = await cli(['lint', '--format', 'github', '.'], dir);
    const named = await cli(['lint', '--format', 'github', '.gitlab-ci.yml'], dir);

    expect([res.out, res.err, res.code]).toEqual(['', '', 0]);
    expect(named.out).toMatch(/^::error file=\.gitlab-ci\.yml,line=1,col=1,title=kind::/);
    expect(named.code).toBe(1);
  });

  it.skipIf(process.platform === 'win32')('reports a symlink to a directory as a [source-file] error at its path instead of skipping its manifests', async () => {
    const dir = tree({ 'repo/ok.yaml': valid, 'real2/x.yaml': valid.replace('0 0 * * *', '0 25 * * *') });
    symlinkSync('../real2', join(dir, 'repo/real'));

    const text = await cli(['lint', '.'], join(dir, 'repo'));
    const gh = await cli(['lint', '--format', 'github', 'repo'], dir);

    expect(text.out).toBe('real:1:1: error [source-file] symbolic link not followed: it leads to a directory, and no manifest under it is read\n2 file(s), 1 valid job(s), 1 error(s), 0 warning(s)\n');
    expect([text.err, text.code]).toEqual(['', 1]);
    expect(gh.out).toBe('::error file=repo/real,line=1,col=1,title=source-file::symbolic link not followed: it leads to a directory, and no manifest under it is read\n');
    expect(gh.code).toBe(1);
  });

  it('reports a path that cannot be read, lints the others and exits 2', async () => {
    const dir = tree({ 'bad.yaml': valid.replace('0 0 * * *', '99 * * * *') });

    const res = await cli(['lint', 'missing.yaml', 'bad.yaml', 'gone/'], dir);

    expect(res.err).toBe('cronsync: cannot read missing.yaml: no such file or directory\ncronsync: cannot read gone/: no such file or directory\n');
    expect(res.out).toContain('bad.yaml:4:20: error [cron-range] minute value 99 is out of range 0-59');
    expect(res.out).toMatch(/1 file\(s\), 0 valid job\(s\), 1 error\(s\)/);
    expect(res.code).toBe(2);
  });

  it('names an unknown CRONSYNC_* variable when linting with --config', async () => {
    const dir = tree({ 'repo/ok.yaml': valid });
    writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: t }\nsource: { url: ${join(dir, 'repo')} }\nstateDir: ${join(dir, 'state')}\n`);

    const res = await cli(['lint', '--config', 'config.yaml'], dir, { PATH: process.env.PATH, CRONSYNC_STATEDIR: '/tmp/elsewhere' });

    expect(res.err).toBe('cronsync: invalid config config.yaml:\n  CRONSYNC_STATEDIR: unknown environment variable CRONSYNC_STATEDIR (did you mean CRONSYNC_STATE_DIR?)\n');
    expect(res.code).toBe(2);
  });

  it('exits 2 (usage or I/O), not 1, when the --config file or its source cannot be used', async () => {
    const dir = tree({ 'repo/ok.yaml': valid });
    writeFileSync(join(dir, 'gone.yaml'), `agent: { tenant: t }\nsource: { url: "https://127.0.0.1:9/none.git", timeout: 2s }\nstateDir: ${join(dir, 'state')}\n`);

    const missing = await cli(['lint', '--config', 'nope.yaml'], dir);
    const down = await cli(['lint', '--config', 'gone.yaml'], dir);

    expect([missing.code, down.code]).toEqual([2, 2]);
    expect(missing.err).toContain('cannot read config file nope.yaml');
    expect(down.err).toMatch(/^cronsync: /);
    expect(down.err).not.toMatch(/internal error|\n\s+at /);
  });

  it('escapes newlines, terminal escapes and bidi overrides from a manifest in text and GitHub output, not in JSON', { timeout: 20_000 }, async () => {
    const evil = 'Evil\n\u001b[31mFAKE\u202e';
    const dir = tree({ 'x.yaml': valid.replace('command: /bin/true', `timezone: ${JSON.stringify(evil)}, command: /bin/true`) });

    const text = await cli(['lint', 'x.yaml'], dir);
    const gh = await cli(['lint', '--format', 'github', 'x.yaml'], dir);
    const json = await cli(['lint', '--format', 'json', 'x.yaml'], dir);

    expect(text.out).toContain('unknown time zone "Evil\\n\\x1b[31mFAKE\\u{202e}"');
    expect(gh.out).toContain('unknown time zone "Evil%0A\\x1b[31mFAKE\\u{202e}"');
    for (const out of [text.out, gh.out]) {
      expect(out.split('\n').filter((l) => l.includes('FAKE'))).toHaveLength(1);
      expect([out.includes('\u001b'), out.includes('\u202e')]).toEqual([false, false]);
    }
    expect(JSON.parse(json.out).issues[0].message).toContain(evil);
    expect(text.code).toBe(1);
  });

  it('answers --help and --version', async () => {
    const help = await cli(['lint', '--help'], process.cwd());
    const version = await cli(['--version'], process.cwd());

    expect(help.out).toContain('Usage: cronsync lint');
    expect(help.code).toBe(0);
    expect(version.out).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('never throws and exits 0, 1 or 2 on arbitrary YAML or bytes', async () => {
    const dir = tree({});
    let n = 0;
    const yamlish = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.constantFrom(valid, four, 'a: &a [*a]\n', '---\n- x\n', '%YAML 1.1\n---\na: 1\n', '!!binary x: y', 'a: !!js/function x'),
      fc.tuple(fc.constant(valid), fc.string({ maxLength: 40 }), fc.nat({ max: valid.length })).map(([v, s, i]) => v.slice(0, i) + s + v.slice(i)),
    );

    await fc.assert(fc.asyncProperty(yamlish, async (content) => {
      const file = `f${n++}.yaml`;
      writeFileSync(join(dir, file), content);

      const res = await cli(['lint', file], dir);

      expect([0, 1, 2]).toContain(res.code);
      expect(res.err).not.toContain('internal error');
    }), { numRuns: 300 });
    // 300 CLI runs: the bound only keeps a hang from stalling the suite on a loaded machine.
  }, 60_000);
});
