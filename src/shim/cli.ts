/** Command line of `cronsync exec` (parsed here, not by the main CLI, to keep `exec` light). Pure. */
import { clip, escapeText } from '../cli/escape.js';
import { NAME } from '../manifest/types.js';
import { hostOs } from '../system/platform.js';

/** Parsed `cronsync exec` arguments, or a usage problem. */
export type ExecArgs =
  | {
    ok: true; help: false; jobId: string; scheduled: boolean;
    /** `--state-dir`, else `$CRONSYNC_STATE_DIR`, else the platform default; with `config`, the config decides. */
    stateDir: string;
    /** Only with `--config FILE`: the file, and the `--state-dir` given, which wins over the config's. */
    config?: { file: string; stateDir?: string };
  }
  | { ok: true; help: true }
  | { ok: false; message: string };

/** Help text of `cronsync exec`. */
export const EXEC_USAGE = `Usage: cronsync exec [--scheduled] [--config FILE] [--state-dir DIR] TENANT/NAME

Runs a job as last applied by cronsync: timeout, retries, concurrency policy, check-in.

  --scheduled        set by scheduler entries: skip paused jobs, minutes that are not fire
                     times in the job's timezone, and any start of a minute after the first
                     (exit 0, no check-in)
  -c, --config FILE  take the state directory from this agent config (its stateDir, which
                     $CRONSYNC_STATE_DIR overrides); exec reads a config only with this
                     flag, never $CRONSYNC_CONFIG or the default file
  --state-dir DIR    state directory; wins over --config (default: $CRONSYNC_STATE_DIR,
                     else /var/lib/cronsync)
  -h, --help         show this help

Exit codes: the job's own; 124 timeout; 128+N cancelled by signal N; 64 usage;
77 secrets file unsafe or variable unset; 78 job not installed; 1 bad --config
(as for every command); 0 skipped.
`;

/** Default state directory of the platform. */
export function defaultStateDir(env: Record<string, string | undefined>, platform: NodeJS.Platform = hostOs): string {
  if (env.CRONSYNC_STATE_DIR) return env.CRONSYNC_STATE_DIR;
  return platform === 'win32' ? `${env.ProgramData ?? 'C:\\ProgramData'}\\cronsync\\state` : '/var/lib/cronsync';
}

/**
 * A command-line value as a usage message shows it: escaped (README, Security: control
 * characters are escaped in every human-readable output; the message goes to a terminal as it
 * is) and cut to 200 characters.
 */
function shown(value: string): string {
  return escapeText(clip(value));
}

/** Whether `id` is `tenant/name`, each a metadata name (what the state dir can hold). */
function isJobId(id: string): boolean {
  const [tenant, name, ...more] = id.split('/');
  return more.length === 0 && [tenant, name].every((p) => p !== undefined && p.length <= 63 && NAME.test(p));
}

/** Parses the arguments after `exec` (a leading `exec` is ignored). */
export function parseExecArgs(argv: readonly string[], env: Record<string, string | undefined>): ExecArgs {
  const args = argv[0] === 'exec' ? argv.slice(1) : [...argv];
  let scheduled = false;
  let stateDir: string | undefined;
  let configFile: string | undefined;
  const rest: string[] = [];
  // As for every command (src/cli/args.ts): an option given twice with different values is refused.
  const twice = (name: string, before: string | undefined, value: string): string | null =>
    before === undefined || before === value ? null : `${name} is given twice ("${shown(before)}", then "${shown(value)}"); give it once`;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    let value: string | undefined;
    if (a === '-h' || a === '--help') return { ok: true, help: true };
    else if (a === '--scheduled') scheduled = true;
    else if (a === '--state-dir' || a.startsWith('--state-dir=')) {
      value = a === '--state-dir' ? args[++i] : a.slice('--state-dir='.length);
      if (!value) return { ok: false, message: '--state-dir needs a directory' };
      const repeated = twice('--state-dir', stateDir, value);
      if (repeated) return { ok: false, message: repeated };
      stateDir = value;
    } else if (a === '--config' || a === '-c' || a.startsWith('--config=')) {
      value = a.startsWith('--config=') ? a.slice('--config='.length) : args[++i];
      if (!value) return { ok: false, message: `${a.startsWith('--config=') ? '--config' : a} needs a file` };
      const repeated = twice('--config', configFile, value);
      if (repeated) return { ok: false, message: repeated };
      configFile = value;
    } else if (a === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    else if (a.startsWith('-')) return { ok: false, message: `unknown option ${shown(a)}` };
    else rest.push(a);
  }
  if (rest.length !== 1) return { ok: false, message: rest.length === 0 ? 'missing job id TENANT/NAME' : 'exactly one job id expected' };
  // Checked here, where the id is shown escaped: the state store's own error quotes it raw.
  if (!isJobId(rest[0]!)) return { ok: false, message: `invalid job id "${shown(rest[0]!)}": expected TENANT/NAME (lower-case letters, digits and dashes)` };
  const parsed = { ok: true, help: false, jobId: rest[0] as string, scheduled, stateDir: stateDir ?? defaultStateDir(env) } as const;
  if (configFile === undefined) return parsed;
  return { ...parsed, config: stateDir === undefined ? { file: configFile } : { file: configFile, stateDir } };
}
