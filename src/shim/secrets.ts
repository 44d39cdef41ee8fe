/**
 * `${VAR}` resolution from the environment and the agent's secrets file. Values are never put
 * in an error message, a log field or argv.
 */
import { SecretsError } from '../errors.js';
import { nodePlatform, type Platform } from '../system/platform.js';
import { readRegularFileSync } from '../system/regular-file.js';

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Parses `KEY=value` lines (`#` comments, optional `export `, optional matching quotes). Pure. */
export function parseSecretsFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2] as string;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    out.set(m[1] as string, value);
  }
  return out;
}

/**
 * Reads a secrets file, refusing one that other users may read (POSIX: group/other mode bits;
 * Windows: an ACL granting Everyone, Users or Authenticated Users read) [Platform.publicReason].
 * @throws {SecretsError} when the file is missing, unreadable or unsafe.
 */
export function readSecretsFile(path: string, platform: Platform = nodePlatform): Map<string, string> {
  let text: string;
  try {
    // The mode is checked on the open file, so the file read is the file checked.
    text = readRegularFileSync(path, {
      check: (st) => {
        const why = platform.publicReason(path, st);
        if (why !== null) throw new SecretsError(`Refusing secrets file ${path}: ${why}`, { path, reason: 'unsafe' });
      },
    }).data.toString('utf8');
  } catch (err) {
    if (err instanceof SecretsError) throw err;
    throw new SecretsError(`Cannot read secrets file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { path, reason: 'unreadable' });
  }
  return parseSecretsFile(text);
}

/** Returns the names referenced as `${NAME}` in a template. Pure. */
export function referencedVars(template: string): string[] {
  return [...template.matchAll(REF)].map((m) => m[1] as string);
}

/** True when a template consists only of `${VAR}` references (no literal text that could be a secret). */
export function isPureReference(template: string): boolean {
  return template.replace(REF, '') === '' && referencedVars(template).length > 0;
}

/** Resolver substitutes `${VAR}` in templates. */
export type Resolver = (template: string, field: string) => string;

/**
 * Creates a resolver that looks a name up in `env` first, then in the secrets file (read at the
 * first lookup that needs it, so a job without secrets never touches it). `onValue` is told each
 * value it substitutes (the shim masks them in the job's output, see mask.ts).
 * @throws {SecretsError} (from the resolver) for an unknown variable or an unsafe file.
 */
export function createResolver(env: Record<string, string | undefined>, secretsFile: string | undefined, platform: Platform = nodePlatform, onValue?: (value: string) => void): Resolver {
  let file: Map<string, string> | undefined;
  const found = (value: string): string => {
    onValue?.(value);
    return value;
  };
  const lookup = (name: string, field: string): string => {
    const fromEnv = env[name];
    if (fromEnv !== undefined) return found(fromEnv);
    if (secretsFile) {
      file ??= readSecretsFile(secretsFile, platform);
      const v = file.get(name);
      if (v !== undefined) return found(v);
    }
    throw new SecretsError(`Variable \${${name}} used in ${field} is not set in the environment${secretsFile ? ` nor in ${secretsFile}` : ''}`, { variable: name, field, reason: 'missing' });
  };
  return (template, field) => template.replace(REF, (_m, name: string) => lookup(name, field));
}
