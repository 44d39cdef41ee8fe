/**
 * Semantic rules beyond the JSON Schema, each with a rule id. They run on the document even
 * when the schema failed, so `lint` reports everything at once; each rule checks its own
 * field's type before using it.
 */
import { isAbsolute as isPosixAbsolute } from 'node:path/posix';
import { isAbsolute as isWin32Absolute } from 'node:path/win32';
import { remember } from '../memo.js';
import { parseCron } from '../schedule/cron.js';
import type { CronError } from '../schedule/cron.js';
import { neverFires } from '../schedule/fires.js';
import { timeZoneProblem } from '../schedule/zone-names.js';
import { argsPlan, argsRefusalMessage, windowsLineBreakArg, windowsLineBreakMessage } from './args/plan.js';
import { durationMs } from './duration.js';
import type { RawDocument } from './parse.js';
import type { Issue, Severity } from './types.js';

/** Injected checks that depend on the machine lint runs on. */
export interface RuleContext {
  /** True when a bare command name (no `/`) is found in PATH. Absent: the check is skipped. */
  commandExists?: (name: string) => boolean;
  /**
   * Namespace of the file being checked (`jobNamespace` of its path relative to the source root).
   * Absent: `namespace-path` is skipped.
   */
  namespace?: string;
}

/** Upper bound of `spec.timeout` and step timeouts. */
export const MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000;
/** Upper bound of retry delays. */
export const MAX_RETRY_DELAY_MS = 24 * 3600 * 1000;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VAR_REF = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;
const SHELL_WORDS = new Set(['.', ':', '[', 'cd', 'echo', 'eval', 'exec', 'exit', 'export', 'printf', 'set', 'test', 'true', 'false', 'sleep', 'if', 'for', 'while', 'case', '{', '(', 'command', 'env', 'nice', 'nohup', 'timeout']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Runs every semantic rule on one document. */
export function checkJobRules(doc: RawDocument, value: Obj, ctx: RuleContext = {}): Issue[] {
  const out: Issue[] = [];
  const at = (path: (string | number)[], rule: string, message: string, severity: Severity = 'error', key = false, offset?: number): void => {
    const p = doc.locate(path, key);
    // An offset points inside a scalar's text, which starts one column later when quoted.
    const col = offset === undefined ? p.col : p.col + (p.quoted ? 1 : 0) + offset;
    out.push({ file: doc.file, line: p.line, col, path: path.join('.'), rule, severity, message });
  };
  checkNamespace(value.metadata, ctx.namespace, at);
  const spec = isObj(value.spec) ? value.spec : undefined;
  if (!spec) return out;

  const zone = typeof spec.timezone === 'string' ? spec.timezone : 'UTC';
  const zoneProblem = timeZoneProblem(zone);
  const zoneOk = zoneProblem === null;
  if (!zoneOk) at(['spec', 'timezone'], 'timezone', zoneProblem);

  if (typeof spec.schedule === 'string') {
    const verdict = scheduleVerdict(spec.schedule, zone, zoneOk);
    if (verdict.error) {
      at(['spec', 'schedule'], verdict.error.rule, verdict.error.message, 'error', false, verdict.error.offset);
    } else if (verdict.never) {
      at(['spec', 'schedule'], 'cron-never-fires', `schedule "${spec.schedule}" never fires (no date matches its day and month fields)`);
    }
  }

  checkEnv(spec.env, at);
  checkCommand(spec, ctx, at);
  checkArgs(spec, at);
  checkDurations(spec, at);

  if (typeof spec.workingDir === 'string' && !isPosixAbsolute(spec.workingDir) && !isWin32Absolute(spec.workingDir)) {
    at(['spec', 'workingDir'], 'working-dir', `workingDir must be an absolute path (got "${spec.workingDir}")`);
  }
  const checkin = isObj(spec.checkin) ? spec.checkin : undefined;
  if (typeof checkin?.secret === 'string' && !VAR_REF.test(checkin.secret)) {
    at(['spec', 'checkin', 'secret'], 'secret-literal', 'checkin.secret is a literal value committed to Git; use ${VAR} and keep the value in the agent\'s secrets file', 'warning');
  }
  return out;
}

/** What the schedule rules found for one schedule in one zone: a parse error, or whether it never fires. */
interface ScheduleVerdict { error?: CronError; never: boolean }

/** Verdicts by schedule and zone: a repository has thousands of jobs and a handful of both. */
const verdicts = new Map<string, ScheduleVerdict>();
/** Distinct schedule/zone pairs remembered; past it the memo starts again (no unbounded growth). */
const MAX_VERDICTS = 1024;

/** Parses `schedule` and, when `zoneOk`, checks that it fires in `zone`, once per distinct pair. */
function scheduleVerdict(schedule: string, zone: string, zoneOk: boolean): ScheduleVerdict {
  const key = `${zoneOk ? zone : ''}\0${schedule}`;
  let v = verdicts.get(key);
  if (v === undefined) {
    const parsed = parseCron(schedule);
    v = parsed.ok ? { never: zoneOk && neverFires(parsed.value, zone) } : { error: parsed.error, never: false };
    remember(verdicts, MAX_VERDICTS, key, v);
  }
  return v;
}

type At = (path: (string | number)[], rule: string, message: string, severity?: Severity, key?: boolean) => void;

/**
 * `namespace-path` (warning): `metadata.namespace` names another namespace than the file's first
 * directory. The directory wins, for cronsync as for Crontopus agents, so the field misleads.
 */
function checkNamespace(metadata: unknown, namespace: string | undefined, at: At): void {
  if (namespace === undefined || !isObj(metadata) || typeof metadata.namespace !== 'string' || metadata.namespace === namespace) return;
  at(['metadata', 'namespace'], 'namespace-path', `metadata.namespace "${metadata.namespace}" differs from the namespace of the file's path, "${namespace}" (its first directory; "default" at the repository root), which is the one cronsync and Crontopus agents use; move the file or correct the field`, 'warning');
}

function checkEnv(env: unknown, at: At): void {
  if (!isObj(env)) return;
  for (const [name, val] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) at(['spec', 'env', name], 'env-name', `environment variable name "${name}" must match ^[A-Za-z_][A-Za-z0-9_]*$`, 'error', true);
    if (typeof val === 'string' && val.includes('\0')) at(['spec', 'env', name], 'env-value', `environment variable ${name} contains a NUL character`);
  }
}

function checkCommand(spec: Obj, ctx: RuleContext, at: At): void {
  const hasCommand = 'command' in spec;
  const hasSteps = 'steps' in spec;
  if (hasCommand && hasSteps) at(['spec', 'steps'], 'command-or-steps', 'give either spec.command or spec.steps, not both', 'error', true);
  if (!hasCommand && !hasSteps) at(['spec'], 'command-or-steps', 'missing required field "spec.command" (or spec.steps)');
  if (hasSteps && Array.isArray(spec.args) && spec.args.length > 0) at(['spec', 'args'], 'command-or-steps', 'spec.args applies to spec.command only; put arguments into each step\'s run', 'error', true);

  const commands: [(string | number)[], unknown][] = [[['spec', 'command'], spec.command]];
  if (Array.isArray(spec.steps)) {
    const seen = new Map<string, number>();
    spec.steps.forEach((step, i) => {
      if (!isObj(step)) return;
      commands.push([['spec', 'steps', i, 'run'], step.run]);
      if (typeof step.name === 'string') {
        const first = seen.get(step.name);
        if (first !== undefined) at(['spec', 'steps', i, 'name'], 'step-name-unique', `step name "${step.name}" is already used by step ${first + 1}`);
        else seen.set(step.name, i);
      }
    });
  }
  for (const [path, cmd] of commands) {
    if (typeof cmd !== 'string') continue;
    if (cmd.includes('\0')) { at(path, 'command-nul', 'command contains a NUL character'); continue; }
    const first = cmd.trim().split(/\s+/)[0] ?? '';
    if (!first || first.includes('/') || first.includes('\\') || first.includes('=') || first.includes('$') || SHELL_WORDS.has(first)) continue;
    if (ctx.commandExists && !ctx.commandExists(first)) {
      at(path, 'command-not-found', `command "${first}" is not absolute and was not found in PATH on this machine`, 'warning');
    }
  }
}

/**
 * `command-args`: non-empty args must reach the command as arguments (see argsPlan). The shim
 * runs `/bin/sh` on POSIX hosts, so what sh would get wrong is an error; what only cmd.exe would
 * get wrong is a warning, because lint cannot know whether a Windows agent will run the job.
 */
function checkArgs(spec: Obj, at: At): void {
  if (typeof spec.command !== 'string' || !Array.isArray(spec.args) || spec.args.length === 0) return;
  const posix = argsPlan(spec.command, 'linux');
  if (posix.kind === 'refuse') {
    at(['spec', 'command'], 'command-args', argsRefusalMessage(posix, 'linux'));
    return;
  }
  const win = argsPlan(spec.command, 'win32');
  // A multi-line or "$@" command is a sh script that cmd.exe could not run with or without args.
  if (posix.kind === 'append' && win.kind === 'refuse' && win.hazard !== 'multiline') {
    at(['spec', 'command'], 'command-args', `on a Windows agent (cmd.exe): ${argsRefusalMessage(win, 'win32')}`, 'warning');
  }
  const broken = windowsLineBreakArg(spec.args.map((a) => (typeof a === 'string' ? a : '')));
  if (broken >= 0) {
    at(['spec', 'args', broken], 'command-args', `on a Windows agent: ${windowsLineBreakMessage(broken)}`, 'warning');
  }
}

function checkDurations(spec: Obj, at: At): void {
  const bound = (path: (string | number)[], v: unknown, max: number, what: string): number | undefined => {
    if (typeof v !== 'string') return undefined;
    const ms = durationMs(v);
    if (ms === undefined) return undefined;
    if (ms === 0) at(path, 'duration-range', `${path.join('.')} must be greater than zero`);
    else if (ms > max) at(path, 'duration-range', `${path.join('.')} is ${v}; ${what} is limited to ${formatMax(max)}`);
    return ms;
  };
  bound(['spec', 'timeout'], spec.timeout, MAX_TIMEOUT_MS, 'a timeout');
  const retries: [(string | number)[], unknown][] = [[['spec', 'retry'], spec.retry]];
  if (Array.isArray(spec.steps)) spec.steps.forEach((s, i) => {
    if (!isObj(s)) return;
    bound(['spec', 'steps', i, 'timeout'], s.timeout, MAX_TIMEOUT_MS, 'a timeout');
    retries.push([['spec', 'steps', i, 'retry'], s.retry]);
  });
  for (const [path, r] of retries) {
    if (!isObj(r)) continue;
    const delay = bound([...path, 'delay'], r.delay, MAX_RETRY_DELAY_MS, 'a retry delay');
    const max = bound([...path, 'maxDelay'], r.maxDelay, MAX_RETRY_DELAY_MS, 'a retry delay');
    if (delay !== undefined && max !== undefined && delay > max) {
      at([...path, 'delay'], 'duration-range', `${path.join('.')}.delay (${String(r.delay)}) is longer than maxDelay (${String(r.maxDelay)})`);
    }
  }
}

function formatMax(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000} day(s)` : `${ms / 3_600_000} hour(s)`;
}
