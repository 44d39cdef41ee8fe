/**
 * The snapshot batch `<stateDir>/jobs.batch.json`: every job snapshot one sync changed, in one
 * file that is fsynced once, so that a sync of thousands of jobs costs O(1) fsyncs instead of
 * two per snapshot (issue #16 item 7). The snapshot files themselves are then renamed into place
 * without fsync.
 *
 *     { "version": 1, "snapshots": { "<tenant>/<name>": "<the snapshot file's exact text>", … } }
 *
 * Crash argument (kill -9 or power loss at any point):
 * - The batch is written atomically (temp file, fsync, rename, fsync of the state dir) before any
 *   snapshot file of the sync is renamed and before the scheduler is touched. So whenever the
 *   scheduler holds an entry of this sync, the batch holding its snapshot is on disk.
 * - A snapshot file is renamed into place from a complete temp file; without fsync, a power
 *   loss may leave it missing, empty, cut short or at its previous version, never a mix of two
 *   versions (a new inode; the file systems we run on do not expose stale blocks). Cut or empty
 *   JSON does not parse, and a snapshot must name the job of its path, so `exec` never runs a
 *   job from a half-written file: it reads this batch instead, only then (its fast path, one
 *   read and a parse of its own file, is unchanged). A file left at its previous version is a
 *   whole snapshot: `exec` runs that version until the next sync restores the new one.
 * - The next sync that changes snapshots replaces the batch; the next one that changes none
 *   removes it after its scheduler apply. A fresh reconciler replays it before it plans
 *   (rewriting the files that differ, again without fsync, so the batch then stays one more
 *   sync), so a sync interrupted at any point converges. A batch whose removal was lost holds
 *   only versions no later sync replaced (every change writes a new batch first); a snapshot it
 *   brings back for a job removed since has no entry, and that sync deletes it.
 * - A snapshot deleted while the batch holds it (a sync replayed the batch, `prune` right after a
 *   sync, an apply the scheduler refused) is listed in `jobs.batch.deleted`, one id a line,
 *   each a JSON string (see deletedEntry),
 *   appended without fsync, and the batch no longer stands in for it: not for `exec` reading
 *   it, not for `exec` asking after a run whether its job is still installed (the record stays
 *   only then, and the sync deletes the snapshot, then the record), not for a replay. The list
 *   names the batch it belongs to on its first line (the batch's random `generation`): a list
 *   of another batch counts as empty, so a new batch needs no removal of the old list before it
 *   (a reader between the two would have taken deleted jobs for present), and readers read the
 *   list first, then the batch. The first deletion from a new batch rewrites the list; settling
 *   removes both. An append lost to a power loss brings the snapshot back at the replay, for a
 *   job without an entry: that sync deletes it again. Rewriting the batch instead would cost a
 *   durable write of it per deletion.
 * - What is given up: once the batch is gone, the files of the sync before are durable only
 *   when the kernel has written them back (Linux: within about 30 s). A power loss in that
 *   window can cost a job its snapshot until the next sync rewrites it (`exec` exits 78; no
 *   job is run from a damaged file). The batch is kept a whole sync interval to make that rare.
 */
import { join } from 'node:path';
import type { JobId } from '../manifest/types.js';

/**
 * Path of the batch relative to the state dir: beside `jobs/`, not in it, so that `jobs/`
 * holds exactly one file per installed job.
 */
export const BATCH_FILE = 'jobs.batch.json';

/** Path relative to the state dir of the ids of snapshots deleted since the batch was written. */
export const BATCH_DELETED_FILE = 'jobs.batch.deleted';

/** Full path of the batch in `stateDir`. */
export function batchPath(stateDir: string): string {
  return join(stateDir, BATCH_FILE);
}

/**
 * The batch file's text for snapshots given as `[id, exact file text]`, with `generation`, a
 * random id naming this batch (see the deleted list above).
 */
export function serializeBatch(entries: Iterable<readonly [JobId | string, string]>, generation: string): string {
  const snapshots: Record<string, string> = {};
  for (const [id, text] of entries) snapshots[id] = text;
  return `${JSON.stringify({ version: 1, generation, snapshots })}\n`;
}

/** A parsed batch: its generation ('' for a batch of an older version) and snapshots by id. */
export interface Batch {
  generation: string;
  snapshots: Map<string, string>;
}

/** A batch's generation and snapshots; null when the text is not a version-1 batch. Never throws. */
export function readBatch(text: string | null): Batch | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as { version?: unknown; generation?: unknown; snapshots?: unknown } | null;
    if (!v || v.version !== 1 || typeof v.snapshots !== 'object' || v.snapshots === null) return null;
    const snapshots = new Map(Object.entries(v.snapshots as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
    return { generation: typeof v.generation === 'string' ? v.generation : '', snapshots };
  } catch {
    return null;
  }
}

/** The first line of the deleted list of the batch of `generation`. */
export function deletedHeader(generation: string): string {
  return `# batch ${generation}\n`;
}

/** Whether `text` (a `jobs.batch.deleted`, or null) is the deleted list of the batch of `generation`. */
export function listOfBatch(text: string | null, generation: string): boolean {
  return text !== null && text.startsWith(deletedHeader(generation));
}

/**
 * An entry of the deleted list: the id as a JSON string on a line of its own, after a line break
 * that ends whatever a write cut short before it. A cut entry is no JSON string and so no id: a
 * prefix of one (`acme/foo` of `acme/foo-bar`) could hide another job's copy.
 */
export function deletedEntry(id: string): string {
  return `\n${JSON.stringify(id)}\n`;
}

/**
 * The ids of a `jobs.batch.deleted` text that belong to the batch of `generation`: none for null
 * or for a list of another batch. Never throws.
 */
export function parseDeleted(text: string | null, generation: string): Set<string> {
  const ids = new Set<string>();
  if (!listOfBatch(text, generation)) return ids;
  for (const line of text!.slice(deletedHeader(generation).length).split('\n')) {
    if (!line.startsWith('"') || !line.endsWith('"')) continue;
    try {
      const id: unknown = JSON.parse(line);
      if (typeof id === 'string') ids.add(id);
    } catch {
      // Cut short: no id.
    }
  }
  return ids;
}

/**
 * The batch's copy of job `id`'s snapshot (its file's text), or undefined: no version-1 batch,
 * no copy in it, or the snapshot was deleted since. `read` gives a state-dir file by relative
 * path, null when there is none. The list is read before the batch: a list read with the batch
 * it names is that batch's; one read before a newer batch names the older one, and is ignored.
 */
export function batchedSnapshot(id: string, read: (rel: string) => string | null): string | undefined {
  const deleted = read(BATCH_DELETED_FILE);
  const batch = readBatch(read(BATCH_FILE));
  const text = batch?.snapshots.get(id);
  return text === undefined || parseDeleted(deleted, batch!.generation).has(id) ? undefined : text;
}
