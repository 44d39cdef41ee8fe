/** `cronsync diff`: fetch, validate and print the plan; changes nothing. */
import { buildAgent, loadAgentConfig, AGENT_OPTIONS } from '../agent.js';
import { parseCommandArgs } from '../args.js';
import { useColor } from '../io.js';
import type { CliIo } from '../io.js';
import { escapeText } from '../escape.js';
import { formatAgentProblems, formatPlan } from '../plan-format.js';

export const usage = `Usage: cronsync diff [--config FILE] [--state-dir DIR] [--scheduler KIND]

Fetches the source, validates the manifests and prints what 'cronsync sync' would do,
terraform-plan style: + add, ~ change, - remove, with each job's schedule and zone, path and
commit, and what changed. Changes nothing (not even the status file). Works on first install.

Exit codes: 0 no changes, 3 changes pending, 1 error.
`;

/** Runs diff. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...AGENT_OPTIONS });
  const cfg = loadAgentConfig({ ...values, 'log-level': values['log-level'] ?? 'warn' }, io);
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
  if (out.result === 'error') {
    io.stderr.write(`cronsync: ${escapeText(out.status.lastAttempt.error ?? 'diff failed')}\n`);
    return 1;
  }
  return out.changes ? 3 : 0;
}
