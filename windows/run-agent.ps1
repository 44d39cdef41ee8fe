<#
.SYNOPSIS
  Runs `cronsync daemon` for the cronsync-agent scheduled task: appends its output to a log
  file (rotated at 10 MiB, 5 kept) and restarts it with backoff when it exits with an error.
  Exit code 0 (a clean stop) ends the task.
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)][string]$Node,
  [Parameter(Mandatory = $true)][string]$Main,
  [Parameter(Mandatory = $true)][string]$Config,
  [Parameter(Mandatory = $true)][string]$LogDir
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$Log = Join-Path $LogDir 'cronsync.log'
$MaxBytes = 10MB
$Keep = 5

function Move-LogIfLarge {
  if ((Test-Path -LiteralPath $Log) -and (Get-Item -LiteralPath $Log).Length -ge $MaxBytes) {
    for ($i = $Keep - 1; $i -ge 1; $i--) {
      $from = "$Log.$i"
      if (Test-Path -LiteralPath $from) { Move-Item -LiteralPath $from -Destination "$Log.$($i + 1)" -Force }
    }
    Move-Item -LiteralPath $Log -Destination "$Log.1" -Force
  }
}

New-Item -ItemType Directory -Path $LogDir -Force | Out-Null
$delay = 10
while ($true) {
  Move-LogIfLarge
  $started = Get-Date
  # cmd.exe appends the bytes as they are (PowerShell 5.1 redirection would re-encode to UTF-16).
  # ProcessStartInfo.Arguments is passed verbatim, unlike PowerShell 5.1's native-argument quoting.
  $psi = New-Object System.Diagnostics.ProcessStartInfo
  $psi.FileName = Join-Path $env:SystemRoot 'System32\cmd.exe'
  $psi.Arguments = '/d /s /c ""' + $Node + '" "' + $Main + '" daemon --config "' + $Config + '" >> "' + $Log + '" 2>&1"'
  $psi.UseShellExecute = $false
  $psi.CreateNoWindow = $true
  $proc = [System.Diagnostics.Process]::Start($psi)
  $proc.WaitForExit()
  $code = $proc.ExitCode
  if ($code -eq 0) { break }
  Add-Content -LiteralPath $Log -Encoding ascii -Value ("{{`"level`":`"error`",`"time`":`"{0}`",`"msg`":`"cronsync daemon exited with code {1}; restarting in {2}s`"}}" -f (Get-Date).ToUniversalTime().ToString('o'), $code, $delay)
  Start-Sleep -Seconds $delay
  # Exponential backoff capped at 5 minutes; a run that lasted 10 minutes resets it.
  if (((Get-Date) - $started).TotalMinutes -ge 10) { $delay = 10 } else { $delay = [Math]::Min($delay * 2, 300) }
}
