/**
 * Entry point of `dist/exec.cjs`, the single-file CommonJS bundle of `cronsync exec` made by
 * `npm run build` (esbuild). `dist/cli/main.js` hands `exec` to it before loading anything
 * else: every scheduled run starts here, and one pre-linked CommonJS file starts several
 * milliseconds faster than the ESM graph of `dist/`. `exec --version` stays with the main CLI.
 */
import { EXEC_USAGE } from './cli.js';
import { runExecCli } from './run.js';
import type { CliStreams } from './run.js';

/**
 * Runs `cronsync exec` with the arguments after `exec` and returns the exit code. `--help`
 * anywhere prints the usage, exactly as the main CLI does for every command.
 */
export async function execCommand(argv: readonly string[], env: Record<string, string | undefined>, streams: CliStreams): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    streams.stdout.write(EXEC_USAGE);
    return 0;
  }
  return runExecCli(argv, env, streams);
}
