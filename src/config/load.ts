/**
 * Config loading (I/O): the file, then `CRONSYNC_*` environment variables, then flags.
 * The merged data is validated by `validate.ts`.
 */
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve, win32 } from 'node:path';
import { ConfigError, stripUrlCredentials } from '../errors.js';
import { fileKind, readRegularFileSync } from '../system/regular-file.js';
import { MAX_FILE_BYTES, parseManifestFile } from '../manifest/parse.js';
import type { RawDocument } from '../manifest/parse.js';
import { closestName } from '../manifest/suggest.js';
import type { Issue } from '../manifest/types.js';
import { verifySourceProblem } from '../source/verify-config.js';
import { applyOverride, placeIssue } from './overrides.js';
import type { Leaf, Origins } from './overrides.js';
import type { AgentConfig } from './types.js';
import { CONFIG_SCHEMA_URL, validateConfig } from './validate.js';

/** Platform default config file. */
export function defaultConfigPath(platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  return platform === 'win32' ? join(env.ProgramData ?? 'C:\\ProgramData', 'cronsync', 'config.yaml') : '/etc/cronsync/config.yaml';
}

/** Platform default state dir. */
export function defaultStateDir(platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  return platform === 'win32' ? join(env.ProgramData ?? 'C:\\ProgramData', 'cronsync', 'state') : '/var/lib/cronsync';
}

/** Where a config comes from and what overrides it. */
export interface LoadConfigOptions {
  /** `--config FILE`. */
  file?: string;
  env: NodeJS.ProcessEnv;
  /** Flag overrides as dotted paths, e.g. `{ stateDir: '/tmp/x', 'log.level': 'debug' }`. */
  overrides?: Record<string, string | undefined>;
  cwd?: string;
}

let leaves: Leaf[] | undefined;

/** The command-line flag behind each override, for error messages. */
const FLAG_NAMES: Readonly<Record<string, string>> = { stateDir: '--state-dir', 'scheduler.kind': '--scheduler', 'log.level': '--log-level' };

const ENV_PREFIX = 'CRONSYNC_';

/**
 * `CRONSYNC_*` variables that are not config keys but are read by cronsync or set around it.
 * Any other `CRONSYNC_*` variable is a ConfigError: a typo must not fall back to a default.
 * The variables named by `source.auth.passwordEnv` and `daemon.webhooks.secretEnv` are allowed too.
 */
export const ALLOWED_ENV_VARS: readonly string[] = [
  'CRONSYNC_CONFIG', // the config file itself
  'CRONSYNC_DEBUG', // stack traces for bug reports (cli/main.ts, shim)
  'CRONSYNC_JOB', // set by `exec` for the job's process, which may itself run cronsync
  'CRONSYNC_RUN_ID', // likewise
  'CRONSYNC_SRC', // systemd/install.sh: the package to install
  'CRONSYNC_STOP_ON_STDIN_EOF', // `daemon --stop-on-stdin-eof` (src/daemon/signals.ts), set by the Windows service host
];

/** Every leaf key of the config schema with the environment variable that overrides it. */
export function configEnvVars(): Leaf[] {
  if (!leaves) {
    const schema = JSON.parse(readFileSync(CONFIG_SCHEMA_URL, 'utf8')) as SchemaNode;
    leaves = [];
    collectLeaves(schema, [], leaves);
  }
  return leaves;
}

interface SchemaNode { type?: string; properties?: Record<string, SchemaNode>; $ref?: string; anyOf?: SchemaNode[] }

function collectLeaves(node: SchemaNode, path: string[], out: Leaf[]): void {
  if (node.type === 'object' && node.properties) {
    for (const [k, child] of Object.entries(node.properties)) collectLeaves(child, [...path, k], out);
    if (path.length > 0 && path[path.length - 1] !== 'labels') return;
  }
  if (path.length === 0) return;
  const env = `CRONSYNC_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
  // A list or a single value (`allowedUsers: "*"`) is given as a comma-separated list.
  const list = node.anyOf?.some((a) => a.type === 'array') ? 'array' : undefined;
  out.push({ path, type: node.$ref ? 'string' : node.type ?? list ?? 'string', env });
}

/**
 * Loads and validates the agent config. An unknown `CRONSYNC_*` variable is an error
 * (see ALLOWED_ENV_VARS).
 * @throws {ConfigError} with every problem, each as `file:line:col: message`.
 */
export function loadConfig(opts: LoadConfigOptions): AgentConfig {
  if (opts.file === undefined && opts.env.CRONSYNC_CONFIG === '') throw new ConfigError('CRONSYNC_CONFIG is set but empty: set it to the config file, or unset it for the default', { variable: 'CRONSYNC_CONFIG' });
  const file = opts.file ?? opts.env.CRONSYNC_CONFIG ?? defaultConfigPath(process.platform, opts.env);
  const cwd = opts.cwd ?? process.cwd();
  const bytes = readConfigBytes(file, isAbsolute(file) ? file : join(cwd, file), opts.file === undefined && opts.env.CRONSYNC_CONFIG !== undefined ? 'CRONSYNC_CONFIG' : undefined);
  const parsed = parseManifestFile(file, bytes, { kind: 'config' });
  // The agent's config is read strictly: what YAML only warns about (an unresolved tag such as
  // `!!js/function`) would otherwise be taken as a plain string, silently.
  const errors = parsed.issues.filter((i) => i.severity === 'error' || i.rule === 'yaml-warning').map((i) => ({ ...i, severity: 'error' as const }));
  if (errors.length > 0) throw configError(file, errors);
  const second = parsed.documents[1];
  if (second) throw configError(file, [{ file, line: second.line, col: second.col, path: '', rule: 'config', severity: 'error', message: 'a config file holds one YAML document' }]);
  const doc: RawDocument = parsed.documents[0] ?? { file, index: 0, line: 1, col: 1, value: {}, invalid: false, locate: () => ({ line: 1, col: 1 }) };
  const data = structuredClone(doc.value) as Record<string, unknown>;

  const origins: Origins = new Map();
  const issues: Issue[] = [];
  for (const leaf of configEnvVars()) {
    const raw = opts.env[leaf.env];
    if (raw !== undefined) applyOverride(data, leaf, raw, leaf.env, origins, issues);
  }
  const defaults = { hostname: hostname(), stateDir: defaultStateDir(process.platform, opts.env) };
  const flags = Object.entries(opts.overrides ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
  // A variable that a flag overrides (the `--log-level warn` that sync and diff default to) is
  // still checked: a typo in it must not pass silently.
  const shadowed = flags.map(([dotted]) => dotted).filter((dotted) => origins.has(dotted));
  if (shadowed.length > 0 && issues.length === 0) issues.push(...shadowedIssues(doc, data, shadowed, origins, defaults));
  for (const [dotted, raw] of flags) {
    const leaf = configEnvVars().find((l) => l.path.join('.') === dotted);
    if (leaf) applyOverride(data, leaf, raw, FLAG_NAMES[dotted] ?? `--${dotted}`, origins, issues);
  }
  issues.push(...unknownEnvVars(opts.env, namedEnvVars(data)));
  if (issues.length > 0) throw configError(file, issues);

  const res = validateConfig(doc, data, defaults);
  if (!res.ok) throw configError(file, res.issues.map((i) => placeIssue(i, origins, doc.value)));
  const at = (path: string[], message: string): Issue => {
    const pos = doc.locate(path);
    return placeIssue({ file, line: pos.line, col: pos.col, path: path.join('.'), rule: 'config', severity: 'error', message }, origins, doc.value);
  };
  const verifyProblem = verifySourceProblem(res.value.source.url, res.value.source.verify?.mode, cwd);
  if (verifyProblem) throw configError(file, [at(['source', 'verify', 'mode'], verifyProblem)]);
  const cfg = absolutePaths(res.value, cwd);
  const stateProblem = stateDirProblem(cfg.stateDir);
  if (stateProblem) throw configError(file, [at(['stateDir'], stateProblem)]);
  return cfg;
}

/** Issues of the variables in `paths` that flags override, as validated before the flags apply. */
function shadowedIssues(doc: RawDocument, data: Record<string, unknown>, paths: readonly string[], origins: Origins, defaults: { hostname: string; stateDir: string }): Issue[] {
  const res = validateConfig(doc, structuredClone(data), defaults);
  if (res.ok) return [];
  return res.issues.filter((i) => paths.some((p) => i.path === p || i.path.startsWith(`${p}.`))).map((i) => placeIssue(i, origins, doc.value));
}

/**
 * Why `dir` cannot be the state dir, or null: something other than a directory is in its place
 * (a missing one is created by the first sync). Said here, naming the key, variable or flag that
 * set it, rather than as a failed write of the sync or the status file.
 */
export function stateDirProblem(dir: string): string | null {
  try {
    const st = statSync(dir);
    return st.isDirectory() ? null : `stateDir ${dir} is ${st.isFile() ? 'a file' : fileKind(st)}, not a directory`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTDIR' ? `stateDir ${dir} cannot be a directory: part of its path is a file` : null;
  }
}

/**
 * Reads the config file as bytes, so that parsing can reject bytes that are not UTF-8 (a
 * lossy decode would silently change paths and names). Only a regular file is read, and not
 * past the 1 MiB limit: a device such as /dev/zero never ends and a FIFO blocks.
 * @throws {ConfigError} naming the file.
 */
function readConfigBytes(file: string, abs: string, variable?: string): Buffer {
  try {
    // At most one byte past the limit: a file that grew since fstat is still reported as too large.
    return readRegularFileSync(abs, {
      maxBytes: MAX_FILE_BYTES,
      check: (st) => {
        if (st.size > MAX_FILE_BYTES) {
          throw configError(file, [{ file, line: 1, col: 1, path: '', rule: 'yaml-too-large', severity: 'error', message: `file is ${st.size} bytes; config files are limited to ${MAX_FILE_BYTES} bytes (1 MiB)` }]);
        }
      },
    }).data;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read config file ${file}${variable ? ` (from ${variable})` : ''}: ${code === 'ENOENT' ? 'no such file (use --config FILE or CRONSYNC_CONFIG)' : (err as Error).message}`, { file });
  }
}


/**
 * Makes the file-system paths of the config absolute, against the working directory the
 * relative values were already read from. They are copied into places that are used from
 * elsewhere: `--state-dir` in every crontab and cron.d entry (cron runs jobs
 * from the user's home), `secretsFile` in job snapshots. `source.url` is left as written: it
 * is part of the source id.
 */
function absolutePaths(cfg: AgentConfig, cwd: string): AgentConfig {
  // A Windows path (C:\…) in a config read elsewhere, e.g. a test on Linux, is absolute as it is.
  const abs = (p: string): string => (isAbsolute(p) || win32.isAbsolute(p) ? p : resolve(cwd, p));
  cfg.stateDir = abs(cfg.stateDir);
  if (cfg.secretsFile !== undefined) cfg.secretsFile = abs(cfg.secretsFile);
  cfg.scheduler.cronDir = abs(cfg.scheduler.cronDir);
  cfg.scheduler.unitDir = abs(cfg.scheduler.unitDir);
  const { auth, ssh } = cfg.source;
  if (auth?.passwordFile !== undefined) auth.passwordFile = abs(auth.passwordFile);
  if (ssh?.keyFile !== undefined) ssh.keyFile = abs(ssh.keyFile);
  if (ssh?.knownHosts !== undefined) ssh.knownHosts = abs(ssh.knownHosts);
  const verify = cfg.source.verify;
  if (verify?.sshAllowedSigners !== undefined) verify.sshAllowedSigners = abs(verify.sshAllowedSigners);
  if (verify?.openpgpKeys !== undefined) verify.openpgpKeys = abs(verify.openpgpKeys);
  const hooks = cfg.daemon.webhooks;
  if (hooks?.secretFile !== undefined) hooks.secretFile = abs(hooks.secretFile);
  // The daemon records tokenFile in the state dir for `exec`, which runs from elsewhere.
  if (cfg.checkin.tokenFile !== undefined) cfg.checkin.tokenFile = abs(cfg.checkin.tokenFile);
  if (cfg.checkin.enrollmentTokenFile !== undefined) cfg.checkin.enrollmentTokenFile = abs(cfg.checkin.enrollmentTokenFile);
  return cfg;
}

/** Variables the config itself names as holding secrets; they may carry the prefix. */
function namedEnvVars(data: Record<string, unknown>): string[] {
  const at = (...path: string[]): unknown => path.reduce<unknown>((node, k) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[k] : undefined), data);
  return [at('source', 'auth', 'passwordEnv'), at('daemon', 'webhooks', 'secretEnv')].filter((v): v is string => typeof v === 'string');
}

function unknownEnvVars(env: NodeJS.ProcessEnv, named: readonly string[]): Issue[] {
  const known = [...configEnvVars().map((l) => l.env), ...ALLOWED_ENV_VARS];
  const suffixes = known.map((n) => n.slice(ENV_PREFIX.length));
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && env[name] !== undefined && !known.includes(name) && !named.includes(name))
    .sort()
    .map((name) => {
      const suffix = name.slice(ENV_PREFIX.length);
      const hit = closestName(suffix, suffixes, Math.max(2, Math.floor(suffix.length / 5)));
      const hint = hit === undefined ? `config keys map to ${ENV_PREFIX}<KEY_PATH>, e.g. ${ENV_PREFIX}SOURCE_URL` : `did you mean ${ENV_PREFIX}${hit}?`;
      return { file: name, line: 0, col: 0, path: '', rule: 'config', severity: 'error', message: `unknown environment variable ${name} (${hint})` };
    });
}

/**
 * The error for `issues`. Their messages and field paths quote config text, which may hold a URL
 * with credentials (`url:https://u:pw@host/…` read as a key): it is shown without them.
 */
function configError(file: string, issues: readonly Issue[]): ConfigError {
  const shown = issues.map((i) => ({ ...i, path: stripUrlCredentials(i.path), message: stripUrlCredentials(i.message) }));
  const lines = shown.map((i) => (i.line > 0 ? `${i.file}:${i.line}:${i.col}: ${i.message}` : `${i.file}: ${i.message}`));
  return new ConfigError(`invalid config ${file}:\n  ${lines.join('\n  ')}`, { file, issues: shown });
}
