import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDirSource } from '../../src/source/dir.js';
import type { SourceConfig } from '../../src/source/types.js';

const never = new AbortController().signal;
const cleanup: Array<() => void> = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

/** A temp dir holding `files` under `jobs/` (the source root), and `elsewhere/` beside it. */
function tree(files: Record<string, string>): { root: string; elsewhere: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'cronsync-dir-symlink-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  mkdirSync(path.join(dir, 'jobs'), { recursive: true });
  mkdirSync(path.join(dir, 'elsewhere'), { recursive: true });
  return { root: path.join(dir, 'jobs'), elsewhere: path.join(dir, 'elsewhere') };
}

const contents = (files: readonly { path: string; content: Buffer; error?: string }[]): string[][] => files.map((f) => [f.path, f.error ?? f.content.toString()]);
const fetchOf = (root: string, config: Omit<SourceConfig, 'url'> = {}) => createDirSource({ url: root, ...config }, root).fetch(never);
const REFUSED = 'symbolic link not followed: it leads to a directory, and no manifest under it is read';

// `mv real ../real2 && ln -s ../real2 real`: skipped without a word, the files under the link
// looked deleted and their jobs were removed as "manifest deleted".
describe.skipIf(process.platform === 'win32')('source/dir: symbolic links to directories', () => {
  it.each`
    link                  | why
    ${'real'}             | ${'a directory name'}
    ${'team/real'}        | ${'below the root'}
    ${'linked.yaml'}      | ${'a name the globs select'}
  `('reports an error at its path for a symlink to a directory at $link ($why), and reads the rest', async ({ link }: { link: string }) => {
    const { root, elsewhere } = tree({ 'jobs/a.yaml': 'a: 1\n', 'jobs/team/b.yaml': 'b: 1\n', 'elsewhere/x.yaml': 'x: 1\n' });
    symlinkSync(elsewhere, path.join(root, link));

    const snap = await fetchOf(root);

    // A name the globs select is refused as any symlink is, as the git sources refuse it.
    const why = link.endsWith('.yaml') ? 'symbolic link not followed' : `${REFUSED}; the jobs of the files that were under ${link} keep their last applied version (put the directory itself there, or leave it out with source.exclude "${link}/**")`;
    expect(contents(snap.files).sort()).toEqual([['a.yaml', 'a: 1\n'], [link, why], ['team/b.yaml', 'b: 1\n']].sort());
  });

  it('reads the rest when no selected file can be under the link: excluded whole, outside source.paths, a dot-name', async () => {
    const { root, elsewhere } = tree({ 'jobs/prod/a.yaml': 'a: 1\n', 'elsewhere/x.yaml': 'x: 1\n' });
    for (const link of ['real', 'prod/.cache', 'scratch']) symlinkSync(elsewhere, path.join(root, link));

    const excluded = await fetchOf(root, { exclude: ['real/**', 'scratch/**'] });
    const outside = await fetchOf(root, { paths: ['prod/**/*.yaml'] });

    expect(contents(excluded.files)).toEqual([['prod/a.yaml', 'a: 1\n']]);
    expect(contents(outside.files)).toEqual([['prod/a.yaml', 'a: 1\n']]);
  });

  it('reads the rest past a symlink to a file, reports one to nothing (a directory moved away?) at its path, and still reports one named like a manifest', async () => {
    const { root, elsewhere } = tree({ 'jobs/a.yaml': 'a: 1\n', 'elsewhere/notes.txt': 'x\n' });
    symlinkSync(path.join(elsewhere, 'notes.txt'), path.join(root, 'notes'));
    symlinkSync(path.join(elsewhere, 'missing'), path.join(root, 'dangling'));
    symlinkSync('loop', path.join(root, 'loop'));
    symlinkSync(path.join(elsewhere, 'notes.txt'), path.join(root, 'link.yaml'));

    const snap = await fetchOf(root);

    const gone = (link: string, why: string) => [link, `symbolic link not followed: ${why}, and may be a directory whose manifests are not read; the jobs of the files that were under ${link} keep their last applied version (put the directory itself there, or leave it out with source.exclude "${link}/**")`];
    expect(contents(snap.files)).toEqual([['a.yaml', 'a: 1\n'], gone('dangling', 'it leads nowhere'), ['link.yaml', 'symbolic link not followed'], gone('loop', 'it leads round in a loop')]);
  });

  it('lists the tree again when the link is replaced by the directory itself after the listing, and reads its files', async () => {
    const { root, elsewhere } = tree({ 'jobs/a.yaml': 'a: 1\n', 'elsewhere/x.yaml': 'x: 1\n' });
    symlinkSync(elsewhere, path.join(root, 'real'));
    let moved = false;
    const source = createDirSource({ url: root }, root, {
      beforeOpen: (rel) => {
        if (rel !== 'real' || moved) return;
        moved = true;
        unlinkSync(path.join(root, 'real'));
        renameSync(elsewhere, path.join(root, 'real'));
      },
    });

    const snap = await source.fetch(never);

    expect(moved).toBe(true);
    expect(contents(snap.files)).toEqual([['a.yaml', 'a: 1\n'], ['real/x.yaml', 'x: 1\n']]);
  });
});
