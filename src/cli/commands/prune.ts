/** `cronsync prune --all --force`: remove every scheduler entry of this agent's source (uninstall). */
import { UsageError } from '../../errors.js';
import type { InstalledEntry, Plan } from '../../plan/types.js';
import { runsWithStateDir } from '../../scheduler/elsewhere.js';
import { registrationOf } from '../../scheduler/registry.js';
import { acquireSyncLock, releaseStateDir } from '../../reconcile/lock.js';
import { previousSourceIds } from '../../reconcile/sources.js';
import { AGENT_OPTIONS, buildAgent, loadAgentConfig, loadOneShotConfig, resolveScheduler } from '../agent.js';
import { parseCommandArgs } from '../args.js';
import { escapeText } from '../escape.js';
import { createFsStateStore } from '../../state/fs-store.js';
import { systemClock } from '../../system/clock.js';
import type { CliIo } from '../io.js';

export const usage = `Usage: cronsync prune --all [--force] [--config FILE]

Removes every scheduler entry that carries this agent's source id, their job snapshots and the
status file, whatever the manifests say (protected jobs included). Entries without our marker, and other
sources' entries, are left alone. Used by the uninstallers.

With --scheduler KIND naming another scheduler than the one in use (the last sync's, see
cronsync status; else the config's), such as the one this agent used before a change of
scheduler.kind, it removes only that scheduler's entries of this agent and keeps the job
snapshots and the status file, which the scheduler in use still needs.

Without --force it only lists what it would remove.
Exit codes: 0 done (or nothing to do), 1 failure.
`;

/** Runs prune. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { ...AGENT_OPTIONS, all: { type: 'boolean', default: false }, force: { type: 'boolean', default: false } });
  if (!values.all) throw new UsageError('prune needs --all (it removes every entry of this agent)');
  const cfg = loadOneShotConfig(values, io);
  // `--scheduler` naming another kind than the one in use (the last sync's, else the config's):
  // the entries an earlier kind left. Only they are removed (an in-process kind's records too:
  // prune never starts it).
  const inUse = async (): Promise<string> => (await createFsStateStore(cfg.stateDir).readStatus().catch(() => null))?.scheduler.kind
    ?? resolveScheduler(loadAgentConfig({ ...values, scheduler: undefined, 'log-level': 'silent' }, io)).kind;
  const leftovers = values.scheduler !== undefined && resolveScheduler(cfg).kind !== (await inUse());
  const agent = await buildAgent(cfg, io, leftovers ? { inProcess: { runJob: () => Promise.reject(new Error('prune runs no job')) } } : {});
  const signal = new AbortController().signal;
  // One writer of the state dir and the scheduler at a time: a sync started meanwhile waits.
  await agent.state.prepare();
  const { lock } = await acquireSyncLock({ state: agent.state, clock: systemClock, log: agent.log }, systemClock.now(), signal);
  try {
    return await prune(agent, values.force, leftovers, signal, io);
  } finally {
    await releaseStateDir(lock);
  }
}

async function prune(agent: Awaited<ReturnType<typeof buildAgent>>, force: boolean, leftovers: boolean, signal: AbortSignal, io: CliIo): Promise<number> {
  // Ours: the current source id and every earlier id this agent applied (config changes).
  const { record } = await agent.state.readSources();
  const owned = [agent.source.id, ...previousSourceIds(record, agent.source.id, new Map())];
  const all = (await agent.adapter.inventory(signal)).filter((e) => e.marker !== null && owned.includes(e.marker.sourceId));
  // In a scheduler not in use, entries of our source that run another state dir are another
  // agent's: kept as they are.
  const isOurs = (e: InstalledEntry): boolean => !leftovers || registrationOf(agent.scheduler.kind).inProcess === true || runsWithStateDir(e.raw, e.marker!.jobId, agent.config.stateDir);
  const ours = all.filter(isOurs);
  for (const e of ours) io.stdout.write(`  - ${escapeText(e.marker!.jobId)}\n`);
  if (!force) {
    io.stdout.write(`${ours.length} entr${ours.length === 1 ? 'y' : 'ies'} would be removed; run again with --force.\n`);
    return 0;
  }
  const plan: Plan = { sourceId: agent.source.id, ownedSourceIds: owned, final: [], add: [], update: [], remove: ours, unchanged: [], kept: [], orphaned: [], conflicts: [], preserve: all.filter((e) => !isOurs(e)) };
  await agent.adapter.apply(plan, signal);
  if (leftovers) {
    io.stdout.write(`Removed ${ours.length} entr${ours.length === 1 ? 'y' : 'ies'} from ${agent.scheduler.kind}; the job snapshots stay for the scheduler in use.\n`);
    return 0;
  }
  for (const e of ours) {
    await agent.state.deleteSnapshot(e.marker!.jobId);
    await agent.state.deleteLastRun(e.marker!.jobId);
  }
  // It listed what is gone now; without it, a daemon still running also rereads the state dir.
  await agent.state.deleteStatus();
  io.stdout.write(`Removed ${ours.length} entr${ours.length === 1 ? 'y' : 'ies'}.\n`);
  return 0;
}
