/**
 * The CommonJS launcher of the CLI, dist/cli/launch.cjs: the program scheduler entries run,
 * `node <pkg>/dist/cli/launch.cjs exec --scheduled tenant/name` (execCommand in
 * src/cli/agent.ts). A CommonJS main module starts sooner than the ES module dist/cli/main.js,
 * which costs a scheduled run 36–45 ms more CPU (issue #16). `exec` goes to the bundle
 * dist/exec.cjs (src/shim/entry.ts), compiled with its V8 code cache when the build made one;
 * anything else, and `exec` when the bundle was not built, goes to dist/cli/main.js.
 *
 * dist/cli/main.js hands `exec` to {@link runBundledExec} as well: entries installed before the
 * launcher, and `cronsync exec` typed by hand, run the same code.
 */
import { readFileSync } from 'node:fs';
import type { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import type * as ExecBundle from '../shim/entry.js';
import type * as Main from './main.js';

/** The oldest Node.js cronsync runs on: package.json's `engines` (a test keeps them equal). */
export const MIN_NODE = '20.18.1';

/**
 * Why the node running this cannot run cronsync (a line for stderr), or null. Entries name a
 * node binary by a symlink when they can (src/system/node-program.ts): repointed at an older
 * version, every run would otherwise fail somewhere inside with a stack trace.
 */
export function unsupportedNode(version: string = process.versions.node, execPath: string = process.execPath): string | null {
  const have = version.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const need = MIN_NODE.split('.').map(Number);
  for (let i = 0; i < need.length; i++) {
    if ((have[i] ?? 0) !== need[i]) {
      return (have[i] ?? 0) > need[i]! ? null : `cronsync: needs Node.js ${MIN_NODE} or later; ${execPath} is ${version}\n`;
    }
  }
  return null;
}

/**
 * Exits the process with {@link unsupportedNode}'s line when this node is too old for cronsync:
 * 70 (exec's internal error, EX_SOFTWARE) for `exec`, 1 (the CLI's error) for anything else.
 * The first thing both entry points (this launcher and dist/cli/main.js) do.
 */
export function exitIfUnsupportedNode(argv: readonly string[]): void {
  const tooOld = unsupportedNode();
  if (tooOld === null) return;
  process.stderr.write(tooOld);
  process.exit(argv[0] === 'exec' ? 70 : 1);
}

/**
 * `createRequire` of the CommonJS loader this module was loaded by (`Module.createRequire`):
 * the public `node:module`, which exports the same function, loads a dozen more internal
 * modules on first use (~1 ms of every exec start).
 */
const requireFor = (module.constructor as unknown as { createRequire: typeof createRequire }).createRequire;

/** Node's own CommonJS wrapper, in which a bundle without {@link BUNDLE_HEAD} is compiled. */
const NODE_WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n});'] as const;

/**
 * The first and last text of dist/exec.cjs as the build leaves it (tools/build-exec-cache.mjs
 * puts them around esbuild's output): the bundle is one function expression, Node's CommonJS
 * wrapper written into the file. {@link compileExecBundle} compiles the file's text as it is, so
 * V8 gets the string read from the file instead of a concatenated copy to flatten (the bundle is
 * over 100 KB; both strings are young-generation garbage that brings a scavenge closer). Loaded
 * by `require` (no launcher), the head sees Node's wrapper and runs the bundle at once; compiled
 * as a script, whose top-level `this` is the global object, it evaluates to the function.
 */
export const BUNDLE_HEAD = '(function (body) { return this === globalThis ? body : void body.call(exports, exports, require, module, __filename, __dirname); }).call(this, (function (exports, require, module, __filename, __dirname) {\n';
/** See {@link BUNDLE_HEAD}; the build mark follows it. */
export const BUNDLE_TAIL = '\n}));';

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
 * holds, and compiles from source when the cache does not fit its version or flags. A bundle
 * that starts with {@link BUNDLE_HEAD} is compiled as it is, any other in Node's wrapper (as
 * esbuild alone leaves it). Returns the script, whose cache tools/build-exec-cache.mjs saves
 * after a run.
 */
export function compileExecBundle(module: { exports: unknown }, filename: string, source: string, cachedData?: Buffer): Script {
  const script = new Script(source.startsWith(BUNDLE_HEAD) ? source : `${NODE_WRAPPER[0]}${source}${NODE_WRAPPER[1]}`, { filename, cachedData });
  const wrapper = script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: { exports: unknown }, f: string, d: string) => void;
  wrapper.call(module.exports, module.exports, requireFor(filename), module, filename, dirname(filename));
  return script;
}

/** The V8 code cache `<bundle>.cache` made for exactly bundle `source`, or undefined. */
export function readCodeCache(filename: string, source: string): Buffer | undefined {
  const header = cacheHeader(source);
  if (header === null) return undefined;
  let data: Buffer;
  try {
    data = readFileSync(`${filename}.cache`);
  } catch {
    return undefined;
  }
  return data.subarray(0, header.length).toString('latin1') === header ? data.subarray(header.length) : undefined;
}

/**
 * `dist/exec.cjs`, or null when it was not built (e.g. `tsc` alone). Loaded by `require`, with
 * `.cjs` compiled for that one call by {@link compileExecBundle}: Node 20 has no code cache for
 * user modules (module.enableCompileCache is Node 22, and writes a cache at run time), and
 * compiling the bundle is a good part of exec's start-up.
 */
function loadExecBundle(): typeof ExecBundle | null {
  // require.extensions is deprecated as a way to load other languages; here it only changes how
  // the bundle's JavaScript is compiled, and is restored at once.
  const extensions = require.extensions;
  const previous = extensions['.cjs'];
  extensions['.cjs'] = (module, filename) => {
    const source = readFileSync(filename, 'utf8');
    compileExecBundle(module, filename, source, readCodeCache(filename, source));
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is built beside dist/cli/, not a module tsc sees
    return require('../exec.cjs') as typeof ExecBundle;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw err;
  } finally {
    if (previous) extensions['.cjs'] = previous;
    else delete extensions['.cjs'];
  }
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

/**
 * Starts `cronsync exec` from the bundle when `argv` (the arguments after the script) is an
 * `exec` and the bundle is built, and exits the process with the job's code when it ends.
 * Returns false, having loaded nothing, for anything else: the caller runs the main CLI.
 * `exec --version` is left to the main CLI.
 */
export function runBundledExec(argv: readonly string[]): boolean {
  const [command, ...args] = argv;
  if (command !== 'exec' || args.includes('--version') || args.includes('-V')) return false;
  const bundle = loadExecBundle();
  if (!bundle) return false;
  const streams = lazyStreams();
  // `exec --config` imports dist/config/load.js with this module's import() (the bundle has none).
  void bundle.execCommand(args, process.env, streams, undefined, (url) => import(url)).then((code) => {
    // Nothing written to stdout: nothing to drain (stderr is not drained either way).
    if (streams.used()) process.stdout.write('', () => process.exit(code));
    else process.exit(code);
  });
  return true;
}

if (require.main === module) {
  exitIfUnsupportedNode(process.argv.slice(2));
  if (!runBundledExec(process.argv.slice(2))) void import('./main.js').then((cli: typeof Main) => cli.runMain());
}
