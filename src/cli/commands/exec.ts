/**
 * `cronsync exec [--scheduled] [--config FILE] TENANT/NAME`: the shim every scheduler entry
 * runs, when dist/exec.cjs was not built (src/shim/entry.ts is the usual way in). Kept light: it
 * loads only the shim, and the config loader only for `--config`.
 */
import { EXEC_USAGE } from '../../shim/cli.js';
import type { ExecConfigLoader } from '../../shim/run.js';
import type { CliIo } from '../io.js';

export const usage = EXEC_USAGE;

/** `exec --config`: the agent config loader, imported on first use. */
export const loadExecConfig: ExecConfigLoader = async ({ file, stateDir, env, cwd }) => {
  const { loadConfig } = await import('../../config/load.js');
  return loadConfig({ file, env, cwd, overrides: { stateDir } });
};

/** Runs the shim; returns the job's exit code. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { runExecCli } = await import('../../shim/run.js');
  return runExecCli(argv, io.env, { stdout: io.stdout, stderr: io.stderr }, { loadConfig: loadExecConfig, cwd: io.cwd });
}
