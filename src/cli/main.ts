#!/usr/bin/env node
/**
 * The `cronsync` command line: argv → command → exit code. The only place that maps errors
 * to exit codes and calls process.exit (as does dist/cli/launch.cjs for `exec`). Commands are
 * imported lazily; `exec` is handed to the CommonJS bundle dist/exec.cjs before anything else
 * loads, as the launcher src/cli/launch.cts hands it (scheduler entries run the launcher),
 * falling back to the modules when the bundle was not built.
 */
import type * as Fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as Url from 'node:url';
import type { CronsyncError } from '../errors.js';
import type { CliIo } from './io.js';
import type * as Launch from './launch.cjs';

/** A command module: `run` returns the exit code. */
export interface CommandModule { run(argv: string[], io: CliIo): Promise<number>; usage: string }

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  lint: { summary: 'validate manifests in files or directories', load: () => import('./commands/lint.js') },
  diff: { summary: 'fetch, validate and print the plan; changes nothing', load: () => import('./commands/diff.js') },
  sync: { summary: 'run one reconcile: fetch, plan, apply, write status', load: () => import('./commands/sync.js') },
  status: { summary: 'show the status file', load: () => import('./commands/status.js') },
  exec: { summary: 'run a job through the shim (scheduler entries call this)', load: () => import('./commands/exec.js') },
  render: { summary: 'print what would be installed', load: () => import('./commands/render.js') },
  daemon: { summary: 'run the agent: poll loop, embedded scheduler, webhooks, health', load: () => import('./commands/daemon.js') },
  demo: { summary: 'run the agent on the bundled example without root (npm start)', load: () => import('./commands/demo.js') },
  prune: { summary: 'remove every entry of this agent (used by the uninstallers)', load: () => import('./commands/prune.js') },
};

/** Top-level usage text. */
export function mainUsage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`);
  return `Usage: cronsync <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nEvery command takes --config FILE, --help and --version.\nRun 'cronsync <command> --help' for a command's options.\n`;
}

/** Runs the CLI and returns the exit code (never throws). */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      io.stdout.write(mainUsage());
      return name === undefined ? 2 : 0;
    }
    if (name === '--version' || name === '-V') {
      io.stdout.write(`${(await import('../version.js')).VERSION}\n`);
      return 0;
    }
    const entry = COMMANDS[name];
    if (!entry) {
      io.stderr.write(`cronsync: unknown command "${escapeText(name)}"\n\n${mainUsage()}`);
      return 2;
    }
    const mod = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(mod.usage);
      return 0;
    }
    if (rest.includes('--version') || rest.includes('-V')) {
      io.stdout.write(`${(await import('../version.js')).VERSION}\n`);
      return 0;
    }
    return await mod.run(rest, io);
  } catch (err) {
    return reportError(err, io);
  }
}

/**
 * Prints an error without a stack trace and returns its exit code: 2 for every usage error (an
 * unknown flag, a bad flag value), 1 for the rest.
 */
export function reportError(err: unknown, io: CliIo): number {
  if (isCronsyncError(err)) {
    // A config error puts each of its issues on a line of its own (src/config/load.ts).
    const issues = Array.isArray(err.data.issues) ? err.data.issues.length : 0;
    io.stderr.write(`cronsync: ${escapeMessage(err.message, issues)}\n`);
    return err.code === 'CRONSYNC_USAGE' || isFlagValueError(err) ? 2 : 1;
  }
  const msg = err instanceof Error ? err.message : String(err);
  io.stderr.write(`cronsync: internal error: ${escapeText(msg)}\nThis is a bug; please report it with the command you ran.\n`);
  // As debugEnabled() of ../errors.js, which this module does not load at start.
  const debug = io.env.CRONSYNC_DEBUG !== undefined && !/^(|0|false|no|off)$/i.test(io.env.CRONSYNC_DEBUG.trim());
  if (debug && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return 1;
}

/**
 * A config error caused by the command line: the config loader validates flag overrides
 * (`--log-level`, `--scheduler`, `--state-dir`) with the file and names the flag as the issue's
 * file. A bad flag value is a usage error, like an unknown flag.
 * TODO(#11): src/config/load.ts could throw UsageError for these itself.
 */
function isFlagValueError(err: CronsyncError): boolean {
  if (err.code !== 'CRONSYNC_CONFIG' || !Array.isArray(err.data.issues)) return false;
  return (err.data.issues as { file?: unknown }[]).some((i) => typeof i.file === 'string' && i.file.startsWith('--'));
}

// Built-in modules through require, not static imports: an ES module's `import` of a built-in
// builds a namespace of all its exports, which every scheduled run would pay for.
const cjsRequire = createRequire(import.meta.url);

/** True when this file is the process's main module (not imported by a test or the daemon). */
function isMainModule(): boolean {
  try {
    const { realpathSync } = cjsRequire('node:fs') as typeof Fs;
    const { pathToFileURL } = cjsRequire('node:url') as typeof Url;
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

/** Exits once stdout has drained, so piped output is never cut. */
function exitWith(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

/** Runs the CLI on this process's arguments and exits with its code (this file as the main module, or dist/cli/launch.cjs). */
export async function runMain(): Promise<void> {
  exitWith(await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }));
}

const isEntry = isMainModule();
// `cronsync daemon` holds its stop and reload signals from here on, until its signal relay takes
// them (src/daemon/signals.ts, EARLY_SIGNALS): without a listener, a SIGHUP while the daemon's
// modules load would kill it.
if (isEntry && process.argv[2] === 'daemon') holdEarlySignals();

function holdEarlySignals(): void {
  const held = { pending: [] as NodeJS.Signals[], handlers: new Map<NodeJS.Signals, () => void>() };
  for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const handler = (): void => void held.pending.push(name);
    held.handlers.set(name, handler);
    process.on(name, handler);
  }
  (globalThis as Record<symbol, unknown>)[Symbol.for('cronsync.earlySignals')] = held;
}
// `cronsync exec` starts every scheduled run: it goes to the bundle, through the launcher's code,
// before this file loads anything else (no static import above may pull in project modules).
const launch = isEntry ? (cjsRequire('./launch.cjs') as typeof Launch) : undefined;
launch?.exitIfUnsupportedNode(process.argv.slice(2));
const execStarted = launch !== undefined && process.argv[2] === 'exec' && launch.runBundledExec(process.argv.slice(2));
let isCronsyncError: (err: unknown) => err is CronsyncError;
let escapeText: (text: string) => string;
let escapeMessage: (text: string, breaks: number) => string;
if (!execStarted) {
  ({ isCronsyncError } = await import('../errors.js'));
  ({ escapeText, escapeMessage } = await import('./escape.js'));
  if (isEntry) await runMain();
}
