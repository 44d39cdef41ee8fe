/**
 * Config loading (I/O): the file, then `CRONSYNC_*` environment variables, then flags.
 * The merged data is validated by `validate.ts`.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve, win32 } from 'node:path';
import { ConfigError } from '../errors.js';
import { readRegularFileSync } from '../system/regular-file.js';
import { MAX_FILE_BYTES, parseManifestFile } from '../manifest/parse.js';
import type { RawDocument } from '../manifest/parse.js';
import { closestName } from '../manifest/suggest.js';
import type { Issue } from '../manifest/types.js';
import { verifySourceProblem } from '../source/verify-config.js';
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

type Leaf = { path: string[]; type: string; env: string };

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
  const bytes = readConfigBytes(file, isAbsolute(file) ? file : join(cwd, file));
  const parsed = parseManifestFile(file, bytes, { kind: 'config' });
  // The agent's config is read strictly: what YAML only warns about (an unresolved tag such as
  // `!!js/function`) would otherwise be taken as a plain string, silently.
  const errors = parsed.issues.filter((i) => i.severity === 'error' || i.rule === 'yaml-warning').map((i) => ({ ...i, severity: 'error' as const }));
  if (errors.length > 0) throw configError(file, errors);
  const second = parsed.documents[1];
  if (second) throw configError(file, [{ file, line: second.line, col: second.col, path: '', rule: 'config', severity: 'error', message: 'a config file holds one YAML document' }]);
  const doc: RawDocument = parsed.documents[0] ?? { file, index: 0, line: 1, col: 1, value: {}, invalid: false, locate: () => ({ line: 1, col: 1 }) };
  const data = structuredClone(doc.value) as Record<string, unknown>;

  const origins = new Map<string, string>();
  const issues: Issue[] = [];
  for (const leaf of configEnvVars()) {
    const raw = opts.env[leaf.env];
    if (raw !== undefined) applyOverride(data, leaf, raw, leaf.env, origins, issues);
  }
  for (const [dotted, raw] of Object.entries(opts.overrides ?? {})) {
    if (raw === undefined) continue;
    const leaf = configEnvVars().find((l) => l.path.join('.') === dotted);
    if (leaf) applyOverride(data, leaf, raw, FLAG_NAMES[dotted] ?? `--${dotted}`, origins, issues);
  }
  issues.push(...unknownEnvVars(opts.env, namedEnvVars(data)));
  if (issues.length > 0) throw configError(file, issues);

  const res = validateConfig(doc, data, { hostname: hostname(), stateDir: defaultStateDir(process.platform, opts.env) });
  if (!res.ok) {
    throw configError(file, res.issues.map((i) => {
      const origin = [...origins].find(([p]) => i.path === p || i.path.startsWith(`${p}.`));
      return origin ? { ...i, file: origin[1], line: 0, col: 0 } : i;
    }));
  }
  const verifyProblem = verifySourceProblem(res.value.source.url, res.value.source.verify?.mode, cwd);
  if (verifyProblem) {
    const at = doc.locate(['source', 'verify', 'mode']);
    throw configError(file, [{ file, line: at.line, col: at.col, path: 'source.verify.mode', rule: 'config', severity: 'error', message: verifyProblem }]);
  }
  return absolutePaths(res.value, cwd);
}

/**
 * Reads the config file as bytes, so that parsing can reject bytes that are not UTF-8 (a
 * lossy decode would silently change paths and names). Only a regular file is read, and not
 * past the 1 MiB limit: a device such as /dev/zero never ends and a FIFO blocks.
 * @throws {ConfigError} naming the file.
 */
function readConfigBytes(file: string, abs: string): Buffer {
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
    throw new ConfigError(`cannot read config file ${file}: ${code === 'ENOENT' ? 'no such file (use --config FILE or CRONSYNC_CONFIG)' : (err as Error).message}`, { file });
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

function applyOverride(data: Record<string, unknown>, leaf: Leaf, raw: string, origin: string, origins: Map<string, string>, issues: Issue[]): void {
  let value: unknown = raw;
  const bad = (what: string): void => {
    issues.push({ file: origin, line: 0, col: 0, path: leaf.path.join('.'), rule: 'config', severity: 'error', message: `${origin} must be ${what} (got "${raw}")` });
  };
  if (leaf.type === 'boolean') {
    if (!/^(true|false|1|0|yes|no)$/i.test(raw)) return bad('true or false');
    value = /^(true|1|yes)$/i.test(raw);
  } else if (leaf.type === 'integer') {
    if (!/^\d+$/.test(raw)) return bad('a whole number');
    value = Number(raw);
  } else if (leaf.type === 'array') {
    value = raw.split(',').map((s) => s.trim()).filter(Boolean);
  } else if (leaf.type === 'object') {
    const obj: Record<string, string> = {};
    for (const pair of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) return bad('key=value pairs separated by commas');
      obj[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    value = obj;
  }
  let node = data;
  for (const seg of leaf.path.slice(0, -1)) {
    const next = node[seg];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[seg] = {};
    node = node[seg] as Record<string, unknown>;
  }
  node[leaf.path[leaf.path.length - 1]!] = value;
  origins.set(leaf.path.join('.'), origin);
}

function configError(file: string, issues: readonly Issue[]): ConfigError {
  const lines = issues.map((i) => (i.line > 0 ? `${i.file}:${i.line}:${i.col}: ${i.message}` : `${i.file}: ${i.message}`));
  return new ConfigError(`invalid config ${file}:\n  ${lines.join('\n  ')}`, { file, issues: issues.map((i) => ({ ...i })) });
}
