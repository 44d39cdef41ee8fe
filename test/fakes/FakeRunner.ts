/**
 * FakeRunner implements the Runner port without processes: it records every call's argv and
 * stdin (renovate's ExecSnapshot) and answers from a handler.
 */
import type { Command, RunOptions, RunResult, Runner } from '../../src/system/runner.js';

/** One recorded call. */
export interface RunCall {
  argv: string[];
  stdin?: string;
}

/** Answers one call. */
export type RunHandler = (cmd: Command, stdin: string | undefined) => Partial<RunResult> | Promise<Partial<RunResult>>;

/** A Runner that records calls and answers from a handler. */
export class FakeRunner implements Runner {
  readonly calls: RunCall[] = [];
  constructor(private readonly handler: RunHandler = () => ({})) {}

  async run(cmd: Command, opts: RunOptions = {}): Promise<RunResult> {
    const stdin = opts.stdin === undefined ? undefined : typeof opts.stdin === 'string' ? opts.stdin : Buffer.from(opts.stdin).toString('utf8');
    this.calls.push({ argv: [cmd.file, ...cmd.args], ...(stdin === undefined ? {} : { stdin }) });
    const r = await this.handler(cmd, stdin);
    return { exitCode: 0, signal: null, stdout: '', stderr: '', timedOut: false, cancelled: false, ...r };
  }
}

/**
 * A FakeRunner that behaves like Debian's `crontab` for the users in `tabs` (user -> text;
 * absent = no crontab). `me` is the calling user.
 */
export function fakeCrontab(tabs: Map<string, string>, me = 'root'): FakeRunner {
  return new FakeRunner((cmd, stdin) => {
    if (cmd.file !== 'crontab') return { exitCode: 127, stderr: `${cmd.file}: not found` };
    const args = [...cmd.args];
    let user = me;
    if (args[0] === '-u') {
      user = args[1]!;
      args.splice(0, 2);
    }
    if (args[0] === '-l') {
      const text = tabs.get(user);
      return text === undefined ? { exitCode: 1, stderr: `no crontab for ${user}\n` } : { stdout: text };
    }
    if (args[0] === '-') {
      if (stdin !== undefined && stdin !== '' && !stdin.endsWith('\n')) {
        return { exitCode: 1, stderr: 'new crontab file is missing newline before EOF, can\'t install.\n' };
      }
      tabs.set(user, stdin ?? '');
      return {};
    }
    return { exitCode: 1, stderr: 'usage' };
  });
}
