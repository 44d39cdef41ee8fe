/**
 * Validation of one parsed document: schema (ajv) then semantic rules. Returns rather than
 * throws: `{ ok: true, value, warnings }` or `{ ok: false, issues }`.
 */
import type { RawDocument } from './parse.js';
import { jobValidator } from './schema.js';
import type { SchemaError } from './schema.js';
import { closestName, distance } from './suggest.js';
import { checkJobRules } from './rules.js';
import type { RuleContext } from './rules.js';
import { NAME } from './types.js';
import type { Issue, Job } from './types.js';

/** Result of validating one document. */
export type ValidationResult =
  | { ok: true; value: Job; warnings: Issue[] }
  | { ok: false; issues: Issue[]; warnings: Issue[]; partial?: { tenant?: string; name?: string } };

/**
 * Validates one document into a normalised Job (defaults applied). Never throws. Takes over
 * `doc.value`: the defaults are applied to it in place (a copy of 10,000 documents costs more
 * than the rules), and a valid document's Job is that object.
 */
export function validateDocument(doc: RawDocument, ctx: RuleContext = {}): ValidationResult {
  const value = doc.value as Record<string, unknown>;
  const issues: Issue[] = [];
  const kindIssue = checkKind(doc, value);
  if (kindIssue) return { ok: false, issues: [kindIssue], warnings: [] };

  const validate = jobValidator();
  if (!validate(value)) {
    issues.push(...schemaIssues(doc, validate.errors ?? []));
  }
  const ruleIssues = checkJobRules(doc, value, ctx);
  issues.push(...ruleIssues.filter((i) => i.severity === 'error'));
  const warnings = ruleIssues.filter((i) => i.severity === 'warning');
  issues.sort(byPosition);
  if (issues.length > 0 || doc.invalid) {
    const md = (value.metadata ?? {}) as Record<string, unknown>;
    return { ok: false, issues, warnings, partial: { tenant: idPart(md.tenant), name: idPart(md.name) } };
  }
  return { ok: true, value: value as unknown as Job, warnings };
}

/**
 * A tenant or name of an invalid document, when it is one a job could have (SPEC §2): a typo
 * such as `db-Backup` names no installed job, so it must not stand for one.
 */
function idPart(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= 63 && NAME.test(value) ? value : undefined;
}

/** Orders issues by line, then column, then rule id. */
export function byPosition(a: Issue, b: Issue): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.rule.localeCompare(b.rule);
}

function checkKind(doc: RawDocument, value: Record<string, unknown>): Issue | undefined {
  const problems: [string, string][] = [];
  if (value.apiVersion !== 'v1') problems.push(['apiVersion', `apiVersion must be "v1" (got ${describe(value.apiVersion)})`]);
  if (value.kind !== 'Job') problems.push(['kind', `kind must be "Job" (got ${describe(value.kind)})`]);
  const first = problems[0];
  if (!first) return undefined;
  const present = first[0] in value;
  const pos = doc.locate(present ? [first[0]] : [], false);
  return { file: doc.file, line: pos.line, col: pos.col, path: first[0], rule: 'kind', severity: 'error', message: problems.map((p) => p[1]).join('; ') };
}

function describe(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

/** ajv reports `if`/`anyOf` wrappers and duplicate messages; keep the useful ones. */
function collapse(errors: SchemaError[]): SchemaError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((s) => {
    const seg = s.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(seg) ? Number(seg) : seg;
  });
}

/** Maps ajv errors to issues located in the document (shared by manifests and config). */
export function schemaIssues(doc: RawDocument, errors: readonly SchemaError[]): Issue[] {
  return collapse([...errors]).map((e) => schemaIssue(doc, e));
}

function schemaIssue(doc: RawDocument, err: SchemaError): Issue {
  const path = pointerToPath(err.instancePath);
  const dotted = path.join('.');
  let pos = doc.locate(path);
  let message: string;
  let rule = 'schema';
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties': {
      const extra = String(p.additionalProperty);
      pos = doc.locate([...path, extra], true);
      rule = 'unknown-field';
      message = `unknown field "${[...path, extra].join('.')}"${suggest(extra, err)}`;
      return { file: doc.file, line: pos.line, col: pos.col, path: [...path, extra].join('.'), rule, severity: 'error', message };
    }
    case 'required':
      rule = 'required';
      message = `missing required field "${[...path, String(p.missingProperty)].join('.')}"`;
      return { file: doc.file, line: pos.line, col: pos.col, path: [...path, String(p.missingProperty)].join('.'), rule, severity: 'error', message };
    case 'type':
      message = `${dotted || 'document'} must be ${article(String(p.type))}${p.type === 'string' ? ' (quote the value)' : ''}`;
      break;
    case 'enum': {
      const allowed = p.allowedValues as unknown[];
      // A near miss of a word in the list (`crond`, `forbid`: one edit or letter case) is named, as
      // an unknown field's is; a shared prefix alone (`cron`: crontab or cron.d?) is not.
      const words = allowed.filter((v): v is string => typeof v === 'string');
      const near = typeof err.data === 'string' ? closestName(err.data, words, 1) : undefined;
      const hit = near !== undefined && distance(near.toLowerCase(), String(err.data).toLowerCase()) <= 1 ? near : undefined;
      message = `${dotted} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}${hit === undefined ? '' : ` (did you mean "${hit}"?)`}`;
      break;
    }
    case 'pattern':
      message = patternMessage(dotted, err);
      break;
    case 'propertyNames':
      pos = doc.locate([...path, String(p.propertyName)], true);
      message = `${dotted} has an invalid key "${String(p.propertyName)}"`;
      break;
    default:
      message = `${dotted || 'document'} ${err.message ?? 'is invalid'}`;
  }
  return { file: doc.file, line: pos.line, col: pos.col, path: dotted, rule, severity: 'error', message };
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function patternMessage(dotted: string, err: SchemaError): string {
  if (/duration/.test(err.schemaPath)) return `${dotted} must be a duration such as 90s, 15m, 2h or 1h30m`;
  if (/(name|tenant|namespace)\/pattern$/.test(err.schemaPath)) return `${dotted} must be lowercase letters, digits and '-', starting and ending with a letter or digit`;
  if (/\/(paths|exclude)\/items\/pattern$/.test(err.schemaPath)) return `${dotted} must be a glob relative to the repository root: no leading / and no .. segment, which could never match, and no trailing backslash, which escapes nothing`;
  if (/\/metadata\/properties\/id\/pattern$/.test(err.schemaPath)) return `${dotted} must be a UUID such as 3f2c8a4e-5b7d-4e1a-9c6f-0d8b2a7e4c19`;
  return `${dotted} must match ${String((err.params as { pattern: string }).pattern)}`;
}

function suggest(extra: string, err: SchemaError): string {
  const props = (err.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  if (!props) return '';
  const names = Object.keys(props);
  const hit = closestName(extra, names);
  return hit ? ` (did you mean "${hit}"?)` : ` (allowed: ${names.join(', ')})`;
}
