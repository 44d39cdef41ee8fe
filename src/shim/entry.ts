/**
 * Entry point of `dist/exec.cjs`, the single-file CommonJS bundle of `cronsync exec` made by
 * `npm run build` (esbuild). Scheduler entries run the CommonJS launcher `dist/cli/launch.cjs`
 * (src/cli/launch.cts), which loads this bundle with its V8 code cache before anything else;
 * `dist/cli/main.js` (users, and entries of older versions) hands `exec` to the same launcher.
 * A CommonJS entry and one pre-linked file start much faster than the ESM graph of `dist/`.
 * `exec --version` stays with the main CLI.
 *
 * The config loader (`exec --config`) is not in the bundle: it needs YAML, Ajv and files next
 * to its module (`import.meta.url`). It is imported from `dist/config/load.js`, next to this
 * bundle, only when `--config` is given, through the `import()` of the ES module that loaded the
 * bundle: the bundle has no `import()` of its own (esbuild turns each into a `require`, so that
 * `node:http` is not loaded through the ESM loader and the launcher can compile the bundle with
 * its V8 code cache, see src/cli/launch.cts).
 */
import { join } from 'node:path';
import type * as ConfigLoad from '../config/load.js';
import { EXEC_USAGE } from './cli.js';
import { runExecCli } from './run.js';
import type { CliStreams, ExecCliPorts, ExecConfigLoader } from './run.js';

/** Imports an ES module by URL: the `import()` of an ES module (the bundle has none of its own). */
export type ImportModule = (url: string) => Promise<unknown>;

/**
 * `exec --config` in the bundle: `<dir>/config/load.js` of the built package, `dir` being the
 * bundle's own directory (`dist/`), imported with `importModule`.
 */
export function distConfigLoader(dir: string, importModule: ImportModule): ExecConfigLoader {
  return async ({ file, stateDir, env, cwd }) => {
    // node:url only now: nothing else on exec's start-up path needs it.
    const { pathToFileURL } = await import('node:url');
    const url = pathToFileURL(join(dir, 'config', 'load.js')).href;
    const { loadConfig } = (await importModule(url)) as typeof ConfigLoad;
    return loadConfig({ file, env, cwd, overrides: { stateDir } });
  };
}

/**
 * Runs `cronsync exec` with the arguments after `exec` and returns the exit code. `--help`
 * anywhere prints the usage, exactly as the main CLI does for every command. `ports` are for
 * tests; the bundle loads the config loader from `dist/` with `importModule` (see
 * {@link distConfigLoader}), and without it `exec --config` fails as not wired.
 */
export async function execCommand(argv: readonly string[], env: Record<string, string | undefined>, streams: CliStreams, ports?: ExecCliPorts, importModule?: ImportModule): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    streams.stdout.write(EXEC_USAGE);
    return 0;
  }
  // Only in the CommonJS bundle, dist/exec.cjs, is __dirname the directory of dist/config/.
  const bundled = typeof __filename === 'string' && __filename.endsWith('.cjs');
  return runExecCli(argv, env, streams, ports ?? { loadConfig: bundled && importModule ? distConfigLoader(__dirname, importModule) : undefined });
}
