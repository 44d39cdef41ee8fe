/** The process surface a command may use; injected so commands are testable in-process. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** True when colour may be used on a stream: a TTY and NO_COLOR unset. */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

/** ANSI colour helpers that do nothing when colour is off. */
export function palette(on: boolean): { red: (s: string) => string; yellow: (s: string) => string; dim: (s: string) => string; green: (s: string) => string; bold: (s: string) => string } {
  const wrap = (code: number) => (s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { red: wrap(31), yellow: wrap(33), dim: wrap(2), green: wrap(32), bold: wrap(1) };
}
