/**
 * The git source over http and https. One fetch: read the ref advertisement; if the commit and
 * the source config equal the last ones, stop there. Otherwise ask for a depth-1 pack of that one
 * commit (telling the server what we have), index it in memory, store it in the bare clone under
 * the state dir, and read only the blobs whose ids are new. The token travels only in an
 * `Authorization` header: never in a URL, `.git/config`, a log or an error.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { HttpClient } from 'isomorphic-git';
import { basicAuthHeader, resolveCredentials } from './auth.js';
import { provenanceUrl } from './url.js';
import { classify } from './classify.js';
import { createNodeHttpClient } from './http.js';
import { parsePack, writePack } from './pack.js';
import type { GitObject } from './pack.js';
import { maxFetchBytesOf } from './limits.js';
import { discover, fetchPack, resolveRemoteRef, UploadPackError } from './protocol.js';
import { buildFiles, diffFiles, fileOids, makeEntrySelector, sourceIdOf, unchangedSnapshot, withLinkedDirs } from './select.js';
import { clearCloneDir, removeOtherClones } from './clones.js';
import { ObjectStore, readRecordOnly } from './store.js';
import { commitTree, listTree, NotCommitError, peelToCommit, reachable, TreeError } from './tree.js';
import type { ObjectReader } from './tree.js';
import { DEFAULT_TIMEOUT_MS } from './types.js';
import type { Snapshot, Source, SourceConfig, SourceLog } from './types.js';
import { SourceError } from '../errors.js';
import { timerMs } from '../system/clock.js';

/** Dependencies of the git http source. */
export interface GitHttpDeps {
  stateDir: string;
  log?: SourceLog;
  http?: HttpClient;
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
  /** Packs kept before the clone is compacted to one pack (default 8). */
  compactAfter?: number;
  /** Told how many files match once the source has listed them, before it reads them (git sources). */
  onListed?: (files: number) => void;
  /** Leave the clones of other source ids in place (SourceDeps.keepOtherClones). */
  keepOtherClones?: boolean;
}

/**
 * Creates the git source for an http(s) URL.
 * @throws {ConfigError} when `source.maxFetchSize` is not a size.
 */
export function createGitHttpSource(config: SourceConfig, deps: GitHttpDeps): Source {
  const id = sourceIdOf(config);
  const url = provenanceUrl(config.url);
  const gitdir = path.join(deps.stateDir, 'sources', id);
  const http = deps.http ?? createNodeHttpClient();
  const now = deps.now ?? (() => new Date());
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = maxFetchBytesOf(config.maxFetchSize);
  const select = makeEntrySelector(config.paths, config.exclude);
  const compactAfter = deps.compactAfter ?? 8;

  async function attempt(signal: AbortSignal, headers: Record<string, string>, previous: Snapshot | undefined): Promise<Snapshot> {
    const ad = await discover({ http, url, headers, signal });
    const target = resolveRemoteRef(ad, config.ref);
    if (!target) throw new SourceError('not-found', `Git source ${url}: ref ${config.ref ?? 'HEAD'} not found on the server`, { url, ref: config.ref ?? 'HEAD' });
    const ref = config.ref ?? target.fullRef.replace(/^refs\/heads\//, '');
    const fetchedAt = now().toISOString();
    if (previous && previous.sourceId === id && previous.commit === target.oid) {
      deps.log?.debug({ sourceId: id, commit: target.oid }, 'Source unchanged');
      return unchangedSnapshot(previous, fetchedAt);
    }
    clearCloneDir(gitdir, deps.log);
    const record = readRecordOnly(gitdir);
    // Opened afresh by each fetch that needs it: another process (`cronsync diff`, a one-shot
    // sync) may have compacted or removed the clone since, and packs held open from an earlier
    // fetch failed every later one with ENOENT until the daemon restarted.
    const s = ObjectStore.open(gitdir);
    let objects = new Map<string, GitObject>();
    const read: ObjectReader = (oid) => objects.get(oid) ?? s.read(oid);
    const have = record && s.has(record.commit) ? record.commit : null;
    let unchanged = false;
    if (!s.has(target.oid)) {
      const res = await fetchPack({ http, url, headers, signal, want: target.oid, haves: have ? [have] : [], shallows: have ? s.readShallow() : [], capabilities: ad.capabilities, maxBytes });
      const parsed = parsePack(res.pack, (oid) => s.read(oid));
      objects = parsed.objects;
      if (have) {
        // A thin pack refers to objects it does not hold; store it whole so git can read the clone.
        const whole = writePack(parsed.objects);
        s.addPack(whole.pack, whole.index);
      } else s.addPack(res.pack, parsed.index);
      const shallow = new Set([...(have ? s.readShallow() : []), ...res.shallow]);
      for (const u of res.unshallow) shallow.delete(u);
      s.writeShallow([...shallow]);
      deps.log?.info({ sourceId: id, commit: target.oid, bytes: res.pack.length }, 'Source fetched');
    } else unchanged = !previous && record?.sourceId === id && record.commit === target.oid;
    let commit: string;
    try {
      commit = peelToCommit(read, target.oid);
    } catch (err) {
      // The server's ref is wrong, not our clone: rebuilding the clone would not help.
      if (err instanceof NotCommitError) throw new SourceError('not-found', `Git source ${url}: ref ${ref} points at a ${err.type} (${err.oid}), not a commit`, { url, ref });
      throw err;
    }

    const listed = listTree(read, commitTree(read, commit));
    if (listed.unsafe.length) deps.log?.warn({ sourceId: id, paths: listed.unsafe }, 'Unsafe paths ignored');
    const entries = listed.entries.filter((e) => select(e.path, e.mode));
    deps.onListed?.(entries.length);
    const readBlobs = async (oids: readonly string[]): Promise<Map<string, Buffer>> => new Map(oids.flatMap((o) => {
      const obj = read(o);
      return obj ? [[o, obj.data] as const] : [];
    }));
    const built = await buildFiles(entries, readBlobs, previous?.files);
    const files = await withLinkedDirs(built.files, listed.entries, select, readBlobs, deps.log, id);
    let before: Map<string, string> | null = previous ? fileOids(previous.files) : null;
    if (!previous && record && record.sourceId === id && s.has(record.commit)) {
      try {
        before = new Map(listTree(read, commitTree(read, record.commit)).entries.filter((e) => select(e.path, e.mode)).map((e) => [e.path, e.oid]));
      } catch {
        before = null;
      }
    }
    s.writeRecord({ commit, sourceId: id, ref, fetchedAt });
    if (!deps.keepOtherClones) removeOtherClones(path.dirname(gitdir), id);
    if (s.packCount > compactAfter) {
      s.compact(reachable(read, commit).map((oid): [string, GitObject] => {
        const obj = read(oid);
        // A pack lost from the clone, holding files the globs do not match: rebuilt, not a TypeError.
        if (!obj) throw new TreeError(`object ${oid} is missing`);
        return [oid, obj];
      }), commit);
      deps.log?.info({ sourceId: id }, 'Source clone compacted');
    }
    return { sourceId: id, url, ref, commit, commitObject: read(commit)?.data, fetchedAt, files, changes: diffFiles(before, files), unchanged };
  }

  return {
    id,
    async fetch(signal, previous) {
      const timeout = AbortSignal.timeout(timerMs(timeoutMs));
      const both = AbortSignal.any([signal, timeout]);
      let secrets: string[] = [];
      try {
        const creds = resolveCredentials(config, deps.env);
        const headers: Record<string, string> = { 'user-agent': 'cronsync' };
        if (creds) {
          headers.authorization = basicAuthHeader(creds);
          secrets = [creds.password, headers.authorization.slice(6)];
        }
        try {
          return await attempt(both, headers, previous);
        } catch (err) {
          const e = classify(err, { url, secrets, timeoutMs, timedOut: timeout.aborted });
          // A response cut or garbled on its way (a proxy ending it early) says nothing of the
          // clone: wiping it would only turn the next fetch into a full one.
          if (e.kind !== 'corrupt' || err instanceof UploadPackError || both.aborted) throw e;
          // A damaged clone is rebuilt from scratch, once.
          deps.log?.warn({ sourceId: id, err: e.message }, 'Source clone corrupt, re-cloning');
          rmSync(gitdir, { recursive: true, force: true });
          return await attempt(both, headers, previous);
        }
      } catch (err) {
        throw classify(err, { url, secrets, timeoutMs, timedOut: timeout.aborted });
      }
    },
  };
}
