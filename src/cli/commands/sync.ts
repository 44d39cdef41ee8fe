/** `cronsync sync [--force] [--dry-run]`: one reconcile. */
import { buildAgent, loadAgentConfig, AGENT_OPTIONS } from '../agent.js';
import { parseCommandArgs } from '../args.js';
import { useColor } from '../io.js';
import type { CliIo } from '../io.js';
import { escapeText } from '../escape.js';
import { formatAgentProblems, formatPlan } from '../plan-format.js';
import { keepYoungGenerationSmall, preferSmallFootprint, preferSpeed, speedForWorkload } from '../../system/heap.js';

export const usage = `Usage: cronsync sync [--force] [--dry-run] [--config FILE] [--state-dir DIR] [--scheduler KIND]

Runs one reconcile: fetches the source, validates the manifests, plans against what the
scheduler holds, applies the plan and writes the status file.

Options:
  --force        also remove more than half of the installed jobs, and take over entries of
                 other sources
  --dry-run      print the plan and change nothing (like 'cronsync diff')
  --log-level L  trace, debug, info, warn (default for sync), error, fatal, silent

Exit codes: 0 applied (problems in single manifests are reported, their jobs keep their
last applied version), 1 the sync failed (nothing or only part was applied; see the error).
`;

/** Runs sync. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  keepYoungGenerationSmall();
  // A one-shot sync of a few hundred manifests ends before TurboFan pays back (system/heap.ts);
  // V8's defaults come back at the end, for a caller that lives on (tests run commands in-process).
  preferSmallFootprint('one-shot');
  try {
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
  } finally {
    preferSpeed();
  }
}
