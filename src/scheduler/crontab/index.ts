/**
 * The crontab adapter (any user): a managed block in the user's crontab, read from the spool
 * file when readable (root) or with `crontab -l`, and written with `crontab -` once per sync,
 * only when the text changes (see spool.ts for why not always `crontab -l`).
 */
import { userInfo } from 'node:os';
import type { DesiredJob } from '../../desired/types.js';
import type { JobId } from '../../manifest/types.js';
import { SchedulerError } from '../../errors.js';
import { ownedSourceIds } from '../../plan/plan.js';
import type { InstalledEntry, Plan } from '../../plan/types.js';
import type { Runner } from '../../system/runner.js';
import { MAX_LINES } from '../crond/render.js';
import { renderJobEntry } from '../cronline/entry.js';
import type { EntryContext } from '../cronline/entry.js';
import type { AdapterOptions, AdapterPorts, ApplyResult, Rendered, SchedulerAdapter } from '../types.js';
import { hostTimeZone } from '../types.js';
import { parseCrontab } from './parse.js';
import { mergeBlock, renderBlock } from './render.js';
import { assertListingExact, fromBytes, nodeCrontabSpool, stripSpoolHeader, toBytes } from './spool.js';
import type { CrontabBytes, CrontabSpool } from './spool.js';

/** The state dir `exec` uses when given none. */
export const DEFAULT_STATE_DIR = '/var/lib/cronsync';

function context(o: AdapterOptions): EntryContext {
  const defaultDir = o.defaultStateDir ?? DEFAULT_STATE_DIR;
  return {
    sourceId: o.sourceId,
    hostZone: o.hostZone ?? hostTimeZone(),
    exec: [o.execCommand.file, ...o.execCommand.args],
    execOptions: o.stateDir === defaultDir ? [] : ['--state-dir', o.stateDir],
    horizon: o.horizon,
  };
}

function currentIdentity(): { user: string; isRoot: boolean } {
  const info = userInfo();
  return { user: info.username, isRoot: info.uid === 0 };
}

/** The `crontab` argv prefix for `user`: `-u user` only when it is someone else and we are root. */
export function crontabArgs(user: string, me: { user: string; isRoot: boolean }): string[] {
  if (user === me.user) return [];
  if (!me.isRoot) {
    throw new SchedulerError(`cannot manage the crontab of ${user} as ${me.user}: only root can (scheduler.user)`, { user });
  }
  return ['-u', user];
}

/**
 * Reads a crontab; "no crontab for" (exit 1) is an empty one.
 * @throws {SchedulerError} on any other failure.
 */
export async function readCrontab(runner: Runner, prefix: readonly string[], signal: AbortSignal): Promise<string> {
  const args = [...prefix, '-l'];
  const r = await runner.run({ file: 'crontab', args }, { signal, timeoutMs: 30_000 });
  if (r.exitCode === 0) return r.stdout;
  if (r.exitCode === 1 && /no crontab for/i.test(r.stderr)) return '';
  throw new SchedulerError(`crontab -l failed (exit ${r.exitCode}): ${(r.spawnError ?? r.stderr).trim()}`, { argv: ['crontab', ...args], exitCode: r.exitCode, stderr: r.stderr });
}

/**
 * Reads `user`'s crontab as bytes: from the spool file when `spool` can read it, else with
 * `crontab -l` (not exact: see spool.ts).
 * @throws {SchedulerError} when `crontab -l` fails.
 */
export async function readCrontabBytes(runner: Runner, spool: CrontabSpool | null, user: string, prefix: readonly string[], signal: AbortSignal): Promise<CrontabBytes> {
  const found = spool ? await spool.read(user) : { kind: 'unavailable' as const };
  signal.throwIfAborted();
  if (found.kind === 'file') return { bytes: stripSpoolHeader(Buffer.from(found.bytes).toString('latin1')), exact: true };
  if (found.kind === 'none') return { bytes: '', exact: true };
  return { bytes: toBytes(await readCrontab(runner, prefix, signal)), exact: false };
}

/** Creates the crontab adapter. */
export function createCrontabAdapter(options: AdapterOptions, ports: AdapterPorts): SchedulerAdapter {
  const ctx = context(options);
  const runner = ports.runner;
  const spool = ports.crontabSpool === undefined ? nodeCrontabSpool() : ports.crontabSpool;
  const prefix = (): string[] => crontabArgs(options.user, ports.identity ?? currentIdentity());
  const label = `crontab of ${options.user}`;
  const read = (args: readonly string[], signal: AbortSignal): Promise<CrontabBytes> => readCrontabBytes(runner, spool, options.user, args, signal);

  async function inventory(signal: AbortSignal): Promise<InstalledEntry[]> {
    return parseCrontab(fromBytes((await read(prefix(), signal)).bytes), options.user, options.sourceId);
  }

  function render(desired: readonly DesiredJob[]): Rendered {
    return { kind: 'crontab', files: [{ name: label, content: renderBlock(desired, ctx) }] };
  }

  async function apply(plan: Plan, signal: AbortSignal): Promise<ApplyResult> {
    if (plan.sourceId !== options.sourceId) {
      throw new SchedulerError(`plan is for source ${plan.sourceId}, this crontab adapter belongs to ${options.sourceId}`, { planSource: plan.sourceId, sourceId: options.sourceId });
    }
    const args = prefix();
    // The planner's texts (renderEntry's); a job missing from them is rendered here.
    const entry = (d: DesiredJob): string => plan.rendered?.get(d.id) ?? renderJobEntry(d, ctx);
    // Blocks of this agent's previous source ids are replaced by this source's block.
    const previous = [...ownedSourceIds(plan)].filter((id) => id !== options.sourceId);
    const added = new Set(plan.add.map((d) => d.id));
    let final = plan.final;
    const failed: { id: JobId; error: string }[] = [];
    const mergeAll = (current: string): string => mergeBlock(current, toBytes(renderBlock(final, ctx, plan.preserve ?? [], entry)), options.sourceId, previous);
    /**
     * The crontab with this plan's block. Past Debian cron's line limit, the jobs new in this
     * plan that do not fit are left out (the last by id first) and reported as refused: the rest
     * still applies, and the installed jobs keep their entries.
     */
    const merge = (current: string): string => {
      try {
        return mergeAll(current);
      } catch (err) {
        const over = err instanceof SchedulerError ? Number((err.data as { lines?: number } | undefined)?.lines) - MAX_LINES : NaN;
        if (!(over > 0) || added.size === 0) throw err;
        const dropped = new Set<JobId>();
        const candidates = [...final].reverse().filter((d) => added.has(d.id));
        let freed = 0;
        for (;;) {
          // Enough lines left out (an entry's own lines; the block's frame stays), then checked.
          while (freed < over && candidates.length > 0) {
            const d = candidates.shift()!;
            dropped.add(d.id);
            freed += entry(d).replace(/\n$/, '').split('\n').length;
          }
          final = plan.final.filter((d) => !dropped.has(d.id));
          try {
            const out = mergeAll(current);
            for (const id of [...dropped].sort()) failed.push({ id, error: `the crontab would pass Debian cron's limit of ${MAX_LINES} lines with it; it is not installed` });
            return out;
          } catch (again) {
            if (candidates.length === 0) throw again;
            freed = over - 1;
          }
        }
      }
    };
    const first = await read(args, signal);
    const result = (changed: boolean): ApplyResult => ({ changed, written: changed ? [label] : [], ...(failed.length > 0 ? { failed } : {}) });
    if (merge(first.bytes) === first.bytes) return result(false);
    // Re-read right before writing: keeps the window for a concurrent `crontab -e` small.
    final = plan.final;
    failed.length = 0;
    const current = await read(args, signal);
    const next = merge(current.bytes);
    if (next === current.bytes) return result(false);
    if (!current.exact) assertListingExact(current.bytes, [options.sourceId, ...previous], label);
    signal.throwIfAborted();
    const writeArgs = [...args, '-'];
    const r = await runner.run({ file: 'crontab', args: writeArgs }, { stdin: Buffer.from(next, 'latin1'), signal, timeoutMs: 30_000 });
    if (r.exitCode !== 0) {
      throw new SchedulerError(`crontab - failed (exit ${r.exitCode}): ${(r.spawnError ?? r.stderr).trim()}`, { argv: ['crontab', ...writeArgs], exitCode: r.exitCode, stderr: r.stderr });
    }
    return result(true);
  }

  return { kind: 'crontab', inventory, render, renderEntry: (d) => renderJobEntry(d, ctx), apply };
}
