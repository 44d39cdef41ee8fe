import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSource, detectSource, provenanceOf } from '../../src/source/index.js';
import { git, gitAvailable } from '../e2e/helpers/git-server.js';

const never = new AbortController().signal;
const stop: Array<() => void> = [];
const temp = (prefix: string): string => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  stop.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
};
afterEach(() => stop.splice(0).forEach((f) => f()));

describe('source/dir', () => {
  it('reads a plain directory, skipping .git, never following symlinks, and diffs against the previous read', async () => {
    const root = temp('cronsync-dir-');
    mkdirSync(path.join(root, 'a'));
    mkdirSync(path.join(root, '.git'));
    writeFileSync(path.join(root, 'a', 'x.yaml'), 'x: 1\n');
    writeFileSync(path.join(root, '.git', 'y.yaml'), 'no');
    writeFileSync(path.join(root, 'big.yaml'), Buffer.alloc(1024 * 1024 + 1));
    symlinkSync('/etc/passwd', path.join(root, 'link.yaml'));
    const source = createSource({ url: root }, { stateDir: root, now: () => new Date('2026-01-01T00:00:00Z') });

    const s1 = await source.fetch(never);
    writeFileSync(path.join(root, 'a', 'x.yaml'), 'x: 2\n');
    const s2 = await source.fetch(never, s1);
    const s3 = await source.fetch(never, s2);

    expect(s1.files.map((f) => [f.path, f.error ?? f.content.toString()])).toEqual([
      ['a/x.yaml', 'x: 1\n'],
      ['big.yaml', 'file is 1048577 bytes, over the 1 MiB limit'],
      ['link.yaml', 'symbolic link not followed'],
    ]);
    expect([s1.commit, s1.fetchedAt, s1.files[0]?.oid]).toEqual([null, '2026-01-01T00:00:00.000Z', git(['hash-object', '--stdin'], { input: 'x: 1\n' })]);
    expect(s2.changes).toEqual({ added: [], modified: ['a/x.yaml'], deleted: [] });
    expect(s3.unchanged).toBe(true);
    expect(provenanceOf(s1, s1.files[0]!, 2)).toEqual({ sourceId: source.id, url: root, ref: '', commit: null, path: 'a/x.yaml', index: 2 });
  });

  // Windows file names cannot hold a line break.
  it.skipIf(process.platform === 'win32')('reads a file under a directory whose name holds a line break, as one whose own name does', async () => {
    const root = temp('cronsync-dir-nl-');
    mkdirSync(path.join(root, 'team\nops'));
    writeFileSync(path.join(root, 'team\nops', 'backup.yaml'), 'a: 1\n');
    writeFileSync(path.join(root, 'nl\nfile.yaml'), 'b: 2\n');
    const source = createSource({ url: root }, { stateDir: root });

    const snap = await source.fetch(never);

    expect(snap.files.map((f) => [f.path, f.error ?? f.content.toString()])).toEqual([
      ['nl\nfile.yaml', 'b: 2\n'],
      ['team\nops/backup.yaml', 'a: 1\n'],
    ]);
  });

  it.skipIf(process.platform !== 'linux')('reads files and directories whose names are not UTF-8, shown with U+FFFD as the git sources show them', async () => {
    const root = temp('cronsync-dir-');
    const latin1 = Buffer.from([0x6c, 0xe9]);
    mkdirSync(Buffer.concat([Buffer.from(`${root}/`), latin1]));
    writeFileSync(Buffer.concat([Buffer.from(`${root}/`), latin1, Buffer.from('/a.yaml')]), 'a: 1\n');
    writeFileSync(Buffer.concat([Buffer.from(`${root}/`), latin1, Buffer.from('.yaml')]), 'b: 1\n');
    writeFileSync(path.join(root, 'c.yaml'), 'c: 1\n');

    const s = await createSource({ url: root }, { stateDir: root }).fetch(never);

    expect(s.files.map((f) => [f.path, f.error ?? f.content.toString()])).toEqual([
      ['c.yaml', 'c: 1\n'],
      ['l\uFFFD.yaml', 'b: 1\n'],
      ['l\uFFFD/a.yaml', 'a: 1\n'],
    ]);
  });

  it('watch calls back once, debounced, after a burst of changes', async () => {
    const root = temp('cronsync-watch-');
    const source = createSource({ url: root }, { stateDir: root, debounceMs: 50 });
    const onChange = vi.fn();
    await source.fetch(new AbortController().signal); // loads the directory source, whose watch starts at once
    stop.push(source.watch!(onChange));
    await new Promise((r) => setTimeout(r, 100)); // chokidar's initial scan

    for (let i = 0; i < 5; i++) writeFileSync(path.join(root, `f${i}.yaml`), 'a: 1');

    await vi.waitFor(() => expect(onChange).toHaveBeenCalled(), { timeout: 5000 });
    expect(onChange).toHaveBeenCalledTimes(1);
  });
});

// Root is never refused a read, so the source is run as `nobody` in a child process, from a
// bundle of src/source/dir.ts (as test/e2e/dir-unreadable runs the CLI); skipped unless root.
const NOBODY = 65534;
const asNobody = process.getuid?.() === 0 && spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim() === String(NOBODY);
if (!asNobody) console.warn('test/source/local: unreadable-directory tests skipped: need root and the user nobody (uid 65534)');

describe.runIf(asNobody)('source/dir: a directory this agent may not list', () => {
  interface Fetched { files?: string[][]; error?: { code: string; message: string; data: unknown }; logs: Array<[string, string, Record<string, unknown>]> }
  let dir: string;
  let bundle: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-dir-bundle-'));
    chmodSync(dir, 0o755);
    bundle = path.join(dir, 'fetch.mjs');
    const contents = `
      import { createDirSource } from './dir.ts';
      const [root, config, mode] = process.argv.slice(2);
      const logs = [];
      const log = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((level) => [level, (obj, msg) => logs.push([level, msg, obj])]));
      const out = (o) => process.stdout.write(JSON.stringify({ ...o, logs }));
      const source = createDirSource(JSON.parse(config), root, { log });
      if (mode === 'watch') {
        const stop = source.watch(() => undefined);
        // chokidar's initial scan of a few directories; an error is emitted during it.
        setTimeout(() => { stop(); out({}); }, 1500);
      } else source.fetch(new AbortController().signal).then(
        (s) => out({ files: s.files.map((f) => [f.path, f.error ?? f.content.toString()]) }),
        (e) => out({ error: { code: e.code, message: e.message, data: e.data } }),
      );`;
    // picomatch is CommonJS and requires Node's modules; the bundle is ESM.
    const banner = { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" };
    await build({ stdin: { contents, resolveDir: path.resolve(import.meta.dirname, '../../src/source'), loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', target: 'node20', banner, outfile: bundle, logLevel: 'warning' });
  }, 30_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A tree of readable files and directories, then `denied` made mode 000. */
  function unreadable(files: string[], denied: string): string {
    const root = temp('cronsync-dir-denied-');
    chmodSync(root, 0o755);
    for (const rel of files) {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), `${rel}: 1\n`);
    }
    mkdirSync(path.join(root, denied), { recursive: true });
    // Removed by root, whom the mode does not stop.
    chmodSync(path.join(root, denied), 0o000);
    return root;
  }

  function fetchAsNobody(root: string, config: { paths?: string[]; exclude?: string[] }, mode = 'fetch'): Fetched {
    const run = spawnSync(process.execPath, [bundle, root, JSON.stringify({ url: root, ...config }), mode], { uid: NOBODY, gid: NOBODY, cwd: tmpdir(), env: { PATH: process.env.PATH }, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`fetch as nobody exited ${run.status}: ${run.stderr}`);
    return JSON.parse(run.stdout) as Fetched;
  }

  it('skips an unreadable lost+found that no source.paths glob reaches, logging no error, and returns the selected files', () => {
    const root = unreadable(['production/a.yaml', 'production/team/b.yaml', 'staging/c.yaml'], 'lost+found');

    const got = fetchAsNobody(root, { paths: ['production/**/*.yaml'] });

    expect(got.error).toBeUndefined();
    expect(got.files).toEqual([['production/a.yaml', 'production/a.yaml: 1\n'], ['production/team/b.yaml', 'production/team/b.yaml: 1\n']]);
    expect(got.logs).toEqual([['debug', 'Skipped a directory this agent may not list: no selected file can be under it', { path: root, dir: 'lost+found', code: 'EACCES', unselected: 'paths' }]]);
  });

  it('does not watch a directory no selected file can be under: an unreadable lost+found raises no watch error (one that may hold a selected file does)', () => {
    const root = unreadable(['production/a.yaml'], 'lost+found');

    const outside = fetchAsNobody(root, { paths: ['production/**/*.yaml'] }, 'watch');
    const under = fetchAsNobody(root, {}, 'watch');

    expect(outside.logs.filter(([level]) => level !== 'debug')).toEqual([]);
    expect(under.logs.map(([level, msg, obj]) => [level, msg, (obj.err as { code?: string } | undefined)?.code])).toEqual([['warn', 'Directory watch failed; changes are picked up at the next poll', 'EACCES']]);
  });

  it('skips an unreadable dot-directory under the default globs, which never select a file in it', () => {
    const root = unreadable(['a.yaml'], '.Trash-0');

    const got = fetchAsNobody(root, {});

    expect(got.error).toBeUndefined();
    expect(got.files).toEqual([['a.yaml', 'a.yaml: 1\n']]);
  });

  // `lost+found/**` was not trusted: a `+` counted as an extglob, as in `+(…)`.
  it.each`
    denied            | exclude
    ${'team/scratch'} | ${'team/scratch/**'}
    ${'lost+found'}   | ${'lost+found/**'}
  `('skips an unreadable $denied that source.exclude $exclude excludes whole', ({ denied, exclude }: { denied: string; exclude: string }) => {
    const root = unreadable(['a.yaml', 'team/b.yaml'], denied);

    const got = fetchAsNobody(root, { exclude: [exclude] });

    expect(got.error).toBeUndefined();
    expect(got.files).toEqual([['a.yaml', 'a.yaml: 1\n'], ['team/b.yaml', 'team/b.yaml: 1\n']]);
    expect(got.logs.map(([level, , obj]) => [level, obj.dir, obj.unselected])).toEqual([['debug', denied, 'exclude']]);
  });

  it('reports an error at its path for a symlink that leads where this agent may not look, which may be a directory of manifests, and reads the rest', () => {
    const root = unreadable(['a.yaml', 'locked/team/b.yaml'], 'locked');
    symlinkSync(path.join(root, 'locked', 'team'), path.join(root, 'team'));

    const got = fetchAsNobody(root, { exclude: ['locked/**'] });

    expect(got.error).toBeUndefined();
    expect(got.files).toEqual([['a.yaml', 'a.yaml: 1\n'], ['team', 'symbolic link not followed: where it leads cannot be looked at (EACCES), and may be a directory whose manifests are not read; the jobs of the files that were under team keep their last applied version (put the directory itself there, or leave it out with source.exclude "team/**")']]);
  });

  it.each`
    denied                | paths                        | exclude                      | why
    ${'production/team'}  | ${['production/**/*.yaml']}  | ${[]}                        | ${'under source.paths'}
    ${'lost+found'}       | ${undefined}                 | ${[]}                        | ${'under the default **/*.{yaml,yml}'}
    ${'lost+found'}       | ${['**/prod/*.yaml']}        | ${[]}                        | ${'a ** before it'}
    ${'team/scratch'}     | ${undefined}                 | ${['team/scratch/*.yaml']}   | ${'excluded only in part'}
  `('reports an unreadable $denied that may hold a selected file as an error at its path, and reads the rest ($why)', ({ denied, paths, exclude }: { denied: string; paths?: string[]; exclude: string[] }) => {
    const root = unreadable(['production/a.yaml', 'team/b.yaml'], denied);

    const got = fetchAsNobody(root, { ...(paths ? { paths } : {}), exclude });

    expect(got.error).toBeUndefined();
    expect(got.files).toContainEqual([denied, `cannot list this directory (EACCES): the jobs of the files that were under ${denied} keep their last applied version (give the agent's user read and search rights on it, or leave it out with source.exclude "${denied}/**")`]);
  });
});

describe.skipIf(!gitAvailable)('source/local-git', () => {
  it('reads the committed tree at HEAD or a ref, ignoring uncommitted edits', async () => {
    const root = temp('cronsync-local-');
    git(['init', '-q', '-b', 'main', root]);
    writeFileSync(path.join(root, 'a.yaml'), 'v: 1\n');
    git(['add', '.'], { cwd: root });
    git(['commit', '-q', '-m', 'one'], { cwd: root });
    const first = git(['rev-parse', 'HEAD'], { cwd: root });
    git(['tag', '-a', '-m', 't', 'v1'], { cwd: root });
    writeFileSync(path.join(root, 'a.yaml'), 'v: 2\n');
    git(['commit', '-q', '-am', 'two'], { cwd: root });
    writeFileSync(path.join(root, 'a.yaml'), 'dirty\n');

    const listed: number[] = [];
    const head = await createSource({ url: root }, { stateDir: root, onListed: (n) => listed.push(n) }).fetch(never);
    const tag = await createSource({ url: root, ref: 'v1' }, { stateDir: root }).fetch(never);
    const again = await createSource({ url: root }, { stateDir: root }).fetch(never, head);

    expect(detectSource(root).kind).toBe('local-git');
    expect([head.ref, head.commit, head.files[0]?.content.toString()]).toEqual(['main', git(['rev-parse', 'HEAD'], { cwd: root }), 'v: 2\n']);
    expect([tag.commit, tag.files[0]?.content.toString()]).toEqual([first, 'v: 1\n']);
    expect(again.unchanged).toBe(true);
    expect(listed).toEqual([1]);
  });
});
