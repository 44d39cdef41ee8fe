/**
 * Readers of Windows ACLs as the `icacls` tool prints or saves them: which broad principal
 * (Everyone, Users, Authenticated Users) may read a file or directory. Pure; the platform port
 * runs the tool. Two sources, best first:
 * - `icacls <path> /save <file>` writes the DACL in SDDL, which names principals by SID and so
 *   reads the same on every display language;
 * - `icacls <path>` prints the ACL with account names, which are localised: its reader matches
 *   the English names only, and is the fallback when /save fails.
 */

/** One ACE line of `icacls FILE`: who, and the rights in parentheses (`(I)(RX)`, `(DENY)(W)`, `(R,W)`). */
export interface IcaclsEntry {
  principal: string;
  rights: string[];
}

/**
 * Parses the output of `icacls <path>`: the first line starts with the path, later ACE lines
 * are indented, and a blank line precedes the "Successfully processed" summary. Pure.
 */
export function parseIcacls(output: string, path: string): IcaclsEntry[] {
  const out: IcaclsEntry[] = [];
  for (const [i, raw] of output.split(/\r?\n/).entries()) {
    const line = (i === 0 && raw.startsWith(path) ? raw.slice(path.length) : raw).trim();
    const m = /^(.+?):((?:\([^)]*\))+)$/.exec(line);
    if (!m) continue;
    const rights = [...(m[2] as string).matchAll(/\(([^)]*)\)/g)].flatMap((r) => (r[1] as string).split(','));
    out.push({ principal: m[1] as string, rights });
  }
  return out;
}

/** Principals that stand for "other users" (English names, as icacls prints them on an en-US host). */
const BROAD_NAMES = new Set(['everyone', 'builtin\\users', 'nt authority\\authenticated users']);
/** Rights that include reading the file's data: simple F, M, RX, R and specific GA, GR, RD, MA. */
const READ_NAMES = new Set(['F', 'M', 'RX', 'R', 'GA', 'GR', 'RD', 'MA']);

/** The broad principal that `icacls` output grants a read right to, or null. Pure. */
export function broadReader(entries: readonly IcaclsEntry[]): string | null {
  for (const e of entries) {
    if (!BROAD_NAMES.has(e.principal.toLowerCase()) || e.rights.includes('DENY') || e.rights.includes('IO')) continue;
    if (e.rights.some((r) => READ_NAMES.has(r))) return e.principal;
  }
  return null;
}

/**
 * The text of an `icacls /save` file: UTF-16LE (with or without a byte-order mark), or UTF-8
 * should a future icacls write that. Pure.
 */
export function decodeAclFile(data: Uint8Array): string {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) return buf.subarray(3).toString('utf8');
  // No mark: the SDDL line is ASCII, whose UTF-16LE high bytes are NULs (whatever the name's script).
  let nuls = 0;
  for (let i = 1; i < buf.length; i += 2) if (buf[i] === 0) nuls++;
  return nuls * 4 > buf.length ? buf.toString('utf16le') : buf.toString('utf8');
}

/**
 * The SDDL strings of an `icacls /save` file: each saved object is a line with its name, then a
 * line with its DACL (`D:PAI(A;OICI;FA;;;SY)…`). Empty when the text holds none. Pure.
 */
export function parseAclSave(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => /^[OGD]:/.test(l) && l.includes('D:'));
}

/** One ACE of an SDDL DACL: `ace_type;ace_flags;rights;object_guid;inherit_object_guid;account_sid`. */
export interface SddlAce {
  type: string;
  flags: string;
  rights: string;
  sid: string;
}

/** The DACL of an SDDL string: null for a null DACL (`D:NO_ACCESS_CONTROL`: everyone has every right). Pure. */
export function parseSddlDacl(sddl: string): SddlAce[] | null {
  const at = sddl.indexOf('D:');
  if (at < 0) return [];
  const aces: SddlAce[] = [];
  let i = at + 2;
  const flagsEnd = sddl.indexOf('(', i);
  const flags = sddl.slice(i, flagsEnd < 0 ? undefined : flagsEnd);
  if (/^[A-Z]*NO_ACCESS_CONTROL/.test(flags)) return null;
  if (flagsEnd < 0) return aces;
  i = flagsEnd;
  // ACEs follow one another; a conditional ACE nests parentheses in its last field.
  while (sddl[i] === '(') {
    let depth = 0;
    let j = i;
    for (; j < sddl.length; j++) {
      if (sddl[j] === '(') depth++;
      else if (sddl[j] === ')' && --depth === 0) break;
    }
    const [type = '', aceFlags = '', rights = '', , , sid = ''] = sddl.slice(i + 1, j).split(';');
    aces.push({ type, flags: aceFlags, rights, sid: sid.replace(/\(.*$/, '') });
    i = j + 1;
  }
  return aces;
}

/** Access-mask bits of the SDDL right codes (ACE Strings, "rights"). */
const RIGHT_BITS: Record<string, number> = {
  GA: 0x10000000, GR: 0x80000000, GW: 0x40000000, GX: 0x20000000,
  RC: 0x20000, SD: 0x10000, WD: 0x40000, WO: 0x80000,
  RP: 0x10, WP: 0x20, CC: 0x1, DC: 0x2, LC: 0x4, SW: 0x8, LO: 0x80, DT: 0x40, CR: 0x100,
  FA: 0x1f01ff, FR: 0x120089, FW: 0x120116, FX: 0x1200a0,
  KA: 0xf003f, KR: 0x20019, KW: 0x20006, KX: 0x20019,
};
/** FILE_READ_DATA (= FILE_LIST_DIRECTORY), MAXIMUM_ALLOWED, GENERIC_ALL, GENERIC_READ. */
const READ_BITS = 0x1 | 0x02000000 | 0x10000000 | 0x80000000;

/** The access mask of an SDDL rights field (hex, decimal, or two-letter codes); null for an unknown code. */
export function sddlMask(rights: string): number | null {
  if (/^0x[0-9a-f]+$/i.test(rights)) return Number.parseInt(rights.slice(2), 16);
  if (/^\d+$/.test(rights)) return Number(rights);
  let mask = 0;
  for (let i = 0; i < rights.length; i += 2) {
    const bits = RIGHT_BITS[rights.slice(i, i + 2).toUpperCase()];
    if (bits === undefined) return null;
    mask |= bits;
  }
  return mask;
}

/** The broad principals by SDDL alias and SID string, with the name a report shows. */
const BROAD_SIDS: Record<string, string> = {
  WD: 'Everyone (S-1-1-0)', 'S-1-1-0': 'Everyone (S-1-1-0)',
  BU: 'BUILTIN\\Users (S-1-5-32-545)', 'S-1-5-32-545': 'BUILTIN\\Users (S-1-5-32-545)',
  AU: 'NT AUTHORITY\\Authenticated Users (S-1-5-11)', 'S-1-5-11': 'NT AUTHORITY\\Authenticated Users (S-1-5-11)',
};
/** Allow ACE types: plain, object, callback, callback object. */
const ALLOW = new Set(['A', 'OA', 'XA', 'ZA']);

/**
 * The broad principal (named with its SID) that an SDDL DACL allows to read, or null. Deny ACEs
 * are not weighed against allows (a deny that hides an allow still reports it: safe side);
 * inherit-only ACEs do not apply to the object itself; an unknown right code counts as read.
 * Pure.
 */
export function sddlBroadReader(sddl: string): string | null {
  const aces = parseSddlDacl(sddl);
  if (aces === null) return 'Everyone (S-1-1-0), through a null DACL';
  for (const ace of aces) {
    const who = BROAD_SIDS[ace.sid.toUpperCase()];
    if (who === undefined || !ALLOW.has(ace.type.toUpperCase())) continue;
    if (/^(?:..)*?IO/i.test(ace.flags)) continue;
    const mask = sddlMask(ace.rights);
    if (mask === null || (mask & READ_BITS) !== 0) return who;
  }
  return null;
}
