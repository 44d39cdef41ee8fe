import { describe, expect, it } from 'vitest';
import { decodeAclFile, parseAclSave, parseSddlDacl, sddlBroadReader, sddlMask } from '../../src/system/win-acl.js';

// DACLs in SDDL, the format documented at
// https://learn.microsoft.com/windows/win32/secauthz/security-descriptor-string-format
// ("D:dacl_flags(string_ace1)(string_ace2)…", NO_ACCESS_CONTROL for a null DACL), each ACE as
// https://learn.microsoft.com/windows/win32/secauthz/ace-strings documents it
// ("ace_type;ace_flags;rights;object_guid;inherit_object_guid;account_sid", rights as codes
// FA/FR/GA/GR/… or a hex mask), and trustees as https://learn.microsoft.com/windows/win32/secauthz/sid-strings
// documents them (WD Everyone, BU Users, AU Authenticated Users, SY, BA, CO; or S-1-… strings).
/** A file under C:\ProgramData as Windows creates it: inherited SYSTEM, Administrators, Users read-and-execute (0x1200a9). */
const PROGRAMDATA_FILE = 'D:AI(A;ID;FA;;;SY)(A;ID;FA;;;BA)(A;ID;0x1200a9;;;BU)';
/** A directory made by makePrivateDir: protected, SYSTEM and Administrators, inherited by its contents. */
const PRIVATE_DIR = 'D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)';

describe('system/win-acl', () => {
  it.each`
    name                                                    | sddl                                                           | want
    ${'ProgramData file: Users read-and-execute (hex)'}     | ${PROGRAMDATA_FILE}                                            | ${'BUILTIN\\Users (S-1-5-32-545)'}
    ${'private directory'}                                  | ${PRIVATE_DIR}                                                 | ${null}
    ${'Users only in an inherit-only entry'}                | ${'D:PAI(A;OICI;FA;;;SY)(A;OICIIO;GR;;;BU)'}                   | ${null}
    ${'deny entries are not read rights'}                   | ${'D:P(D;;FA;;;WD)(A;;FA;;;SY)'}                               | ${null}
    ${'Users may only write (FW)'}                          | ${'D:P(A;;FW;;;BU)(A;;FA;;;SY)'}                               | ${null}
    ${'Users may only add files (ProgramData CIID entry)'}  | ${'D:AI(A;OICIID;FA;;;SY)(A;CIID;DCLCRPCR;;;BU)'}              | ${null}
    ${'Everyone with generic all'}                          | ${'D:P(A;;GA;;;WD)'}                                           | ${'Everyone (S-1-1-0)'}
    ${'Authenticated Users by SID, generic read mask'}      | ${'D:P(A;;0x80000000;;;S-1-5-11)'}                             | ${'NT AUTHORITY\\Authenticated Users (S-1-5-11)'}
    ${'Users with read data only (0x1)'}                    | ${'D:P(A;;0x1;;;S-1-5-32-545)'}                                | ${'BUILTIN\\Users (S-1-5-32-545)'}
    ${'Everyone with file read (FR)'}                       | ${'D:(A;;FR;;;WD)'}                                            | ${'Everyone (S-1-1-0)'}
    ${'owner and group before the DACL'}                    | ${'O:BAG:SYD:PAI(A;;FA;;;BU)'}                                 | ${'BUILTIN\\Users (S-1-5-32-545)'}
    ${'a conditional (callback) allow counts'}              | ${'D:(XA;;FR;;;WD;(Member_of {SID(BA)}))'}                     | ${'Everyone (S-1-1-0)'}
    ${'an unknown right code counts as read'}               | ${'D:(A;;ZZ;;;BU)'}                                            | ${'BUILTIN\\Users (S-1-5-32-545)'}
    ${'a null DACL lets everyone read'}                     | ${'D:NO_ACCESS_CONTROL'}                                       | ${'Everyone (S-1-1-0), through a null DACL'}
    ${'an empty protected DACL lets no one'}                | ${'D:P'}                                                       | ${null}
  `('finds the broad reader by SID: $name', ({ sddl, want }: { sddl: string; want: string | null }) => {
    expect(sddlBroadReader(sddl)).toBe(want);
  });

  it('parses ACEs, a conditional one included', () => {
    expect(parseSddlDacl('D:AI(A;ID;FA;;;SY)(XA;;FR;;;WD;(Member_of {SID(BA)}))(A;OICIIO;GA;;;CO)')).toEqual([
      { type: 'A', flags: 'ID', rights: 'FA', sid: 'SY' },
      { type: 'XA', flags: '', rights: 'FR', sid: 'WD' },
      { type: 'A', flags: 'OICIIO', rights: 'GA', sid: 'CO' },
    ]);
    expect(parseSddlDacl('D:NO_ACCESS_CONTROL')).toBeNull();
  });

  it.each`
    rights          | want
    ${'FA'}         | ${0x1f01ff}
    ${'0x1200a9'}   | ${0x1200a9}
    ${'1179817'}    | ${0x1200a9}
    ${'GRGX'}       | ${(0x80000000 | 0x20000000)}
    ${'XY'}         | ${null}
  `('reads the access mask $rights', ({ rights, want }: { rights: string; want: number | null }) => {
    expect(sddlMask(rights)).toBe(want);
  });

  // Microsoft documents what `icacls <name> /save <aclfile>` stores ("the DACLs for all matching
  // files", https://learn.microsoft.com/windows-server/administration/windows-commands/icacls)
  // but not the file's layout: one line with the object's name, then one with its DACL in SDDL,
  // CRLF, in UTF-16LE. windows/check.ps1 must confirm it on a real host.
  it('decodes a /save file in UTF-16LE, with or without a byte-order mark, and finds its SDDL lines', () => {
    const text = `secrets.env\r\n${PROGRAMDATA_FILE}\r\n`;
    const plain = Buffer.from(text, 'utf16le');
    const marked = Buffer.concat([Buffer.from([0xff, 0xfe]), plain]);

    expect(decodeAclFile(plain)).toBe(text);
    expect(decodeAclFile(marked)).toBe(text);
    expect(decodeAclFile(Buffer.from(text, 'utf8'))).toBe(text);
    expect(decodeAclFile(Buffer.from(`秘密.env\r\n${PRIVATE_DIR}\r\n`, 'utf16le'))).toBe(`秘密.env\r\n${PRIVATE_DIR}\r\n`);
    expect(parseAclSave(text)).toEqual([PROGRAMDATA_FILE]);
    expect(parseAclSave('Ordner\r\nO:BAD:P(A;;FA;;;SY)\r\n')).toEqual(['O:BAD:P(A;;FA;;;SY)']);
    expect(parseAclSave('')).toEqual([]);
  });
});
