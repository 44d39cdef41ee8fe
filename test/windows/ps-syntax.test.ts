/**
 * The checks on the Windows scripts that Linux CI can run (issue 13 item 4, issue 10 item 9):
 * every `.ps1` under `windows/` parses (tree-sitter-powershell, no ERROR or MISSING node), and
 * the C# under `windows/` compiles with mono's `mcs`: `.cs` files and the literal sources the
 * scripts pass to `Add-Type -TypeDefinition`. The folders are globbed, so new files are covered.
 * The negative cases prove each check can fail. See helpers/powershell.ts for what the grammar
 * rejects that PowerShell accepts, and the reverse.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Parser } from 'web-tree-sitter';
import { testTempDir } from '../system/tempdir.js';
import { compileCSharp, hasMcs } from './helpers/csharp.js';
import { addTypeSources, decodeScript, firstNonAscii, formatProblems, powerShellParser, syntaxProblems } from './helpers/powershell.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WINDOWS = join(ROOT, 'windows');

/** Files under `dir` (recursively) whose names end in `ext`, as sorted `/`-separated relative paths. */
function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => f.split('\\').join('/'))
    .filter((f) => f.toLowerCase().endsWith(ext))
    .sort();
}

const scripts = filesUnder(WINDOWS, '.ps1');
const csFiles = filesUnder(WINDOWS, '.cs');
if (!hasMcs) console.warn('ps-syntax.test.ts: mcs not found (Debian: apt-get install mono-mcs); C# compile checks skipped');

let parser: Parser;
beforeAll(async () => {
  parser = await powerShellParser();
});

/** Throws, naming file:line:col and the source line, unless the script parses with no ERROR or MISSING node. */
function assertParses(file: string, bytes: Uint8Array): void {
  const { text } = decodeScript(bytes);
  const problems = syntaxProblems(parser, text);
  if (problems.length > 0) throw new Error(`${file} does not parse:\n${formatProblems(file, text, problems)}`);
}

describe('windows/*.ps1 syntax (tree-sitter-powershell)', () => {
  it('windows/ holds at least one .ps1 script', () => {
    expect(scripts, `no .ps1 under ${WINDOWS}`).not.toEqual([]);
  });

  it.each(scripts)('windows/%s parses with no ERROR or MISSING node', (f) => {
    const bytes = readFileSync(join(WINDOWS, f));

    const parse = () => assertParses(`windows/${f}`, bytes);

    expect(parse).not.toThrow();
  });

  // Windows PowerShell 5.1 reads a script without a BOM in the ANSI code page, so a UTF-8 em dash
  // there becomes "â€”", whose last byte is a closing smart quote that ends a string early.
  it.each(scripts)('windows/%s is ASCII or has a BOM, so Windows PowerShell 5.1 reads what we parsed', (f) => {
    const { text, encoding } = decodeScript(readFileSync(join(WINDOWS, f)));

    const bad = encoding === 'no BOM' ? firstNonAscii(text) : null;

    expect(bad && `windows/${f}:${bad.line}:${bad.column}: non-ASCII ${JSON.stringify(bad.char)} in a file without a BOM (save as UTF-8 with BOM, or use ASCII)`).toBeNull();
  });
});

describe('the PowerShell syntax check fails on broken scripts', () => {
  // Each row: a valid script, and the same script broken one way. Both end in a statement, since
  // the grammar wants one after a param block. The column noted is where tree-sitter 0.26.4 puts it.
  const rows: { name: string; good: string; bad: string; want: { kind: 'ERROR' | 'MISSING'; line: number } }[] = [
    {
      name: 'unclosed function brace', // MISSING "}" at 4:21
      good: 'function Get-Greeting {\n  param([string]$Name)\n  "Hello, $Name"\n}\nGet-Greeting -Name x\n',
      bad: 'function Get-Greeting {\n  param([string]$Name)\n  "Hello, $Name"\nGet-Greeting -Name x\n',
      want: { kind: 'MISSING', line: 4 },
    },
    {
      name: 'unclosed if brace', // MISSING "}" at 2:20
      good: 'if ($Force) {\n  Remove-Item $Path\n}\n',
      bad: 'if ($Force) {\n  Remove-Item $Path\n',
      want: { kind: 'MISSING', line: 2 },
    },
    {
      name: 'stray closing brace', // ERROR at 2:1
      good: 'Write-Host "x"\n',
      bad: 'Write-Host "x"\n}\n',
      want: { kind: 'ERROR', line: 2 },
    },
    {
      name: 'unterminated double-quoted string', // ERROR from 1:1 (the statement) to the end of the file
      good: '$msg = "Installing cronsync"\nWrite-Host $msg\n',
      bad: '$msg = "Installing cronsync\nWrite-Host $msg\n',
      want: { kind: 'ERROR', line: 1 },
    },
    {
      name: 'unterminated single-quoted string', // ERROR at 1:7, and 2:7
      good: "$msg = 'Installing cronsync'\nWrite-Host $msg\n",
      bad: "$msg = 'Installing cronsync\nWrite-Host $msg\n",
      want: { kind: 'ERROR', line: 1 },
    },
    {
      name: 'unterminated here-string', // ERROR at 1:1
      good: "$cs = @'\nclass A {}\n'@\nAdd-Type -TypeDefinition $cs\n",
      bad: "$cs = @'\nclass A {}\nAdd-Type -TypeDefinition $cs\n",
      want: { kind: 'ERROR', line: 1 },
    },
    {
      name: 'here-string terminator not at the start of its line', // ERROR at 1:1
      good: "$cs = @'\nclass A {}\n'@\nAdd-Type -TypeDefinition $cs\n",
      bad: "$cs = @'\nclass A {}\n  '@\nAdd-Type -TypeDefinition $cs\n",
      want: { kind: 'ERROR', line: 1 },
    },
    {
      name: 'unclosed param( block', // ERROR at 1:1
      good: 'param(\n  [string]$Config = "C:\\ProgramData\\cronsync\\config.yaml",\n  [switch]$Purge\n)\nWrite-Host $Config\n',
      bad: 'param(\n  [string]$Config = "C:\\ProgramData\\cronsync\\config.yaml",\n  [switch]$Purge\n\nWrite-Host $Config\n',
      want: { kind: 'ERROR', line: 1 },
    },
    {
      name: 'param( with a trailing comma', // ERROR at 1:20
      good: 'param([string]$Name)\nWrite-Host $Name\n',
      bad: 'param([string]$Name,)\nWrite-Host $Name\n',
      want: { kind: 'ERROR', line: 1 },
    },
    {
      name: 'param( with no comma between parameters', // ERROR at 1:7
      good: 'param([string]$A, [int]$B)\nWrite-Host $A\n',
      bad: 'param([string]$A [int]$B)\nWrite-Host $A\n',
      want: { kind: 'ERROR', line: 1 },
    },
    {
      name: 'param( default with no value', // ERROR at 1:21
      good: 'param([string]$Name = "x")\nWrite-Host $Name\n',
      bad: 'param([string]$Name = )\nWrite-Host $Name\n',
      want: { kind: 'ERROR', line: 1 },
    },
    {
      name: 'param( attribute missing its )', // ERROR from 1:1 ([CmdletBinding()])
      good: '[CmdletBinding()]\nparam([Parameter(Mandatory)][string]$Name)\nWrite-Host $Name\n',
      bad: '[CmdletBinding()]\nparam([Parameter(Mandatory][string]$Name)\nWrite-Host $Name\n',
      want: { kind: 'ERROR', line: 1 },
    },
    {
      name: 'param( type missing its ]', // MISSING "]" at 1:14
      good: 'param([string] $Name)\nWrite-Host $Name\n',
      bad: 'param([string $Name)\nWrite-Host $Name\n',
      want: { kind: 'MISSING', line: 1 },
    },
  ];

  it.each(rows)('$name: the valid script parses, the broken one fails at its line', ({ good, bad, want }) => {
    const goodProblems = syntaxProblems(parser, good);
    const badProblems = syntaxProblems(parser, bad);

    expect(goodProblems).toEqual([]);
    expect(badProblems[0]).toMatchObject(want);
    expect(() => assertParses('bad.ps1', Buffer.from(bad))).toThrow(`bad.ps1:${want.line}:`);
  });

  it('the failure names file:line:col, the node and the source line with a caret', () => {
    const src = 'function Get-Greeting {\n  param([string]$Name)\n  "Hello, $Name"\nGet-Greeting -Name x\n';

    const message = (() => {
      try {
        assertParses('windows/broken.ps1', Buffer.from(src));
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();

    expect(message).toEqual([
      'windows/broken.ps1 does not parse:',
      'windows/broken.ps1:4:21: syntax error: missing "}" (tree-sitter MISSING node)',
      '    4 | Get-Greeting -Name x',
      '      |                     ^',
    ].join('\n'));
  });

  it('reads UTF-16LE and UTF-8 BOM files, and reports an error in them', () => {
    const bad = 'param([string]$Name,)\r\nWrite-Host $Name\r\n';
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(bad, 'utf16le')]);
    const utf8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(bad, 'utf8')]);

    const check = (b: Buffer) => () => assertParses('x.ps1', b);

    expect(decodeScript(utf16)).toEqual({ text: bad, encoding: 'utf-16le BOM' });
    expect(check(utf16)).toThrow('x.ps1:1:20:');
    expect(check(utf8)).toThrow('x.ps1:1:20:');
  });

  it('the encoding check flags non-ASCII only in a file without a BOM', () => {
    const text = "Write-Host 'ok'\nWrite-Host 'step 1 \u2014 install'\n";

    const bare = decodeScript(Buffer.from(text, 'utf8'));
    const bom = decodeScript(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]));

    expect(bare.encoding).toEqual('no BOM');
    expect(firstNonAscii(bare.text)).toEqual({ line: 2, column: 20, char: '\u2014' });
    expect(bom).toEqual({ text, encoding: 'utf-8 BOM' });
  });

  it.each(scripts)('a broken copy of windows/%s fails the check', (f) => {
    const dir = testTempDir('cronsync-ps-');
    const text = decodeScript(readFileSync(join(WINDOWS, f))).text;
    const copy = join(dir, 'broken.ps1');
    writeFileSync(copy, `${text.replace(/\s*$/, '\n')}if ($true) {\n  Write-Host 'never closed'\n`);
    const lastLine = text.replace(/\s*$/, '').split('\n').length + 2;

    const check = () => assertParses(copy, readFileSync(copy));

    expect(check).toThrow(`${copy}:${lastLine}:`);
  });
});

describe('windows C# sources (mcs)', () => {
  it.runIf(hasMcs)('every windows/**/*.cs compiles with mcs', { timeout: 60_000 }, (ctx) => {
    if (csFiles.length === 0) {
      const note = 'no .cs files under windows/ yet; the mcs compile check will cover them once added';
      console.info(`ps-syntax.test.ts: ${note}`);
      ctx.skip(note);
    }
    const paths = csFiles.map((f) => join(WINDOWS, f));

    const r = compileCSharp(paths, paths.map((p) => readFileSync(p, 'utf8')), testTempDir('cronsync-mcs-'), 'windows');

    expect(r.status, `${r.argv.join(' ')}\n${r.output}`).toBe(0);
  });

  it.runIf(hasMcs)('C# passed verbatim to Add-Type -TypeDefinition in windows/*.ps1 compiles with mcs', { timeout: 60_000 }, (ctx) => {
    const found = scripts.flatMap((f) => {
      const { sources, skipped } = addTypeSources(parser, decodeScript(readFileSync(join(WINDOWS, f))).text);
      for (const line of skipped) console.info(`ps-syntax.test.ts: windows/${f}:${line}: Add-Type source is not a literal string; not compiled`);
      return sources.map((s) => ({ where: `windows/${f}:${s.line}`, source: s.source }));
    });
    if (found.length === 0) ctx.skip('no literal Add-Type -TypeDefinition sources in windows/*.ps1');
    const dir = testTempDir('cronsync-addtype-');

    const failures = found.flatMap(({ where, source }, i) => {
      const file = join(dir, `addtype${i}.cs`);
      writeFileSync(file, source);
      const r = compileCSharp([file], [source], dir, `addtype${i}`);
      return r.status === 0 ? [] : [`${where} (source at line 1 of ${file}):\n${r.output}`];
    });

    expect(failures).toEqual([]);
  });

  it.runIf(hasMcs)('the compile check fails on a C# type error', { timeout: 60_000 }, () => {
    const dir = testTempDir('cronsync-mcs-');
    const file = join(dir, 'Broken.cs');
    const source = 'public static class Program {\n  public static int Main() { int x = "text"; return x; }\n}\n';
    writeFileSync(file, source);

    const r = compileCSharp([file], [source], dir, 'broken');

    expect(r.argv).toContain('-target:exe');
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/Broken\.cs\(2,\d+\): error CS0029/);
  });

  it.runIf(hasMcs)('the compile check rejects C# 6 features, which the .NET Framework csc.exe cannot compile', { timeout: 60_000 }, () => {
    const dir = testTempDir('cronsync-mcs-');
    const file = join(dir, 'Csharp6.cs');
    const source = 'public static class Util {\n  public static string Greet(string name) { return $"hello {name}"; }\n}\n';
    writeFileSync(file, source);

    const r = compileCSharp([file], [source], dir, 'csharp6');

    expect(r.argv).toContain('-target:library');
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/Csharp6\.cs\(2,\d+\): error CS1644: Feature `interpolated strings'/);
  });

  it('finds Add-Type sources by parameter, prefix and position, and skips expandable ones', async () => {
    const p = await powerShellParser();
    const src = [
      "Add-Type -TypeDefinition @'",
      'public class A {}',
      "'@",
      "Add-Type -TypeDef 'public class B {}' -PassThru",
      "Add-Type -Language CSharp @'",
      'public class C {}',
      "'@",
      'Add-Type -TypeDefinition "public class $Name {}"',
      'Add-Type -AssemblyName System.Windows.Forms',
    ].join('\n');

    const got = addTypeSources(p, src);

    expect(got).toEqual({
      sources: [
        { line: 1, source: 'public class A {}' },
        { line: 4, source: 'public class B {}' },
        { line: 5, source: 'public class C {}' },
      ],
      skipped: [8],
    });
  });
});
