/** `cronsync diff`: fetch, validate and print the plan; changes nothing. */
import { RemovalGuardError, isCronsyncError } from '../../errors.js';
import { Reasons } from '../../reconcile/reasons.js';
import { buildAgent, loadOneShotConfig, AGENT_OPTIONS } from '../agent.js';
import { parseCommandArgs } from '../args.js';
import { palette, useColor } from '../io.js';
import type { CliIo } from '../io.js';
import { escapeText } from '../escape.js';
import { formatAgentProblems, formatPlan } from '../plan-format.js';

export const usage = `Usage: cronsync diff [--config FILE] [--state-dir DIR] [--scheduler KIND]

Fetches the source, validates the manifests and prints what 'cronsync sync' would do,
terraform-plan style: + add, ~ change, - remove, with each job's schedule and zone, path and
commit, and what changed. Changes nothing (not even the status file). Works on first install.
A plan that 'cronsync sync' would refuse (it removes more than half of the installed jobs) is
printed whole, with a line saying so; 'cronsync sync --force' applies it.

Exit codes: 0 no changes, 3 changes pending (also when sync would stop at the removal
guard), 1 error.
`;

/**
 * The line diff prints under a plan that sync would refuse: the same figures and the same way
 * out as sync's RemovalGuardTripped error (src/reconcile/steps.ts).
 */
export function guardLine(guard: { removing: number; installed: number }): string {
  return `Removal guard: 'cronsync sync' would stop before this plan (${Reasons.RemovalGuardTripped}): it would remove ${guard.removing} of ${guard.installed} installed jobs (more than half), and changes nothing. If the removal is intended, 'cronsync sync --force' (or allowMassRemoval: true) applies it.`;
}

/** Runs diff. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...AGENT_OPTIONS });
  const cfg = loadOneShotConfig(values, io);
  const agent = await buildAgent(cfg, io);
  const out = await agent.reconciler.reconcile({ dryRun: true });
  const ctx = out.context;
  const target = agent.adapter.render([]).files.map((f) => f.name).join(', ') || agent.scheduler.kind;
  const color = useColor(io.stdout, io.env);
  if (ctx.planned) {
    io.stdout.write(formatPlan(ctx.planned, ctx.load?.issues ?? [], `${agent.scheduler.kind} (${target})`, color, ctx.installed));
    if (ctx.snapshot) io.stdout.write(`Source: ${escapeText(ctx.snapshot.url)} @ ${escapeText(ctx.snapshot.ref)} (${escapeText(ctx.snapshot.commit ?? 'working tree')})\n`);
  }
  io.stdout.write(formatAgentProblems(ctx, color, agent.scheduler.kind));
  // The guard stops sync, not diff: the plan above is complete (planned before the guard was
  // checked), and showing it is diff's whole job.
  const guard = ctx.planned?.guard;
  if (out.result === 'error' && guard && isCronsyncError(ctx.error) && ctx.error.code === RemovalGuardError.code) {
    io.stdout.write(`\n${palette(color).yellow(guardLine(guard))}\n`);
    return 3;
  }
  if (out.result === 'error') {
    io.stderr.write(`cronsync: ${escapeText(out.status.lastAttempt.error ?? 'diff failed')}\n`);
    return 1;
  }
  return out.changes ? 3 : 0;
}
