#!/usr/bin/env node
/**
 * The `cronsync` command line: argv → command → exit code. The only place that maps errors
 * to exit codes and calls process.exit. Commands are imported lazily; `exec`, which every
 * scheduled run starts, is handed to the CommonJS bundle dist/exec.cjs before anything else
 * loads (src/shim/entry.ts), compiled with its V8 code cache when the build made one, falling
 * back to the modules when the bundle was not built.
 */
import type * as Fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as Path from 'node:path';
import type * as Url from 'node:url';
import type * as Vm from 'node:vm';
import type { CronsyncError } from '../errors.js';
import type * as ExecBundle from '../shim/entry.js';
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
    io.stderr.write(`cronsync: ${escapeText(err.message)}\n`);
    return err.code === 'CRONSYNC_USAGE' || isFlagValueError(err) ? 2 : 1;
  }
  const msg = err instanceof Error ? err.message : String(err);
  io.stderr.write(`cronsync: internal error: ${escapeText(msg)}\nThis is a bug; please report it with the command you ran.\n`);
  if (io.env.CRONSYNC_DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
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

/** The CommonJS wrapper dist/exec.cjs is compiled in (Node's own); its code cache is made for exactly this text. */
const BUNDLE_WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n});'] as const;

/**
 * The last line of a bundle that has a code cache, `//# cronsync-build <id>` (`<id>`: a hash of
 * the bundle, added by tools/build-exec-cache.mjs). The cache file starts with the same line.
 */
export const BUNDLE_BUILD_MARK = '\n//# cronsync-build ';

/**
 * The first line of the code cache made for bundle `source`, or null when the bundle has no
 * build mark (built by esbuild alone). V8 checks a cache against the length of the source only
 * (besides its own version and flags): a rebuilt bundle of the same length would run the old
 * bundle's functions from a stale cache. The build mark ties the cache to the bundle's content.
 */
export function cacheHeader(source: string): string | null {
  const at = source.lastIndexOf(BUNDLE_BUILD_MARK);
  return at < 0 ? null : `${source.slice(at + 1).trimEnd()}\n`;
}

/**
 * Compiles and runs bundle `source` (the file `filename`) as `require` would, with the V8 code
 * cache `cachedData` when given: V8 then skips parsing and compiling every function the cache
 * holds, and compiles from source when the cache does not fit its version or flags. Returns the
 * script, whose cache tools/build-exec-cache.mjs saves after a run.
 */
export function compileExecBundle(module: { exports: unknown }, filename: string, source: string, cachedData?: Buffer): Vm.Script {
  const { Script } = cjsRequire('node:vm') as typeof Vm;
  const { dirname } = cjsRequire('node:path') as typeof Path;
  const script = new Script(`${BUNDLE_WRAPPER[0]}${source}${BUNDLE_WRAPPER[1]}`, { filename, cachedData });
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: { exports: unknown }, f: string, d: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(filename), module, filename, dirname(filename));
  return script;
}

/** The V8 code cache `<bundle>.cache` made for exactly bundle `source`, or undefined. */
function readCodeCache(filename: string, source: string): Buffer | undefined {
  const header = cacheHeader(source);
  if (header === null) return undefined;
  let data: Buffer;
  try {
    data = (cjsRequire('node:fs') as typeof Fs).readFileSync(`${filename}.cache`);
  } catch {
    return undefined;
  }
  return data.subarray(0, header.length).toString('latin1') === header ? data.subarray(header.length) : undefined;
}

/**
 * `dist/exec.cjs` (see src/shim/entry.ts), or null when it was not built (e.g. `tsc` alone).
 * Loaded by `require`, with `.cjs` compiled for that one call by {@link compileExecBundle}:
 * Node 20 has no code cache for user modules (module.enableCompileCache is Node 22, and writes a
 * cache at run time), and compiling the bundle is a good part of exec's start-up.
 */
function loadExecBundle(): typeof ExecBundle | null {
  // require.extensions is deprecated as a way to load other languages; here it only changes how
  // the bundle's JavaScript is compiled, and is restored at once.
  const extensions = cjsRequire.extensions;
  const previous = extensions['.cjs'];
  extensions['.cjs'] = (module, filename) => {
    const source = (cjsRequire('node:fs') as typeof Fs).readFileSync(filename, 'utf8');
    compileExecBundle(module, filename, source, readCodeCache(filename, source));
  };
  try {
    return cjsRequire('../exec.cjs') as typeof ExecBundle;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw err;
  } finally {
    if (previous) extensions['.cjs'] = previous;
    else delete extensions['.cjs'];
  }
}

/** Exits once stdout has drained, so piped output is never cut. */
function exitWith(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

/**
 * process.stdout and process.stderr, opened only when first written: a job that prints nothing
 * does not pay for setting up the streams. `used()` tells whether stdout was opened.
 */
function lazyStreams(): { stdout: { write(c: Uint8Array | string): boolean }; stderr: { write(c: Uint8Array | string): boolean }; used: () => boolean } {
  let opened = false;
  return {
    stdout: { write: (c) => ((opened = true), process.stdout.write(c)) },
    stderr: { write: (c) => process.stderr.write(c) },
    used: () => opened,
  };
}

const isEntry = isMainModule();
// `cronsync exec` starts every scheduled run: it goes to the bundle before this file loads
// anything else (no static import above may pull in project modules). `--version` is left to main().
const execArgs = process.argv.slice(3);
const execBundle = isEntry && process.argv[2] === 'exec' && !execArgs.includes('--version') && !execArgs.includes('-V') ? loadExecBundle() : null;
let isCronsyncError: (err: unknown) => err is CronsyncError;
let escapeText: (text: string) => string;
if (execBundle) {
  const streams = lazyStreams();
  const code = await execBundle.execCommand(execArgs, process.env, streams, undefined, (url) => import(url));
  // Nothing written to stdout: nothing to drain (stderr is not drained either way).
  if (streams.used()) exitWith(code);
  else process.exit(code);
} else {
  ({ isCronsyncError } = await import('../errors.js'));
  ({ escapeText } = await import('./escape.js'));
  if (isEntry) exitWith(await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }));
}
