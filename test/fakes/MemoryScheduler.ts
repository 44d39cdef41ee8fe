/**
 * MemoryScheduler implements SchedulerAdapter in memory, for reconciler tests: apply()
 * installs `plan.final` (entries keep their marker), inventory() reads it back, and foreign
 * entries given to the constructor are never touched.
 */
import type { DesiredJob } from '../../src/desired/types.js';
import type { InstalledEntry, Plan } from '../../src/plan/types.js';
import type { ApplyResult, Rendered, SchedulerAdapter } from '../../src/scheduler/types.js';

/** An in-memory scheduler. */
export class MemoryScheduler implements SchedulerAdapter {
  readonly kind = 'embedded' as const;
  /** Number of apply() calls that changed something. */
  writes = 0;
  private installed = new Map<string, InstalledEntry>();

  constructor(private readonly sourceId: string, private readonly foreign: InstalledEntry[] = []) {}

  renderEntry(d: DesiredJob): string {
    return `${d.job.spec.paused ? '#paused ' : ''}${d.job.spec.schedule} ${d.job.spec.timezone} ${d.id} ${d.manifestHash}`;
  }

  render(desired: readonly DesiredJob[]): Rendered {
    return { kind: this.kind, files: [{ name: 'memory', content: desired.map((d) => this.renderEntry(d)).join('\n') }] };
  }

  async inventory(signal: AbortSignal): Promise<InstalledEntry[]> {
    signal.throwIfAborted();
    return [...this.foreign, ...[...this.installed.values()].map((e) => ({ ...e }))];
  }

  /** Simulates a hand edit of an installed entry. */
  tamper(jobId: string, raw: string): void {
    const e = this.installed.get(jobId);
    if (e) this.installed.set(jobId, { ...e, raw, drifted: true });
  }

  async apply(plan: Plan, signal: AbortSignal): Promise<ApplyResult> {
    signal.throwIfAborted();
    const next = new Map<string, InstalledEntry>();
    for (const d of plan.final) {
      next.set(d.id, {
        key: `memory:${d.id}`,
        marker: { sourceId: this.sourceId, jobId: d.id, commit: d.provenance.commit, path: d.provenance.path, index: d.provenance.index, manifestHash: d.manifestHash },
        paused: d.job.spec.paused,
        drifted: false,
        raw: this.renderEntry(d),
      });
    }
    const same = next.size === this.installed.size && [...next].every(([k, v]) => this.installed.get(k)?.raw === v.raw && !this.installed.get(k)?.drifted);
    if (same) return { changed: false, written: [] };
    this.installed = next;
    this.writes++;
    return { changed: true, written: ['memory'] };
  }
}
