/**
 * Parser for the 5-field cron schedules of SPEC §2 (`spec.schedule`). It accepts what native
 * Vixie/Debian cron accepts and nothing that one of the native schedulers would read
 * differently, so that every adapter can carry the schedule faithfully:
 *
 * - `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, comma lists;
 * - month names `JAN`..`DEC` and day names `SUN`..`SAT`, case-insensitive, also in ranges
 *   (`MON-FRI`); day of week 0-7 where 7 is Sunday;
 * - macros `@hourly @daily @midnight @weekly @monthly @yearly @annually` (lower case, as
 *   Debian's `strcmp` requires).
 *
 * Rejected, each with a rule id, message and the character span in the expression:
 * `cron-fields` (not exactly 5 fields), `cron-unsupported` (`L W # H ?`), `cron-reboot`
 * (`@reboot`), `cron-syntax` (anything else malformed, including `a/n`, which Debian reads as
 * plain `a` while other schedulers read `a-max/n`), `cron-range` (values out of range,
 * reversed ranges, step 0 or a step wider than the field).
 */

/** Limits and names of one cron field. */
interface FieldDef {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  readonly nameBase?: number;
}

const FIELDS: readonly FieldDef[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  {
    name: 'month', min: 1, max: 12, nameBase: 1,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { name: 'day-of-week', min: 0, max: 7, nameBase: 0, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const MACROS: Readonly<Record<string, string>> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

/** A parsed, valid cron schedule. Bit arrays hold 1 where the value matches. */
export interface CronSpec {
  /** The expression as written, trimmed, with runs of blanks collapsed to one space. */
  readonly source: string;
  /** The five field texts (a macro expanded): minute, hour, day-of-month, month, day-of-week. */
  readonly fields: readonly [string, string, string, string, string];
  /** Sorted matching values of each field. Days of week are 0-6 (7 folded into 0). */
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  readonly daysOfWeek: readonly number[];
  /** Lookup tables indexed by value: minute 0-59, hour 0-23, dom 1-31, month 1-12, dow 0-6. */
  readonly minuteBits: Uint8Array;
  readonly hourBits: Uint8Array;
  readonly domBits: Uint8Array;
  readonly monthBits: Uint8Array;
  readonly dowBits: Uint8Array;
  /** Day-of-month field is not exactly `*` (SPEC §2a rule 1; `*\/2` is restricted). */
  readonly domRestricted: boolean;
  /** Day-of-week field is not exactly `*`. */
  readonly dowRestricted: boolean;
  /** Hour field is exactly `*`: such a job fires in both passes of a fall-back (§2a rule 4). */
  readonly hourIsStar: boolean;
}

/** Why an expression was rejected, and where: `offset`/`length` index into the input string. */
export interface CronError {
  readonly rule: 'cron-fields' | 'cron-unsupported' | 'cron-reboot' | 'cron-syntax' | 'cron-range';
  readonly message: string;
  readonly offset: number;
  readonly length: number;
}

/** Result of {@link parseCron}. */
export type CronParseResult = { ok: true; value: CronSpec } | { ok: false; error: CronError };

class Reject {
  constructor(readonly error: CronError) {}
}

function fail(rule: CronError['rule'], message: string, offset: number, length: number): never {
  throw new Reject({ rule, message, offset, length: Math.max(1, length) });
}

const UNSUPPORTED: Readonly<Record<string, string>> = {
  L: '`L` (last day) is not supported by native cron schedulers',
  W: '`W` (nearest weekday) is not supported by native cron schedulers',
  '#': '`#` (nth weekday of the month) is not supported: Debian cron silently ignores `#N` and would run on every such weekday',
  H: '`H` (hashed value, Jenkins style) is not supported by native cron schedulers',
  '?': '`?` (Quartz "no value") is not supported: use `*`',
};

interface Token {
  readonly text: string;
  readonly offset: number;
}

function splitFields(expr: string): Token[] {
  const out: Token[] = [];
  const re = /[^ \t]+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(expr)) !== null) out.push({ text: m[0], offset: m.index });
  return out;
}

/** Parses one value (number or name) at `pos` inside a field; returns [value, endPos]. */
function parseValue(def: FieldDef, text: string, pos: number, base: number, allowNames: boolean): [number, number] {
  let end = pos;
  while (end < text.length && /[A-Za-z0-9]/.test(text[end]!)) end++;
  const word = text.slice(pos, end);
  if (word === '') {
    const ch = text[pos];
    fail('cron-syntax', ch === undefined
      ? `${def.name} field "${text}" ends where a value is expected`
      : `unexpected "${ch}" in ${def.name} field "${text}": expected a number${def.names && allowNames ? ' or name' : ''}`,
    base + pos, 1);
  }
  if (/^\d+$/.test(word)) {
    if (word.length > 4) fail('cron-range', `${def.name} value ${word} is out of range ${def.min}-${def.max}`, base + pos, word.length);
    return [Number(word), end];
  }
  if (def.names && allowNames) {
    const idx = def.names.indexOf(word.toUpperCase());
    if (idx >= 0) return [idx + (def.nameBase ?? 0), end];
  }
  if (/^(\d*L\d*|\d*W|LW|H)$/i.test(word)) {
    const at = word.search(/[LWH]/i);
    fail('cron-unsupported', UNSUPPORTED[word[at]!.toUpperCase()]!, base + pos + at, 1);
  }
  if (def.names && allowNames) {
    fail('cron-syntax', `"${word}" is not a ${def.name} name (expected one of ${def.names.join(' ')}, or a number)`, base + pos, word.length);
  }
  fail('cron-syntax', allowNames
    ? `"${word}" is not a number; names are allowed only in the month and day-of-week fields`
    : `step "${word}" must be a number`, base + pos, word.length);
}

function checkRange(def: FieldDef, v: number, offset: number, len: number): void {
  if (v < def.min || v > def.max) {
    fail('cron-range', `${def.name} value ${v} is out of range ${def.min}-${def.max}`, offset, len);
  }
}

/** Parses one field into a bit array over [def.min, def.max]. */
function parseField(def: FieldDef, tok: Token): Uint8Array {
  const bits = new Uint8Array(def.max + 1);
  const text = tok.text;
  const base = tok.offset;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '#' || ch === '?') fail('cron-unsupported', UNSUPPORTED[ch]!, base + i, 1);
  }
  let pos = 0;
  for (;;) {
    const itemStart = pos;
    let lo: number;
    let hi: number;
    let isRange = false;
    if (text[pos] === '*') {
      lo = def.min;
      hi = def.max;
      isRange = true;
      pos++;
    } else {
      const [a, endA] = parseValue(def, text, pos, base, true);
      checkRange(def, a, base + pos, endA - pos);
      lo = a;
      hi = a;
      pos = endA;
      if (text[pos] === '-') {
        const [b, endB] = parseValue(def, text, pos + 1, base, true);
        checkRange(def, b, base + pos + 1, endB - pos - 1);
        if (b < a) {
          fail('cron-range', `${def.name} range ${text.slice(itemStart, endB)} is reversed (start ${a} is after end ${b})`, base + itemStart, endB - itemStart);
        }
        hi = b;
        isRange = true;
        pos = endB;
      }
    }
    let step = 1;
    if (text[pos] === '/') {
      if (!isRange) {
        const item = text.slice(itemStart, pos);
        let end = pos + 1;
        while (end < text.length && text[end] !== ',') end++;
        fail('cron-syntax', `"${text.slice(itemStart, end)}": a step needs a range (write "${item}-${def.max}/n" or "*/n"); Debian cron reads "${item}/n" as just "${item}"`, base + itemStart, end - itemStart);
      }
      const [s, endS] = parseValue(def, text, pos + 1, base, false);
      const span = def.max - def.min + 1;
      if (s === 0) fail('cron-range', `step 0 in ${def.name} field: a step must be at least 1`, base + pos + 1, endS - pos - 1);
      if (s > span) fail('cron-range', `step ${s} in ${def.name} field is larger than the field's span (${span})`, base + pos + 1, endS - pos - 1);
      step = s;
      pos = endS;
    }
    for (let v = lo; v <= hi; v += step) bits[v] = 1;
    if (pos >= text.length) break;
    if (text[pos] === ',') {
      pos++;
      if (pos >= text.length) fail('cron-syntax', `${def.name} field "${text}" ends with ","`, base + pos - 1, 1);
      continue;
    }
    const ch = text[pos]!;
    fail('cron-syntax', `unexpected "${ch}" in ${def.name} field "${text}"`, base + pos, 1);
  }
  return bits;
}

function toList(bits: Uint8Array, from: number, to: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v++) if (bits[v]) out.push(v);
  return out;
}

function build(source: string, tokens: readonly Token[]): CronSpec {
  const parsed = tokens.map((t, i) => parseField(FIELDS[i]!, t));
  const [minuteBits, hourBits, domBits, monthBits, dowRaw] = parsed as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const dowBits = new Uint8Array(7);
  for (let d = 0; d <= 7; d++) if (dowRaw[d]) dowBits[d % 7] = 1;
  const f = tokens.map((t) => t.text) as [string, string, string, string, string];
  return {
    source,
    fields: f,
    minutes: toList(minuteBits, 0, 59),
    hours: toList(hourBits, 0, 23),
    daysOfMonth: toList(domBits, 1, 31),
    months: toList(monthBits, 1, 12),
    daysOfWeek: toList(dowBits, 0, 6),
    minuteBits,
    hourBits,
    domBits,
    monthBits,
    dowBits,
    domRestricted: f[2] !== '*',
    dowRestricted: f[4] !== '*',
    hourIsStar: f[1] === '*',
  };
}

/**
 * Parses a cron schedule (SPEC §2 `spec.schedule`). Never throws.
 * @example parseCron('*\/15 9-17 * * MON-FRI')
 */
export function parseCron(expr: string): CronParseResult {
  try {
    return { ok: true, value: parseOrThrow(expr) };
  } catch (e) {
    if (e instanceof Reject) return { ok: false, error: e.error };
    throw e;
  }
}

function parseOrThrow(expr: string): CronSpec {
  if (typeof expr !== 'string') fail('cron-syntax', 'schedule must be a string', 0, 1);
  const bad = /[^\x20-\x7e\t]/.exec(expr);
  if (bad) fail('cron-syntax', `unexpected character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} in schedule`, bad.index, 1);
  const tokens = splitFields(expr);
  if (tokens.length === 0) fail('cron-fields', 'schedule is empty: expected 5 fields (minute hour day-of-month month day-of-week)', 0, expr.length);
  const first = tokens[0]!;
  if (first.text.startsWith('@')) {
    if (first.text === '@reboot') {
      fail('cron-reboot', '@reboot is not supported: it runs at boot, not on a schedule, and has no equivalent in every scheduler', first.offset, first.text.length);
    }
    const expansion = MACROS[first.text];
    if (!expansion) {
      const lower = MACROS[first.text.toLowerCase()] !== undefined || first.text.toLowerCase() === '@reboot';
      fail('cron-syntax', lower
        ? `unknown macro "${first.text}": macros are lower case (${first.text.toLowerCase()})`
        : `unknown macro "${first.text}" (expected one of ${Object.keys(MACROS).join(' ')})`, first.offset, first.text.length);
    }
    if (tokens.length > 1) {
      const extra = tokens[1]!;
      fail('cron-fields', `a macro stands alone: unexpected "${extra.text}" after ${first.text}`, extra.offset, expr.trimEnd().length - extra.offset);
    }
    return build(first.text, splitFields(expansion));
  }
  if (tokens.length !== 5) {
    const last = tokens[tokens.length - 1]!;
    const whole = { offset: first.offset, length: last.offset + last.text.length - first.offset };
    if (tokens.length > 5) {
      const what = tokens.length === 6
        ? 'a seconds (or year) field is not supported'
        : 'seconds and year fields are not supported';
      fail('cron-fields', `schedule has ${tokens.length} fields: native cron takes exactly 5 (minute hour day-of-month month day-of-week); ${what}`, whole.offset, whole.length);
    }
    fail('cron-fields', `schedule has ${tokens.length} field${tokens.length === 1 ? '' : 's'}: expected 5 (minute hour day-of-month month day-of-week)`, whole.offset, whole.length);
  }
  return build(tokens.map((t) => t.text).join(' '), tokens);
}

/**
 * Does the calendar day (`month` 1-12, `day` 1-31, `dow` 0-6) match? Implements SPEC §2a
 * rule 1: when both day fields are restricted either may match, otherwise both must.
 */
export function dayMatches(spec: CronSpec, month: number, day: number, dow: number): boolean {
  if (!spec.monthBits[month]) return false;
  if (spec.domRestricted && spec.dowRestricted) return spec.domBits[day] === 1 || spec.dowBits[dow] === 1;
  return spec.domBits[day] === 1 && spec.dowBits[dow] === 1;
}
