#!/usr/bin/env node
/**
 * The `cronsync` command line: argv → command → exit code. The only place that maps errors
 * to exit codes and calls process.exit. Commands are imported lazily so that `exec`, which
 * every scheduled run starts, loads only what it needs.
 */
import { isCronsyncError } from '../errors.js';
import type { CliIo } from './io.js';

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
      io.stderr.write(`cronsync: unknown command "${name}"\n\n${mainUsage()}`);
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

/** Prints an error without a stack trace and returns its exit code. */
export function reportError(err: unknown, io: CliIo): number {
  if (isCronsyncError(err)) {
    io.stderr.write(`cronsync: ${err.message}\n`);
    return err.code === 'CRONSYNC_USAGE' ? 2 : 1;
  }
  const msg = err instanceof Error ? err.message : String(err);
  io.stderr.write(`cronsync: internal error: ${msg}\nThis is a bug; please report it with the command you ran.\n`);
  if (io.env.CRONSYNC_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  return 1;
}

const isEntry = process.argv[1] !== undefined && import.meta.url === (await import('node:url')).pathToFileURL((await import('node:fs')).realpathSync(process.argv[1])).href;
if (isEntry) {
  const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
  // Let stdout drain before exiting, so piped output is never cut.
  process.stdout.write('', () => process.exit(code));
}
