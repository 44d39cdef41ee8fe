/** `cronsync status [--json]`: show the status file; exit 1 when the last sync failed or is stale. */
import { UsageError } from '../../errors.js';
import { loadConfig, stateDirProblem } from '../../config/load.js';
import { durationMs } from '../../manifest/duration.js';
import { runReader } from '../../reconcile/summarize.js';
import { firstFire } from '../../schedule/fires.js';
import { createFsStateStore } from '../../state/fs-store.js';
import { statusPath } from '../../status/io.js';
import type { StatusFile } from '../../status/types.js';
import { parseCommandArgs } from '../args.js';
import { escapeDeep, escapeText } from '../escape.js';
import { palette, useColor } from '../io.js';
import type { CliIo } from '../io.js';

export const usage = `Usage: cronsync status [--json] [--config FILE] [--state-dir DIR]

Shows the agent's status file: source, commit, the last sync and one row per job
(namespace, schedule and zone, next run, state, run-as user, last run).

Exit codes: 0 healthy, 1 when the last sync failed, no sync ran yet, or the last
successful sync is older than 3 poll intervals (source.interval of the config; with
--state-dir and no --config, the interval the daemon recorded in the status file, else 60s)
or dated more than a minute ahead of the clock, or the status file cannot be read.
`;

/** The interval staleness is judged by when neither the config nor the status file tells: source.interval's default. */
const DEFAULT_INTERVAL_MS = 60_000;

/** Runs status. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { json: { type: 'boolean', default: false }, 'state-dir': { type: 'string' } });
  // Accepted by every command; status logs nothing, but a bad value is still a usage error.
  if (values['log-level'] !== undefined) (await import('../../log.js')).parseLogLevel(values['log-level']);
  const cfg = values['state-dir'] && !values.config ? null : loadConfig({ file: values.config, env: io.env, cwd: io.cwd, overrides: { stateDir: values['state-dir'] } });
  const stateDir = values['state-dir'] ?? cfg!.stateDir;
  // Named as the flag it came from (with a config, the loader has checked it already).
  if (!cfg && stateDirProblem(stateDir) !== null) {
    throw new UsageError(`--state-dir ${escapeText(stateDir)} is not a directory`, { option: '--state-dir' });
  }
  const state = createFsStateStore(stateDir);
  const status = await state.readStatus();
  if (!status) {
    io.stderr.write(`cronsync: no status yet (${escapeText(statusPath(stateDir))} does not exist); run 'cronsync sync' or start the daemon\n`);
    return 1;
  }
  // Without a config, the daemon's own interval as it recorded it (a one-shot sync records none).
  const intervalMs = (cfg ? durationMs(cfg.source.interval) : status.daemon?.intervalMs) ?? DEFAULT_INTERVAL_MS;
  const now = Date.now();
  // Runs and time move on between syncs: refresh the last run and the next fire time.
  const runs = runReader(state);
  for (const job of status.jobs) {
    const r = await runs.read(job.id);
    if (r) job.lastRun = r;
    if (job.nextRun !== null) {
      try {
        job.nextRun = firstFire(job.schedule, job.timezone, new Date(now))?.toISOString() ?? null;
      } catch {
        // An unparsable schedule in a hand-edited status file keeps its recorded value.
      }
    }
  }
  const health = assess(status, intervalMs, now);
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ ...status, healthy: health.ok, health: health.why }, null, 2)}\n`);
  } else {
    io.stdout.write(formatStatus(status, health, now, useColor(io.stdout, io.env)));
  }
  return health.ok ? 0 : 1;
}

/** Is the agent healthy: last attempt not an error and last success within 3 intervals. */
export function assess(status: StatusFile, intervalMs: number, now: number): { ok: boolean; why: string } {
  if (status.lastAttempt.result === 'error') return { ok: false, why: `last sync failed: ${status.lastAttempt.error ?? 'unknown error'}` };
  const last = status.lastSuccess ? Date.parse(status.lastSuccess.finishedAt) : NaN;
  if (!Number.isFinite(last)) return { ok: false, why: 'no successful sync yet' };
  // Dated ahead of this clock: the clock went back since (or the file came from elsewhere), and
  // its age says nothing; the next sync dates it again.
  if (last - now > FUTURE_SKEW_MS) return { ok: false, why: `last successful sync is dated ${age(last - now)} in the future (the clock went back?)` };
  if (now - last > 3 * intervalMs) return { ok: false, why: `last successful sync was ${age(now - last)} ago (more than 3 intervals of ${age(intervalMs)})` };
  return { ok: true, why: status.lastAttempt.result === 'partial' ? 'applied, with problems' : 'ok' };
}

/** Clock skew tolerated before a recorded time counts as in the future. */
const FUTURE_SKEW_MS = 60_000;

/**
 * How long before `now` the time `iso` was (`5m ago`; `5m in the future` past a minute of skew);
 * the text itself when it is no time.
 */
function ago(now: number, iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return `at "${iso}"`;
  return t - now > FUTURE_SKEW_MS ? `${age(t - now)} in the future` : `${age(now - t)} ago`;
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/**
 * Renders the human-readable status. Every string of the file is escaped first (escape.ts): it
 * carries values from manifests, the source and the host.
 */
export function formatStatus(raw: StatusFile, rawHealth: { ok: boolean; why: string }, now: number, color: boolean): string {
  const status = escapeDeep(raw);
  const health = escapeDeep(rawHealth);
  const c = palette(color);
  const s = status.source;
  const attempt = status.lastAttempt;
  const lines = [
    `Agent:     ${status.agent.name} (tenant ${status.agent.tenant}) cronsync ${status.agent.version}`,
    `Scheduler: ${status.scheduler.kind} (${status.scheduler.reason})`,
    `Source:    ${s.url} @ ${s.ref || 'HEAD'}  commit ${s.commit ? s.commit.slice(0, 12) : '-'}`,
    `Last sync: ${attempt.result === 'error' ? c.red('error') : attempt.result === 'partial' ? c.yellow('partial') : c.green('ok')} ${ago(now, attempt.finishedAt)}${attempt.error ? ` - ${attempt.error}` : ''}`,
    `Health:    ${health.ok ? c.green('healthy') : c.red('unhealthy')} (${health.why})`,
    `Jobs:      ${status.counts.installed} installed, ${status.counts.invalid} invalid, ${status.counts.orphaned} orphaned, ${status.counts.conflicts} conflicts; check-ins spooled ${status.checkins.spooled}, dropped ${status.checkins.dropped}`,
  ];
  if (status.daemon) lines.push(`Daemon:    ${status.daemon.consecutiveFailures} consecutive failure(s), next attempt ${status.daemon.nextAttemptAt ?? '-'}`);
  lines.push('');
  // Status files written before rows carried the run-as user have no USER column.
  const users = status.jobs.some((j) => j.user !== undefined);
  const header = ['JOB', 'NAMESPACE', 'SCHEDULE', 'ZONE', 'NEXT RUN', 'STATE', ...(users ? ['USER'] : []), 'LAST RUN'];
  // A status file written before rows carried the namespace leaves the cell blank.
  const rows = status.jobs.map((j) => [
    j.id, j.namespace ?? '', j.schedule || '-', j.timezone || '-', j.nextRun ? j.nextRun.replace('.000Z', 'Z') : '-', j.state,
    ...(users ? [j.user ?? '-'] : []),
    j.lastRun ? `${j.lastRun.status}${j.lastRun.exitCode === null ? '' : ` (exit ${j.lastRun.exitCode})`} ${ago(now, j.lastRun.startedAt)}` : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  lines.push(c.bold(fmt(header)), ...rows.map(fmt));
  const reasons = status.jobs.filter((j) => j.state === 'invalid' && j.reason);
  if (reasons.length > 0) {
    lines.push('', 'Invalid jobs:');
    // Most reasons already start with the job's id ("acme/x: manifest is invalid; …").
    for (const j of reasons) lines.push(`  ${j.reason!.startsWith(`${j.id}: `) ? j.reason : `${j.id}: ${j.reason}`}`);
  }
  const problems = status.problems.filter((p) => p.severity === 'error' || p.rule !== 'command-not-found');
  if (problems.length > 0) {
    lines.push('', 'Problems:');
    for (const p of problems) lines.push(`  ${p.path ? `${p.path}${p.line > 0 ? `:${p.line}:${p.column}` : ''}: ` : ''}${p.severity} [${p.rule}] ${p.message}`);
  }
  return `${lines.join('\n')}\n`;
}
