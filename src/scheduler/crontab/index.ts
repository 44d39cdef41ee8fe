/**
 * The crontab adapter (any user): a managed block in the user's crontab, read with
 * `crontab -l` and written with `crontab -` once per sync, only when the text changes.
 */
import { userInfo } from 'node:os';
import type { DesiredJob } from '../../desired/types.js';
import { SchedulerError } from '../../errors.js';
import type { InstalledEntry, Plan } from '../../plan/types.js';
import type { Runner } from '../../system/runner.js';
import { renderJobEntry } from '../cronline/entry.js';
import type { EntryContext } from '../cronline/entry.js';
import type { AdapterOptions, AdapterPorts, ApplyResult, Rendered, SchedulerAdapter } from '../types.js';
import { hostTimeZone } from '../types.js';
import { parseCrontab } from './parse.js';
import { mergeBlock, renderBlock } from './render.js';

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

/** Creates the crontab adapter. */
export function createCrontabAdapter(options: AdapterOptions, ports: AdapterPorts): SchedulerAdapter {
  const ctx = context(options);
  const runner = ports.runner;
  const prefix = (): string[] => crontabArgs(options.user, ports.identity ?? currentIdentity());
  const label = `crontab of ${options.user}`;

  async function inventory(signal: AbortSignal): Promise<InstalledEntry[]> {
    return parseCrontab(await readCrontab(runner, prefix(), signal), options.user, options.sourceId);
  }

  function render(desired: readonly DesiredJob[]): Rendered {
    return { kind: 'crontab', files: [{ name: label, content: renderBlock(desired, ctx) }] };
  }

  async function apply(plan: Plan, signal: AbortSignal): Promise<ApplyResult> {
    const args = prefix();
    const block = renderBlock(plan.final, ctx, plan.preserve ?? []);
    const first = await readCrontab(runner, args, signal);
    if (mergeBlock(first, block, options.sourceId) === first) return { changed: false, written: [] };
    // Re-read right before writing: keeps the window for a concurrent `crontab -e` small.
    const current = await readCrontab(runner, args, signal);
    const next = mergeBlock(current, block, options.sourceId);
    if (next === current) return { changed: false, written: [] };
    signal.throwIfAborted();
    const writeArgs = [...args, '-'];
    const r = await runner.run({ file: 'crontab', args: writeArgs }, { stdin: next, signal, timeoutMs: 30_000 });
    if (r.exitCode !== 0) {
      throw new SchedulerError(`crontab - failed (exit ${r.exitCode}): ${(r.spawnError ?? r.stderr).trim()}`, { argv: ['crontab', ...writeArgs], exitCode: r.exitCode, stderr: r.stderr });
    }
    return { changed: true, written: [label] };
  }

  return { kind: 'crontab', inventory, render, renderEntry: (d) => renderJobEntry(d, ctx), apply };
}
