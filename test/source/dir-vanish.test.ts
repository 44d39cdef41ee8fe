import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { createDirSource, MAX_LISTINGS } from '../../src/source/dir.js';

const never = new AbortController().signal;
const cleanup: Array<() => void> = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'cronsync-dir-vanish-'));
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  return root;
}

const contents = (files: readonly { path: string; content: Buffer; error?: string }[]): string[][] => files.map((f) => [f.path, f.error ?? f.content.toString()]);

// The tree is changed on the real file system between the listing and the read of an entry, at
// the moment a concurrent editor or rsync would change it.
describe('source/dir: files that vanish between listing and reading', () => {
  it('a file deleted and written again (an editor\'s save) is read at its new version, not as deleted', async () => {
    const root = tree({ 'b.yaml': 'b: 1\n', 'team/a.yaml': 'a: 1\n' });
    const before = await createDirSource({ url: root }, root).fetch(never);
    const calls: Record<string, number> = {};
    const source = createDirSource({ url: root }, root, {
      beforeOpen: (rel) => {
        const n = (calls[rel] = (calls[rel] ?? 0) + 1);
        // Deleted after the listing named it; its new version is there when team/ is listed again.
        if (rel === 'team/a.yaml' && n === 1) unlinkSync(path.join(root, rel));
        if (rel === 'team' && n === 2) writeFileSync(path.join(root, 'team/a.yaml'), 'a: 2\n');
      },
    });

    const snap = await source.fetch(never, before);

    expect(calls['team/a.yaml']).toBe(2);
    expect(contents(snap.files)).toEqual([['b.yaml', 'b: 1\n'], ['team/a.yaml', 'a: 2\n']]);
    expect(snap.changes).toEqual({ added: [], modified: ['team/a.yaml'], deleted: [] });
  });

  it('a file renamed after the listing is read under its new name', async () => {
    const root = tree({ 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' });
    let renamed = false;
    const source = createDirSource({ url: root }, root, {
      beforeOpen: (rel) => {
        if (rel !== 'a.yaml' || renamed) return;
        renamed = true;
        renameSync(path.join(root, 'a.yaml'), path.join(root, 'c.yaml'));
      },
    });

    const snap = await source.fetch(never);

    expect(renamed).toBe(true);
    expect(contents(snap.files)).toEqual([['b.yaml', 'b: 1\n'], ['c.yaml', 'a: 1\n']]);
  });

  it('a file deleted for good is gone from the next listing, and only then reported deleted', async () => {
    const root = tree({ 'a.yaml': 'a: 1\n', 'sub/b.yaml': 'b: 1\n' });
    const first = await createDirSource({ url: root }, root).fetch(never);
    const seen: string[] = [];
    const source = createDirSource({ url: root }, root, {
      beforeOpen: (rel) => {
        seen.push(rel);
        if (rel === 'sub/b.yaml') unlinkSync(path.join(root, rel));
      },
    });

    const snap = await source.fetch(never, first);

    expect(contents(snap.files)).toEqual([['a.yaml', 'a: 1\n']]);
    expect(snap.changes).toEqual({ added: [], modified: [], deleted: ['sub/b.yaml'] });
    // Listed twice: sub/b.yaml named by the first listing only.
    expect(seen.filter((r) => r === 'sub')).toHaveLength(2);
    expect(seen.filter((r) => r === 'sub/b.yaml')).toHaveLength(1);
  });

  it('a directory removed between listing and reading is listed again', async () => {
    const root = tree({ 'a.yaml': 'a: 1\n', 'team/b.yaml': 'b: 1\n', 'team/c.yaml': 'c: 1\n' });
    let removed = false;
    const source = createDirSource({ url: root }, root, {
      beforeOpen: (rel) => {
        if (rel !== 'team' || removed) return;
        removed = true;
        rmSync(path.join(root, 'team'), { recursive: true });
      },
    });

    const snap = await source.fetch(never);

    expect(removed).toBe(true);
    expect(contents(snap.files)).toEqual([['a.yaml', 'a: 1\n']]);
  });

  it(`a file that vanishes at every one of ${MAX_LISTINGS} listings fails the fetch with an error naming it`, async () => {
    const root = tree({ 'a.yaml': 'a: 1\n', 'team/flaky.yaml': 'f: 1\n' });
    const file = path.join(root, 'team', 'flaky.yaml');
    let vanished = 0;
    let listed = 0;
    const source = createDirSource({ url: root }, root, {
      beforeOpen: (rel) => {
        // Rewritten in a loop by something else: back for each listing, gone at each read.
        if (rel === 'team' && listed++ > 0) writeFileSync(file, 'f: 2\n');
        if (rel === 'team/flaky.yaml') {
          vanished++;
          unlinkSync(file);
        }
      },
    });

    const err = (await source.fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toBe(`Directory source ${root}: team/flaky.yaml vanished between listing and reading, in ${MAX_LISTINGS} listings in a row (is something rewriting it?); nothing was synced from this read`);
    expect(err.data).toEqual({ path: root, file: 'team/flaky.yaml' });
    expect(vanished).toBe(MAX_LISTINGS);
  });

  it('a missing root is still a not-found error, not listed again', async () => {
    const root = path.join(tree({}), 'missing');
    let opens = 0;
    const source = createDirSource({ url: root }, root, { beforeOpen: () => void opens++ });

    const err = (await source.fetch(never).catch((e: unknown) => e)) as SourceError;

    expect(err).toBeInstanceOf(SourceError);
    expect(err.kind).toBe('not-found');
    expect(err.message).toBe(`Directory source ${root} does not exist (source.url; CRONSYNC_SOURCE_URL overrides it)`);
    expect(opens).toBe(0);
  });
});
