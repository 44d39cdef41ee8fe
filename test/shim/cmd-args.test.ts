/**
 * Args of a Windows job reach its program whole through cmd.exe (src/shim/command.ts), checked
 * on a simulator of cmd.exe's documented parsing (test/fakes/CmdExe.ts). The simulator is
 * checked first against the examples of the documents it follows. cmd.exe itself does not run
 * here: windows/check-args.mjs (run by windows/check.ps1) checks the same cases on a real host;
 * here it runs with the simulator in cmd.exe's place.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteWindowsArg, shellCommand } from '../../src/shim/command.js';
import { splitArgs } from '../../src/scheduler/windows/quote.js';
import { caretPass, percentExpand, runCmd } from '../fakes/CmdExe.js';
import { ARG_CASES, ARG_ENV } from '../../windows/check-args.mjs';

const ENV = { PATH: 'C:\\Windows\\system32;C:\\Windows', Userprofile: 'C:\\Users\\me', ...ARG_ENV };

describe('fakes/CmdExe against the documented examples', () => {
  it('CommandLineToArgvW: Microsoft\'s table of backslashes and quotes', () => {
    expect(splitArgs('"abc" d e')).toEqual(['abc', 'd', 'e']);
    expect(splitArgs('a\\\\\\b d"e f"g h')).toEqual(['a\\\\\\b', 'de fg', 'h']);
    expect(splitArgs('a\\\\\\"b c d')).toEqual(['a\\"b', 'c', 'd']);
    expect(splitArgs('a\\\\\\\\"b c" d e')).toEqual(['a\\\\b c', 'd', 'e']);
  });

  it('percent expansion: set /? examples, and undefined names left as they are (command-line context)', () => {
    const env = { PATH: 'C:\\Windows\\system32;C:\\Windows' };
    expect(percentExpand('%PATH%', env)).toBe(env.PATH);
    expect(percentExpand('%path:~10,5%', env)).toBe(env.PATH.slice(10, 15));
    expect(percentExpand('%PATH:~-10%', env)).toBe(env.PATH.slice(-10));
    expect(percentExpand('%PATH:~0,-2%', env)).toBe(env.PATH.slice(0, -2));
    expect(percentExpand('%PATH:system32=bin%', env)).toBe('C:\\Windows\\bin;C:\\Windows');
    expect(percentExpand('%PATH:*;=%', env)).toBe('C:\\Windows');
    expect(percentExpand('%NOPE% and %NOPE:a=b% 50%', env)).toBe('%NOPE% and %NOPE:a=b% 50%');
  });

  it('carets escape outside quotes only; an unescaped operator outside quotes splits the line', () => {
    expect(caretPass('echo a^&b')).toEqual({ line: 'echo a&b' });
    expect(caretPass('echo "a^&b"')).toEqual({ line: 'echo "a^&b"' });
    expect(caretPass('echo a&b')).toEqual({ operator: '&' });
    expect(caretPass('echo "a&b"')).toEqual({ line: 'echo "a&b"' });
    expect(runCmd(['/d', '/v:off', '/s', '/c', '"prog %X% "%A%""'], ENV)).toEqual({ argv: ['xx', 'a'] });
    // /s strips a leading quote and the last one only.
    expect(runCmd(['/d', '/v:off', '/s', '/c', 'prog "a" "b"'], ENV)).toEqual({ argv: ['a', 'b'] });
    expect(runCmd(['/d', '/v:off', '/s', '/c', '""C:\\My Tools\\prog.exe" "a b""'], ENV)).toEqual({ argv: ['a b'] });
    // The two readings of where the scan resumes after an undefined name differ.
    expect(percentExpand('%NOPE%A%X%', { A: 'a' }, 'reuse')).toBe('%NOPEaX%');
    expect(percentExpand('%NOPE%A%X%', { A: 'a' }, 'consume')).toBe('%NOPE%A%X%');
  });
});

describe('shim/command: Windows args through cmd.exe', () => {
  const deliver = (args: string[], resume: 'reuse' | 'consume', program = 'prog'): unknown => runCmd(shellCommand(program, args, 'win32').args, ENV, resume);

  it.each(ARG_CASES.map((a) => [JSON.stringify(a), a] as const))('%s arrives whole, whichever way cmd.exe resumes its percent scan', (_, arg) => {
    expect(deliver([arg], 'reuse')).toEqual({ argv: [arg] });
    expect(deliver([arg], 'consume')).toEqual({ argv: [arg] });
    // As windows/check-args.mjs runs them: a quoted program path, and a quoted script.
    expect(deliver(['first', arg, 'last'], 'reuse', '"C:\\Program Files\\nodejs\\node.exe" "C:\\Temp\\argv.js"')).toEqual({ argv: ['C:\\Temp\\argv.js', 'first', arg, 'last'] });
  });

  it('random args over cmd.exe\'s special characters and defined names arrive whole (2,000 cases)', () => {
    // Single characters, and the starts of the percent forms of defined names.
    const alphabet = ['%X:', '%A:', '%PATH:~', '%X%', '%', '%', '^', '"', '\\', '!', '&', '|', '<', '>', '(', ')', ' ', ':', '=', '~', ',', '-', '*', 'P', 'A', 'T', 'H', 'X', 'x', 'a', '1', ';', '?', '`'];
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const failures: string[][] = [];
    for (let i = 0; i < 2000; i++) {
      const args = Array.from({ length: 1 + rand(3) }, () => Array.from({ length: rand(12) }, () => alphabet[rand(alphabet.length)]).join(''));
      for (const resume of ['reuse', 'consume'] as const) {
        const got = deliver(args, resume) as { argv?: string[] };
        if (JSON.stringify(got.argv) !== JSON.stringify(args)) failures.push(args);
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
  });

  it('every % is followed by a caret-escaped character, so no variable name can start after it', () => {
    expect(quoteWindowsArg('%PATH:~0,1%')).toBe('^"^%^PATH:~0^,1^%^"');
    expect(quoteWindowsArg('%X%')).toBe('^"^%^X^%^"');
    expect(quoteWindowsArg('50%')).toBe('^"50^%^"');
  });
});

describe('windows/check-args.mjs, the real-host check, run against the simulator in cmd.exe\'s place', () => {
  let work: string;
  let fakeCmd: string;
  const root = fileURLToPath(new URL('../..', import.meta.url));

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'cronsync-check-args-'));
    const bundle = join(work, 'fake-cmd.mjs');
    // cmd.exe as the simulator reads its arguments; FAKE_CMD_MANGLE drops the program's last argument.
    buildSync({
      stdin: {
        contents: `import { spawnSync } from 'node:child_process';
import { launchCmd } from './test/fakes/CmdExe.ts';
const r = launchCmd(process.argv.slice(2), process.env);
if (r.operator !== undefined) { process.stderr.write('operator ' + r.operator + '\\n'); process.exit(9); }
const argv = process.env.FAKE_CMD_MANGLE ? r.argv.slice(0, -1) : r.argv;
const c = spawnSync(r.program, argv, { stdio: 'inherit' });
process.exit(c.status ?? 1);
`,
        resolveDir: root, loader: 'ts',
      },
      bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'error',
    });
    fakeCmd = join(work, 'cmd');
    writeFileSync(fakeCmd, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bundle)} "$@"\n`, { mode: 0o755 });
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const check = (env: NodeJS.ProcessEnv): { status: number | null; stdout: string } =>
    spawnSync(process.execPath, [join(root, 'windows', 'check-args.mjs')], { env: { PATH: process.env.PATH, CHECK_ARGS_CMD: fakeCmd, ...env }, encoding: 'utf8' });

  it.skipIf(process.platform === 'win32')('passes every case through the simulator, and fails when the program does not get its args whole', { timeout: 60_000 }, () => {
    const good = check({});
    const mangled = check({ FAKE_CMD_MANGLE: '1' });

    expect(good.stdout.trim().split('\n').at(-1)).toBe(`PASS  all ${ARG_CASES.length} args arrived whole`);
    expect(good.status).toBe(0);
    expect(mangled.stdout.trim().split('\n').at(-1)).toBe(`FAIL  ${ARG_CASES.length} of ${ARG_CASES.length} args changed on the way`);
    expect(mangled.status).toBe(1);
  });
});
