/**
 * MemorySource is a source whose files live in memory; each `commit()` makes a new commit id.
 * It implements the reconciler's source port the way the git source does: an unchanged
 * commit returns `unchanged: true` with the previous files.
 */
import { createHash } from 'node:crypto';
import type { ReconcileSnapshot, ReconcileSource } from '../../src/reconcile/types.js';

/** An in-memory manifest source. */
export class MemorySource implements ReconcileSource {
  readonly id = 'src1';
  readonly files = new Map<string, string>();
  fetches = 0;
  failWith: Error | null = null;
  private commitNo = 1;
  private committed = new Map<string, string>();

  constructor(files: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(files)) this.files.set(k, v);
    this.commit();
  }

  /** Freezes the current files as a new commit. */
  commit(): string {
    this.committed = new Map(this.files);
    this.commitNo++;
    return this.sha();
  }

  sha(): string {
    return createHash('sha1').update(String(this.commitNo)).digest('hex');
  }

  async fetch(signal: AbortSignal, previous?: ReconcileSnapshot): Promise<ReconcileSnapshot> {
    signal.throwIfAborted();
    this.fetches++;
    if (this.failWith) throw this.failWith;
    const commit = this.sha();
    if (previous && previous.commit === commit) return { ...previous, unchanged: true };
    const files = [...this.committed].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, text]) => ({
      path, content: Buffer.from(text), oid: createHash('sha1').update(text).digest('hex'),
    }));
    return { sourceId: this.id, url: 'https://git.example/jobs.git', ref: 'main', commit, fetchedAt: new Date(0).toISOString(), files, changes: { added: [], modified: [], deleted: [] }, unchanged: false };
  }
}
