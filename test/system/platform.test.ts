import { describe, expect, it } from 'vitest';
import { broadReader, createPosixPlatform, createWin32Platform, nodePlatform, parseIcacls, parseTasklistCsv, type ToolRunner } from '../../src/system/platform.js';

/** A ToolRunner that answers from a table and records every call. */
function fakeTools(answers: Record<string, { status: number | null; stdout: string }> = {}): ToolRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    runSync(file, args) {
      calls.push([file, ...args]);
      return answers[file] ?? { status: 1, stdout: '' };
    },
    start(file, args) {
      calls.push([file, ...args]);
    },
  };
}

// Format of `icacls <file>` as documented at
// https://learn.microsoft.com/windows-server/administration/windows-commands/icacls (Remarks: simple
// rights F, M, RX, R, W; specific rights in a comma list; inheritance flags (OI)(CI)(IO)(NP)(I)):
// the path, then one ACE per line (later lines indented to the path's width), then the summary.
const ICACLS_PUBLIC = [
  'C:\\ProgramData\\cronsync\\secrets.env NT AUTHORITY\\SYSTEM:(I)(F)',
  '                                      BUILTIN\\Administrators:(I)(F)',
  '                                      BUILTIN\\Users:(I)(RX)',
  '',
  'Successfully processed 1 files; Failed processing 0 files',
  '',
].join('\r\n');
const ICACLS_PRIVATE = [
  'C:\\ProgramData\\cronsync\\secrets.env NT AUTHORITY\\SYSTEM:(F)',
  '                                      BUILTIN\\Administrators:(F)',
  '                                      Everyone:(DENY)(R)',
  '                                      NT AUTHORITY\\Authenticated Users:(OI)(CI)(IO)(R)',
  '                                      BUILTIN\\Users:(S,WD)',
  '',
  'Successfully processed 1 files; Failed processing 0 files',
].join('\r\n');
const SECRETS = 'C:\\ProgramData\\cronsync\\secrets.env';

// Format of `tasklist /FI "PID eq n" /FO CSV /NH` as documented at
// https://learn.microsoft.com/windows-server/administration/windows-commands/tasklist (/fo csv,
// /nh: no header): "Image Name","PID","Session Name","Session#","Mem Usage"; an INFO line when no
// process matches the filter.
const TASKLIST_NODE = '"node.exe","4242","Services","0","45,312 K"\r\n';
const TASKLIST_OTHER = '"notepad.exe","4242","Console","1","12,004 K"\r\n';
const TASKLIST_NONE = 'INFO: No tasks are running which match the specified criteria.\r\n';

describe('system/platform', () => {
  it('is posix on this (Linux) host', () => {
    expect(nodePlatform.kind).toBe(process.platform === 'win32' ? 'win32' : 'posix');
  });

  describe('icacls', () => {
    it('parses every ACE with its principal and rights', () => {
      const entries = parseIcacls(ICACLS_PUBLIC, SECRETS);

      expect(entries).toEqual([
        { principal: 'NT AUTHORITY\\SYSTEM', rights: ['I', 'F'] },
        { principal: 'BUILTIN\\Administrators', rights: ['I', 'F'] },
        { principal: 'BUILTIN\\Users', rights: ['I', 'RX'] },
      ]);
    });

    it.each`
      name                                         | output             | want
      ${'Users with inherited read-and-execute'}   | ${ICACLS_PUBLIC}   | ${'BUILTIN\\Users'}
      ${'deny, inherit-only and non-read rights'}  | ${ICACLS_PRIVATE}  | ${null}
      ${'Everyone with full access'}               | ${`${SECRETS} Everyone:(F)\r\n`} | ${'Everyone'}
      ${'Authenticated Users with generic read'}   | ${`${SECRETS} NT AUTHORITY\\Authenticated Users:(GR)\r\n`} | ${'NT AUTHORITY\\Authenticated Users'}
      ${'Users with read data in a specific list'} | ${`${SECRETS} BUILTIN\\Users:(RD,RA)\r\n`} | ${'BUILTIN\\Users'}
    `('finds the broad reader: $name', ({ output, want }: { output: string; want: string | null }) => {
      expect(broadReader(parseIcacls(output, SECRETS))).toBe(want);
    });
  });

  it('parses tasklist CSV rows and the no-match INFO line', () => {
    expect(parseTasklistCsv(TASKLIST_NODE)).toEqual([{ image: 'node.exe', pid: 4242 }]);
    expect(parseTasklistCsv(TASKLIST_NONE)).toEqual([]);
  });

  describe('win32', () => {
    it('kills a tree gracefully first, then with /F', () => {
      const tools = fakeTools();
      const p = createWin32Platform({ tools });

      p.killTree(4242, 'SIGTERM');
      p.killTree(4242, 'SIGKILL');

      expect(tools.calls).toEqual([
        ['taskkill', '/PID', '4242', '/T'],
        ['taskkill', '/PID', '4242', '/T', '/F'],
      ]);
    });

    it('identifies itself without running a tool', () => {
      const tools = fakeTools();
      const p = createWin32Platform({ tools, selfImage: 'node.exe' });

      expect(p.processIdentity(process.pid)).toBe('node.exe');
      expect(tools.calls).toEqual([]);
    });

    it.each`
      name                                   | exists   | tasklist                                 | want
      ${'dead pid'}                          | ${false} | ${{ status: 0, stdout: TASKLIST_NONE }}  | ${false}
      ${'same image'}                        | ${true}  | ${{ status: 0, stdout: TASKLIST_NODE }}  | ${true}
      ${'pid reused by another image'}       | ${true}  | ${{ status: 0, stdout: TASKLIST_OTHER }} | ${false}
      ${'gone between the two checks'}       | ${true}  | ${{ status: 0, stdout: TASKLIST_NONE }}  | ${false}
      ${'tasklist failing counts as alive'}  | ${true}  | ${{ status: null, stdout: '' }}          | ${true}
    `('judges a lock holder: $name', ({ exists, tasklist, want }: { exists: boolean; tasklist: { status: number | null; stdout: string }; want: boolean }) => {
      const tools = fakeTools({ tasklist });
      const p = createWin32Platform({ tools, exists: () => exists });

      expect(p.isAlive(4242, 'NODE.EXE')).toBe(want);
    });

    it('judges a file private by its ACL, not its mode', () => {
      const open = createWin32Platform({ tools: fakeTools({ icacls: { status: 0, stdout: ICACLS_PUBLIC } }) });
      const closed = createWin32Platform({ tools: fakeTools({ icacls: { status: 0, stdout: ICACLS_PRIVATE } }) });
      const failing = createWin32Platform({ tools: fakeTools() });

      expect(open.publicReason(SECRETS, { mode: 0o600 })).toMatch(/^BUILTIN\\Users can read it/);
      expect(closed.publicReason(SECRETS, { mode: 0o666 })).toBeNull();
      expect(failing.publicReason(SECRETS, { mode: 0o600 })).toMatch(/icacls failed/);
    });
  });

  describe('posix', () => {
    it('signals the process group and reads the start time from /proc', () => {
      const kills: [number, NodeJS.Signals | 0][] = [];
      const stat = '4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10';
      const p = createPosixPlatform({ kill: (pid, sig) => void kills.push([pid, sig]), readFile: () => stat });

      p.killTree(4242, 'SIGTERM');

      expect(kills).toEqual([[-4242, 'SIGTERM']]);
      expect(p.processIdentity(4242)).toBe('987654');
      expect(p.isAlive(4242, '987654')).toBe(true);
      expect(p.isAlive(4242, '111')).toBe(false);
    });

    it('judges a file private by its mode bits', () => {
      const p = createPosixPlatform();

      expect(p.publicReason('/x', { mode: 0o100600 })).toBeNull();
      expect(p.publicReason('/x', { mode: 0o100640 })).toBe('it is accessible by group or others (mode 640); run chmod 600');
    });
  });
});
