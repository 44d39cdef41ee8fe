/** The data of the `command-args` analysis: how a job's args can reach its command text. */

/** ArgsHazard is why `args` cannot be appended to a command text: each would run, drop or mangle an argument. */
export type ArgsHazard = 'quote' | 'comment' | 'continuation' | 'heredoc' | 'operator' | 'redirect' | 'compound' | 'no-program' | 'vanish' | 'eval' | 'multiline';

/**
 * ArgsPlan is how a job's args reach its command: appended after `text` (the command without
 * trailing blanks and line breaks), left to the command because it refers to them itself
 * (`$@`, `$*`, `$1`…; POSIX only), or refused because of `hazard` at `token`.
 */
export type ArgsPlan =
  | { kind: 'append'; text: string }
  | { kind: 'placed' }
  | { kind: 'refuse'; hazard: ArgsHazard; token: string };
