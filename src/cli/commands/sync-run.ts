/**
 * `cronsync sync` itself, loaded by ./sync.ts once V8 is tuned for a one-shot run: every module
 * of the agent is below this one.
 */
import { buildAgent, loadAgentConfig, AGENT_OPTIONS } from '../agent.js';
import { parseCommandArgs } from '../args.js';
import { useColor } from '../io.js';
import type { CliIo } from '../io.js';
import { escapeText } from '../escape.js';
import { formatAgentProblems, formatPlan } from '../plan-format.js';
import { speedForWorkload } from '../../system/heap.js';

/** Runs sync, V8 already tuned by ./sync.ts. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...AGENT_OPTIONS, force: { type: 'boolean', default: false }, 'dry-run': { type: 'boolean', default: false } });
  const cfg = loadAgentConfig({ ...values, 'log-level': values['log-level'] ?? 'warn' }, io);
  const agent = await buildAgent(cfg, io, { onListed: speedForWorkload, afterFetch: (snapshot) => speedForWorkload(snapshot.files.length) });
  const out = await agent.reconciler.reconcile({ force: values.force, dryRun: values['dry-run'] });
  const ctx = out.context;
  const target = agent.adapter.render([]).files.map((f) => f.name).join(', ') || agent.scheduler.kind;
  const color = useColor(io.stdout, io.env);
  if (ctx.planned) io.stdout.write(formatPlan(ctx.planned, ctx.load?.issues ?? [], `${agent.scheduler.kind} (${target})`, color, ctx.installed));
  io.stdout.write(formatAgentProblems(ctx, color));
  if (out.result === 'error') {
    io.stderr.write(`cronsync: sync failed (${ctx.reason ?? 'Internal'}): ${escapeText(out.status.lastAttempt.error ?? 'unknown error')}\n`);
    return 1;
  }
  if (!values['dry-run']) io.stdout.write(`Sync ${out.result === 'ok' ? 'ok' : 'applied with problems'}: commit ${escapeText(ctx.snapshot?.commit?.slice(0, 12) ?? '-')}, ${out.status.counts.installed} job(s) installed.\n`);
  return 0;
}
