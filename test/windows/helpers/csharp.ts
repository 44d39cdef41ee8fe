/**
 * Compiling the Windows C# sources on Linux with mono's `mcs` (issue 13 item 4; Debian packages
 * `mono-mcs`, plus `libmono-system-serviceprocess4.0-cil` for System.ServiceProcess).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Whether `mcs` runs here. */
export const hasMcs = spawnSync('mcs', ['--version'], { stdio: 'ignore' }).status === 0;

/** Assemblies outside mcs's defaults, referenced when a source names their namespace. */
const REFERENCES: readonly (readonly [RegExp, string])[] = [
  [/\bSystem\.ServiceProcess\b/, 'System.ServiceProcess.dll'],
  [/\bSystem\.Configuration\.Install\b/, 'System.Configuration.Install.dll'],
  [/\bSystem\.Management\b(?!\.Automation)/, 'System.Management.dll'],
];

/** An `mcs` run: its exit status and everything it printed, with a hint for a missing assembly. */
export interface McsResult {
  status: number | null;
  argv: string[];
  output: string;
}

/**
 * Compiles `files` (with their `texts`) into one assembly in `outDir`: an exe when exactly one of
 * them declares a `static … Main(`, else a library. The language is C# 5, the most that Windows
 * can compile with nothing installed: the .NET Framework's csc.exe (v4.0.30319), which Windows
 * PowerShell 5.1's Add-Type also uses.
 */
export function compileCSharp(files: readonly string[], texts: readonly string[], outDir: string, name = 'out'): McsResult {
  const all = texts.join('\n');
  const mains = texts.filter((t) => /\bstatic\s+(?:async\s+)?(?:void|int|Task(?:<int>)?)\s+Main\s*\(/.test(t)).length;
  const target = mains === 1 ? 'exe' : 'library';
  const refs = REFERENCES.filter(([re]) => re.test(all)).map(([, dll]) => `-r:${dll}`);
  const argv = ['mcs', '-langversion:5', `-target:${target}`, `-out:${join(outDir, `${name}.${target === 'exe' ? 'exe' : 'dll'}`)}`, ...refs, ...files];
  const r = spawnSync(argv[0] ?? 'mcs', argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
  let output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
  if (/\bCS0006\b/.test(output)) {
    output += '\nhint: a referenced assembly is not installed (Debian: libmono-system-serviceprocess4.0-cil for System.ServiceProcess).';
  }
  return { status: r.status, argv, output };
}
