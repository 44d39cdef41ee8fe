/** `cronsync lint [PATH...]`: validate manifests and report every problem in one run. */
import { relative, resolve, sep } from 'node:path';
import { IoError, UsageError, isCronsyncError } from '../../errors.js';
import { loadManifests } from '../../manifest/load.js';
import type { ManifestInput } from '../../manifest/load.js';
import type { Issue } from '../../manifest/types.js';
import { readRegularFileSync } from '../../system/regular-file.js';
import { commandInPath, scanManifestFiles } from '../../system/walk.js';
import { parseCommandArgs } from '../args.js';
import { clip, escapeText } from '../escape.js';
import { palette, useColor } from '../io.js';
import type { CliIo } from '../io.js';
import type { LogFn, Logger } from '../../log.js';

export const usage = `Usage: cronsync lint [PATH...] [--format text|json|github] [--strict]

Validates Job manifests (*.yaml, *.yml) in the given files and directories (default: .)
and reports every problem at once. A directory is read as a repository root: a job's
namespace is the first directory below it (default for a file directly in it). Dot-files,
dot-directories (.github, .gitlab-ci.yml) and node_modules below it are skipped, as the
agent's default source.paths skip them; a file named on the command line is always linted.

Options:
  --format FMT   text (default): file:line:col: severity [rule] message
                 json: one JSON object with every issue
                 github: ::error/::warning annotations for GitHub Actions
  --strict       warnings also fail
  --config FILE  lint what the agent's configured source holds instead of PATHs
                 (a PATH with it is a usage error)

Exit codes: 0 valid (warnings allowed), 1 invalid, 2 usage or I/O error (a path that
cannot be read, such as a missing one, or a FIFO or device named on the command line, is
reported and the others are still linted). In a directory, a symlink or other non-regular
*.yaml entry, and a symlink to a directory, are invalid ([source-file]), as the agent's
source refuses them: symlinks are never followed.
`;

type Format = 'text' | 'json' | 'github';

/** Runs lint; returns 0, 1 or 2. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { format: { type: 'string', default: 'text' }, strict: { type: 'boolean', default: false } }, { positionals: true });
  const format = values.format as Format;
  if (!['text', 'json', 'github'].includes(format)) throw new UsageError(`--format must be text, json or github (got "${format}")`);
  if (values['log-level'] !== undefined) (await import('../../log.js')).parseLogLevel(values['log-level']);
  let inputs: ManifestInput[];
  // Paths, directories and files that could not be read are reported on stderr and fail with
  // exit 2 (an I/O error, not an invalid manifest); the rest are still linted.
  const unreadable: IoError[] = [];
  // --config lints the configured source instead of PATHs: a PATH beside it would go unlinted.
  if (values.config !== undefined && positionals.length > 0) {
    throw new UsageError(`Unexpected argument '${clip(positionals[0]!)}': with --config, lint checks the configured source, not PATHs`, { argument: clip(positionals[0]!) });
  }
  if (values.config !== undefined) {
    const { loadConfig } = await import('../../config/load.js');
    const { createConfiguredSource } = await import('../source.js');
    const { nullLogger } = await import('../../log.js');
    try {
      const cfg = loadConfig({ file: values.config, env: io.env, cwd: io.cwd });
      // The fetch writes the clone in the state dir, as a sync's does: under the sync lock, so
      // that a sync or the daemon is never reading or compacting the clone meanwhile (it waits,
      // as a second sync does). The clones of other source ids stay: the agent's may be one.
      const { createFsStateStore } = await import('../../state/fs-store.js');
      const { acquireSyncLock } = await import('../../reconcile/lock.js');
      const { systemClock } = await import('../../system/clock.js');
      const state = createFsStateStore(cfg.stateDir);
      await state.prepare();
      const info = ((a: object | string, b?: string) => void io.stderr.write(`cronsync: ${typeof a === 'string' ? a : b ?? ''}\n`)) as LogFn;
      const say: Logger = { ...nullLogger, info };
      const { lock } = await acquireSyncLock({ state, clock: systemClock, log: say }, new Date());
      try {
        const source = await createConfiguredSource(cfg, nullLogger, io.cwd, { keepOtherClones: true });
        inputs = (await source.fetch(new AbortController().signal)).files;
      } finally {
        await lock.release();
      }
    } catch (err) {
      // A config that cannot be used or a source that cannot be read is a usage or I/O error
      // (exit 2), never "invalid manifests" (exit 1). The data goes along, so that a config
      // error is still printed one issue per line.
      if (isCronsyncError(err)) throw new UsageError(err.message, err.data);
      throw err;
    }
  } else {
    const paths = positionals.length > 0 ? positionals : ['.'];
    const { files, errors: walkErrors } = await scanManifestFiles(paths, io.cwd);
    unreadable.push(...walkErrors);
    const roots = paths.map((p) => resolve(io.cwd, p));
    inputs = [];
    for (const f of files) {
      const rootPath = rootPathOf(f.absolute, roots);
      // A symlink or FIFO in a directory is what the agent's source refuses: a `source-file`
      // error at its path (exit 1), exactly as `sync` and `lint --config` report it.
      if (f.error !== undefined) {
        inputs.push({ path: f.display, rootPath, content: Buffer.alloc(0), error: f.error });
        continue;
      }
      const content = readRegularFile(f.bytes ?? f.absolute, f.display);
      if (content instanceof IoError) unreadable.push(content);
      else inputs.push({ path: f.display, rootPath, content });
    }
  }
  const result = loadManifests(inputs, { commandExists: commandInPath(io.env.PATH ?? '') });
  const errors = result.issues.filter((i) => i.severity === 'error').length;
  const warnings = result.issues.length - errors;
  io.stdout.write(formatIssues(result.issues, format, { files: inputs.length, jobs: result.jobs.length, color: useColor(io.stdout, io.env) }));
  for (const err of unreadable) io.stderr.write(`cronsync: ${escapeText(err.message)}\n`);
  if (unreadable.length > 0) return 2;
  return errors > 0 || (values.strict && warnings > 0) ? 1 : 0;
}

/**
 * The path of `abs` relative to the outermost directory argument that holds it, which lint takes
 * as the repository root (a job's namespace is the first directory below it); undefined for a
 * file named on its own, whose path as shown (relative to the working directory) is used.
 */
function rootPathOf(abs: string, roots: readonly string[]): string | undefined {
  const root = roots.filter((r) => abs.startsWith(r.endsWith(sep) ? r : r + sep)).sort((a, b) => a.length - b.length)[0];
  return root === undefined ? undefined : relative(root, abs).split(sep).join('/');
}

/**
 * Reads a file named on the command line (or found in a directory), or returns why it cannot be
 * read. Only regular files are opened: a FIFO would block and a device such as /dev/zero never ends.
 */
function readRegularFile(abs: string | Buffer, display: string): Buffer | IoError {
  try {
    return readRegularFileSync(abs).data;
  } catch (err) {
    return new IoError(`cannot read ${display}: ${(err as Error).message}`, { path: display });
  }
}


/** Formats lint issues for output; the text and GitHub formats escape control and bidi characters. */
export function formatIssues(issues: readonly Issue[], format: Format, summary: { files: number; jobs: number; color: boolean }): string {
  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.length - errors;
  if (format === 'json') {
    return `${JSON.stringify({ valid: errors === 0, files: summary.files, jobs: summary.jobs, errors, warnings, issues }, null, 2)}\n`;
  }
  if (format === 'github') {
    return issues.map((i) => `::${i.severity} file=${ghProp(i.file)},line=${i.line},col=${i.col},title=${ghProp(i.rule)}::${ghData(i.message)}\n`).join('');
  }
  const c = palette(summary.color);
  const e = escapeText;
  const lines = issues.map((i) => `${e(i.file)}:${i.line}:${i.col}: ${i.severity === 'error' ? c.red('error') : c.yellow('warning')} ${c.dim(`[${e(i.rule)}]`)} ${e(i.message)}\n`);
  const tail = `${summary.files} file(s), ${summary.jobs} valid job(s), ${errors} error(s), ${warnings} warning(s)\n`;
  return lines.join('') + (errors > 0 ? c.red(tail) : c.green(tail));
}

/** Workflow-command data: `%`, CR and LF percent-encoded as GitHub reads them back; other controls escaped. */
function ghData(s: string): string {
  return escapeText(s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'));
}

function ghProp(s: string): string {
  return ghData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}
