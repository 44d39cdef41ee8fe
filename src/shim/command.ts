/** Turns a job's `command` + `args` (or a step's `run`) into an argv for the platform shell. Pure. */
import type { Command } from '../system/runner.js';

/**
 * POSIX: `/bin/sh -c '<command> "$@"' sh arg…`, so each arg reaches the command as one word and
 * is never parsed by a shell again. Windows: `cmd.exe /d /s /c "<command> <quoted args>"`.
 */
export function shellCommand(command: string, args: readonly string[], platform: NodeJS.Platform = process.platform): Command {
  if (platform === 'win32') {
    const line = [command, ...args.map(quoteWindowsArg)].join(' ');
    return { file: 'cmd.exe', args: ['/d', '/s', '/c', `"${line}"`], windowsVerbatimArguments: true };
  }
  return args.length === 0
    ? { file: '/bin/sh', args: ['-c', command] }
    : { file: '/bin/sh', args: ['-c', `${command} "$@"`, 'sh', ...args] };
}

/**
 * Quotes one argument for a program started by cmd.exe: CommandLineToArgvW quoting (backslashes
 * before a quote doubled), then every cmd.exe metacharacter escaped with `^` (as cross-spawn does).
 */
export function quoteWindowsArg(arg: string): string {
  let a = arg.replace(/(\\*)"/g, '$1$1\\"');
  a = a.replace(/(\\*)$/, '$1$1');
  return `"${a}"`.replace(/[()\][%!^"`<>&|;, *?]/g, '^$&');
}
