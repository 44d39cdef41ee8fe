/**
 * Static checks of the Windows scripts, the service host and the example configs. pwsh is not
 * packaged by Debian and cannot be downloaded here, so the PowerShell scripts are not executed:
 * they are checked for balanced brackets (outside strings and comments) and for the paths and
 * steps they promise. What they do on Windows is confirmed by windows/check.ps1 on a real host.
 */
import { testTempDir } from '../system/tempdir.js';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

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
    expect(src).toContain('& sc.exe failure $ServiceName reset= 86400 actions= restart/5000/restart/5000/restart/60000');
    expect(src).toContain('& sc.exe failureflag $ServiceName 1');
    expect(src).toContain("[Diagnostics.EventLog]::CreateEventSource($ServiceName, 'Application')");
    // The state dir: SYSTEM and Administrators only.
    expect(src).toMatch(/foreach \(\$dir in \$DataDir, \$StateDir\) \{\s*& icacls\.exe \$dir \/inheritance:r \/grant:r '\*S-1-5-18:\(OI\)\(CI\)F' '\*S-1-5-32-544:\(OI\)\(CI\)F'/);
    expect(src).toContain("/remove:g '*S-1-1-0' '*S-1-5-11' '*S-1-5-32-545'");
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
    const remove = at('& sc.exe delete $ServiceName');
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
