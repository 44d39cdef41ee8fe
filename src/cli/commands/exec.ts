/** `cronsync exec [--scheduled] TENANT/NAME`: the shim every scheduler entry runs. Kept light: it loads only the shim. */
import { EXEC_USAGE } from '../../shim/cli.js';
import type { CliIo } from '../io.js';

export const usage = EXEC_USAGE;

/** Runs the shim; returns the job's exit code. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { runExecCli } = await import('../../shim/run.js');
  return runExecCli(argv, io.env, { stdout: io.stdout, stderr: io.stderr });
}
