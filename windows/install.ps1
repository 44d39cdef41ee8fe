<#
.SYNOPSIS
  Installs the cronsync agent on Windows as a scheduled task that runs as SYSTEM at startup.

.DESCRIPTION
  Why a scheduled task and not a Windows service: a service must implement the Service
  Control Manager protocol, which node.exe does not. Wrapping it needs a helper executable
  (WinSW, NSSM, node-windows' winsw.exe) that would have to be downloaded from outside npm
  and kept patched. Task Scheduler is built in, runs the agent as SYSTEM from boot without a
  logon, and is the same facility the windows adapter uses for the jobs themselves.
  run-agent.ps1 restarts the daemon when it exits with an error (like Restart=on-failure)
  and appends its JSON log lines to %ProgramData%\cronsync\logs\cronsync.log (rotated).

  Layout:
    $InstallDir (default %ProgramFiles%\cronsync)   the package (dist, node_modules, windows)
    %ProgramData%\cronsync\config.yaml               configuration (never overwritten)
    %ProgramData%\cronsync\state                     state dir (status.json, job snapshots)
    %ProgramData%\cronsync\logs\cronsync.log         daemon log
    Task Scheduler: \cronsync-agent                  the daemon; job tasks live in \cronsync\<tenant>\

.EXAMPLE
  # From an elevated PowerShell, in a built checkout or an npm-installed package:
  .\windows\install.ps1
#>
[CmdletBinding()]
param(
  # The package to install: the directory above this script by default.
  [string]$Source = (Split-Path -Parent $PSScriptRoot),
  [string]$InstallDir = (Join-Path $env:ProgramFiles 'cronsync'),
  # node.exe baked into the task; default: the one on PATH.
  [string]$Node = '',
  # Register the task but do not start it now.
  [switch]$NoStart
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$TaskName = 'cronsync-agent'
$TaskPath = '\'
$DataDir = Join-Path $env:ProgramData 'cronsync'
$ConfigFile = Join-Path $DataDir 'config.yaml'
$LogDir = Join-Path $DataDir 'logs'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'install.ps1 must run from an elevated (Administrator) PowerShell.'
}
if (-not (Test-Path -LiteralPath (Join-Path $Source 'dist\cli\main.js'))) {
  throw "$Source\dist\cli\main.js is missing: run 'npm run build' first (or pass -Source)."
}
if ($Node -eq '') {
  $cmd = Get-Command node.exe -ErrorAction SilentlyContinue
  if ($null -eq $cmd) { throw 'node.exe not found on PATH; pass -Node C:\path\to\node.exe.' }
  $Node = $cmd.Source
}

# 1. The package, replaced as a whole.
Write-Host "Installing cronsync into $InstallDir"
$existing = Get-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath -ErrorAction SilentlyContinue
if ($null -ne $existing) { Stop-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath -ErrorAction SilentlyContinue }
$staging = "$InstallDir.new"
if (Test-Path -LiteralPath $staging) { Remove-Item -LiteralPath $staging -Recurse -Force }
New-Item -ItemType Directory -Path $staging -Force | Out-Null
foreach ($item in 'package.json', 'package-lock.json', 'dist', 'schema', 'systemd', 'windows', 'README.md', 'LICENSE', 'node_modules') {
  $from = Join-Path $Source $item
  if (Test-Path -LiteralPath $from) { Copy-Item -LiteralPath $from -Destination $staging -Recurse -Force }
}
if (Test-Path -LiteralPath $InstallDir) { Remove-Item -LiteralPath $InstallDir -Recurse -Force }
Move-Item -LiteralPath $staging -Destination $InstallDir

# 2. Config, state and log dirs: only SYSTEM and Administrators may read them (secrets live here).
foreach ($dir in $DataDir, (Join-Path $DataDir 'state'), $LogDir) {
  New-Item -ItemType Directory -Path $dir -Force | Out-Null
}
& icacls.exe $DataDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls failed on $DataDir" }
$hadConfig = Test-Path -LiteralPath $ConfigFile
if (-not $hadConfig) {
  Copy-Item -LiteralPath (Join-Path $InstallDir 'windows\config.example.yaml') -Destination $ConfigFile
  Write-Host "Wrote example $ConfigFile : edit it, then run: Start-ScheduledTask -TaskName $TaskName"
} else {
  Write-Host "Keeping existing $ConfigFile"
}

# 3. The task: SYSTEM, at startup, no time limit, one instance, restarted on failure. Its
#    definition is windows\cronsync-agent.xml (validated against the Task Scheduler XSD by the
#    tests); only the paths are filled in here, XML-escaped.
$runner = Join-Path $InstallDir 'windows\run-agent.ps1'
$main = Join-Path $InstallDir 'dist\cli\main.js'
$values = @{ '{{RUNNER}}' = $runner; '{{NODE}}' = $Node; '{{MAIN}}' = $main; '{{CONFIG}}' = $ConfigFile; '{{LOG_DIR}}' = $LogDir; '{{DATA_DIR}}' = $DataDir }
$taskXml = Get-Content -LiteralPath (Join-Path $InstallDir 'windows\cronsync-agent.xml') -Raw -Encoding UTF8
foreach ($key in $values.Keys) { $taskXml = $taskXml.Replace($key, [System.Security.SecurityElement]::Escape($values[$key])) }
# The string is UTF-16 in memory; say so, as Task Scheduler's own exports do.
$taskXml = $taskXml.Replace('encoding="UTF-8"', 'encoding="UTF-16"')
Register-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath -Xml $taskXml -Force | Out-Null

if ($hadConfig -and -not $NoStart) {
  Start-ScheduledTask -TaskName $TaskName -TaskPath $TaskPath
  Write-Host "cronsync started. Log: $LogDir\cronsync.log ; status: & '$Node' '$main' status --config '$ConfigFile'"
}
