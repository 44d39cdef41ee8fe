/**
 * A fake Windows host's process tools (`tasklist`, `taskkill`) behind the platform's ToolRunner,
 * for the shim's Windows tests. Behaviours, from the documentation of the commands
 * (https://learn.microsoft.com/windows-server/administration/windows-commands/tasklist and
 * .../taskkill):
 * - `tasklist /FI "PID eq n" /FO CSV /NH` prints one CSV row (image, pid, session name, session
 *   number, memory) for a running process, and an `INFO:` line (exit 0) when none matches. Every
 *   `live` pid runs node.exe here.
 * - `taskkill /PID n /T /F` ends n and its descendants (`tree[n]`) when n runs: the tree is
 *   walked from its live root, so the children of a root that is gone are out of its reach.
 *   `/T` without `/F` asks the windows to close: console processes have none, so it ends nothing.
 * Not modelled: other filters and formats, and the exit codes of taskkill.
 * Every call is recorded in `calls`.
 */
import type { ToolRunner } from '../../src/system/platform.js';

/**
 * The tools' paths: the platform must start them from System32, never by a bare name that a
 * working directory or PATH could resolve to a planted program (the fakes run nothing else).
 */
export const TASKKILL = 'C:\\Windows\\System32\\taskkill.exe';
export const TASKLIST = 'C:\\Windows\\System32\\tasklist.exe';
export const ICACLS = 'C:\\Windows\\System32\\icacls.exe';

/** `taskkill` for `C:\\Windows\\System32\\taskkill.exe`; undefined for anything else, a bare name included. */
export function system32Tool(file: string): string | undefined {
  return /^C:\\Windows\\System32\\([a-z]+)\.exe$/.exec(file)?.[1];
}

/** What tasklist prints when no process matches the filter. */
export const TASKLIST_NONE = 'INFO: No tasks are running which match the specified criteria.\r\n';

/** The row tasklist prints for node.exe running as `pid` in the services session. */
export function tasklistNode(pid: number): string {
  return `"node.exe","${pid}","Services","0","45,312 K"\r\n`;
}

/** A fake Windows host where `live` pids run node.exe and `tree` gives each pid's descendants. */
export function fakeWindowsTools(live: Set<number>, tree: Record<number, number[]> = {}): ToolRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    runSync(file, args) {
      calls.push([file, ...args]);
      if (file !== TASKLIST) return { status: null, stdout: '' };
      const pid = Number(/PID eq (\d+)/.exec(args.join(' '))?.[1]);
      return { status: 0, stdout: live.has(pid) ? tasklistNode(pid) : TASKLIST_NONE };
    },
    start(file, args) {
      calls.push([file, ...args]);
      const root = Number(args[1]);
      if (file === TASKKILL && args.includes('/T') && args.includes('/F') && live.has(root)) for (const p of [root, ...(tree[root] ?? [])]) live.delete(p);
    },
  };
}
