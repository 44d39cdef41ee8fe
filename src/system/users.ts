/**
 * Accounts of the host (the password database) and the privilege drop of a job's command
 * (`spec.user`). Node can look up only its own account (os.userInfo), so others come from
 * `getent passwd NAME`, which also sees NSS sources (LDAP, sssd); /etc/passwd where getent is missing.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Command } from './runner.js';

/** PasswdEntry is one account of the password database. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** PATH of a command run as another user: cron's, with /usr/local/bin first. */
export const RUN_AS_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Parses one `name:passwd:uid:gid:gecos:home:shell` line; null when it is not one. */
export function parsePasswdLine(line: string): PasswdEntry | null {
  const f = line.replace(/\r?\n$/, '').split(':');
  if (f.length < 7 || !f[0]) return null;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!/^\d+$/.test(f[2] ?? '') || !/^\d+$/.test(f[3] ?? '')) return null;
  return { name: f[0], uid, gid, home: f[5] || '/', shell: f[6] || '/bin/sh' };
}

/**
 * Looks an account up by name: the entry, or null when the host has no such account.
 * @throws {Error} when the password database cannot be read.
 */
export async function lookupUser(name: string): Promise<PasswdEntry | null> {
  // A numeric name would make getent look up a uid.
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(name)) return null;
  const out = await new Promise<{ code: number | string; stdout: string }>((resolve) => {
    execFile('getent', ['passwd', name], { encoding: 'utf8', timeout: 10_000 }, (err, stdout) => {
      const code = err ? (err as NodeJS.ErrnoException).code ?? 1 : 0;
      resolve({ code: typeof code === 'number' || typeof code === 'string' ? code : 1, stdout });
    });
  });
  if (out.code === 0) {
    const entry = parsePasswdLine(out.stdout.split('\n')[0] ?? '');
    return entry && entry.name === name ? entry : null;
  }
  // getent: 2 = key not found.
  if (out.code === 2) return null;
  if (out.code !== 'ENOENT') throw new Error(`getent passwd ${name} failed (${out.code})`);
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const entry = parsePasswdLine(line);
    if (entry?.name === name) return entry;
  }
  return null;
}

const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv', '/sbin/setpriv'];

/** The path of util-linux's `setpriv`, or null when the host has none. */
export function findSetpriv(candidates: readonly string[] = SETPRIV_PATHS): string | null {
  for (const p of candidates) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

/**
 * The command run through `setpriv --reuid --regid --groups`: setpriv sets the account's
 * supplementary groups, gid and uid, then execs the command in place. The pid, and so the process
 * group that timeout, Replace and signal forwarding kill, stay the same. Node's own spawn
 * `uid`/`gid` would drop every supplementary group instead (libuv calls setgroups(0)).
 * `groups` are the named account's (see accountGroups), given explicitly: setpriv's
 * --init-groups would look the account up by uid, and so take the groups of whichever account
 * comes first for a uid that several share.
 * The environment is the command's own (setpriv is not given --reset-env), and descriptors the
 * agent inherited are masked (see Command.maskInheritedFds).
 */
export function dropPrivileges(cmd: Command, user: PasswdEntry, setpriv: string, groups: readonly number[]): Command {
  const groupArg = groups.length > 0 ? `--groups=${groups.join(',')}` : '--clear-groups';
  return { ...cmd, file: setpriv, args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, groupArg, '--', cmd.file, ...cmd.args], maskInheritedFds: true };
}

/**
 * The group ids of the account named `name`, as initgroups(3) would set them for it: its primary
 * group and every group that lists it (`id -G NAME`, which looks the account up by name, so LDAP
 * and sssd groups count too).
 * @throws {Error} when they cannot be read.
 */
export async function accountGroups(name: string): Promise<number[]> {
  const out = await new Promise<{ err: Error | null; stdout: string; stderr: string }>((resolve) => {
    execFile('id', ['-G', '--', name], { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => resolve({ err, stdout, stderr }));
  });
  const ids = out.stdout.trim().split(/\s+/).filter(Boolean);
  if (out.err || ids.length === 0 || !ids.every((g) => /^\d+$/.test(g))) {
    const why = out.stderr.trim().split('\n')[0] || (out.err ? out.err.message : 'no group ids');
    throw new Error(`id -G ${name} failed: ${why}`);
  }
  return ids.map(Number);
}

/** The variables a command run as `user` starts from, as login(1) and cron set them. */
export function userEnv(user: PasswdEntry): Record<string, string> {
  return { PATH: RUN_AS_PATH, HOME: user.home, USER: user.name, LOGNAME: user.name, SHELL: user.shell };
}

/** What {@link resolveRunAs} asks of the host (injected in tests). */
export interface RunAsPorts {
  lookup: (name: string) => Promise<PasswdEntry | null>;
  setpriv: () => string | null;
  /** The group ids of an account (see accountGroups). */
  groups: (name: string) => Promise<number[]>;
  /** The shim's uid (undefined on Windows). */
  uid: () => number | undefined;
  /** True when `path` is a directory (false when it cannot be looked at). */
  isDir: (path: string) => boolean;
  /** The home of the shim's own account, as os.homedir() finds it (throws when it finds none). */
  home: () => string;
  platform: NodeJS.Platform;
}

/** The host's ports. */
export const hostRunAsPorts: RunAsPorts = {
  lookup: lookupUser, setpriv: () => findSetpriv(), groups: accountGroups, uid: () => process.getuid?.(), platform: process.platform, home: homedir,
  isDir: (p) => {
    try {
      return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
    } catch {
      return false;
    }
  },
};

/**
 * The default working directory of a job without `spec.user`: the home of the account the shim
 * runs as (os.homedir(): HOME, else the password database), as resolveRunAs gives a `spec.user`
 * its account's, so that relative paths mean the same under every scheduler (cron starts in the
 * home, systemd in `/`, the daemon in its own directory). When that is no directory, or no
 * absolute path: `/`, as login(1) does; on Windows undefined (the scheduler's own).
 */
export function ownWorkingDir(ports: Pick<RunAsPorts, 'home' | 'isDir' | 'platform'> = hostRunAsPorts): string | undefined {
  let home = '';
  try {
    home = ports.home();
  } catch {
    // No HOME and no entry in the password database (an arbitrary uid in a container).
  }
  const win = ports.platform === 'win32';
  if (home !== '' && (win ? path.win32 : path.posix).isAbsolute(home) && ports.isDir(home)) return home;
  return win ? undefined : '/';
}

/**
 * How `cronsync exec` runs a command as an account: the account, how to switch to it (null when
 * the shim already runs as its uid) and the default working directory.
 */
export interface RunAs {
  user: PasswdEntry;
  switchTo: { setpriv: string; groups: number[] } | null;
  cwd: string;
}

/**
 * How `cronsync exec` runs a command as `name`: the account, the setpriv and groups to switch
 * with (null when the shim already runs as its uid) and the default working directory (the home,
 * or `/` when it does not exist, as login(1) does: `nobody`'s is /nonexistent), or why it cannot.
 * Never falls back to the shim's own user.
 */
export async function resolveRunAs(name: string, ports: RunAsPorts = hostRunAsPorts): Promise<({ ok: true } & RunAs) | { ok: false; message: string }> {
  if (ports.platform === 'win32') return { ok: false, message: windowsRunAsMessage(name) };
  let user: PasswdEntry | null;
  try {
    user = await ports.lookup(name);
  } catch (err) {
    return { ok: false, message: `cannot look up user "${name}": ${(err as Error).message}` };
  }
  if (!user) return { ok: false, message: `spec.user "${name}" does not exist on this host` };
  const me = ports.uid();
  const cwd = ports.isDir(user.home) ? user.home : '/';
  if (me === user.uid) return { ok: true, user, switchTo: null, cwd };
  if (me !== 0) return { ok: false, message: `cannot run as user "${name}": cronsync exec runs as uid ${me ?? 'unknown'}, and only root can switch to another user` };
  const setpriv = ports.setpriv();
  if (!setpriv) return { ok: false, message: `cannot run as user "${name}": setpriv (util-linux) is not installed; it is needed to set the user's groups` };
  let groups: number[];
  try {
    groups = await ports.groups(user.name);
  } catch (err) {
    return { ok: false, message: `cannot look up the groups of user "${name}": ${(err as Error).message}` };
  }
  return { ok: true, user, switchTo: { setpriv, groups }, cwd };
}

/** Why a Windows agent rejects `spec.user` (the task principal does not carry it yet). */
export function windowsRunAsMessage(name: string): string {
  return `spec.user "${name}" is not supported on Windows agents yet (tasks run as scheduler.user, or SYSTEM); remove spec.user or select non-Windows agents with spec.agent.selector`;
}

/** Looks up each name once: uid, null (no such account) or the lookup error. */
export async function lookupAccounts(names: Iterable<string>, lookup: (name: string) => Promise<PasswdEntry | null> = lookupUser): Promise<Map<string, { uid: number } | { error: string } | null>> {
  const out = new Map<string, { uid: number } | { error: string } | null>();
  for (const name of new Set(names)) {
    try {
      const e = await lookup(name);
      out.set(name, e ? { uid: e.uid } : null);
    } catch (err) {
      out.set(name, { error: (err as Error).message });
    }
  }
  return out;
}
