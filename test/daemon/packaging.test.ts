/**
 * Static checks of the Windows scripts, the service host and the example configs. pwsh is not
 * packaged by Debian and cannot be downloaded here, so the PowerShell scripts are not executed:
 * they are checked for balanced brackets (outside strings and comments) and for the paths and
 * steps they promise, the install's ownership and ACL steps on the tree-sitter-powershell parse
 * (commands in source order, function bodies). What they do on Windows is confirmed by
 * windows/check.ps1 on a real host.
 */
import { testTempDir } from '../system/tempdir.js';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Node } from 'web-tree-sitter';
import { loadConfig } from '../../src/config/load.js';
import { PRIVATE_DIR_GRANTS } from '../../src/system/platform.js';
import { formatProblems, powerShellParser, syntaxProblems } from '../windows/helpers/powershell.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const TASK_NS = 'http://schemas.microsoft.com/windows/2004/02/mit/task';
const SCRIPTS = ['windows/install.ps1', 'windows/uninstall.ps1', 'windows/check.ps1', 'windows/check-service.ps1'];

/** Bracket balance of PowerShell code, skipping comments, <# #> blocks and quoted strings. */
export function psBracketProblems(src: string): string[] {
  const stack: { ch: string; line: number }[] = [];
  const problems: string[] = [];
  const pairs: Record<string, string> = { ')': '(', '}': '{', ']': '[' };
  let line = 1;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (c === '\n') line++;
    else if (c === '<' && src[i + 1] === '#') {
      const end = src.indexOf('#>', i + 2);
      if (end < 0) return [`unterminated <# at line ${line}`];
      line += src.slice(i, end).split('\n').length - 1;
      i = end + 1;
    } else if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      i--;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      for (; j < src.length; j++) {
        if (c === '"' && src[j] === '`') j++;
        else if (src[j] === c && src[j + 1] === c) j++;
        else if (src[j] === c) break;
      }
      if (j >= src.length) return [`unterminated string at line ${line}`];
      line += src.slice(i, j).split('\n').length - 1;
      i = j;
    } else if (c === '`') i++;
    else if ('({['.includes(c)) stack.push({ ch: c, line });
    else if (c in pairs) {
      const open = stack.pop();
      if (open?.ch !== pairs[c]) problems.push(`unbalanced ${c} at line ${line}`);
    }
  }
  return [...problems, ...stack.map((s) => `unclosed ${s.ch} from line ${s.line}`)];
}

/** One command of a script: its name (`$Icacls` for `& $Icacls …`), its arguments as written, where it starts, and the function it is in (null: the script's body). */
interface PsCommand {
  name: string;
  args: string[];
  at: number;
  fn: string | null;
}

/** A script parsed by tree-sitter-powershell: its text, its commands in source order, the text of each function by lower-cased name. */
interface PsScript {
  src: string;
  commands: PsCommand[];
  functions: Map<string, string>;
}

const functionName = (n: Node): string | null => n.children.find((c) => c.type === 'function_name')?.text ?? null;

/** Parses `file`, failing on any ERROR or MISSING node, so that a syntax error fails these tests too. */
async function parseScript(file: string): Promise<PsScript> {
  const src = read(file);
  const parser = await powerShellParser();
  const problems = syntaxProblems(parser, src);
  if (problems.length > 0) throw new Error(`${file} does not parse:\n${formatProblems(file, src, problems)}`);
  const tree = parser.parse(src);
  if (!tree) throw new Error('tree-sitter returned no tree');
  try {
    const commands: PsCommand[] = [];
    for (const c of tree.rootNode.descendantsOfType('command')) {
      if (!c) continue;
      let fn: Node | null = c.parent;
      while (fn && fn.type !== 'function_statement') fn = fn.parent;
      const args = (c.childForFieldName('command_elements')?.children ?? []).filter((e) => e.type !== 'command_argument_sep').map((e) => e.text);
      commands.push({ name: c.childForFieldName('command_name')?.text ?? '', args, at: c.startIndex, fn: fn ? functionName(fn) : null });
    }
    const functions = new Map<string, string>();
    for (const f of tree.rootNode.descendantsOfType('function_statement')) {
      const name = f && functionName(f);
      if (f && name) functions.set(name.toLowerCase(), f.text);
    }
    return { src, commands, functions };
  } finally {
    tree.delete();
  }
}

/** The body of function `name` (fails the test when the script has none). */
function fnText(s: PsScript, name: string): string {
  const text = s.functions.get(name.toLowerCase());
  expect(text, `function ${name}`).toBeDefined();
  return text ?? '';
}

/** Commands of the script's body (not inside a function) named `name`, with exactly `args` when given. */
function topCalls(s: PsScript, name: string, args?: string[]): PsCommand[] {
  return s.commands.filter((c) => c.fn === null && c.name.toLowerCase() === name.toLowerCase() && (!args || JSON.stringify(c.args) === JSON.stringify(args)));
}

/** Where the first (or last) top-level `name args` starts; fails the test when there is none. */
function at(s: PsScript, name: string, args?: string[], which: 'first' | 'last' = 'first'): number {
  const found = topCalls(s, name, args);
  expect(found.length, `${name} ${args?.join(' ') ?? ''} in the script's body`).toBeGreaterThan(0);
  return (which === 'first' ? found[0] : found[found.length - 1])?.at ?? -1;
}

/** The script's top-level `$Name = 'literal'` assignments. */
function stringVars(src: string): Map<string, string> {
  return new Map([...src.matchAll(/^\$(\w+) = '([^']*)'\r?$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

/** `$A, $B` (or `@($A, $B)`'s inside) resolved through `vars`. */
function resolveList(list: string, vars: Map<string, string>): string[] {
  return list.split(',').map((v) => {
    const name = v.trim().replace(/^\$/, '');
    expect(vars.has(name), `$${name} is a string literal`).toBe(true);
    return vars.get(name) ?? '';
  });
}

/** The value of `$name = 0x.. -bor 0x.. …` in `text`. */
function maskOf(text: string, name: string): number {
  const m = new RegExp(`\\$${name} = ((?:0x[0-9A-Fa-f]+)(?: -bor 0x[0-9A-Fa-f]+)*)\\r?\\n`).exec(text);
  expect(m, `$${name} = 0x… -bor …`).not.toBeNull();
  return (m?.[1] ?? '').split(' -bor ').reduce((a, h) => a | Number.parseInt(h, 16), 0) >>> 0;
}

const SYSTEM = 'S-1-5-18';
const ADMINS = 'S-1-5-32-544';
const USERS = 'S-1-5-32-545';
const TRUSTED_INSTALLER = 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464';
/** System.Security.AccessControl.FileSystemRights values, and the generic rights. */
const RIGHTS = {
  WriteData: 0x2, AppendData: 0x4, WriteExtendedAttributes: 0x10, DeleteSubdirectoriesAndFiles: 0x40, WriteAttributes: 0x100,
  Delete: 0x10000, ChangePermissions: 0x40000, TakeOwnership: 0x80000, GenericAll: 0x10000000, GenericWrite: 0x40000000,
};

describe('packaging: windows scripts (static: pwsh unavailable)', () => {
  it.each(SCRIPTS)('%s has balanced brackets, strict mode and stop-on-error', (file) => {
    const src = read(file);

    expect(psBracketProblems(src)).toEqual([]);
    expect(src).toContain('Set-StrictMode -Version Latest');
    expect(src).toContain("$ErrorActionPreference = 'Stop'");
  });

  it('the bracket checker catches broken code (not vacuous)', () => {
    expect(psBracketProblems('if ($a) { Write-Host "}" ')).toEqual(['unclosed { from line 1']);
    expect(psBracketProblems("$x = 'it''s' ; foo)")).toEqual(['unbalanced ) at line 1']);
    expect(psBracketProblems('<# ( #> # {\n"`"("')).toEqual([]);
  });

  it.each(SCRIPTS)('%s runs Windows\' own tools by their full path, never by a name PATH could shadow', (file) => {
    const src = read(file);
    const calls = [...src.matchAll(/^[^#\n]*&\s*([A-Za-z]+\.exe)\b/gm)].map((m) => m[1]);
    expect(calls).toEqual([]);
    for (const tool of ['sc', 'icacls']) {
      if (new RegExp(`& \\$${tool[0]!.toUpperCase()}${tool.slice(1)} `).test(src)) expect(src).toContain(`$${tool[0]!.toUpperCase()}${tool.slice(1)} = Join-Path $SystemDir '${tool}.exe'`);
    }
    if (/\$SystemDir\b/.test(src)) expect(src).toContain('$SystemDir = [Environment]::SystemDirectory');
  });

  it.each(SCRIPTS)('%s downloads nothing', (file) => {
    // The Task Scheduler XML namespace is a name, not an address anything fetches; a loopback
    // URL is the check-in receiver of check-service.ps1, on this host.
    expect(read(file).replaceAll(TASK_NS, '').replaceAll("'http://127.0.0.1:'", '')).not.toMatch(/Invoke-WebRequest|Invoke-RestMethod|DownloadFile|Start-BitsTransfer|\bcurl\b|\bwget\b|https?:\/\//i);
  });

  it('install.ps1 compiles the service host with the .NET Framework csc.exe and registers the service cronsync', () => {
    const src = read('windows/install.ps1');

    expect(src).toContain("$ServiceName = 'cronsync'");
    expect(src).toContain("$DataDir = Join-Path $env:ProgramData 'cronsync'");
    expect(src).toContain("$ConfigFile = Join-Path $DataDir 'config.yaml'");
    // Compiled at install time from the shipped source, with the compiler Windows ships.
    expect(src).toContain("Join-Path $staging 'windows\\service\\CronsyncService.cs'");
    expect(src).toContain('Microsoft.NET\\$fw\\v4.0.30319\\csc.exe');
    expect(src).toMatch(/& \$csc \/nologo \/target:exe [^\n]*\/reference:System\.ServiceProcess\.dll "\/out:\$stagedExe" \$hostSource/);
    // Automatic start as LocalSystem (New-Service's default account), the daemon's paths on its command line.
    expect(src).toContain('New-Service -Name $ServiceName -BinaryPathName $binPath');
    expect(src).toContain('-StartupType Automatic');
    expect(src).not.toMatch(/New-Service[^\n]*-Credential/);
    for (const opt of ['--node', '--main', '--config', '--log-dir']) expect(src).toMatch(new RegExp(`\\$binPath = .*'?" ${opt} "`));
    expect(src).toContain("Join-Path $InstallDir 'dist\\cli\\main.js'");
    // Recovery: restart on failure.
    expect(src).toContain('& $Sc failure $ServiceName reset= 86400 actions= restart/5000/restart/5000/restart/60000');
    expect(src).toContain('& $Sc failureflag $ServiceName 1');
    expect(src).toContain("[Diagnostics.EventLog]::CreateEventSource($ServiceName, 'Application')");
    // The data and state dirs' ACLs: see the describe block on %ProgramData%\\cronsync below.
    expect(src).toContain("'windows\\config.example.yaml'");
    expect(src).toMatch(/if \(-not \$hadConfig\)/);
  });

  it('install.ps1 upgrades in place: compile first, then stop the service, swap the package, start again', () => {
    const src = read('windows/install.ps1');
    const at = (s: string) => {
      const i = src.indexOf(s);
      expect(i, s).toBeGreaterThan(0);
      return i;
    };

    const compile = at('& $csc ');
    const keepConfig = at('if (-not $hadConfig)');
    const stop = at('Stop-Service -Name $ServiceName');
    const swap = at('Move-Item -LiteralPath $staging -Destination $InstallDir');
    const update = at("-MethodName Change -Arguments @{ PathName = $binPath");
    const start = at('Start-Service -Name $ServiceName');

    expect(compile).toBeLessThan(stop);
    expect(keepConfig).toBeLessThan(stop);
    expect(stop).toBeLessThan(swap);
    expect(swap).toBeLessThan(update);
    expect(update).toBeLessThan(start);
    expect(src).toContain('if (-not $NoStart -and ($wasRunning -or ($null -eq $existing -and $hadConfig))) {');
    // Config and state are never removed or overwritten by an install.
    expect(src).not.toMatch(/Remove-Item[^\n]*\$(DataDir|StateDir|ConfigFile)/);
  });

  it('the service host runs the daemon with the ProgramData config and --stop-on-stdin-eof, and stops it by closing stdin', () => {
    const cs = read('windows/service/CronsyncService.cs');

    expect(cs).toContain('public const string Name = "cronsync";');
    expect(cs).toContain('" daemon --config " + Quote(config) + " --stop-on-stdin-eof"');
    expect(cs).toContain('Path.Combine(programData, "cronsync\\\\config.yaml")');
    expect(cs).toContain('psi.RedirectStandardInput = true;');
    expect(cs).toContain('child.StandardInput.Close();');
    expect(cs).toContain("try { RequestAdditionalTime(ms); }");
    expect(cs).toContain('const int StopWaitMs = 30000;');
    expect(cs).toContain('"/PID " + pid + " /T /F"');
    expect(cs).toContain('Environment.Exit(1);');
    expect(cs).toContain('const long MaxLogBytes = 10L * 1024 * 1024;');
    expect(cs).toContain('System.Diagnostics.EventLog.WriteEntry(Name, msg, type, id);');
  });

  it('uninstall.ps1 stops the service, prunes the job tasks, then deletes the service and the package; -Purge alone removes data', () => {
    const src = read('windows/uninstall.ps1');
    const at = (s: string) => {
      const i = src.indexOf(s);
      expect(i, s).toBeGreaterThan(0);
      return i;
    };

    const stop = at('Stop-Service -Name $ServiceName');
    const prune = at('& $Node $main prune --all --force --config $ConfigFile');
    const remove = at('& $Sc delete $ServiceName');
    const removePkg = at('Remove-Item -LiteralPath $InstallDir');
    const purge = at('if ($Purge) {');
    const removeData = at('Remove-Item -LiteralPath $DataDir');

    expect(stop).toBeLessThan(prune);
    expect(prune).toBeLessThan(remove);
    expect(prune).toBeLessThan(removePkg);
    expect(purge).toBeLessThan(removeData);
    expect(src.indexOf('Remove-Item -LiteralPath $DataDir', removeData + 1)).toBe(-1);
    expect(src).toContain("$JobTaskFolder = '\\cronsync\\'");
    expect(src).toMatch(/if \(\$LASTEXITCODE -ne 0\) \{[^}]*Start-Service -Name \$ServiceName/s);
  });

  it('check.ps1 runs check-service.ps1 (unless -SkipService), which prints PASS or FAIL per step and always uninstalls', () => {
    const check = read('windows/check.ps1');
    const svc = read('windows/check-service.ps1');

    expect(check).toMatch(/if \(-not \$SkipService\) \{\s*& \(Join-Path \$PSScriptRoot 'check-service\.ps1'\)/);
    expect(svc).toContain('Write-Host "PASS  $Name"');
    expect(svc).toContain('Write-Host "FAIL  $Name $Detail"');
    for (const step of ['install.ps1', 'Start-Service -Name $ServiceName', 'hello-every-minute', 'Stop-Process -Id $before.ProcessId', 'Stop-Service -Name $ServiceName']) expect(svc).toContain(step);
    expect(svc).toMatch(/\} finally \{[\s\S]*uninstall\.ps1'\) -InstallDir \$InstallDir -Node \$Node -Purge/);
  });
});

describe("packaging: install.ps1 and someone else's %ProgramData%\\cronsync (static, on the parse)", () => {
  // Any user may create a folder under C:\ProgramData and owns it; the service runs as SYSTEM
  // with the config.yaml it finds there. install.ps1 must refuse such a directory before it keeps
  // a config, and then replace its ACL wholesale: icacls /grant:r and /remove:g leave other
  // explicit entries and the owner in place.

  it('install.ps1 trusts only SYSTEM, Administrators and TrustedInstaller as owners, read by SID', async () => {
    const s = await parseScript('windows/install.ps1');
    const vars = stringVars(s.src);
    const owners = /^\$TrustedOwners = @\(([^)]*)\)\r?$/m.exec(s.src);

    expect(vars.get('SystemSid')).toBe(SYSTEM);
    expect(vars.get('AdminsSid')).toBe(ADMINS);
    expect(vars.get('UsersSid')).toBe(USERS);
    expect(vars.get('TrustedInstallerSid')).toBe(TRUSTED_INSTALLER);
    expect(owners, '$TrustedOwners = @(...)').not.toBeNull();
    expect(resolveList(owners?.[1] ?? '', vars).sort()).toEqual([ADMINS, SYSTEM, TRUSTED_INSTALLER].sort());
    // The owner as a SID (any display language), not .Owner's translated name.
    expect(fnText(s, 'Get-OwnerSid')).toContain('(Get-Acl -LiteralPath $Path).GetOwner([System.Security.Principal.SecurityIdentifier])');
    const find = fnText(s, 'Find-UntrustedItem');
    expect(find).toMatch(/\[ValidateSet\('All', 'Links', 'Top'\)\]\[string\]\$Scope = 'All'/);
    expect(s.commands.some((c) => c.fn === 'Find-UntrustedItem' && c.name === 'Get-OwnerSid')).toBe(true);
    expect(find).toContain('if ($TrustedOwners -notcontains $owner) { return "$where is owned by $(Format-Sid $owner)" }');
    // Links are refused before anything follows them, and every item under the directory is visited.
    expect(find).toContain('if (($item.Attributes -band [System.IO.FileAttributes]::ReparsePoint) -ne 0) {');
    expect(find).toContain('foreach ($child in @(Get-ChildItem -LiteralPath $where -Force)) { [void]$items.Add($child) }');
    expect(find).toMatch(/\} catch \{\s*return "\$where cannot be checked/);
  });

  it('install.ps1 refuses a %ProgramData%\\cronsync that anyone else owns, before it stages, locks or keeps anything', async () => {
    const s = await parseScript('windows/install.ps1');
    const assertFn = fnText(s, 'Assert-TrustedDataDir');
    const checks = topCalls(s, 'Assert-TrustedDataDir').map((c) => c.at);
    const hadConfig = s.src.indexOf('$hadConfig = Test-Path -LiteralPath $ConfigFile');
    const lockExisting = at(s, 'Set-LockedAcl', ['-Path', '$DataDir']);
    const createNew = at(s, 'New-LockedDirectory', ['-Path', '$DataDir']);

    // Every item, owner and link, with a message that names the path and owner ($problem) and says what to do.
    expect(s.commands.filter((c) => c.fn === 'Assert-TrustedDataDir' && c.name === 'Find-UntrustedItem').map((c) => c.args)).toEqual([['-Path', '$DataDir']]);
    expect(assertFn).toMatch(/if \(\$null -ne \$problem\) \{\s*throw \("Refusing to install: \$problem\./);
    for (const words of ['config.yaml there could run commands as SYSTEM', 'Inspect its contents', 'remove $DataDir', 'takeown /F `"$DataDir`" /A /R /D Y', 'run install.ps1 again']) expect(assertFn).toContain(words);
    // Before the staging dir is made (nothing changed on a refusal), before the existing dir's
    // ACL is replaced, and again after the dir is locked or created: the config kept is one
    // that passed both checks.
    const early = checks[0] ?? -1;
    expect(checks.length).toBeGreaterThanOrEqual(3);
    expect(early).toBeLessThan(at(s, 'New-LockedDirectory', ['-Path', '$staging', '-ReadSids', '$UsersSid']));
    expect(s.src.slice(early - 50, early)).toContain('if (Test-Path -LiteralPath $DataDir) {');
    expect(checks.filter((c) => c < lockExisting).length).toBeGreaterThanOrEqual(2);
    const recheck = checks.find((c) => c > lockExisting && c > createNew) ?? -1;
    expect(recheck).toBeGreaterThan(0);
    expect(hadConfig).toBeGreaterThan(recheck);
    expect(s.src.indexOf('Write-Host "Keeping existing $ConfigFile"')).toBeGreaterThan(hadConfig);
    expect(at(s, 'Copy-Item', ['-LiteralPath', "(Join-Path $staging 'windows\\config.example.yaml')", '-Destination', '$ConfigFile'])).toBeGreaterThan(hadConfig);
  });

  it('install.ps1 replaces the data dir ACL in one step: owner Administrators, protected, SYSTEM and Administrators only, as the agent makes its private dir', async () => {
    const s = await parseScript('windows/install.ps1');
    const vars = stringVars(s.src);
    const acl = fnText(s, 'New-LockedAcl');
    const full = /foreach \(\$sid in ([^)]*)\) \{\s*\$who = New-Object System\.Security\.Principal\.SecurityIdentifier\(\$sid\)\s*\$acl\.AddAccessRule\(\(New-Object System\.Security\.AccessControl\.FileSystemAccessRule\(\$who, \[System\.Security\.AccessControl\.FileSystemRights\]::FullControl, \$inherit, \$propagate, \$allow\)\)\)/.exec(acl);
    // The agent's own grants (icacls /inheritance:r /grant:r *SID:(OI)(CI)F ...): the same SIDs, full control, inherited by all inside.
    const agentSids = PRIVATE_DIR_GRANTS.filter((g) => g.startsWith('*')).map((g) => /^\*(S-[\d-]+):\(OI\)\(CI\)F$/.exec(g)?.[1]);

    expect(PRIVATE_DIR_GRANTS).toContain('/inheritance:r');
    expect(acl).toContain('$acl = New-Object System.Security.AccessControl.DirectorySecurity');
    expect(acl).toContain('$acl.SetOwner((New-Object System.Security.Principal.SecurityIdentifier($AdminsSid)))');
    expect(acl).toContain('$acl.SetAccessRuleProtection($true, $false)');
    expect(acl).toContain("$inherit = [System.Security.AccessControl.InheritanceFlags]'ContainerInherit, ObjectInherit'");
    expect(acl).toContain('$propagate = [System.Security.AccessControl.PropagationFlags]::None');
    expect(acl).toContain('$allow = [System.Security.AccessControl.AccessControlType]::Allow');
    expect(full, 'FullControl rules for a list of SIDs').not.toBeNull();
    expect(resolveList(full?.[1] ?? '', vars).sort()).toEqual([...agentSids].sort());
    expect(agentSids.sort()).toEqual([ADMINS, SYSTEM].sort());
    // Readers get read and execute only, and the data and state dirs get none.
    expect(acl).toContain('[System.Security.AccessControl.FileSystemRights]::ReadAndExecute');
    expect(acl).toMatch(/param\(\[string\[\]\]\$ReadSids = @\(\)\)/);
    // Set in one step (Set-Acl with the whole new descriptor), then read back and checked.
    expect(fnText(s, 'Set-LockedAcl')).toMatch(/Set-Acl -LiteralPath \$Path -AclObject \(New-LockedAcl -ReadSids \$ReadSids\)\s*Assert-LockedAcl -Path \$Path -ReadSids \$ReadSids/);
    const check = fnText(s, 'Assert-LockedAcl');
    expect(check).toContain('$acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])');
    expect(check).toContain('if ($owner -ne $AdminsSid -or -not $acl.AreAccessRulesProtected -or $others.Count -gt 0) {');
    expect(topCalls(s, 'Set-LockedAcl', ['-Path', '$DataDir'])).toHaveLength(1);
    expect(topCalls(s, 'New-LockedDirectory', ['-Path', '$DataDir'])).toHaveLength(1);
    expect(topCalls(s, 'Assert-LockedAcl', ['-Path', '$DataDir'])).toHaveLength(1);
    expect(topCalls(s, 'Set-LockedAcl', ['-Path', '$StateDir'])).toHaveLength(1);
    // Not the old way: New-Item -Force (which takes an existing dir as it is) and icacls edits of
    // the data dir's ACL, which leave other explicit entries and the owner in place.
    expect(s.src).not.toMatch(/foreach \(\$\w+ in [^)]*\$DataDir\b/);
    expect(s.commands.filter((c) => c.name === 'New-Item' && c.args.includes('$DataDir'))).toEqual([]);
    expect(s.commands.filter((c) => c.name === '$Icacls' && c.args.some((a) => /^\/(grant|remove|inheritance)/.test(a)))).toEqual([]);
  });

  it('install.ps1 resets all inside the data dir to inherit only, and makes Administrators own the tree, after the dirs and config are in place', async () => {
    const s = await parseScript('windows/install.ps1');
    const reset = at(s, '$Icacls', ['"$DataDir\\*"', '/reset', '/T', '/C', '/Q']);
    const setOwner = at(s, '$Icacls', ['$DataDir', '/setowner', '"*$AdminsSid"', '/T', '/C', '/Q']);
    const exitChecked = (i: number) => /^[^\n]*\r?\n\s*if \(\$LASTEXITCODE -ne 0\) \{ throw /.test(s.src.slice(i));

    expect(exitChecked(reset)).toBe(true);
    expect(exitChecked(setOwner)).toBe(true);
    expect(at(s, 'New-Item', ['-ItemType', 'Directory', '-Path', '$dir', '-Force'], 'last')).toBeLessThan(reset);
    expect(at(s, 'Copy-Item', ['-LiteralPath', "(Join-Path $staging 'windows\\config.example.yaml')", '-Destination', '$ConfigFile'])).toBeLessThan(reset);
    expect(reset).toBeLessThan(at(s, 'Set-LockedAcl', ['-Path', '$StateDir']));
    expect(at(s, 'Set-LockedAcl', ['-Path', '$StateDir'])).toBeLessThan(setOwner);
    expect(setOwner).toBeLessThan(at(s, 'Stop-Service', ['-Name', '$ServiceName']));
  });

  it('install.ps1 stages the package in a dir created with its final ACL, under folders only administrators can change', async () => {
    const s = await parseScript('windows/install.ps1');
    const create = fnText(s, 'New-LockedDirectory');
    const ancestors = fnText(s, 'Find-OpenAncestor');
    const stagingMade = at(s, 'New-LockedDirectory', ['-Path', '$staging', '-ReadSids', '$UsersSid']);
    const open = at(s, 'Find-OpenAncestor', ['-Dir', '$InstallDir']);
    const moved = at(s, 'Move-Item', ['-LiteralPath', '$staging', '-Destination', '$InstallDir']);

    // Created with the descriptor, not created and then changed: nothing can be opened in between.
    expect(create).toMatch(/if \(\$PSVersionTable\.PSEdition -eq 'Core'\) \{[^}]*\[System\.IO\.FileSystemAclExtensions\]::Create\(\$info, \(New-LockedAcl -ReadSids \$ReadSids\)\)[^}]*\} else \{\s*\$info\.Create\(\(New-LockedAcl -ReadSids \$ReadSids\)\)/);
    // Someone else's parent folder is refused first; then someone else's leftovers.
    expect(s.src.slice(open)).toMatch(/^Find-OpenAncestor -Dir \$InstallDir\r?\nif \(\$null -ne \$problem\) \{\s*throw "Refusing to install into/);
    expect(open).toBeLessThan(stagingMade);
    // Missing folders above it too (PowerShell 7's Create makes no parents; New-Item would inherit).
    expect(s.src).toMatch(/foreach \(\$dir in \$missing\) \{\s*New-LockedDirectory -Path \$dir -ReadSids \$UsersSid\s*Assert-LockedAcl -Path \$dir -ReadSids \$UsersSid\s*\}/);
    expect(open).toBeLessThan(at(s, 'New-LockedDirectory', ['-Path', '$dir', '-ReadSids', '$UsersSid']));
    expect(at(s, 'New-LockedDirectory', ['-Path', '$dir', '-ReadSids', '$UsersSid'])).toBeLessThan(stagingMade);
    expect(s.src).toMatch(/foreach \(\$dir in \$staging, \$InstallDir\) \{\s*if \(Test-Path -LiteralPath \$dir\) \{\s*\$problem = Find-UntrustedItem -Path \$dir -Scope Links\s*if \(\$null -ne \$problem\) \{ throw /);
    expect(at(s, 'Find-UntrustedItem', ['-Path', '$dir', '-Scope', 'Links'])).toBeLessThan(at(s, 'Remove-Item', ['-LiteralPath', '$staging', '-Recurse', '-Force']));
    expect(stagingMade).toBeLessThan(at(s, 'Assert-LockedAcl', ['-Path', '$staging', '-ReadSids', '$UsersSid']));
    expect(at(s, 'Assert-LockedAcl', ['-Path', '$staging', '-ReadSids', '$UsersSid'])).toBeLessThan(at(s, 'Copy-Item', ['-LiteralPath', '$from', '-Destination', '$staging', '-Recurse', '-Force']));
    expect(s.commands.filter((c) => c.name === 'New-Item' && c.args.includes('$staging'))).toEqual([]);
    // After the rename, the install dir must be that locked staging dir, not one found in its place.
    expect(moved).toBeLessThan(at(s, 'Assert-LockedAcl', ['-Path', '$InstallDir', '-ReadSids', '$UsersSid']));
    // The nearest existing folder: no one else may create entries; every folder up to the root:
    // no one else may delete, rename or re-permission (entries meant for children only do not count).
    expect(maskOf(ancestors, 'createMask')).toBe((RIGHTS.WriteData | RIGHTS.AppendData | RIGHTS.GenericWrite) >>> 0);
    expect(maskOf(ancestors, 'changeMask')).toBe((RIGHTS.DeleteSubdirectoriesAndFiles | RIGHTS.Delete | RIGHTS.ChangePermissions | RIGHTS.TakeOwnership | RIGHTS.GenericAll) >>> 0);
    expect(ancestors).toContain('if ($nearest) { $mask = $mask -bor $createMask }');
    expect(ancestors).toContain('[System.Security.AccessControl.PropagationFlags]::InheritOnly');
    expect(ancestors).toContain('$TrustedOwners -notcontains $sid');
    expect(s.commands.some((c) => c.fn === 'Find-OpenAncestor' && c.name === 'Find-UntrustedItem' && c.args.join(' ') === '-Path $folder -Scope Top')).toBe(true);
  });

  it('check-service.ps1 checks, after install.ps1, the owners and ACLs of %ProgramData%\\cronsync, all in it, and the package', async () => {
    const s = await parseScript('windows/check-service.ps1');
    const fn = fnText(s, 'Get-AclProblem');
    const install = s.src.indexOf("& (Join-Path $PSScriptRoot 'install.ps1')");
    const dataDir = at(s, 'Get-AclProblem', ['-Path', '$DataDir', '-Allowed', '$allowed', '-Protected']);
    const children = at(s, 'Get-AclProblem', ['-Path', '$item.FullName', '-Allowed', '$allowed']);
    const pkg = at(s, 'Get-AclProblem', ['-Path', '$InstallDir', '-Allowed', '$allowed', '-Readers', "@('S-1-5-32-545')", '-Protected']);

    expect(fn).toContain('$owner = $acl.GetOwner([Security.Principal.SecurityIdentifier])');
    expect(fn).toContain('if ($null -eq $owner -or $Allowed -notcontains $owner.Value)');
    expect(fn).toContain('if ($Protected -and -not $acl.AreAccessRulesProtected)');
    expect(fn).toContain('foreach ($rule in $acl.GetAccessRules($true, $true, [Security.Principal.SecurityIdentifier])) {');
    expect(maskOf(fn, 'writeMask')).toBe(Object.values(RIGHTS).reduce((a, r) => a | r, 0) >>> 0);
    expect(s.src).toContain("$allowed = @('S-1-5-18', 'S-1-5-32-544')");
    expect(at(s, 'Get-ChildItem', ['-LiteralPath', '$DataDir', '-Recurse', '-Force'])).toBeLessThan(children);
    expect(s.src).toMatch(/Write-Step "\$DataDir and all in it are owned by SYSTEM or Administrators[^"]*" \(\$dataProblems\.Count -eq 0\)/);
    expect(s.src).toMatch(/Write-Step "\$InstallDir is owned by SYSTEM or Administrators[^"]*" \(\$packageProblems\.Count -eq 0\)/);
    // Right after the install, before step 4 writes a config and starts the service.
    expect(install).toBeGreaterThan(0);
    expect(install).toBeLessThan(dataDir);
    for (const i of [dataDir, children, pkg]) expect(i).toBeLessThan(s.src.indexOf('[IO.File]::WriteAllText($ConfigFile'));
    expect(s.src).toContain('3. ACLs: the state dir is readable only by SYSTEM and Administrators; %ProgramData%\\cronsync');
  });

  it("README's Windows install guide says what install.ps1 does with an existing %ProgramData%\\cronsync", () => {
    const readme = read('README.md');
    const guide = readme.slice(readme.indexOf('### Installing the agent'), readme.indexOf('### Job tasks')).replace(/\s+/g, ' ');

    for (const words of [
      'when any of it is owned by anyone but SYSTEM, Administrators or TrustedInstaller',
      'it refuses before changing anything and says which path and which owner',
      "Someone else's `config.yaml` is never kept",
      '`takeown /F "%ProgramData%\\cronsync" /A /R /D Y`',
      'replaces the directory\'s whole ACL in one step',
      '`icacls "%ProgramData%\\cronsync\\*" /reset /T /C /Q`',
      '/setowner *S-1-5-32-544 /T /C /Q',
      '`%ProgramFiles%` passes',
    ]) expect(guide).toContain(words);
  });
});

describe('packaging: example configs', () => {
  it.each(['systemd/config.example.yaml', 'windows/config.example.yaml'])('%s is a valid config', (file) => {
    const cfg = loadConfig({ file: join(ROOT, file), env: {} });

    expect(cfg.agent.tenant).toBe('acme-corp');
    expect(cfg.daemon.health?.listen).toBe('127.0.0.1:9464');
  });

  it('the windows example keeps state under ProgramData', () => {
    expect(loadConfig({ file: join(ROOT, 'windows/config.example.yaml'), env: {} }).stateDir).toBe('C:\\ProgramData\\cronsync\\state');
  });

  it('the commented webhook block is valid once uncommented', () => {
    const dir = testTempDir('cronsync-cfg-');
    const text = read('systemd/config.example.yaml').replace(/^ {2}# (webhooks:.*)$/m, '  $1').replace(/^ {2}# {3}(listen|secretFile)/gm, '    $1');
    writeFileSync(join(dir, 'c.yaml'), text);

    const cfg = loadConfig({ file: join(dir, 'c.yaml'), env: {} });
    rmSync(dir, { recursive: true });

    expect(cfg.daemon.webhooks).toEqual({ listen: '0.0.0.0:9465', secretFile: '/etc/cronsync/webhook-secret' });
  });
});
