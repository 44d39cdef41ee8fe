/** Terraform-plan style rendering of a sync plan, for `cronsync diff` and `sync --dry-run`. */
import type { DesiredJob } from '../desired/types.js';
import { ownedSourceIds } from '../plan/plan.js';
import type { PlanResult } from '../plan/plan.js';
import type { Issue } from '../manifest/types.js';
import type { InstalledEntry } from '../plan/types.js';
import { OTHER_SCHEDULER_RULE, SECRETS_FILE_RULE, elsewhereMessage } from '../reconcile/summarize.js';
import type { SyncContext } from '../reconcile/types.js';
import { escapeText as e } from './escape.js';
import { palette } from './io.js';

/**
 * Renders a plan with one line per job: `+` add, `~` update, `-` remove; then foreign entries
 * left alone. Every value from a manifest, the scheduler or the source is escaped (escape.ts).
 */
export function formatPlan(res: PlanResult, issues: readonly Issue[], target: string, color: boolean, installed: readonly InstalledEntry[] = []): string {
  const c = palette(color);
  const { plan, notes } = res;
  const lines: string[] = [];
  const where = (d: DesiredJob): string => `${e(d.provenance.path)}#${d.provenance.index} @ ${d.provenance.commit ? e(d.provenance.commit.slice(0, 12)) : 'working tree'}`;
  const sched = (d: DesiredJob): string => `${e(d.job.spec.schedule)} (${e(d.job.spec.timezone)})${d.job.spec.paused ? ' paused' : ''}`;
  for (const d of plan.add) lines.push(c.green(`  + ${e(d.id)}`) + `  ${sched(d)}  ${where(d)}`);
  for (const u of plan.update) lines.push(c.yellow(`  ~ ${e(u.desired.id)}`) + `  ${sched(u.desired)}  ${where(u.desired)}  changed: ${e(u.changes.join(', '))}`);
  for (const r of plan.remove) {
    const why = notes.find((n) => n.id === r.marker?.jobId && (n.kind === 'removed' || n.kind === 'duplicate'))?.message.replace(/^\S+ /, '') ?? 'removed';
    lines.push(c.red(`  - ${e(r.marker?.jobId ?? r.key)}`) + `  ${e(why)}  (was ${e(r.marker?.path ?? '?')} @ ${e(r.marker?.commit?.slice(0, 12) ?? '?')})`);
  }
  const out: string[] = [];
  out.push(lines.length > 0 ? `cronsync will change ${e(target)}:\n\n${lines.join('\n')}\n` : `No changes. ${e(target)} matches the source.\n`);
  const kept = notes.filter((n) => n.kind !== 'removed' && n.kind !== 'duplicate');
  if (kept.length > 0) out.push(`\nKept or left alone:\n${kept.map((n) => `  ! ${e(n.message)}`).join('\n')}\n`);
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) out.push(`\nInvalid manifests (their jobs keep their last applied version):\n${errors.map((i) => `  ${e(i.file)}:${i.line}:${i.col}: [${e(i.rule)}] ${e(i.message)}`).join('\n')}\n`);
  const owned = ownedSourceIds(plan);
  const foreign = installed.filter((f) => !f.marker || !owned.has(f.marker.sourceId));
  if (foreign.length > 0) {
    const show = (f: InstalledEntry): string => e(f.marker ? `${f.marker.jobId} (source ${f.marker.sourceId})` : f.raw.split('\n')[0]!.slice(0, 100));
    out.push(`\nNot managed by this agent, left alone (${foreign.length}):\n${foreign.slice(0, 20).map((e) => `  = ${show(e)}`).join('\n')}${foreign.length > 20 ? `\n  … and ${foreign.length - 20} more` : ''}\n`);
  }
  out.push(`\nPlan: ${plan.add.length} to add, ${plan.update.length} to change, ${plan.remove.length} to remove, ${plan.unchanged.length} unchanged.\n`);
  return out.join('');
}

/**
 * Problems of the agent itself that a sync found (an unusable secrets file; its entries left in
 * a scheduler other than `inUse`), or '' when none.
 */
export function formatAgentProblems(ctx: Pick<SyncContext, 'secretsFileProblem' | 'elsewhere'>, color: boolean, inUse = ''): string {
  const c = palette(color);
  const out: string[] = [];
  if (ctx.secretsFileProblem !== undefined) out.push(`\n${c.red('Problem')} [${SECRETS_FILE_RULE}]: ${e(ctx.secretsFileProblem)}\n`);
  for (const f of ctx.elsewhere ?? []) out.push(`\n${c.yellow('Warning')} [${OTHER_SCHEDULER_RULE}]: ${e(elsewhereMessage(f, inUse))}\n`);
  return out.join('');
}
