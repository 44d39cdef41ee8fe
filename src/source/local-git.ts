/**
 * A local git repository read at its committed tree (HEAD or `ref`) through isomorphic-git,
 * without cloning and without looking at the working tree: uncommitted edits are not synced.
 */
import fs from 'node:fs';
import type * as IsoGit from 'isomorphic-git';
import { SourceError } from '../errors.js';
import { buildFiles, diffFiles, fileOids, makeEntrySelector, sourceIdOf, unchangedSnapshot, withLinkedDirs } from './select.js';
import { isSafeName } from './tree.js';
import type { TreeEntry } from './tree.js';
import type { Source, SourceConfig, SourceLog } from './types.js';

/** Dependencies of the local git source. */
export interface LocalGitDeps {
  log?: SourceLog;
  now?: () => Date;
  /** Told how many files match once the source has listed them, before it reads them (git sources). */
  onListed?: (files: number) => void;
}

let loading: Promise<typeof IsoGit> | undefined;
/** isomorphic-git (~15 MB resident) is loaded only when a local repository is read. */
const loadGit = (): Promise<typeof IsoGit> => (loading ??= import('isomorphic-git'));

/** Creates a source reading the committed tree of the repository whose git dir is `gitdir`. */
export function createLocalGitSource(config: SourceConfig, gitdir: string, deps: LocalGitDeps = {}): Source {
  const id = sourceIdOf(config);
  const select = makeEntrySelector(config.paths, config.exclude);
  const now = deps.now ?? (() => new Date());
  const url = config.url;

  async function resolveCommit(): Promise<{ commit: string; ref: string }> {
    const git = await loadGit();
    const cache = {};
    const want = config.ref ?? 'HEAD';
    let oid: string;
    try {
      oid = /^[0-9a-f]{40}$/.test(want) ? want : await git.resolveRef({ fs, gitdir, ref: want });
    } catch {
      throw new SourceError('not-found', `Local git source ${url}: ref ${want} not found`, { url, ref: want });
    }
    for (let i = 0; i < 16; i++) {
      const { type, object } = await git.readObject({ fs, gitdir, oid, cache, format: 'parsed' });
      if (type === 'commit') break;
      if (type !== 'tag') throw new SourceError('not-found', `Local git source ${url}: ${want} is not a commit`, { url });
      oid = (object as { object: string }).object;
    }
    const ref = config.ref ?? ((await git.currentBranch({ fs, gitdir, fullname: false })) || 'HEAD');
    return { commit: oid, ref };
  }

  async function list(commit: string, cache: object): Promise<TreeEntry[]> {
    const git = await loadGit();
    const out: TreeEntry[] = [];
    const walk = async (oid: string, prefix: string): Promise<void> => {
      const { tree } = await git.readTree({ fs, gitdir, oid, cache });
      for (const e of tree) {
        if (!isSafeName(e.path)) continue;
        if (e.type === 'tree') await walk(e.oid, `${prefix}${e.path}/`);
        else out.push({ path: prefix + e.path, mode: e.mode.padStart(6, '0'), oid: e.oid });
      }
    };
    await walk(commit, '');
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  return {
    id,
    async fetch(_signal, previous) {
      try {
        const { commit, ref } = await resolveCommit();
        const fetchedAt = now().toISOString();
        if (previous && previous.sourceId === id && previous.commit === commit) return unchangedSnapshot(previous, fetchedAt);
        const cache = {};
        const all = await list(commit, cache);
        const entries = all.filter((e) => select(e.path, e.mode));
        deps.onListed?.(entries.length);
        const readBlobs = async (oids: readonly string[]): Promise<Map<string, Buffer>> => {
          const git = await loadGit();
          const m = new Map<string, Buffer>();
          for (const oid of oids) m.set(oid, Buffer.from((await git.readBlob({ fs, gitdir, oid, cache })).blob));
          return m;
        };
        const built = await buildFiles(entries, readBlobs, previous?.files);
        const files = await withLinkedDirs(built.files, all, select, readBlobs, deps.log, id);
        const raw = await (await loadGit()).readObject({ fs, gitdir, oid: commit, cache, format: 'content' });
        const commitObject = Buffer.from(raw.object as Uint8Array);
        return { sourceId: id, url, ref, commit, commitObject, fetchedAt, files, changes: diffFiles(previous ? fileOids(previous.files) : null, files), unchanged: false };
      } catch (err) {
        if (err instanceof SourceError) throw err;
        throw new SourceError('corrupt', `Local git source ${url}: ${(err as Error).message}`, { url }, { cause: err });
      }
    },
  };
}
