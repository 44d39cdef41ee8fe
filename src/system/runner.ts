/**
 * Runner port: starts a child process from an argv (never a shell string), optionally in its
 * own process group, with a timeout and cancellation that reach the whole process tree.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { nodePlatform, type Platform } from './platform.js';

/** Command is one program invocation: file and argv, no shell parsing. */
export interface Command {
  file: string;
  args: readonly string[];
  cwd?: string;
  /** The complete environment of the child; the parent's when absent. */
  env?: Record<string, string | undefined>;
  /** Windows only: pass `args` to the program unquoted (for `cmd.exe /s /c "…"`). */
  windowsVerbatimArguments?: boolean;
  /**
   * Replace every descriptor above 2 that this process would pass on (one it inherited without
   * close-on-exec) with /dev/null in the child: a command run as another user gets none of the
   * agent's files. Linux (/proc) only; elsewhere nothing is masked.
   */
  maskInheritedFds?: boolean;
}

/** Options of {@link Runner.run}. */
export interface RunOptions {
  /** Written to the child's stdin, which is then closed. stdin is /dev/null when absent. */
  stdin?: string | Uint8Array;
  /** Kills the process tree after this many ms and reports `timedOut`. */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL (default 5000 ms). */
  killGraceMs?: number;
  /** Aborting sends the signal named by `signal.reason` (default SIGTERM) to the tree: `cancelled`. */
  signal?: AbortSignal;
  /** Streaming sinks; when given, that stream is not captured in the result. */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Called once the child has a pid. */
  onSpawn?: (pid: number) => void;
}

/** Outcome of a finished process. */
export interface RunResult {
  /** Exit status; for a child killed by a signal, 128 + signal number (shell convention). */
  exitCode: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
  /** Set when the process could not be started (e.g. missing program or working directory). */
  spawnError?: string;
}

/** Runner runs commands. */
export interface Runner {
  run(cmd: Command, opts?: RunOptions): Promise<RunResult>;
}

function signalNumber(sig: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[sig] ?? 15;
}

/** Sends `sig` to the process group led by `pid` (POSIX) or kills the tree (Windows) [Platform.killTree]. */
export function killTree(pid: number, sig: NodeJS.Signals, platform: Platform = nodePlatform): void {
  platform.killTree(pid, sig);
}

/**
 * True while a process group has a live (non-zombie) member. Where /proc exists the members are
 * found there, because kill(-pgid, 0) also succeeds for zombies, which linger in containers
 * whose init does not reap them.
 */
export function groupAlive(pgid: number, platform: Platform = nodePlatform): boolean {
  if (platform.kind === 'win32') return false;
  let entries: string[] | null = null;
  try {
    entries = readdirSync('/proc');
  } catch {
    entries = null;
  }
  if (entries) {
    for (const e of entries) {
      if (!/^\d+$/.test(e)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      } catch {
        continue;
      }
      // Fields after "(comm)": state, ppid, pgrp, ...
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z' && f[0] !== 'X') return true;
    }
    return false;
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const O_CLOEXEC = 0o2000000;

/**
 * Descriptors above 2 of this process without close-on-exec, which a spawned child inherits
 * (Node opens its own with O_CLOEXEC, but keeps those it inherited as they are).
 */
export function inheritableFds(): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fdinfo');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    const fd = Number(n);
    if (!Number.isInteger(fd) || fd < 3) continue;
    try {
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${n}`, 'utf8'))?.[1];
      if (flags !== undefined && (parseInt(flags, 8) & O_CLOEXEC) === 0) out.push(fd);
    } catch {
      // Closed meanwhile (the listing's own descriptor).
    }
  }
  return out.sort((a, b) => a - b);
}

/** The stdio of a child, with /dev/null (`nul`) over each inheritable descriptor. */
function maskedStdio(base: ('ignore' | 'pipe')[], fds: readonly number[], nul: number): ('ignore' | 'pipe' | number)[] {
  const stdio: ('ignore' | 'pipe' | number)[] = [...base];
  for (const fd of fds) {
    while (stdio.length < fd) stdio.push('ignore');
    stdio[fd] = nul;
  }
  return stdio;
}

/** A Runner that runs each command in a new process group (a new session on POSIX) and kills trees through `platform`. */
export function createNodeRunner(platform: Platform = nodePlatform): Runner {
  const isWindows = platform.kind === 'win32';
  const kill = (pid: number, sig: NodeJS.Signals): void => platform.killTree(pid, sig);
  const alive = (pid: number): boolean => groupAlive(pid, platform);
  // One kill(2) in the usual case of an empty group; /proc is read only when it is not (a
  // zombie counts for kill(2), not for groupAlive). Windows has no process groups to ask.
  const leftRunning = (pid: number): boolean => !isWindows && groupExists(pid) && alive(pid);
  return { run(cmd, opts = {}) {
    return new Promise<RunResult>((resolve) => {
      const grace = opts.killGraceMs ?? 5000;
      let timedOut = false;
      let cancelled = false;
      let killTimer: NodeJS.Timeout | undefined;
      let stopping = false;
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const base: ('ignore' | 'pipe')[] = [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'];
      const leaked = cmd.maskInheritedFds && !isWindows ? inheritableFds() : [];
      const nul = leaked.length > 0 ? openSync('/dev/null', 'r') : -1;
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(cmd.file, [...cmd.args], {
          cwd: cmd.cwd,
          env: cmd.env ?? process.env,
          // detached => setsid(): the child leads its own group, so one kill(-pid) reaches the tree.
          detached: !isWindows,
          windowsHide: true,
          windowsVerbatimArguments: cmd.windowsVerbatimArguments,
          stdio: nul < 0 ? base : maskedStdio(base, leaked, nul),
        });
      } finally {
        if (nul >= 0) closeSync(nul);
      }
      const stop = (sig: NodeJS.Signals): void => {
        if (child.pid === undefined) return;
        // On Windows this terminates the tree at once (see createWin32Platform); the timer below
        // repeats it should the root still run after the grace period.
        kill(child.pid, sig);
        if (stopping) return;
        stopping = true;
        killTimer = setTimeout(() => child.pid !== undefined && kill(child.pid, 'SIGKILL'), grace);
      };
      const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
        timedOut = true;
        stop('SIGTERM');
      }, opts.timeoutMs);
      const onAbort = (): void => {
        cancelled = true;
        const reason = opts.signal?.reason;
        stop(typeof reason === 'string' && reason.startsWith('SIG') ? (reason as NodeJS.Signals) : 'SIGTERM');
      };
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (child.pid !== undefined) opts.onSpawn?.(child.pid);
      child.stdout?.on('data', (c: Buffer) => (opts.onStdout ? opts.onStdout(c) : out.push(c)));
      child.stderr?.on('data', (c: Buffer) => (opts.onStderr ? opts.onStderr(c) : err.push(c)));
      if (opts.stdin !== undefined) {
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(opts.stdin);
      }
      let settled = false;
      const finish = (code: number, signal: NodeJS.Signals | null, spawnError?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        const done = (): void => {
          clearTimeout(killTimer);
          resolve({ exitCode: code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut, cancelled, spawnError });
        };
        // After a timeout or cancel, stragglers in the group get the rest of the grace period.
        if (stopping && child.pid !== undefined && alive(child.pid)) waitGroup(child.pid, grace, done, platform);
        else if (!stopping && child.pid !== undefined && leftRunning(child.pid)) {
          // The command ended but left processes in its group (`cmd &`): the run and its tree end
          // together, as a systemd service's do, so that a timeout, Forbid and Replace hold for
          // the whole tree. A process meant to outlive its job starts its own session (setsid).
          stop('SIGTERM');
          waitGroup(child.pid, grace, done, platform);
        } else done();
      };
      child.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ENOENT' ? 127 : 126, null, e.message));
      child.on('exit', (code, signal) => {
        const exitCode = code ?? (signal ? 128 + signalNumber(signal) : 1);
        // A background grandchild may hold the pipes open: do not wait for 'close' for long.
        const t = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish(exitCode, signal);
        }, 200);
        child.once('close', () => {
          clearTimeout(t);
          finish(exitCode, signal);
        });
      });
    });
  } };
}

/** Whether any process, zombies included, is left in the process group `pgid` (POSIX). */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** nodeRunner is the Runner of this host. */
export const nodeRunner: Runner = createNodeRunner();

function waitGroup(pid: number, graceMs: number, done: () => void, platform: Platform): void {
  const deadline = Date.now() + graceMs + 1000;
  const tick = (): void => {
    if (!groupAlive(pid, platform) || Date.now() > deadline) {
      platform.killTree(pid, 'SIGKILL');
      done();
      return;
    }
    setTimeout(tick, 25);
  };
  tick();
}
