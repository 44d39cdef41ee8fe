/**
 * Platform port: everything that differs between POSIX and Windows (process trees, process
 * identity for locks, private files, the shell). `nodePlatform` is the one place that looks at
 * `process.platform`; everything else takes a {@link Platform}.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** The host OS as Node reports it: the default of pure functions that take a platform name. */
export const hostOs: NodeJS.Platform = process.platform;

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
  /** Sends `signal` to the tree led by `pid`: the process group (POSIX), or taskkill /T (Windows; SIGKILL adds /F). */
  killTree(pid: number, signal: NodeJS.Signals): void;
  /** An identity token of the process `pid` that changes when the pid is reused, or null where unknown. */
  processIdentity(pid: number): string | null;
  /** True when `pid` runs and (where `identity` is known) is still the process it names. */
  isAlive(pid: number, identity: string | null): boolean;
  /** Why the file at `path` (whose open handle's stat is `st`) is readable by others, or null when it is private. */
  publicReason(path: string, st: { mode: number }): string | null;
}

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
  };
}

/** One ACE line of `icacls FILE`: who, and the rights in parentheses (`(I)(RX)`, `(DENY)(W)`, `(R,W)`). */
export interface IcaclsEntry {
  principal: string;
  rights: string[];
}

/**
 * Parses the output of `icacls <path>`: the first line starts with the path, later ACE lines
 * are indented, and a blank line precedes the "Successfully processed" summary. Pure.
 */
export function parseIcacls(output: string, path: string): IcaclsEntry[] {
  const out: IcaclsEntry[] = [];
  for (const [i, raw] of output.split(/\r?\n/).entries()) {
    const line = (i === 0 && raw.startsWith(path) ? raw.slice(path.length) : raw).trim();
    const m = /^(.+?):((?:\([^)]*\))+)$/.exec(line);
    if (!m) continue;
    const rights = [...(m[2] as string).matchAll(/\(([^)]*)\)/g)].flatMap((r) => (r[1] as string).split(','));
    out.push({ principal: m[1] as string, rights });
  }
  return out;
}

/** Principals that stand for "other users" (English names, as icacls prints them on an en-US host). */
const BROAD = new Set(['everyone', 'builtin\\users', 'nt authority\\authenticated users']);
/** Rights that include reading the file's data: simple F, M, RX, R and specific GA, GR, RD, MA. */
const READ = new Set(['F', 'M', 'RX', 'R', 'GA', 'GR', 'RD', 'MA']);

/** The broad principal that `icacls` output grants a read right to, or null. Pure. */
export function broadReader(entries: readonly IcaclsEntry[]): string | null {
  for (const e of entries) {
    if (!BROAD.has(e.principal.toLowerCase()) || e.rights.includes('DENY') || e.rights.includes('IO')) continue;
    if (e.rights.some((r) => READ.has(r))) return e.principal;
  }
  return null;
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
  return {
    kind: 'win32',
    killTree(pid, signal) {
      // No process groups or SIGTERM: taskkill /T walks the tree; without /F it asks windows to
      // close (the graceful attempt), /F terminates.
      d.tools.start('taskkill', ['/PID', String(pid), '/T', ...(signal === 'SIGKILL' ? ['/F'] : [])]);
    },
    processIdentity(pid) {
      if (pid === process.pid) return selfImage;
      const { status, stdout } = d.tools.runSync('tasklist', ['/FI', `PID eq ${pid}`, '/FO', 'CSV', '/NH']);
      return status === 0 ? (parseTasklistCsv(stdout).find((r) => r.pid === pid)?.image ?? null) : null;
    },
    isAlive(pid, identity) {
      if (!exists(pid)) return false;
      if (identity === null) return true;
      const { status, stdout } = d.tools.runSync('tasklist', ['/FI', `PID eq ${pid}`, '/FO', 'CSV', '/NH']);
      // tasklist failing says nothing: count the holder as live (never two holders).
      if (status !== 0) return true;
      const row = parseTasklistCsv(stdout).find((r) => r.pid === pid);
      return row !== undefined && row.image.toLowerCase() === identity.toLowerCase();
    },
    publicReason(path) {
      const { status, stdout } = d.tools.runSync('icacls', [path]);
      if (status !== 0) return 'its ACL could not be read (icacls failed)';
      const who = broadReader(parseIcacls(stdout, path));
      return who === null ? null : `${who} can read it; run icacls "${path}" /inheritance:r /grant:r SYSTEM:F Administrators:F`;
    },
  };
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
