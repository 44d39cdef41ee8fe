/**
 * Hostile manifest inputs for the fuzz suite (issue 11 item 7): strings with every character
 * a shell, cron, XML or a terminal treats specially, jobs built from them and serialised as YAML,
 * and raw YAML attacks (alias bombs, deep nesting, huge scalars, odd bytes, odd paths).
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import type { ManifestInput } from '../../src/manifest/load.js';

/** Fragments that mean something to sh, cron, XML, JSON, YAML, terminals or paths. */
export const HOSTILE_FRAGMENTS: readonly string[] = [
  '\0', '%', '%%', '\\%', '\n', '\r', '\r\n', '\n* * * * * root /bin/evil', '\n@reboot evil',
  '$(id)', '`id`', '${HOME}', '$IFS', '"', "'", '\\', '\\\\', '\\n', ';', '&', '|', '&&', '#', ' # x', '\t',
  '\u202e', '\u202d', '\u2066', '\u200b', '\u200d', '\u2028', '\u2029', '\ufeff', '\u0085', '\u001b[31m', '\u009b', '\u007f',
  '\ud800', '\udfff', 'é', '😀', '\u0301', '中文', 'עברית', 'العربية',
  '<', '>', '&amp;', '<![CDATA[', ']]>', '<!--', '-->', '<?xml', '</Command><Exec><Command>evil.exe</Command>', '</Task><Task>',
  '&#10;', '&#0;', '{"a":1}', '"}', '\\u000a', '--', '-c', '--state-dir', ' exec --scheduled evil/job',
  '../', '../../etc/cron.d/x', '/etc/passwd', 'C:\\Windows\\System32\\', '\\\\?\\C:\\', '\\cronsync\\x', '~root', '.', '*', '?',
  '*/1 * * * *', '@daily', 'L', '#3', '0 0 * * * *', 'MAILTO=x', 'SHELL=/bin/bash', 'PATH=/tmp',
];

/** A hostile string: fragments, arbitrary code units and graphemes, sometimes huge. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 11, arbitrary: fc.array(fc.oneof(fc.constantFrom(...HOSTILE_FRAGMENTS), fc.string({ unit: 'binary', maxLength: 4 }), fc.string({ unit: 'grapheme', maxLength: 4 })), { minLength: 1, maxLength: 6 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...HOSTILE_FRAGMENTS), fc.constantFrom(100, 4096, 4097, 40_000)).map(([f, n]) => f.repeat(Math.ceil(n / f.length)).slice(0, n)) },
);

const NAMES = ['backup', 'report', 'a', 'x-1', 'cleanup', '0'];
const TENANTS = ['acme', 'other', 'a'];
/** Names as written: mostly valid (few, so duplicates happen), sometimes hostile or path-like. */
const nameArb = (pool: readonly string[]): fc.Arbitrary<string> => fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...pool) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/) },
  { weight: 1, arbitrary: fc.oneof(hostileString, fc.constantFrom('../etc', 'a/b', 'acme/backup', '.', 'a'.repeat(64), 'A', '-a', 'a-', 'a\n', 'a b', 'nul\0', 'con', 'a.b')) },
);

/** Schedules that lint accepts, including a never-firing one and DST-sensitive ones. */
export const GOOD_SCHEDULES = ['0 2 * * *', '*/15 * * * *', '@daily', '0 12 */2 * 1', '30 6 * * 1-5', '0 0 30 2 1', '5 4 * * SUN', '30 2 * * *', '0 0 1 JAN,JUL *', '@hourly'];
/** Zones that lint accepts, with DST gaps of one hour, half an hour, at midnight, and none. */
export const GOOD_ZONES = ['UTC', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Havana'];

const scheduleArb = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...GOOD_SCHEDULES) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...GOOD_SCHEDULES), hostileString, fc.boolean()).map(([s, h, before]) => (before ? h + s : s + h)) },
  { weight: 1, arbitrary: hostileString },
);
const zoneArb = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...GOOD_ZONES) },
  { weight: 1, arbitrary: fc.oneof(hostileString, fc.constantFrom('UTC\n', 'Etc/GMT+5', '../../etc/localtime', 'America/New_York%', 'utc', 'EST5EDT', '/usr/share/zoneinfo/UTC', 'Europe/Kyiv')) },
);
/** A string field: usually hostile (the content is free text), sometimes ordinary. */
const text = fc.oneof({ weight: 3, arbitrary: hostileString }, { weight: 1, arbitrary: fc.constantFrom('echo hi', '/usr/bin/backup --all', 'C:\\tools\\run.cmd') });
const labelKey = fc.oneof({ weight: 12, arbitrary: fc.constantFrom('team', 'cronsync.io/protect', 'app.kubernetes.io/name') }, { weight: 1, arbitrary: hostileString });
const envKey = fc.oneof({ weight: 12, arbitrary: fc.constantFrom('PATH', 'HOME', 'DB_URL', 'LD_PRELOAD', '_X') }, { weight: 1, arbitrary: hostileString });
/** `undefined` (the field is left out) `absent` times out of `absent + 1`. */
const rarely = <T>(arb: fc.Arbitrary<T>, absent: number): fc.Arbitrary<T | undefined> => fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** A Job document as data: every string field may be hostile; other fields sometimes of the wrong type. */
export const jobDoc: fc.Arbitrary<Record<string, unknown>> = fc.record({
  name: nameArb(NAMES),
  tenant: nameArb(TENANTS),
  labels: fc.dictionary(labelKey, fc.oneof(text, fc.constant('true')), { maxKeys: 3 }),
  annotations: fc.dictionary(fc.oneof({ weight: 6, arbitrary: fc.constantFrom('owner', 'doc', 'x.io/y') }, { weight: 1, arbitrary: hostileString }), text, { maxKeys: 3 }),
  schedule: scheduleArb,
  timezone: fc.option(zoneArb, { nil: undefined }),
  command: fc.option(text, { nil: undefined, freq: 8 }),
  args: fc.option(fc.array(text, { maxLength: 4 }), { nil: undefined }),
  workingDir: fc.option(fc.oneof({ weight: 6, arbitrary: hostileString.map((h) => `/srv/${h}`) }, { weight: 1, arbitrary: fc.oneof(text, fc.constantFrom('/srv/app', 'C:\\app', 'relative/dir')) }), { nil: undefined }),
  env: fc.option(fc.dictionary(envKey, text, { maxKeys: 3 }), { nil: undefined }),
  secret: fc.option(fc.oneof(fc.constant('${TOKEN}'), text), { nil: undefined }),
  paused: fc.option(fc.boolean(), { nil: undefined }),
  timeout: rarely(fc.oneof({ weight: 3, arbitrary: fc.constantFrom('90s', '2h', '1h30m') }, { weight: 1, arbitrary: hostileString }), 4),
  extra: rarely(fc.constantFrom<[string, unknown]>(['spec.typo', 1], ['spec.args', 'not-a-list'], ['spec.paused', 'yes'], ['metadata.labels', ['x']], ['kind', 'CronJob']), 8),
}).map((f) => {
  const spec: Record<string, unknown> = { schedule: f.schedule };
  for (const k of ['timezone', 'command', 'args', 'workingDir', 'env', 'paused', 'timeout'] as const) if (f[k] !== undefined) spec[k] = f[k];
  if (f.secret !== undefined) spec.checkin = { secret: f.secret };
  const doc: Record<string, unknown> = { apiVersion: 'v1', kind: 'Job', metadata: { name: f.name, tenant: f.tenant, labels: f.labels, annotations: f.annotations }, spec };
  if (f.extra) {
    const [path, value] = f.extra;
    const [a, b] = path.split('.') as [string, string | undefined];
    if (b === undefined) doc[a] = value;
    else (doc[a] as Record<string, unknown>)[b] = value;
  }
  return doc;
});

/** A job document as YAML text, in one of the scalar styles (each escapes differently). */
export const jobYaml: fc.Arbitrary<string> = fc.tuple(jobDoc, fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL')).map(([doc, style]) =>
  stringify(doc, { defaultStringType: style as 'PLAIN', defaultKeyType: 'PLAIN', lineWidth: 0 }));

const GOOD_HEAD = 'apiVersion: v1\nkind: Job\nmetadata: {name: bomb, tenant: acme}\nspec:\n  schedule: "* * * * *"\n';

function laughs(levels: number, width: number): string {
  const lines = ['a0: &a0 "lol"'];
  for (let i = 1; i < levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(', ')}]`);
  return `${GOOD_HEAD}  env: {}\nx:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** Raw YAML attacks on the parser and the loader; each yields no valid job or a harmless one. */
export const rawAttack: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.tuple(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 2, max: 10 })).map(([l, w]) => laughs(l, w)),
  fc.constant(`${GOOD_HEAD}  command: &c x\n  args: [*c, *c, *c]\n`),
  fc.constant(`${GOOD_HEAD}  command: x\n  env: &e {A: *e}\n`),
  fc.constant(`${GOOD_HEAD}  command: x\n  <<: {paused: true}\n`),
  fc.tuple(fc.constantFrom('[', '{a: ', '- ', 'a:\n', '? '), fc.integer({ min: 60, max: 5000 })).map(([open, n]) => {
    const close = open === '[' ? ']' : open === '{a: ' ? '}' : '';
    if (open === 'a:\n') return `${GOOD_HEAD}  command: x\nx:\n${Array.from({ length: Math.min(n, 1300) }, (_, i) => `${' '.repeat(i + 2)}a:`).join('\n')} 1\n`;
    return `${GOOD_HEAD}  command: x\n  args: ${open.repeat(n)}${open.startsWith('-') || open.startsWith('?') ? '1' : ''}${close.repeat(n)}\n`;
  }),
  fc.constantFrom(1000, 300_000, 1_100_000).map((n) => `${GOOD_HEAD}  command: "${'x'.repeat(n)}"\n`),
  fc.constant(`${GOOD_HEAD}  command: "a\\0b\\x1b\\u202e\\r\\nc"\n`),
  fc.constant(`${GOOD_HEAD}  command: a\0b\n`),
  fc.constant(GOOD_HEAD.replace(/\n/g, '\r') + '  command: x\r'),
  fc.constant(`${GOOD_HEAD}  command: !!binary aGk=\n`),
  fc.constant(`${GOOD_HEAD}  command: !!js/function "function(){}"\n`),
  fc.constant(`%YAML 1.1\n%TAG ! tag:evil.example,2026:\n---\n${GOOD_HEAD}  command: !x y\n`),
  fc.constant(`${GOOD_HEAD}  command: x\n  command: y\n`),
  fc.constant(`${GOOD_HEAD}  command: x\n---\n- a\n---\n42\n---\n...\n--- |\n  text\n`),
  fc.constant(new Uint8Array([...Buffer.from(`${GOOD_HEAD}  command: "`), 0xff, 0xfe, 0xc0, 0x80, ...Buffer.from('"\n')])),
  fc.constant(new Uint8Array([0xff, 0xfe, ...Buffer.from(`${GOOD_HEAD}  command: x\n`, 'utf16le')])),
  hostileString,
);

/** Paths a source may hand over: ordinary, path-like, and hostile. */
export const filePath: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('jobs/a.yaml', 'b.yml', 'prod/x/y.yaml') },
  { weight: 2, arbitrary: fc.constantFrom('../../etc/cron.d/x.yaml', 'a\nb.yaml', 'a\rb.yaml', 'C:\\x\\y.yaml', '%.yaml', 'x y/$(id).yaml', '\u202egnp.yaml', '.yaml', 'a/../../b.yml', '`id`.yaml', '"q".yaml', '<Task>.yaml', 'a\0b.yaml', '\\\\srv\\share\\j.yaml', 'é/😀.yaml') },
  { weight: 1, arbitrary: hostileString.map((s) => `${s}.yaml`) },
);

/**
 * A job that lint should accept: names, schedule and zone from the good pools, hostile text
 * only where free text is allowed (command, args, env values, label and annotation values,
 * the working dir under an absolute path), so that most of it reaches the adapters.
 */
export const validishYaml: fc.Arbitrary<string> = fc.record({
  name: fc.constantFrom(...NAMES),
  tenant: fc.constantFrom(...TENANTS),
  schedule: fc.constantFrom(...GOOD_SCHEDULES),
  timezone: fc.constantFrom(...GOOD_ZONES),
  command: hostileString,
  args: fc.array(hostileString, { maxLength: 3 }),
  env: fc.dictionary(fc.constantFrom('DB_URL', 'HOME', '_X'), hostileString, { maxKeys: 2 }),
  label: hostileString.map((h) => h.slice(0, 200)),
  annotation: hostileString.map((h) => h.slice(0, 4000)),
  workingDir: hostileString.map((h) => `/srv/${h.slice(0, 4000)}`),
  paused: fc.boolean(),
  style: fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL'),
}).map((f) => stringify({
  apiVersion: 'v1', kind: 'Job',
  metadata: { name: f.name, tenant: f.tenant, labels: { team: f.label }, annotations: { owner: f.annotation } },
  spec: { schedule: f.schedule, timezone: f.timezone, command: f.command, args: f.args, env: f.env, workingDir: f.workingDir, paused: f.paused },
}, { defaultStringType: f.style as 'PLAIN', defaultKeyType: 'PLAIN', lineWidth: 0 }));

/** One document of a file: a job (mostly) or a raw attack. */
export const docText: fc.Arbitrary<string | Uint8Array> = fc.oneof({ weight: 3, arbitrary: validishYaml }, { weight: 3, arbitrary: jobYaml }, { weight: 1, arbitrary: rawAttack });

/** A file: one or more documents, joined with `---` (byte documents stand alone). */
export const manifestFile: fc.Arbitrary<ManifestInput> = fc.tuple(filePath, fc.array(docText, { minLength: 1, maxLength: 3 })).map(([path, docs]) => {
  const bytes = docs.find((d): d is Uint8Array => typeof d !== 'string');
  return { path, content: bytes ?? docs.join('\n---\n') };
});

/** A repository: a few files with distinct paths. */
export const manifestSet: fc.Arbitrary<ManifestInput[]> = fc.uniqueArray(manifestFile, { minLength: 1, maxLength: 4, selector: (f) => f.path });

/** Changes that make a job document invalid, each in a different way. */
const INVALIDATIONS: readonly ((doc: Record<string, unknown>) => void)[] = [
  (d) => { (d.spec as Record<string, unknown>).schedule = '61 * * * *'; },
  (d) => { (d.spec as Record<string, unknown>).timezone = 'Mars/Olympus'; },
  (d) => { (d.spec as Record<string, unknown>).typo = true; },
  (d) => { (d.spec as Record<string, unknown>).command = 'a\0b'; },
  (d) => { (d.spec as Record<string, unknown>).paused = 'yes'; },
  (d) => { (d.metadata as Record<string, unknown>).name = 'Backup'; },
  (d) => { delete (d.metadata as Record<string, unknown>).tenant; },
  (d) => { d.kind = 'CronJob'; },
  (d) => { (d.spec as Record<string, unknown>).workingDir = 'relative'; },
  (d) => { (d.spec as Record<string, unknown>).env = { 'BAD NAME': 'x' }; },
];

/**
 * A job document that lint must refuse, often named like a good job of tenant `acme`
 * (`backup`, `report`, `cleanup`), as YAML text; or a raw attack.
 */
export const invalidDocText: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(jobDoc, fc.constantFrom(...INVALIDATIONS), fc.option(fc.constantFrom('backup', 'report', 'cleanup'), { nil: undefined }), fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'BLOCK_LITERAL'))
    .map(([doc, invalidate, name, style]) => {
      if (name !== undefined) doc.metadata = { ...(doc.metadata as object), name, tenant: 'acme' };
      invalidate(doc);
      return stringify(doc, { defaultStringType: style as 'PLAIN', defaultKeyType: 'PLAIN', lineWidth: 0 });
    }) },
  { weight: 1, arbitrary: rawAttack },
);
