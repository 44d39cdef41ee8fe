/**
 * Runs a job's command (or its steps) with timeouts and retries, streaming output through and
 * keeping its tail. Side effects only through the Runner and Clock ports.
 */
import { constants } from 'node:os';
import type { Job, RetryPolicy, Step } from '../manifest/types.js';
import type { Clock } from '../system/clock.js';
import type { Runner } from '../system/runner.js';
import { dropPrivileges } from '../system/users.js';
import type { RunAs } from '../system/users.js';
import { ARGS_REFUSED_EXIT, argsRefusal, shellCommand } from './command.js';
import { formatDuration, parseDuration } from './duration.js';
import { createMasker } from './mask.js';
import type { StreamMasker } from './mask.js';
import { ERROR_MAX_CHARS, OUTPUT_MAX_CHARS, TailBuffer, tailChars } from './output.js';
import { jobBackoff, maxAttempts, nextDelay } from './retry.js';
import type { Logger, WritableLike } from './types.js';
import { EXIT } from './types.js';

/** How long bytes the output masker keeps back (the start of a value) wait for the rest of it. */
const MASK_IDLE_MS = 1000;

/** Final status of a run (the check-in `status`). */
export type ExecStatus = 'success' | 'failure' | 'timeout' | 'cancelled';

/** Result of one step of a multi-step job. */
export interface StepResult {
  name: string;
  status: ExecStatus;
  exitCode: number;
  attempts: number;
  durationMs: number;
  continued: boolean;
}

/** Execution is the outcome of a whole run. */
export interface Execution {
  status: ExecStatus;
  /** The code `cronsync exec` exits with. */
  exitCode: number;
  attempts: number;
  /** Tail for the check-in, at most 10,000 characters. */
  output: string;
  /** Last 500 characters explaining a failure; null on success. */
  errorMessage: string | null;
  steps?: StepResult[];
}

/** Ports and settings of {@link execute}. */
export interface ExecuteDeps {
  runner: Runner;
  clock: Clock;
  log: Logger;
  stdout: WritableLike;
  stderr: WritableLike;
  /** Aborted with a signal name (e.g. 'SIGTERM') to cancel: forwarded to the child's group. */
  signal: AbortSignal;
  /** Asked when a child exits: true when a new run replaced this one (a daemon's run; see takeReplaceRequest). */
  replaced?: () => boolean;
  random?: () => number;
  killGraceMs?: number;
  /** Called with each child's pid (its process group id). */
  onChild?: (pid: number) => void;
  platform?: NodeJS.Platform;
  /**
   * `spec.user`: the account the command runs as, through `setpriv` (see dropPrivileges; no
   * switch when the shim already runs as its uid), and the default working directory (its home,
   * or `/` when that does not exist, as login(1) does). Either way, descriptors the shim
   * inherited are masked. Absent: the shim's own user.
   */
  runAs?: RunAs;
  /**
   * The working directory without `spec.workingDir` and `runAs`: the shim's own home (see
   * ownWorkingDir). Absent: the shim's own working directory.
   */
  cwd?: string;
  /** Values masked in the job's output, wherever it goes (see mask.ts): the resolved `${VAR}`s. */
  masked?: Iterable<string>;
}

interface Once {
  status: ExecStatus;
  exitCode: number;
  reason: string;
}

/**
 * Runs a job once per attempt until it succeeds, is cancelled or runs out of retries. A job whose
 * args are refused (see argsRefusal) runs nothing and fails at once, without retries.
 */
export async function execute(job: Job, env: Record<string, string | undefined>, d: ExecuteDeps): Promise<Execution> {
  const tail = new TailBuffer();
  const errTail = new TailBuffer(ERROR_MAX_CHARS * 4);
  const jobTimeout = job.spec.timeout ? parseDuration(job.spec.timeout) : undefined;
  const workingDir = job.spec.workingDir ?? d.runAs?.cwd ?? d.cwd;
  let steps: StepResult[] | undefined;
  const pass = async (): Promise<Once> => {
    if (!job.spec.steps?.length) return runProcess(job.spec.command ?? 'true', job.spec.args ?? [], jobTimeout);
    const r = await runSteps(job.spec.steps, jobTimeout);
    steps = r.results;
    return r.once;
  };

  const masker = d.masked === undefined ? null : createMasker(d.masked);
  const toStdout = (c: Buffer): void => {
    if (c.length === 0) return;
    d.stdout.write(c);
    tail.push(c);
  };
  const toStderr = (c: Buffer): void => {
    if (c.length === 0) return;
    d.stderr.write(c);
    tail.push(c);
    errTail.push(c);
  };

  const runProcess = async (command: string, args: readonly string[], timeoutMs: number | undefined): Promise<Once> => {
    const plain = { ...shellCommand(command, args, d.platform), cwd: workingDir, env, ...(d.runAs ? { maskInheritedFds: true } : {}) };
    const sw = d.runAs?.switchTo;
    const cmd = sw && d.runAs ? dropPrivileges(plain, d.runAs.user, sw.setpriv, sw.groups) : plain;
    // Each stream masked on its own: bytes kept back (the start of a value) wait for its next
    // chunk, at most MASK_IDLE_MS: a job that pauses after printing `/` is not held up by a
    // value that begins with one (a value written in two parts that far apart is let out).
    const out = masker?.();
    const err = masker?.();
    let idle: NodeJS.Timeout | undefined;
    const letOut = (): void => {
      clearTimeout(idle);
      idle = undefined;
      if (out) toStdout(out.end());
      if (err) toStderr(err.end());
    };
    const masked = (m: StreamMasker, to: (c: Buffer) => void) => (c: Buffer): void => {
      to(m.push(c));
      clearTimeout(idle);
      idle = out!.held() + err!.held() > 0 ? setTimeout(letOut, MASK_IDLE_MS) : undefined;
    };
    const r = await d.runner.run(cmd, {
      timeoutMs, killGraceMs: d.killGraceMs, signal: d.signal, onSpawn: d.onChild,
      onStdout: out ? masked(out, toStdout) : toStdout,
      onStderr: err ? masked(err, toStderr) : toStderr,
    });
    letOut();
    if (r.cancelled) {
      const sig = String(d.signal.reason ?? 'SIGTERM');
      return { status: 'cancelled', exitCode: cancelCode(sig), reason: `cancelled by ${sig}` };
    }
    // A run of a daemon that another run replaced (concurrency: Replace): no retry, no next step.
    if (d.replaced?.()) return { status: 'cancelled', exitCode: cancelCode('SIGTERM'), reason: 'replaced by a new run (concurrency: Replace)' };
    if (r.timedOut) return { status: 'timeout', exitCode: EXIT.timeout, reason: `timed out after ${formatDuration(timeoutMs ?? 0)}` };
    if (r.spawnError) return { status: 'failure', exitCode: r.exitCode, reason: `cannot start the command (working directory ${workingDir ?? '.'}): ${r.spawnError}` };
    return r.exitCode === 0 ? { status: 'success', exitCode: 0, reason: '' } : { status: 'failure', exitCode: r.exitCode, reason: `exit code ${r.exitCode}` };
  };

  const withRetry = async (policy: RetryPolicy | undefined, label: string, fn: () => Promise<Once>): Promise<Once & { attempts: number }> => {
    const max = maxAttempts(policy);
    let last: Once = { status: 'failure', exitCode: 1, reason: '' };
    for (let attempt = 1; attempt <= max; attempt++) {
      if (attempt > 1) {
        const delay = nextDelay(attempt - 1, jobBackoff(policy as RetryPolicy), undefined, d.random);
        d.log.info({ label, attempt, delayMs: delay, reason: last.reason }, 'Run failed, retrying');
        try {
          await d.clock.sleep(delay, d.signal);
        } catch {
          const sig = String(d.signal.reason ?? 'SIGTERM');
          return { status: 'cancelled', exitCode: cancelCode(sig), reason: `cancelled by ${sig}`, attempts: attempt - 1 };
        }
        tail.push(`\n[cronsync] ${label}attempt ${attempt} of ${max}\n`);
      }
      last = await fn();
      if (last.status === 'success' || last.status === 'cancelled' || attempt === max) return { ...last, attempts: attempt };
    }
    return { ...last, attempts: max };
  };

  const refuse = (line: string): Once & { attempts: number } => {
    d.stderr.write(`${line}\n`);
    tail.push(`${line}\n`);
    errTail.push(`${line}\n`);
    return { status: 'failure', exitCode: ARGS_REFUSED_EXIT, reason: `exit code ${ARGS_REFUSED_EXIT}`, attempts: 1 };
  };

  const runSteps = async (list: Step[], totalMs: number | undefined): Promise<{ once: Once; results: StepResult[] }> => {
    const deadline = totalMs === undefined ? undefined : d.clock.now().getTime() + totalMs;
    const results: StepResult[] = [];
    let once: Once = { status: 'success', exitCode: 0, reason: '' };
    for (const step of list) {
      const left = deadline === undefined ? undefined : deadline - d.clock.now().getTime();
      if (left !== undefined && left <= 0) {
        once = { status: 'timeout', exitCode: EXIT.timeout, reason: `timed out after ${formatDuration(totalMs ?? 0)} before step "${step.name}"` };
        break;
      }
      const own = step.timeout ? parseDuration(step.timeout) : undefined;
      const limit = own === undefined ? left : left === undefined ? own : Math.min(own, left);
      tail.push(`[cronsync] step "${step.name}"\n`);
      const started = d.clock.now().getTime();
      const r = await withRetry(step.retry, `step "${step.name}" `, () => runProcess(step.run, [], limit));
      const continued = r.status !== 'success' && r.status !== 'cancelled' && step.onFailure === 'continue';
      results.push({ name: step.name, status: r.status, exitCode: r.exitCode, attempts: r.attempts, durationMs: d.clock.now().getTime() - started, continued });
      if (r.status === 'success' || continued) continue;
      once = { status: r.status, exitCode: r.exitCode, reason: `step "${step.name}": ${r.reason}` };
      break;
    }
    return { once, results };
  };

  // Args that cannot reach the command safely are refused the same way on every attempt: fail once, no retries.
  const refused = job.spec.steps?.length ? undefined : argsRefusal(job.spec.command ?? 'true', job.spec.args ?? [], d.platform);
  const final = refused ? refuse(refused) : await withRetry(job.spec.retry, '', pass);
  const summary = steps ? stepSummary(steps, job.spec.steps ?? []) : '';
  const output = summary ? tail.text(OUTPUT_MAX_CHARS - summary.length) + summary : tail.text();
  let errorMessage: string | null = null;
  if (final.status !== 'success') {
    // The last characters of stderr and the reason, as they are: a truncation notice cut in
    // two would take the place of the lines that explain the failure.
    const err = errTail.total > 0 ? errTail.last(ERROR_MAX_CHARS * 2) : '';
    errorMessage = tailChars(err ? `${err.replace(/\s+$/, '')}\n${final.reason}` : final.reason, ERROR_MAX_CHARS);
  }
  return { status: final.status, exitCode: final.exitCode, attempts: final.attempts, output, errorMessage, steps };
}

/** 128 + the number of a signal, the shell's code for "killed by". */
export function cancelCode(sig: string): number {
  return 128 + ((constants.signals as Record<string, number>)[sig] ?? 15);
}

function stepSummary(results: StepResult[], all: Step[]): string {
  const lines = results.map((r) => `  ${r.status === 'success' ? 'ok    ' : r.continued ? 'failed' : r.status.padEnd(6)} ${r.name} (exit ${r.exitCode}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}, ${formatDuration(r.durationMs)})${r.continued ? ', continued' : ''}`);
  for (const s of all.slice(results.length)) lines.push(`  skipped ${s.name}`);
  return `\n[cronsync] steps:\n${lines.join('\n')}\n`;
}
