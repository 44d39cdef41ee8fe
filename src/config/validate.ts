/**
 * Pure validation of agent configuration data against `config.v1.schema.json`, with the same
 * file:line:col errors as manifests.
 */
import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { listenAddressOf } from '../daemon/listen-address.js';
import { durationMs } from '../manifest/duration.js';
import { loadValidator } from '../manifest/precompiled.js';
import type { RawDocument } from '../manifest/parse.js';
import type { Issue } from '../manifest/types.js';
import { schemaIssues } from '../manifest/validate.js';
import type { AgentConfig } from './types.js';

/** Location of the config JSON Schema shipped in the package. */
export const CONFIG_SCHEMA_URL = new URL('./config.v1.schema.json', import.meta.url);

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  compiled ??= loadValidator(CONFIG_SCHEMA_URL, () => JSON.parse(readFileSync(CONFIG_SCHEMA_URL, 'utf8')) as object);
  return compiled;
}

/** Platform defaults that the schema cannot express. */
export interface ConfigDefaults { hostname: string; stateDir: string }

/**
 * Validates merged config data (defaults are applied in place). `doc` locates fields for
 * error positions; overrides from the environment or flags that have no position point at
 * the file's start.
 */
export function validateConfig(doc: RawDocument, data: Record<string, unknown>, defaults: ConfigDefaults): { ok: true; value: AgentConfig } | { ok: false; issues: Issue[] } {
  const validate = validator();
  if (!validate(data)) return { ok: false, issues: schemaIssues(doc, validate.errors ?? []).map((i) => ({ ...i, rule: i.rule === 'schema' ? 'config' : i.rule })) };
  const cfg = data as unknown as AgentConfig;
  // A zero interval polls in a busy loop; a zero timeout fails every fetch.
  const issue = (path: string[], message: string): Issue => {
    const at = doc.locate(path);
    return { file: doc.file, line: at.line, col: at.col, path: path.join('.'), rule: 'config', severity: 'error', message };
  };
  const issues = (['interval', 'timeout'] as const)
    .filter((k) => (durationMs(cfg.source[k]) ?? 1) < 1000)
    .map((k) => issue(['source', k], `source.${k} must be at least 1s (got "${cfg.source[k]}")`));
  // The check-in URL is copied into every job snapshot for `exec`: credentials do not belong in it.
  if (cfg.checkin.url && /^[a-z]+:\/\/[^/]*@/i.test(cfg.checkin.url)) {
    issues.push(issue(['checkin', 'url'], 'checkin.url must not contain credentials (user:password@); authenticate with each job\'s checkin.secret (${VAR}) instead'));
  }
  const urlProblem = sourceUrlProblem(cfg.source.url);
  if (urlProblem) issues.push(issue(['source', 'url'], `source.url ${urlProblem}`));
  for (const key of ['health', 'webhooks'] as const) {
    const listen = cfg.daemon[key]?.listen;
    if (listen !== undefined && !listenAddressOf(listen)) {
      issues.push(issue(['daemon', key, 'listen'], `daemon.${key}.listen must be host:port with a port from 0 to 65535 (got "${listen}")`));
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  cfg.file = doc.file;
  cfg.agent.name ??= defaults.hostname;
  cfg.stateDir ??= defaults.stateDir;
  return { ok: true, value: cfg };
}

/**
 * Why a source URL cannot be used, or null. Only URLs with a scheme are checked here; local
 * paths and scp-like `git@host:path` remotes are told apart on disk when the source is made.
 */
function sourceUrlProblem(url: string): string | null {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file' || scheme === 'ssh') return null;
  if (scheme !== 'http' && scheme !== 'https') return `has the unsupported scheme ${scheme} (use https://, http://, ssh://, git@host:path or a local path)`;
  try {
    if (new URL(url).hostname === '') return 'is not a valid URL (no host)';
  } catch {
    return 'is not a valid URL';
  }
  return null;
}
