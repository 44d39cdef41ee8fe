/**
 * Pure validation of agent configuration data against `config.v1.schema.json`, with the same
 * file:line:col errors as manifests.
 */
import { stripUrlCredentials, stripUrlPassword } from '../errors.js';
import { sizeBytes } from '../source/limits.js';
import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { listenAddressOf } from '../daemon/listen-address.js';
import { durationMs } from '../manifest/duration.js';
import { loadValidator, releaseValidator } from '../manifest/precompiled.js';
import type { RawDocument } from '../manifest/parse.js';
import type { Issue } from '../manifest/types.js';
import { schemaIssues } from '../manifest/validate.js';
import { taskFolderProblem, taskTextProblem } from '../scheduler/windows/values.js';
import { quoted } from './overrides.js';
import type { AgentConfig } from './types.js';

/** The longest duration of the config: 576h (24 days), under the longest timer Node keeps (2^31 - 1 ms). */
export const MAX_DURATION_MS = 576 * 3_600_000;
const MAX_DURATION_TEXT = '576h (24 days)';

/** Location of the config JSON Schema shipped in the package. */
export const CONFIG_SCHEMA_URL = new URL('./config.v1.schema.json', import.meta.url);

/** Only a run-time compiled validator (unbuilt sources) is kept: compiling again costs 60–90 ms. */
let compiled: ValidateFunction | undefined;

/**
 * The validator and a function that lets its code be collected. A config is validated at
 * start-up and at each reload, so the daemon does not keep the precompiled module in between.
 */
function validator(): { validate: ValidateFunction; release: () => void } {
  const validate = compiled ?? loadValidator(CONFIG_SCHEMA_URL, () => JSON.parse(readFileSync(CONFIG_SCHEMA_URL, 'utf8')) as object);
  return { validate, release: () => void (releaseValidator(CONFIG_SCHEMA_URL) || (compiled = validate)) };
}

/** Platform defaults that the schema cannot express. */
export interface ConfigDefaults { hostname: string; stateDir: string }

/**
 * Validates merged config data (defaults are applied in place). `doc` locates fields for
 * error positions; overrides from the environment or flags that have no position point at
 * the file's start.
 */
export function validateConfig(doc: RawDocument, data: Record<string, unknown>, defaults: ConfigDefaults): { ok: true; value: AgentConfig } | { ok: false; issues: Issue[] } {
  const { validate, release } = validator();
  const valid = validate(data);
  const errors = validate.errors ?? [];
  release();
  if (!valid) return { ok: false, issues: schemaIssues(doc, errors).map((i) => ({ ...i, rule: i.rule === 'schema' ? 'config' : i.rule })) };
  const cfg = data as unknown as AgentConfig;
  // A zero interval polls in a busy loop; a zero timeout fails every fetch.
  const issue = (path: string[], message: string): Issue => {
    const at = doc.locate(path);
    return { file: doc.file, line: at.line, col: at.col, path: path.join('.'), rule: 'config', severity: 'error', message };
  };
  const issues: Issue[] = [];
  // A zero cap retries a failing sync at once, over and over: a busy loop and a herd.
  const durations: [string[], string | undefined, number][] = [
    [['source', 'interval'], cfg.source.interval, 1000], [['source', 'timeout'], cfg.source.timeout, 1000],
    [['daemon', 'maxBackoff'], cfg.daemon.maxBackoff, 1000], [['daemon', 'startDelay'], cfg.daemon.startDelay, 0],
    [['daemon', 'syncTimeout'], cfg.daemon.syncTimeout, 1000],
  ];
  for (const [path, text, min] of durations) {
    if (text === undefined) continue;
    const ms = durationMs(text);
    // Past MAX_DURATION_MS a timer or timeout would fire at once; no interval, delay or
    // timeout of an agent needs weeks.
    if (ms === undefined || ms > MAX_DURATION_MS) issues.push(issue(path, `${path.join('.')} must be at most ${MAX_DURATION_TEXT} (got ${quoted(text)})`));
    else if (ms < min) issues.push(issue(path, `${path.join('.')} must be at least 1s (got ${quoted(text)})`));
  }
  // The check-in URL is copied into every job snapshot for `exec`: credentials do not belong in it.
  if (cfg.checkin.url && hasUserinfo(cfg.checkin.url)) {
    issues.push(issue(['checkin', 'url'], 'checkin.url must not contain credentials (user:password@); authenticate with each job\'s checkin.secret (${VAR}) instead'));
  }
  if (cfg.source.maxFetchSize !== undefined && sizeBytes(cfg.source.maxFetchSize) === undefined) {
    issues.push(issue(['source', 'maxFetchSize'], `source.maxFetchSize must be a size such as 512MiB, 64KiB or a number of bytes (got ${quoted(cfg.source.maxFetchSize)})`));
  }
  // Two places for one secret: which one is used would be a guess; say so instead.
  if (cfg.source.auth?.passwordFile !== undefined && cfg.source.auth.passwordEnv !== undefined) {
    issues.push(issue(['source', 'auth', 'passwordEnv'], 'source.auth: set passwordFile or passwordEnv, not both'));
  }
  if (cfg.daemon.webhooks?.secretFile !== undefined && cfg.daemon.webhooks.secretEnv !== undefined) {
    issues.push(issue(['daemon', 'webhooks', 'secretEnv'], 'daemon.webhooks: set secretFile or secretEnv, not both'));
  }
  const verify = cfg.source.verify;
  if (verify?.mode === 'head' && verify.sshAllowedSigners === undefined && verify.openpgpKeys === undefined) {
    issues.push(issue(['source', 'verify'], 'source.verify.mode head needs trusted keys: set source.verify.sshAllowedSigners, source.verify.openpgpKeys, or both'));
  }
  const urlProblem = sourceUrlProblem(cfg.source.url);
  if (urlProblem) issues.push(issue(['source', 'url'], `source.url ${urlProblem}`));
  for (const key of ['health', 'webhooks'] as const) {
    const listen = cfg.daemon[key]?.listen;
    if (listen !== undefined && !listenAddressOf(listen)) {
      issues.push(issue(['daemon', key, 'listen'], `daemon.${key}.listen must be host:port with a port from 0 to 65535 (got ${quoted(listen)})`));
    }
  }
  issues.push(...crontopusIssues(cfg).map(([path, message]) => issue(path, message)));
  issues.push(...taskTextIssues(cfg).map(([path, message]) => issue(path, message)));
  if (issues.length > 0) return { ok: false, issues };
  cfg.file = doc.file;
  cfg.agent.name ??= defaults.hostname;
  cfg.stateDir ??= defaults.stateDir;
  return { ok: true, value: cfg };
}

/**
 * Problems of the settings written into Windows tasks, as [key path, message]: characters task
 * XML cannot hold, white space at either end (read back trimmed: changed at every sync), and
 * for the task folder anything but an ASCII Windows path (values.ts). scheduler.user names an
 * account on every scheduler and is always checked; the task folder and the state dir only
 * when the scheduler may be windows (`windows`, or `auto`, which picks it on Windows).
 */
function taskTextIssues(cfg: AgentConfig): Array<[string[], string]> {
  const out: Array<[string[], string]> = [];
  const check = (path: string[], value: string | undefined, problemOf: (v: string) => string | null): void => {
    const problem = value === undefined ? null : problemOf(value);
    if (problem !== null) out.push([path, `${path.join('.')} ${problem}`]);
  };
  check(['scheduler', 'user'], cfg.scheduler.user, taskTextProblem);
  if (cfg.scheduler.kind === 'windows' || cfg.scheduler.kind === 'auto') {
    check(['scheduler', 'taskFolder'], cfg.scheduler.taskFolder, taskFolderProblem);
    check(['stateDir'], cfg.stateDir as string | undefined, taskTextProblem);
  } else {
    // Every cron line and unit carries `--state-dir DIR`: a line break would cut the entry, and
    // every sync would keep each job at its last applied version instead of saying why.
    check(['stateDir'], cfg.stateDir as string | undefined, (v) => (CONTROL.test(v) ? 'must not contain control characters (it is written into every scheduler entry)' : null));
  }
  return out;
}

/** The agent API paths a Crontopus base URL must not already end with. */
const CRONTOPUS_ROUTES = /\/api\/(checkins|runs\/check-in|endpoints(\/.*)?)\/?$/;

/** Problems of the check-in settings that concern Crontopus backends, as [key path, message]. */
function crontopusIssues(cfg: AgentConfig): Array<[string[], string]> {
  const c = cfg.checkin;
  const protocol = cfg.checkin.protocol;
  const out: Array<[string[], string]> = [];
  if (c.start && protocol !== 'healthchecks') {
    out.push([['checkin', 'start'], `checkin.start must be false with the ${protocol} protocol: a Crontopus backend keeps the \`running\` check-in as a run of its own that never ends, so every run would leave a RUNNING row behind`]);
  }
  const identity = (['endpointId', 'tokenFile', 'enrollmentTokenFile'] as const).filter((k) => c[k] !== undefined);
  if (protocol !== 'crontopus-agent') {
    for (const k of identity) out.push([['checkin', k], `checkin.${k} is used only with checkin.protocol: crontopus-agent (got ${protocol})`]);
    return out;
  }
  if (!c.url) out.push([['checkin'], 'checkin.url (the Crontopus backend\'s base URL) is required with checkin.protocol: crontopus-agent']);
  else if (CRONTOPUS_ROUTES.test(c.url.replace(/[?#].*$/, ''))) out.push([['checkin', 'url'], `checkin.url must be the Crontopus backend's base URL, without the route (got ${stripUrlCredentials(c.url.replace(/[?#].*$/, ''))})`]);
  const enrolled = c.enrollmentTokenFile !== undefined;
  const provisioned = c.endpointId !== undefined || c.tokenFile !== undefined;
  if (enrolled && provisioned) out.push([['checkin', 'enrollmentTokenFile'], 'checkin.enrollmentTokenFile cannot be combined with checkin.endpointId/checkin.tokenFile: choose enrollment or a pre-provisioned endpoint']);
  else if (!enrolled && (c.endpointId === undefined || c.tokenFile === undefined)) {
    out.push([['checkin'], 'checkin.protocol crontopus-agent needs an endpoint identity: checkin.endpointId with checkin.tokenFile, or checkin.enrollmentTokenFile']);
  }
  return out;
}

/** A C0 control character or DEL. */
const CONTROL = /[\u0000-\u001f\u007f]/; // eslint-disable-line no-control-regex

/** An scp-like remote with a password: `user:password@host:path` (git reads `user` as the host). */
const SCP_WITH_PASSWORD = /^[^@/:]+:[\s\S]*@(\[[^\]]*\]|[^@/:]+):/;

/**
 * Why a source URL cannot be used, or null. Local paths and scp-like `git@host:path` remotes are
 * told apart on disk when the source is made. A URL is refused where it would hold a password
 * that nothing uses but the process list, the status file and messages would show. The
 * messages never repeat the URL, which may hold one.
 */
function sourceUrlProblem(url: string): string | null {
  // URL parsers drop tabs, line breaks and outer spaces; a path that starts with one is a typo.
  if (CONTROL.test(url) || /^\s|\s$/.test(url)) return 'must not contain control characters or start or end with white space';
  // `https:host/path` is a URL to Node but an scp-like remote to git and to detectSource.
  const bare = /^(https?|ssh):(?!\/\/)/i.exec(url)?.[1]?.toLowerCase();
  if (bare) return `must start with ${bare}:// (without the slashes, git reads ${bare} as the host of an scp-like remote)`;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if ((scheme === 'ssh' && stripUrlPassword(url) !== url) || (scheme === undefined && !/^[a-z]:[\\/]/i.test(url) && SCP_WITH_PASSWORD.test(url))) {
    return 'must not contain a password (user:password@): ssh never uses a password from the URL, which would only show it in the process list; authenticate with a key (source.ssh.keyFile) and keep at most the user name in the URL (as in git@host:path)';
  }
  if (scheme === 'file' && /^file:\/\/[^/]*@/i.test(url)) return 'must not contain credentials (user:password@): a file:// URL names a local path';
  if (scheme === undefined || scheme === 'file' || scheme === 'ssh') return null;
  if (scheme !== 'http' && scheme !== 'https') return `has the unsupported scheme ${scheme} (use https://, http://, ssh://, git@host:path or a local path)`;
  try {
    if (new URL(url).hostname === '') return 'is not a valid URL (no host)';
  } catch {
    return 'is not a valid URL';
  }
  // Git appends `/info/refs?service=…` to the URL as written, so a query or fragment never
  // reaches the server as one; a token put there would only show in logs and the status file.
  if (/[?#]/.test(url)) return 'must not contain a query (?…) or fragment (#…): Git appends /info/refs to the URL, so the server would never read it as one; give a token with source.auth (passwordFile or passwordEnv)';
  return null;
}

/** Whether a URL carries credentials as Node's URL parser (which sends them) reads it. */
function hasUserinfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return /^[a-z]+:\/\/[^/]*@/i.test(url);
  }
}
