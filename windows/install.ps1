<#
.SYNOPSIS
  Installs (or upgrades) the cronsync agent on Windows as the service "cronsync": automatic
  start, LocalSystem, restarted by the Service Control Manager when it fails.

.DESCRIPTION
  node.exe cannot speak the Service Control Manager protocol, so a small host does:
  windows\service\CronsyncService.cs, compiled here by the .NET Framework's csc.exe that every
  Windows 10/11 and Server 2016+ ships. Nothing is downloaded. The host runs
  `node.exe dist\cli\main.js daemon --config ... --stop-on-stdin-eof`; Stop-Service closes the
  daemon's stdin, which it treats as SIGTERM (the sync in flight finishes), and the tree is
  killed after 30 s. Start, stop and crash go to the Application event log (source cronsync);
  the JSON log goes to %ProgramData%\cronsync\logs\cronsync.log (10 MiB x 5, rotated).

  An upgrade compiles the new host first, then stops the service, replaces the package and
  starts it again. Config, state, logs and the job tasks are kept.

  Layout:
    $InstallDir (default %ProgramFiles%\cronsync)   the package; bin\cronsync-service.exe is the host
    %ProgramData%\cronsync\config.yaml               configuration (never overwritten)
    %ProgramData%\cronsync\state                     state dir (status.json, job snapshots)
    %ProgramData%\cronsync\logs\cronsync.log         daemon log
    service cronsync                                 the agent; job tasks live in \cronsync\<tenant>\

.EXAMPLE
  # From an elevated PowerShell, in a built checkout or an npm-installed package:
  .\windows\install.ps1
#>
[CmdletBinding()]
param(
  # The package to install: the directory above this script by default.
  [string]$Source = (Split-Path -Parent $PSScriptRoot),
  [string]$InstallDir = (Join-Path $env:ProgramFiles 'cronsync'),
  # node.exe the service runs; default: the one on PATH.
  [string]$Node = '',
  # Register the service but do not start it now.
  [switch]$NoStart
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'cronsync'
$DataDir = Join-Path $env:ProgramData 'cronsync'
$ConfigFile = Join-Path $DataDir 'config.yaml'
$StateDir = Join-Path $DataDir 'state'
$LogDir = Join-Path $DataDir 'logs'
$HostExe = Join-Path $InstallDir 'bin\cronsync-service.exe'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'install.ps1 must run from an elevated (Administrator) PowerShell.'
}
if (-not (Test-Path -LiteralPath (Join-Path $Source 'dist\cli\main.js'))) {
  throw "$Source\dist\cli\main.js is missing: run 'npm run build' first (or pass -Source)."
}
if ($Node -eq '') {
  $cmd = Get-Command node.exe -ErrorAction SilentlyContinue
  if ($null -eq $cmd) { throw 'node.exe not found on PATH; install Node.js LTS or pass -Node C:\path\to\node.exe.' }
  $Node = $cmd.Source
}
if ($Node.StartsWith((Join-Path $env:SystemDrive 'Users'), [StringComparison]::OrdinalIgnoreCase)) {
  Write-Warning "$Node is under a user profile: the service runs it as LocalSystem, so that user could run code as SYSTEM. Prefer a machine-wide Node.js install."
}

# 1. The package, staged next to the install dir, with the service host compiled into it.
Write-Host "Staging cronsync for $InstallDir"
$staging = "$InstallDir.new"
if (Test-Path -LiteralPath $staging) { Remove-Item -LiteralPath $staging -Recurse -Force }
New-Item -ItemType Directory -Path $staging -Force | Out-Null
foreach ($item in 'package.json', 'package-lock.json', 'dist', 'schema', 'systemd', 'windows', 'README.md', 'LICENSE', 'node_modules') {
  $from = Join-Path $Source $item
  if (Test-Path -LiteralPath $from) { Copy-Item -LiteralPath $from -Destination $staging -Recurse -Force }
}
New-Item -ItemType Directory -Path (Join-Path $staging 'bin') -Force | Out-Null
$hostSource = Join-Path $staging 'windows\service\CronsyncService.cs'
$stagedExe = Join-Path $staging 'bin\cronsync-service.exe'
# The .NET Framework 4 compiler (C# 5), 64-bit where there is one. csc.exe itself rather than
# Add-Type: PowerShell 7's Add-Type cannot write an exe, and 5.1's runs this same csc.exe.
$csc = $null
foreach ($fw in 'Framework64', 'Framework') {
  $candidate = Join-Path $env:WINDIR "Microsoft.NET\$fw\v4.0.30319\csc.exe"
  if ($null -eq $csc -and (Test-Path -LiteralPath $candidate)) { $csc = $candidate }
}
if ($null -eq $csc) { throw 'The .NET Framework 4 compiler (csc.exe) was not found under %WINDIR%\Microsoft.NET: enable the .NET Framework 4.8 feature.' }
# csc.exe writes its diagnostics to stdout.
$out = & $csc /nologo /target:exe /optimize+ /reference:System.ServiceProcess.dll "/out:$stagedExe" $hostSource
if ($LASTEXITCODE -ne 0) { throw "Compiling the service host failed:`n$($out -join "`n")" }

# 2. Config, state and log dirs: only SYSTEM and Administrators may read them (secrets live
#    here). Inherited entries are cut and the usual wide groups removed, also from an existing
#    state dir: Everyone, Authenticated Users, Users, CREATOR OWNER.
foreach ($dir in $DataDir, $StateDir, $LogDir) {
  New-Item -ItemType Directory -Path $dir -Force | Out-Null
}
foreach ($dir in $DataDir, $StateDir) {
  & icacls.exe $dir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "icacls failed on $dir" }
  & icacls.exe $dir /remove:g '*S-1-1-0' '*S-1-5-11' '*S-1-5-32-545' '*S-1-3-0' | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "icacls failed on $dir" }
}
$hadConfig = Test-Path -LiteralPath $ConfigFile
if (-not $hadConfig) {
  Copy-Item -LiteralPath (Join-Path $staging 'windows\config.example.yaml') -Destination $ConfigFile
  Write-Host "Wrote example $ConfigFile : edit it, then run: Start-Service $ServiceName"
} else {
  Write-Host "Keeping existing $ConfigFile"
}
if (-not [Diagnostics.EventLog]::SourceExists($ServiceName)) {
  [Diagnostics.EventLog]::CreateEventSource($ServiceName, 'Application')
}

# 3. Upgrade: stop the running service (a clean stop), then swap the package.
$existing = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
$wasRunning = $null -ne $existing -and $existing.Status -ne 'Stopped'
if ($wasRunning) {
  Write-Host "Stopping service $ServiceName"
  Stop-Service -Name $ServiceName
  (Get-Service -Name $ServiceName).WaitForStatus('Stopped', [TimeSpan]::FromSeconds(60))
}
# Before the service, the agent was the scheduled task \cronsync-agent: remove it and its daemon.
$oldTask = Get-ScheduledTask -TaskName 'cronsync-agent' -TaskPath '\' -ErrorAction SilentlyContinue
if ($null -ne $oldTask) {
  Write-Host 'Removing the old \cronsync-agent scheduled task'
  Stop-ScheduledTask -TaskName 'cronsync-agent' -TaskPath '\' -ErrorAction SilentlyContinue
  Unregister-ScheduledTask -TaskName 'cronsync-agent' -TaskPath '\' -Confirm:$false
  $oldMain = Join-Path $InstallDir 'dist\cli\main.js'
  Get-CimInstance Win32_Process -Filter "Name = 'node.exe'" |
    Where-Object { $null -ne $_.CommandLine -and $_.CommandLine.Contains($oldMain) -and $_.CommandLine.Contains(' daemon') } |
    ForEach-Object { Stop-Process -Id $_.ProcessId -Force -ErrorAction SilentlyContinue }
}
Write-Host "Installing cronsync into $InstallDir"
if (Test-Path -LiteralPath $InstallDir) { Remove-Item -LiteralPath $InstallDir -Recurse -Force }
Move-Item -LiteralPath $staging -Destination $InstallDir
# LocalSystem runs these files: only SYSTEM and Administrators may change them.
& icacls.exe $InstallDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' '*S-1-5-32-545:(OI)(CI)RX' | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls failed on $InstallDir" }

# 4. The service: automatic start, LocalSystem, restart on failure (5 s, 5 s, then every
#    60 s; the count resets after a day without failure).
$main = Join-Path $InstallDir 'dist\cli\main.js'
$binPath = '"' + $HostExe + '" --node "' + $Node + '" --main "' + $main + '" --config "' + $ConfigFile + '" --log-dir "' + $LogDir + '"'
$description = 'cronsync GitOps agent: reconciles Job manifests from Git into Task Scheduler.'
if ($null -eq $existing) {
  New-Service -Name $ServiceName -BinaryPathName $binPath -DisplayName 'cronsync agent' -Description $description -StartupType Automatic | Out-Null
} else {
  $svc = Get-CimInstance -ClassName Win32_Service -Filter "Name = '$ServiceName'"
  $r = Invoke-CimMethod -InputObject $svc -MethodName Change -Arguments @{ PathName = $binPath; StartMode = 'Automatic' }
  if ($r.ReturnValue -ne 0) { throw "Updating service $ServiceName failed (Win32_Service.Change returned $($r.ReturnValue))" }
  Set-Service -Name $ServiceName -Description $description
}
& sc.exe failure $ServiceName reset= 86400 actions= restart/5000/restart/5000/restart/60000 | Out-Null
if ($LASTEXITCODE -ne 0) { throw "sc.exe failure $ServiceName failed" }
# A stop with a non-zero exit code counts as a failure too, not only a crash.
& sc.exe failureflag $ServiceName 1 | Out-Null
if ($LASTEXITCODE -ne 0) { throw "sc.exe failureflag $ServiceName failed" }

# Started when it was running before the upgrade, or on a first install that found a config;
# a service an administrator had stopped stays stopped.
if (-not $NoStart -and ($wasRunning -or ($null -eq $existing -and $hadConfig))) {
  Start-Service -Name $ServiceName
  Write-Host "cronsync started. Log: $LogDir\cronsync.log ; status: & '$Node' '$main' status --config '$ConfigFile'"
}
