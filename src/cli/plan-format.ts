/** Terraform-plan style rendering of a sync plan, for `cronsync diff` and `sync --dry-run`. */
import type { DesiredJob } from '../desired/types.js';
import { ownedSourceIds } from '../plan/plan.js';
import type { PlanResult } from '../plan/plan.js';
import type { Issue } from '../manifest/types.js';
import type { InstalledEntry } from '../plan/types.js';
import { palette } from './io.js';

/** Renders a plan with one line per job: `+` add, `~` update, `-` remove; then foreign entries left alone. */
export function formatPlan(res: PlanResult, issues: readonly Issue[], target: string, color: boolean, installed: readonly InstalledEntry[] = []): string {
  const c = palette(color);
  const { plan, notes } = res;
  const lines: string[] = [];
  const where = (d: DesiredJob): string => `${d.provenance.path}#${d.provenance.index} @ ${d.provenance.commit ? d.provenance.commit.slice(0, 12) : 'working tree'}`;
  const sched = (d: DesiredJob): string => `${d.job.spec.schedule} (${d.job.spec.timezone})${d.job.spec.paused ? ' paused' : ''}`;
  for (const d of plan.add) lines.push(c.green(`  + ${d.id}`) + `  ${sched(d)}  ${where(d)}`);
  for (const u of plan.update) lines.push(c.yellow(`  ~ ${u.desired.id}`) + `  ${sched(u.desired)}  ${where(u.desired)}  changed: ${u.changes.join(', ')}`);
  for (const e of plan.remove) {
    const why = notes.find((n) => n.id === e.marker?.jobId && (n.kind === 'removed' || n.kind === 'duplicate'))?.message.replace(/^\S+ /, '') ?? 'removed';
    lines.push(c.red(`  - ${e.marker?.jobId ?? e.key}`) + `  ${why}  (was ${e.marker?.path ?? '?'} @ ${e.marker?.commit?.slice(0, 12) ?? '?'})`);
  }
  const out: string[] = [];
  out.push(lines.length > 0 ? `cronsync will change ${target}:\n\n${lines.join('\n')}\n` : `No changes. ${target} matches the source.\n`);
  const kept = notes.filter((n) => n.kind !== 'removed' && n.kind !== 'duplicate');
  if (kept.length > 0) out.push(`\nKept or left alone:\n${kept.map((n) => `  ! ${n.message}`).join('\n')}\n`);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) out.push(`\nInvalid manifests (their jobs keep their last applied version):\n${errors.map((i) => `  ${i.file}:${i.line}:${i.col}: [${i.rule}] ${i.message}`).join('\n')}\n`);
  const owned = ownedSourceIds(plan);
  const foreign = installed.filter((e) => !e.marker || !owned.has(e.marker.sourceId));
  if (foreign.length > 0) {
    const show = (e: InstalledEntry): string => (e.marker ? `${e.marker.jobId} (source ${e.marker.sourceId})` : e.raw.split('\n')[0]!.slice(0, 100));
    out.push(`\nNot managed by this agent, left alone (${foreign.length}):\n${foreign.slice(0, 20).map((e) => `  = ${show(e)}`).join('\n')}${foreign.length > 20 ? `\n  … and ${foreign.length - 20} more` : ''}\n`);
  }
  out.push(`\nPlan: ${plan.add.length} to add, ${plan.update.length} to change, ${plan.remove.length} to remove, ${plan.unchanged.length} unchanged.\n`);
  return out.join('');
}
