/** Whether this agent may run a job as its `spec.user` (`scheduler.allowedUsers`). Pure; used by sync and by `exec`. */
import type { Job } from '../manifest/types.js';

/** What the agent knows of an account: its uid, null when the host has none, or why the lookup failed. */
export type AccountLookup = (name: string) => { uid: number } | { error: string } | null;

/**
 * Why this agent cannot run `job` as its `spec.user`, or null (no spec.user, or allowed and
 * present). `allowed` is `scheduler.allowedUsers`: names, or `*` for every account but root. A
 * uid-0 account counts as root: only naming it allows it. Pure: the lookup is injected.
 */
export function runAsProblem(job: Job, allowed: readonly string[] | '*', lookup: AccountLookup): string | null {
  const name = job.spec.user;
  if (name === undefined) return null;
  const list = allowed === '*' ? ['*'] : allowed;
  const named = list.includes(name);
  if (!named && !list.includes('*')) {
    return `spec.user "${name}" is not allowed on this agent (scheduler.allowedUsers: ${list.length === 0 ? 'empty' : list.join(', ')})`;
  }
  const account = lookup(name);
  if (!account) return `spec.user "${name}" does not exist on this host`;
  if ('error' in account) return `cannot look up spec.user "${name}": ${account.error}`;
  if (account.uid === 0 && !named) return `spec.user "${name}" is root (uid 0), which scheduler.allowedUsers must name explicitly ("*" does not include it)`;
  return null;
}
