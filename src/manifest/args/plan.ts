/**
 * Decides how a job's non-empty `args` reach its `command` text: appended, placed by the command
 * itself, or refused. Pure; backs the lint rule `command-args` and the shim, which runs nothing
 * that this refuses.
 */
import { cmdPlan } from './cmd.js';
import { shPlan } from './sh.js';
import type { ArgsHazard, ArgsPlan } from './types.js';
import { hostOs } from '../../system/platform.js';

/** Decides how non-empty args reach `command` on `platform` (the rule `cronsync lint` enforces as `command-args`). */
export function argsPlan(command: string, platform: NodeJS.Platform = hostOs): ArgsPlan {
  return platform === 'win32' ? cmdPlan(command) : shPlan(command);
}

/**
 * The index of the first arg that cmd.exe cannot pass, or -1: it drops every CR and ends its
 * command line at the first LF, so such an arg would be cut and the args after it lost.
 */
export function windowsLineBreakArg(args: readonly string[]): number {
  return args.findIndex((a) => /[\r\n]/.test(a));
}

/** Why the arg at `index` cannot reach a command on Windows (see windowsLineBreakArg). */
export function windowsLineBreakMessage(index: number): string {
  return `spec.args[${index}] holds a line break, which cmd.exe (that starts commands on Windows) cannot pass: it ends the command line there, so the argument would be cut and those after it dropped; pass the text another way (a file, an environment variable in spec.env)`;
}

/** The reason a plan was refused and what to write instead, for lint and for the shim's stderr. */
export function argsRefusalMessage(plan: { hazard: ArgsHazard; token: string }, platform: NodeJS.Platform = hostOs): string {
  const t = plan.token.length > 40 ? `${plan.token.slice(0, 40)}…` : plan.token;
  const why: Record<ArgsHazard, string> = {
    quote: `the command ends inside an unterminated quote, substitution or group (${t}), so the arguments would become part of it`,
    comment: 'the last line of the command ends in a comment, so the arguments would be silently dropped',
    continuation: `the command ends with a line continuation (${t}), so the first argument would be glued to its last word`,
    heredoc: `the command ends in a here-document (${t}), so the arguments would land in its text or break its end marker`,
    operator: `the command ends with \`${t}\`, so the first argument would run as a command`,
    redirect: `the command ends with the redirection \`${t}\`, so the first argument would be used as its file name`,
    compound: `the command ends with \`${t}\`, which closes a compound command that takes no arguments`,
    'no-program': t ? `the last command is \`${t}\` without a program, so the first argument would run as the program` : 'the last command has no program (only variable assignments or redirections), so the first argument would run as the program',
    vanish: `the program of the last command, \`${t}\`, expands to nothing when it is unset or empty, and then the first argument would run as the program; quote it ("${t}")`,
    eval: `the last command is \`${t}\`, which would parse the arguments as shell code`,
    multiline: 'cmd.exe runs only the first line of a command, so the arguments would be dropped',
  };
  const fix = platform === 'win32'
    ? 'put the arguments into the command, or run a script that takes them'
    : 'write "$@" in the command where the arguments belong (cronsync then appends nothing), or put them into the command';
  return `spec.args cannot be appended to this command: ${why[plan.hazard]}; ${fix}`;
}
