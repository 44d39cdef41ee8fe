/**
 * Platform port: everything that differs between POSIX and Windows (process trees, process
 * identity for locks, private files, the shell). `nodePlatform` is the one place that looks at
 * `process.platform`; everything else takes a {@link Platform}.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { IoError } from '../errors.js';
import { makeDirSync } from './regular-file.js';
import { broadReader, decodeAclFile, parseAclSave, parseIcacls, sddlBroadReader } from './win-acl.js';

export { broadReader, decodeAclFile, parseAclSave, parseIcacls, parseSddlDacl, sddlBroadReader, sddlMask, type IcaclsEntry, type SddlAce } from './win-acl.js';

/** The host OS as Node reports it: the default of pure functions that take a platform name. */
export const hostOs: NodeJS.Platform = process.platform;

/**
 * The full path of a Windows system program (`cmd.exe`, `schtasks.exe`, `taskkill.exe`, …) in
 * `%SystemRoot%\System32`. Never a bare name: Windows' CreateProcess search (and libuv's) looks
 * in the child's working directory and the job's PATH first, where a planted `cmd.exe` would
 * run as the agent (SYSTEM). A SystemRoot that is not a plain drive path reads as C:\Windows.
 */
export function windowsSystemTool(name: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const root = env.SystemRoot ?? env.SYSTEMROOT ?? '';
  return `${/^[A-Za-z]:\\[^"%;]*$/.test(root) ? root.replace(/\\+$/, '') : 'C:\\Windows'}\\System32\\${name}`;
}

/** Runs the small Windows tools (taskkill, tasklist, icacls); injected so tests use fakes. */
export interface ToolRunner {
  /** Runs to completion; status null when it could not be started. */
  runSync(file: string, args: readonly string[]): { status: number | null; stdout: string };
  /** Starts and forgets (taskkill during a timeout must not block the event loop). */
  start(file: string, args: readonly string[]): void;
}

/** Platform is the OS-specific half of the runner, locks and secrets. */
export interface Platform {
  readonly kind: 'posix' | 'win32';
  /**
   * Sends `signal` to the tree led by `pid`: the process group (POSIX). Windows terminates the
   * tree (`taskkill /T /F`) whatever the signal: see createWin32Platform.
   */
  killTree(pid: number, signal: NodeJS.Signals): void;
  /** An identity token of the process `pid` that changes when the pid is reused, or null where unknown. */
  processIdentity(pid: number): string | null;
  /** True when `pid` runs and (where `identity` is known) is still the process it names. */
  isAlive(pid: number, identity: string | null): boolean;
  /** Why the file at `path` (whose open handle's stat is `st`) is readable by others, or null when it is private. */
  publicReason(path: string, st: { mode: number }): string | null;
  /**
   * Asks one process to stop. POSIX: sends `signal` to `pid` alone (a shim forwards it to its
   * job's process group and reports the run cancelled). Windows, which has no signal a process
   * could catch and forward: kills `pid`'s whole tree like {@link Platform.killTree}, because
   * terminating a shim alone orphans its job's grandchildren.
   */
  stopProcess(pid: number, signal: NodeJS.Signals): void;
  /**
   * Creates the directory `path` (and its missing parents) private to the agent. POSIX: mode
   * 0711, so that others reach the files meant for them by name (status.json, which SPEC §7 makes
   * readable by everyone) but list nothing, and every other file keeps its own mode (0600 for
   * snapshots, run records, the spool; private subdirectories 0700). Windows: a protected ACL (no inherited entries) granting full control to SYSTEM
   * (S-1-5-18) and Administrators (S-1-5-32-544) only, inherited by everything created inside;
   * the directory is made under a temporary name, given its ACL, then renamed into place, so no
   * process ever sees it with the parent's ACL. An existing directory is left as it is: check
   * it with {@link Platform.privateDirProblem}.
   * @throws {IoError} naming the directory, when it cannot be created or its ACL cannot be set.
   */
  makePrivateDir(path: string): void;
  /**
   * Why the directory at `path` is not private (a sentence naming the path and who can read it,
   * with the command that fixes it), or null when it is. POSIX: any group or other mode bit.
   * Windows: an allow entry of its DACL giving Everyone, Users or Authenticated Users a read
   * right (read data or list, generic read or all), read by SID from `icacls /save`, with the
   * English-named `icacls` listing as a fallback; an ACL that cannot be read is a problem too.
   * @throws the system error (ENOENT, …) when `path` cannot be stat'ed.
   */
  privateDirProblem(path: string): string | null;
}

/** The icacls arguments that give a directory the private ACL (SIDs, so any display language works). */
export const PRIVATE_DIR_GRANTS = ['/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'] as const;

/** Start time (field 22 of /proc/<pid>/stat, ticks since boot), or null where /proc is unavailable. */
export function procStartTime(pid: number, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): string | null {
  try {
    const stat = read(`/proc/${pid}/stat`);
    // Field 2 (comm) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Seams of {@link createPosixPlatform}. */
export interface PosixDeps {
  readFile?: (path: string) => string;
  kill?: (pid: number, signal: NodeJS.Signals | 0) => void;
}

/** The POSIX platform: process groups, /proc start times, mode bits. */
export function createPosixPlatform(d: PosixDeps = {}): Platform {
  const kill = d.kill ?? ((pid, sig) => process.kill(pid, sig));
  return {
    kind: 'posix',
    killTree(pid, signal) {
      try {
        kill(-pid, signal);
      } catch {
        // ESRCH: the group is already gone.
      }
    },
    processIdentity: (pid) => procStartTime(pid, d.readFile),
    isAlive(pid, identity) {
      try {
        kill(pid, 0);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
      }
      if (identity === null) return true;
      const now = procStartTime(pid, d.readFile);
      return now === null || now === identity;
    },
    publicReason: (_path, st) => ((st.mode & 0o077) !== 0 ? `it is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600` : null),
    stopProcess(pid, signal) {
      try {
        kill(pid, signal);
      } catch {
        // ESRCH: already gone.
      }
    },
    makePrivateDir: (path) => makeDirSync(path, 0o711),
    privateDirProblem(path) {
      const mode = statSync(path).mode;
      if ((mode & 0o170000) !== 0o040000) return `${path} is not a directory`;
      // Search (x) alone lets others reach a file by name, not list or change the directory.
      return (mode & 0o066) !== 0 ? `${path} is accessible by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 711 "${path}"` : null;
    },
  };
}

/**
 * Parses `tasklist /FI "PID eq n" /FO CSV /NH`: one quoted CSV row per process
 * (`"Image Name","PID","Session Name","Session#","Mem Usage"`), or an INFO line when none. Pure.
 */
export function parseTasklistCsv(output: string): { image: string; pid: number }[] {
  const rows: { image: string; pid: number }[] = [];
  for (const line of output.split(/\r?\n/)) {
    const m = /^"([^"]*)","(\d+)"/.exec(line.trim());
    if (m) rows.push({ image: m[1] as string, pid: Number(m[2]) });
  }
  return rows;
}

/** Seams of {@link createWin32Platform}. */
export interface Win32Deps {
  tools: ToolRunner;
  exists?: (pid: number) => boolean;
  /** Image name of this process (`node.exe`). */
  selfImage?: string;
}

/**
 * The Windows platform. Process identity is the image name (`node.exe`), not a start time:
 * the creation time needs wmic (removed from Windows 11) or a PowerShell/CIM start, which would
 * cost a second or more on every run. The holder's own identity needs no tool at all
 * (process.execPath); only a contender that finds the lock held runs `tasklist` once to confirm
 * the recorded pid is still that image. Trade-off: a pid reused by another node.exe counts as
 * the live holder, so the lock stays held until that process exits; a stale lock can delay runs
 * but two holders never run at once. Windows reuses pids slowly (multiples of 4, lowest free).
 */
export function createWin32Platform(d: Win32Deps): Platform {
  const exists = d.exists ?? pidExists;
  const selfImage = d.selfImage ?? basename(process.execPath);
  // No process groups, and no signal that another process can send and a console program (a
  // job, a shim) catches: taskkill /T without /F only asks windows to close, which they do not
  // have. taskkill /T walks a tree from its live root, so a graceful step followed by /F after
  // a grace period would also lose the children of a root that exited meanwhile. Every signal
  // therefore terminates the tree at once; a later SIGKILL repeats it.
  const killTree = (pid: number): void => d.tools.start(windowsSystemTool('taskkill.exe'), ['/PID', String(pid), '/T', '/F']);
  return {
    kind: 'win32',
    killTree,
    processIdentity(pid) {
      if (pid === process.pid) return selfImage;
      const { status, stdout } = d.tools.runSync(windowsSystemTool('tasklist.exe'), ['/FI', `PID eq ${pid}`, '/FO', 'CSV', '/NH']);
      return status === 0 ? (parseTasklistCsv(stdout).find((r) => r.pid === pid)?.image ?? null) : null;
    },
    isAlive(pid, identity) {
      if (!exists(pid)) return false;
      if (identity === null) return true;
      const { status, stdout } = d.tools.runSync(windowsSystemTool('tasklist.exe'), ['/FI', `PID eq ${pid}`, '/FO', 'CSV', '/NH']);
      // tasklist failing says nothing: count the holder as live (never two holders).
      if (status !== 0) return true;
      const row = parseTasklistCsv(stdout).find((r) => r.pid === pid);
      return row !== undefined && row.image.toLowerCase() === identity.toLowerCase();
    },
    publicReason(path) {
      const who = aclBroadReader(d.tools, path);
      if (who === undefined) return 'its ACL could not be read (icacls failed)';
      return who === null ? null : `${who} can read it; run icacls "${path}" /inheritance:r /grant:r *S-1-5-18:F *S-1-5-32-544:F`;
    },
    stopProcess: (pid) => killTree(pid),
    makePrivateDir(path) {
      if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) return;
      makeDirSync(dirname(path));
      // Web Crypto, loaded on first use: node:crypto would weigh on every `cronsync exec` start.
      const tmp = `${path}.${Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(4))).toString('hex')}.tmp`;
      try {
        mkdirSync(tmp);
      } catch (err) {
        throw new IoError(`Cannot create directory ${path}: ${(err as Error).message}`, { path }, { cause: err });
      }
      try {
        const { status } = d.tools.runSync(windowsSystemTool('icacls.exe'), [tmp, ...PRIVATE_DIR_GRANTS, '/q']);
        if (status !== 0) throw new IoError(`Cannot make directory ${path} private: icacls ${status === null ? 'could not be started' : `exited with ${status}`}`, { path, status });
        try {
          renameSync(tmp, path);
        } catch (err) {
          // Made meanwhile by another process: theirs stands, and is checked like any existing one.
          if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new IoError(`Cannot create directory ${path}: ${(err as Error).message}`, { path }, { cause: err });
        }
      } finally {
        try {
          rmdirSync(tmp);
        } catch {
          // Renamed into place.
        }
      }
    },
    privateDirProblem(path) {
      if (!statSync(path).isDirectory()) return `${path} is not a directory`;
      const who = aclBroadReader(d.tools, path);
      if (who === undefined) return `the ACL of ${path} could not be read (icacls failed)`;
      // Quoted: PowerShell would read the parentheses of (OI)(CI) as an expression.
      return who === null ? null : `${path} can be read by ${who}; run icacls "${path}" ${PRIVATE_DIR_GRANTS.map((a) => (a.includes('(') ? `"${a}"` : a)).join(' ')}`;
    },
  };
}

/**
 * The broad principal that may read `path`: by SID from `icacls /save` (any display language),
 * else by English name from `icacls`; undefined when neither could read the ACL.
 */
function aclBroadReader(tools: ToolRunner, path: string): string | null | undefined {
  const saved = savedSddl(tools, path);
  if (saved !== null) return saved.map(sddlBroadReader).find((who) => who !== null) ?? null;
  const { status, stdout } = tools.runSync(windowsSystemTool('icacls.exe'), [path]);
  return status === 0 ? broadReader(parseIcacls(stdout, path)) : undefined;
}

/** The SDDL lines `icacls <path> /save` writes (UTF-16LE) to a temporary file, or null when it fails. */
function savedSddl(tools: ToolRunner, path: string): string[] | null {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'cronsync-acl-'));
  } catch {
    return null;
  }
  try {
    const file = join(dir, 'acl');
    // A trailing separator would make icacls save the entries inside a directory.
    const target = /^[A-Za-z]:[\\/]?$/.test(path) ? path : path.replace(/[\\/]+$/, '');
    if (tools.runSync(windowsSystemTool('icacls.exe'), [target, '/save', file, '/q']).status !== 0) return null;
    const sddl = parseAclSave(decodeAclFile(readFileSync(file)));
    return sddl.length > 0 ? sddl : null;
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The real ToolRunner: child_process, no shell, hidden windows. */
export const nodeTools: ToolRunner = {
  runSync(file, args) {
    const r = spawnSync(file, [...args], { encoding: 'utf8', windowsHide: true, timeout: 10_000 });
    return { status: r.error ? null : r.status, stdout: r.stdout ?? '' };
  },
  start(file, args) {
    spawn(file, [...args], { stdio: 'ignore', windowsHide: true }).on('error', () => undefined);
  },
};

/** The platform of this host. */
export const nodePlatform: Platform = hostOs === 'win32' ? createWin32Platform({ tools: nodeTools }) : createPosixPlatform();
