/**
 * Static checks of the Windows scripts and the example configs. pwsh is not packaged by Debian
 * and cannot be downloaded here, so the PowerShell scripts are not executed: they are checked
 * for balanced brackets (outside strings and comments) and for the paths and steps they promise.
 */
import { testTempDir } from '../system/tempdir.js';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const TASK_NS = 'http://schemas.microsoft.com/windows/2004/02/mit/task';
const SCRIPTS = ['windows/install.ps1', 'windows/uninstall.ps1', 'windows/run-agent.ps1', 'windows/check.ps1'];

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
    // The Task Scheduler XML namespace is a name, not an address anything fetches.
    expect(read(file).replaceAll(TASK_NS, '')).not.toMatch(/Invoke-WebRequest|Invoke-RestMethod|DownloadFile|Start-BitsTransfer|\bcurl\b|\bwget\b|https?:\/\//i);
  });

  it('install.ps1 registers a SYSTEM task at startup that runs the daemon with the ProgramData config', () => {
    const src = read('windows/install.ps1');

    expect(src).toContain("$DataDir = Join-Path $env:ProgramData 'cronsync'");
    expect(src).toContain("$ConfigFile = Join-Path $DataDir 'config.yaml'");
    // The task itself is windows/cronsync-agent.xml (XSD-checked in test/scheduler/windows/xsd.test.ts).
    const xml = read('windows/cronsync-agent.xml').replace(/\s+/g, '');
    expect(src).toContain("Join-Path $InstallDir 'windows\\cronsync-agent.xml'");
    expect(src).toContain('Register-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath -Xml $taskXml -Force');
    expect(src).toContain('[System.Security.SecurityElement]::Escape(');
    expect(xml).toContain('<BootTrigger><Enabled>true</Enabled></BootTrigger>');
    expect(xml).toContain('<UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel>');
    expect(xml).toContain('<ExecutionTimeLimit>PT0S</ExecutionTimeLimit>');
    for (const key of ['RUNNER', 'NODE', 'MAIN', 'CONFIG', 'LOG_DIR', 'DATA_DIR']) expect(src).toContain(`'{{${key}}}' = $`);
    expect(src).toContain("Join-Path $InstallDir 'windows\\run-agent.ps1'");
    expect(src).toContain("Join-Path $InstallDir 'dist\\cli\\main.js'");
    expect(src).toContain("'windows\\config.example.yaml'");
    expect(src).toMatch(/if \(-not \$hadConfig\)/);
  });

  it('run-agent.ps1 runs `daemon --config` and restarts only on a non-zero exit', () => {
    const src = read('windows/run-agent.ps1');

    expect(src).toMatch(/daemon --config/);
    expect(src).toMatch(/if \(\$code -eq 0\) \{ break \}/);
    expect(src).toMatch(/\[Math\]::Min\(\$delay \* 2, 300\)/);
  });

  it('uninstall.ps1 stops the agent, removes job tasks first, then the agent task and package', () => {
    const src = read('windows/uninstall.ps1');
    const at = (s: string) => {
      const i = src.indexOf(s);
      expect(i, s).toBeGreaterThan(0);
      return i;
    };

    const stop = at('Stop-ScheduledTask -TaskName $TaskName');
    const prune = at('& $Node $main prune --all --force --config $ConfigFile');
    const unregister = at('Unregister-ScheduledTask -TaskName $TaskName');
    const removePkg = at('Remove-Item -LiteralPath $InstallDir');

    expect(stop).toBeLessThan(prune);
    expect(prune).toBeLessThan(unregister);
    expect(prune).toBeLessThan(removePkg);
    expect(src).toContain("$JobTaskFolder = '\\cronsync\\'");
    expect(src).toMatch(/if \(\$LASTEXITCODE -ne 0\) \{[^}]*Start-ScheduledTask/s);
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
