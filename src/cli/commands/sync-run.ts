/**
 * `cronsync sync` itself, loaded by ./sync.ts once V8 is tuned for a one-shot run: every module
 * of the agent is below this one.
 */
import { buildAgent, loadOneShotConfig, AGENT_OPTIONS } from '../agent.js';
import { parseCommandArgs } from '../args.js';
import { useColor } from '../io.js';
import type { CliIo } from '../io.js';
import { escapeText } from '../escape.js';
import { formatAgentProblems, formatPlan } from '../plan-format.js';
import { collectGarbage, speedForWorkload } from '../../system/heap.js';
import type { Snapshot } from '../../source/types.js';

/**
 * Between the fetch and the parse of the manifests: a large workload gets V8's speed back
 * (system/heap.ts), a small one a full GC instead. Loading the agent's modules and the fetch
 * (pack, inflated objects, the clone's index) leave garbage that V8, favouring a small heap, has
 * not yet collected; collected now, the parse and the plan grow the heap from the live data
 * only (about 1.5 MiB of the 100-job sync's peak, for a few milliseconds).
 */
export function afterFetch(snapshot: Pick<Snapshot, 'files'>): void {
  if (!speedForWorkload(snapshot.files.length)) collectGarbage();
}

/** Runs sync, V8 already tuned by ./sync.ts. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...AGENT_OPTIONS, force: { type: 'boolean', default: false }, 'dry-run': { type: 'boolean', default: false } });
  const cfg = loadOneShotConfig(values, io);
  const agent = await buildAgent(cfg, io, { onListed: speedForWorkload, afterFetch });
  const out = await agent.reconciler.reconcile({ force: values.force, dryRun: values['dry-run'] });
  const ctx = out.context;
  const target = agent.adapter.render([]).files.map((f) => f.name).join(', ') || agent.scheduler.kind;
  const color = useColor(io.stdout, io.env);
  if (ctx.planned) io.stdout.write(formatPlan(ctx.planned, ctx.load?.issues ?? [], `${agent.scheduler.kind} (${target})`, color, ctx.installed));
  io.stdout.write(formatAgentProblems(ctx, color, agent.scheduler.kind));
  if (out.result === 'error') {
    io.stderr.write(`cronsync: sync failed (${ctx.reason ?? 'Internal'}): ${escapeText(out.status.lastAttempt.error ?? 'unknown error')}\n`);
    return 1;
  }
  if (!values['dry-run']) io.stdout.write(`Sync ${out.result === 'ok' ? 'ok' : 'applied with problems'}: commit ${escapeText(ctx.snapshot?.commit?.slice(0, 12) ?? '-')}, ${out.status.counts.installed} job(s) installed.\n`);
  return 0;
}
