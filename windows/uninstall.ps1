<#
.SYNOPSIS
  Removes the cronsync agent. Its job tasks under \cronsync\ go first, while the program they
  call still exists: `cronsync prune --all --force` removes every task carrying this agent's
  marker and leaves foreign tasks alone. Then the service "cronsync" and the package go.
  Config, state and logs in %ProgramData%\cronsync are kept unless -Purge.

  The service is stopped (cleanly) before the prune, so that it cannot install the tasks again
  in between; if the prune fails, it is started again and nothing is removed.

.EXAMPLE
  .\windows\uninstall.ps1            # from an elevated PowerShell
  .\windows\uninstall.ps1 -Purge     # also delete %ProgramData%\cronsync
#>
[CmdletBinding()]
param(
  [string]$InstallDir = (Join-Path $env:ProgramFiles 'cronsync'),
  [string]$Node = '',
  # Delete %ProgramData%\cronsync too.
  [switch]$Purge,
  # Leave the job tasks installed (they will fail once the program is gone).
  [switch]$KeepEntries
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'cronsync'
$JobTaskFolder = '\cronsync\'
$DataDir = Join-Path $env:ProgramData 'cronsync'
# Windows' own tools by their full path: a bare name is looked up on PATH, where a directory
# any user can write to could put its own sc.exe or icacls.exe in front of them (run elevated).
$SystemDir = [Environment]::SystemDirectory
$Sc = Join-Path $SystemDir 'sc.exe'
$ConfigFile = Join-Path $DataDir 'config.yaml'
$main = Join-Path $InstallDir 'dist\cli\main.js'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'uninstall.ps1 must run from an elevated (Administrator) PowerShell.'
}

# 1. Stop the agent (a clean stop: the sync in flight finishes) so it cannot re-install job
#    tasks behind our back.
$agent = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
$wasRunning = $null -ne $agent -and $agent.Status -ne 'Stopped'
if ($wasRunning) {
  Write-Host "Stopping service $ServiceName"
  Stop-Service -Name $ServiceName
  (Get-Service -Name $ServiceName).WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
}
# The node.exe the service ran (install.ps1 wrote it into the service's command line).
if ($Node -eq '' -and $null -ne $agent) {
  $imagePath = (Get-CimInstance -ClassName Win32_Service -Filter "Name = '$ServiceName'").PathName
  if ($imagePath -match '--node "([^"]+)"') { $Node = $Matches[1] }
}

# 2. Our job tasks, first.
if (-not $KeepEntries -and (Test-Path -LiteralPath $main)) {
  if ($Node -eq '') {
    $cmd = Get-Command node.exe -ErrorAction SilentlyContinue
    if ($null -eq $cmd) { throw 'node.exe not found on PATH; pass -Node C:\path\to\node.exe.' }
    $Node = $cmd.Source
  }
  Write-Host 'Removing cronsync job tasks'
  & $Node $main prune --all --force --config $ConfigFile
  if ($LASTEXITCODE -ne 0) {
    if ($wasRunning) { Start-Service -Name $ServiceName }
    throw 'Removing job tasks failed; nothing else was removed. Fix the error or rerun with -KeepEntries.'
  }
  # Report what is left in our folder (foreign tasks are never deleted), drop empty folders.
  $left = @(Get-ScheduledTask -TaskPath "$JobTaskFolder*" -ErrorAction SilentlyContinue)
  if ($left.Count -gt 0) {
    Write-Warning ("Tasks left under ${JobTaskFolder}: " + (($left | ForEach-Object { $_.TaskPath + $_.TaskName }) -join ', '))
  } else {
    $service = New-Object -ComObject 'Schedule.Service'
    $service.Connect()
    try {
      $root = $service.GetFolder($JobTaskFolder.TrimEnd('\'))
      foreach ($sub in @($root.GetFolders(0))) { $root.DeleteFolder($sub.Name, 0) }
      $service.GetFolder('\').DeleteFolder('cronsync', 0)
    } catch {
      Write-Verbose "No task folder $JobTaskFolder to remove"
    }
  }
}

# 3. The service and the package.
if ($null -ne $agent) {
  & $Sc delete $ServiceName | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "sc.exe delete $ServiceName failed (exit $LASTEXITCODE)" }
}
if (Test-Path -LiteralPath $InstallDir) { Remove-Item -LiteralPath $InstallDir -Recurse -Force }

if ($Purge) {
  if (Test-Path -LiteralPath $DataDir) { Remove-Item -LiteralPath $DataDir -Recurse -Force }
  if ([Diagnostics.EventLog]::SourceExists($ServiceName)) { [Diagnostics.EventLog]::DeleteEventSource($ServiceName) }
  Write-Host 'Removed cronsync, its config, state, logs and event source.'
} else {
  Write-Host "Removed cronsync; kept $DataDir (use -Purge to remove it)."
}
