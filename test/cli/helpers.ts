/** Runs the CLI's main() in-process with captured output, for the command tests. */
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';

/** What one CLI run printed and returned. */
export interface Captured {
  code: number;
  out: string;
  err: string;
}

/** Runs `cronsync ARGV` in `cwd` with `env` (PATH only by default); `tty` marks stdout as a terminal. */
export async function cli(argv: string[], cwd: string, env: NodeJS.ProcessEnv = { PATH: process.env.PATH }, tty = false): Promise<Captured> {
  const stdout = Object.assign(new PassThrough(), { isTTY: tty });
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => { out += d.toString(); });
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await main(argv, { stdout, stderr, env, cwd });
  return { code, out, err };
}
