/** Turns a job's `command` + `args` (or a step's `run`) into an argv for the platform shell. Pure. */
import { argsPlan, argsRefusalMessage, windowsLineBreakArg, windowsLineBreakMessage } from '../manifest/args/plan.js';
import type { ArgsHazard } from '../manifest/args/types.js';
import type { Command } from '../system/runner.js';
import { hostOs, windowsSystemTool } from '../system/platform.js';

/** Exit code of a run refused because its args cannot be passed safely: EX_CONFIG, as for an unusable snapshot. */
export const ARGS_REFUSED_EXIT = 78;

/**
 * POSIX: `/bin/sh -c '<command> "$@"' sh arg…`, so each arg reaches the command as one word and
 * is never parsed by a shell again; a command that refers to `$@`, `$*` or `$1`… itself gets
 * the args as positional parameters only. Windows: `cmd.exe /d /v:off /s /c "<command> <quoted
 * args>"` ({@link cmdLine}).
 * A command after whose text args cannot be appended safely ({@link argsPlan}) is never run: the
 * returned command prints why to stderr and exits {@link ARGS_REFUSED_EXIT}, so the refusal is
 * reported like any failed run even when lint was bypassed (a snapshot from an older version).
 */
export function shellCommand(command: string, args: readonly string[], platform: NodeJS.Platform = hostOs): Command {
  const win = platform === 'win32';
  if (args.length === 0) {
    return win ? cmdLine(command) : { file: '/bin/sh', args: ['-c', command] };
  }
  const plan = argsPlan(command, platform);
  if (plan.kind === 'refuse') return refusal(refusalLine(plan, platform), win);
  const broken = win ? windowsLineBreakArg(args) : -1;
  if (broken >= 0) return refusal(`cronsync: refusing to run: ${windowsLineBreakMessage(broken)}`, win);
  if (win) {
    const text = plan.kind === 'append' ? plan.text : command;
    return cmdLine([text, ...args.map(quoteWindowsArg)].join(' '));
  }
  const script = plan.kind === 'append' ? `${plan.text} "$@"` : command;
  return { file: '/bin/sh', args: ['-c', script, 'sh', ...args] };
}

/**
 * Quotes one argument for a program started by cmd.exe: CommandLineToArgvW quoting (backslashes
 * before a quote doubled), then every cmd.exe metacharacter escaped with `^` (as cross-spawn does),
 * and the character after each `%` escaped too. cmd.exe expands `%NAME%`, `%NAME:~n,m%` and
 * `%NAME:old=new%` before it reads carets: with a caret right after every `%`, each name it
 * could read starts with `^`, which no variable's does, so the text stays as it is; then the
 * carets go (test/shim/cmd-args.test.ts, on a simulator; windows/check-args.mjs on a real host).
 */
export function quoteWindowsArg(arg: string): string {
  let a = arg.replace(/(\\*)"/g, '$1$1\\"');
  a = a.replace(/(\\*)$/, '$1$1');
  return `"${a}"`.replace(/[()\][%!^"`<>&|;, *?]/g, '^$&').replace(/\^%(?!\^)/g, '^%^');
}

/**
 * Why `args` cannot be given to `command` on `platform` (the line the shim reports on stderr), or
 * undefined when they can; a command without args is never refused.
 */
export function argsRefusal(command: string, args: readonly string[], platform: NodeJS.Platform = hostOs): string | undefined {
  if (args.length === 0) return undefined;
  const plan = argsPlan(command, platform);
  if (plan.kind === 'refuse') return refusalLine(plan, platform);
  const broken = platform === 'win32' ? windowsLineBreakArg(args) : -1;
  return broken >= 0 ? `cronsync: refusing to run: ${windowsLineBreakMessage(broken)}` : undefined;
}

function refusalLine(plan: { hazard: ArgsHazard; token: string }, platform: NodeJS.Platform): string {
  return `cronsync: refusing to run: ${argsRefusalMessage(plan, platform)}`;
}

/** A command that only reports `message` on stderr and fails; the message is data, never parsed. */
function refusal(message: string, win: boolean): Command {
  if (!win) return { file: '/bin/sh', args: ['-c', `printf '%s\\n' "$1" >&2; exit ${ARGS_REFUSED_EXIT}`, 'sh', message] };
  const safe = message.replace(/[^A-Za-z0-9 .,:'-]+/g, ' ').replace(/ {2,}/g, ' ');
  return cmdLine(`echo ${safe} 1>&2 & exit /b ${ARGS_REFUSED_EXIT}`);
}

/**
 * cmd.exe running `line`: by its full path in System32 (see windowsSystemTool); `/d` skips the
 * registry's AutoRun commands, `/v:off` its DelayedExpansion (so that `!` stays as written), and
 * `/s /c "…"` strips just the outer quotes; the line is passed verbatim.
 */
function cmdLine(line: string): Command {
  return { file: windowsSystemTool('cmd.exe'), args: ['/d', '/v:off', '/s', '/c', `"${line}"`], windowsVerbatimArguments: true };
}
