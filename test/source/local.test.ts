import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
