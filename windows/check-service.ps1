<#
.SYNOPSIS
  Real-host check of the cronsync Windows service: install, run, a job fires and checks in,
  crash recovery, clean stop, uninstall. Prints PASS or FAIL per step; exits 1 on any FAIL.

.DESCRIPTION
  Run by check.ps1 (unless -SkipService), or alone, from an elevated PowerShell in a built
  checkout (npm run build), on a host without cronsync installed: it refuses to run when the
  service "cronsync" or %ProgramData%\cronsync\config.yaml exists, since it installs into and
  then purges %ProgramData%\cronsync. The package goes to %ProgramFiles%\cronsync-check.

  Steps:
    1. install.ps1 compiles the service host and registers the service (automatic, LocalSystem)
    2. the recovery actions restart it on failure (sc.exe qfailure)
    3. ACLs: the state dir is readable only by SYSTEM and Administrators; %ProgramData%\cronsync
       and everything in it are owned by SYSTEM or Administrators, its ACL is protected and
       nothing in it has an entry for anyone else; the package dir is owned by
       Administrators, protected, and only SYSTEM and Administrators may change it
    4. with a config whose source is the bundled manifests-example\staging and whose check-ins
       go to a loopback receiver here, the service runs, with node.exe as its child
    5. the Event Log has the start entry (source cronsync, id 1)
    6. the example job demo/hello-every-minute fires (Task Scheduler) and checks in
    7. the daemon's JSON log is written to %ProgramData%\cronsync\logs\cronsync.log, and
       `cronsync diff` then finds nothing to change (exit 0): the tasks, as Windows exports
       them, read back as written (no drift, so no rewrite at every sync)
    8. a job that times out (cronsync exec by hand, timeout 5s) exits 124 and leaves none of its
       processes behind: its cmd.exe starts a ping in the background and one in the foreground,
       and the timeout terminates the whole tree (taskkill /T /F)
    9. concurrency: Replace terminates the whole tree of the run it replaces: a second exec of a
       job whose first run is still going ends the first run's pings, then runs (and times out)
   10. a killed daemon is reported (id 3) and the service is restarted by SCM recovery
   11. Stop-Service stops the daemon cleanly (exit code 0, id 2)
   12. uninstall.ps1 -Purge removes the job tasks, the service and the package

.EXAMPLE
  .\windows\check-service.ps1
  .\windows\check-service.ps1 -FireTimeoutSeconds 300
#>
[CmdletBinding()]
param(
  [string]$Node = '',
  [string]$Root = (Split-Path -Parent $PSScriptRoot),
  [string]$InstallDir = (Join-Path $env:ProgramFiles 'cronsync-check'),
  # How long to wait for the every-minute job to check in (sync, task registration, next minute).
  [int]$FireTimeoutSeconds = 240
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'cronsync'
$DataDir = Join-Path $env:ProgramData 'cronsync'
# Windows' own tools by their full path: a bare name is looked up on PATH, where a directory
# any user can write to could put its own sc.exe or icacls.exe in front of them (run elevated).
$SystemDir = [Environment]::SystemDirectory
$Sc = Join-Path $SystemDir 'sc.exe'
$ConfigFile = Join-Path $DataDir 'config.yaml'
$StateDir = Join-Path $DataDir 'state'
$LogFile = Join-Path $DataDir 'logs\cronsync.log'
$script:failed = 0

function Write-Step {
  param([string]$Name, [bool]$Ok, [string]$Detail = '')

  if ($Ok) {
    Write-Host "PASS  $Name" -ForegroundColor Green
  } else {
    $script:failed++
    Write-Host "FAIL  $Name $Detail" -ForegroundColor Red
  }
}

# What is wrong with the ACL of $Path, as a list: an owner that is not in $Allowed, an entry
# (explicit or inherited) for anyone not in $Allowed or $Readers, an entry that lets a reader
# change anything, or with -Protected, an ACL that inherits from the parent.
function Get-AclProblem {
  param([string]$Path, [string[]]$Allowed, [string[]]$Readers = @(), [switch]$Protected)

  # WriteData, AppendData, WriteExtendedAttributes, DeleteSubdirectoriesAndFiles, WriteAttributes,
  # Delete, ChangePermissions, TakeOwnership, GenericAll, GenericWrite.
  $writeMask = 0x2 -bor 0x4 -bor 0x10 -bor 0x40 -bor 0x100 -bor 0x10000 -bor 0x40000 -bor 0x80000 -bor 0x10000000 -bor 0x40000000
  $acl = Get-Acl -LiteralPath $Path
  $problems = @()
  $owner = $acl.GetOwner([Security.Principal.SecurityIdentifier])
  if ($null -eq $owner -or $Allowed -notcontains $owner.Value) { $problems += "$Path is owned by $owner" }
  if ($Protected -and -not $acl.AreAccessRulesProtected) { $problems += "$Path inherits entries from its parent" }
  foreach ($rule in $acl.GetAccessRules($true, $true, [Security.Principal.SecurityIdentifier])) {
    $sid = $rule.IdentityReference.Value
    if ($Allowed -contains $sid) { continue }
    if ($Readers -notcontains $sid) {
      $problems += "$Path has an entry for $sid ($($rule.FileSystemRights))"
    } elseif (([int]$rule.FileSystemRights -band $writeMask) -ne 0) {
      $problems += "$Path lets $sid change it ($($rule.FileSystemRights))"
    }
  }
  return $problems
}

function Get-DaemonProcess {
  $svc = Get-CimInstance -ClassName Win32_Service -Filter "Name = '$ServiceName'"
  if ($null -eq $svc -or $svc.ProcessId -eq 0) { return $null }
  return Get-CimInstance -ClassName Win32_Process -Filter "ParentProcessId = $($svc.ProcessId) AND Name = 'node.exe'" | Select-Object -First 1
}

function Get-ServiceEvent {
  param([int]$Id, [datetime]$Since)

  return @(Get-WinEvent -FilterHashtable @{ LogName = 'Application'; ProviderName = $ServiceName; Id = $Id; StartTime = $Since } -ErrorAction SilentlyContinue)
}

function Wait-Until {
  param([scriptblock]$Condition, [int]$Seconds)

  $deadline = (Get-Date).AddSeconds($Seconds)
  while ((Get-Date) -lt $deadline) {
    if (& $Condition) { return $true }
    Start-Sleep -Milliseconds 500
  }
  return [bool](& $Condition)
}

# The ping.exe processes of a test job, told apart by their echo count (-n $Marker). Callers wrap
# the call in @(): a function's output is unrolled, and strict mode has no .Count of $null.
function Get-Pings {
  param([int]$Marker)

  return @(Get-CimInstance -ClassName Win32_Process -Filter "Name = 'PING.EXE'" | Where-Object { $_.CommandLine -match "-n $Marker " })
}

# Adds job demo/$Name to the watched source (in $Dir): its cmd.exe starts one ping in the
# background and one in the foreground (Get-Pings -Marker), and $Spec adds to its spec. Returns
# whether the daemon synced it (its snapshot is in the state dir) within two minutes.
function Install-PingJob {
  param([string]$Dir, [string]$Name, [int]$Marker, [string[]]$Spec)

  $manifest = @(
    'apiVersion: v1', 'kind: Job',
    "metadata: { name: $Name, tenant: demo }",
    'spec:',
    "  schedule: '0 0 1 1 *'",
    "  command: 'start /b ping -n $Marker 127.0.0.1 >nul & ping -n $Marker 127.0.0.1 >nul'"
  ) + @($Spec | ForEach-Object { "  $_" }) + @(
    '  checkin: { enabled: false }',
    '  agent: { selector: { role: demo } }'
  )
  [IO.File]::WriteAllText((Join-Path $Dir "$Name.yaml"), ($manifest -join "`r`n") + "`r`n")
  return (Wait-Until { Test-Path -LiteralPath (Join-Path $StateDir "jobs\demo\$Name.json") } 120)
}

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  throw 'check-service.ps1 must run from an elevated (Administrator) PowerShell.'
}
if ($null -ne (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue) -or (Test-Path -LiteralPath $ConfigFile)) {
  Write-Step 'precondition: no cronsync installed on this host' $false "(service $ServiceName or $ConfigFile exists; run on a clean host or VM)"
  exit 1
}
if ($Node -eq '') {
  $cmd = Get-Command node.exe -ErrorAction SilentlyContinue
  if ($null -eq $cmd) { throw 'node.exe not found on PATH; pass -Node C:\path\to\node.exe.' }
  $Node = $cmd.Source
}

# The loopback check-in receiver (http.sys; the job runs as SYSTEM and posts here).
$probe = New-Object System.Net.Sockets.TcpListener([System.Net.IPAddress]::Loopback, 0)
$probe.Start()
$port = $probe.LocalEndpoint.Port
$probe.Stop()
$receiverUrl = 'http://127.0.0.1:' + $port + '/'
$listener = New-Object System.Net.HttpListener
$listener.Prefixes.Add($receiverUrl)
$listener.Start()
$work = Join-Path $env:ProgramData ('cronsync-check-' + [Guid]::NewGuid().ToString('N'))
$started = Get-Date

try {
  # 1. Install.
  $installed = $false
  try {
    & (Join-Path $PSScriptRoot 'install.ps1') -Source $Root -InstallDir $InstallDir -Node $Node -NoStart | Out-Host
    $svc = Get-CimInstance -ClassName Win32_Service -Filter "Name = '$ServiceName'"
    $installed = $null -ne $svc -and $svc.StartMode -eq 'Auto' -and $svc.StartName -eq 'LocalSystem' -and (Test-Path -LiteralPath (Join-Path $InstallDir 'bin\cronsync-service.exe'))
    Write-Step 'install.ps1 compiles the host and registers the service (automatic, LocalSystem)' $installed
  } catch {
    Write-Step 'install.ps1 compiles the host and registers the service (automatic, LocalSystem)' $false "($_)"
  }
  if (-not $installed) { throw 'install failed; later steps skipped' }

  # 2. Recovery actions.
  $qfailure = (& $Sc qfailure $ServiceName) -join "`n"
  Write-Step 'recovery actions restart the service on failure (sc.exe qfailure)' ($qfailure -match 'RESTART' -and $qfailure -match '86400') "($qfailure)"

  # 3. ACLs: the state dir; %ProgramData%\cronsync and all in it (install.ps1 gave it a new
  #    protected ACL and made Administrators own everything: nothing else may survive, so that
  #    no one can slip a config.yaml in that the service would run as SYSTEM); the package.
  $allowed = @('S-1-5-18', 'S-1-5-32-544')
  $sids = @((Get-Acl -LiteralPath $StateDir).Access | ForEach-Object { $_.IdentityReference.Translate([Security.Principal.SecurityIdentifier]).Value })
  $others = @($sids | Where-Object { $allowed -notcontains $_ })
  Write-Step 'the state dir is readable only by SYSTEM and Administrators' ($sids.Count -gt 0 -and $others.Count -eq 0) "(also: $($others -join ', '))"
  $dataProblems = @(Get-AclProblem -Path $DataDir -Allowed $allowed -Protected)
  foreach ($item in @(Get-ChildItem -LiteralPath $DataDir -Recurse -Force)) {
    if (($item.Attributes -band [IO.FileAttributes]::ReparsePoint) -ne 0) { $dataProblems += "$($item.FullName) is a junction or symbolic link" }
    $dataProblems += @(Get-AclProblem -Path $item.FullName -Allowed $allowed)
  }
  Write-Step "$DataDir and all in it are owned by SYSTEM or Administrators, with a protected ACL and no entry for anyone else" ($dataProblems.Count -eq 0) "($($dataProblems -join '; '))"
  $packageProblems = @(Get-AclProblem -Path $InstallDir -Allowed $allowed -Readers @('S-1-5-32-545') -Protected)
  Write-Step "$InstallDir is owned by SYSTEM or Administrators, with a protected ACL: only they may change it, Users may read it" ($packageProblems.Count -eq 0) "($($packageProblems -join '; '))"

  # 4. Run it against the bundled example jobs (tenant demo, role demo) and the receiver.
  New-Item -ItemType Directory -Path $work -Force | Out-Null
  Copy-Item -LiteralPath (Join-Path $Root 'manifests-example\staging') -Destination (Join-Path $work 'manifests') -Recurse
  $config = @(
    'agent:', '  name: cronsync-check', '  tenant: demo', '  labels: { role: demo }',
    'source:', ("  url: '" + (Join-Path $work 'manifests') + "'"), '  interval: 30s',
    'scheduler:', '  kind: windows',
    'checkin:', ("  url: '" + $receiverUrl + "checkins'"), '  protocol: crontopus',
    ("stateDir: '" + $StateDir + "'"),
    'daemon:', '  startDelay: 0s',
    'log:', '  level: info'
  ) -join "`r`n"
  [IO.File]::WriteAllText($ConfigFile, $config + "`r`n")
  Start-Service -Name $ServiceName
  $running = Wait-Until { (Get-Service -Name $ServiceName).Status -eq 'Running' -and $null -ne (Get-DaemonProcess) } 60
  $daemon = Get-DaemonProcess
  $flagged = $null -ne $daemon -and $daemon.CommandLine.Contains('--stop-on-stdin-eof')
  Write-Step 'the service runs, with node.exe daemon --stop-on-stdin-eof as its child' ($running -and $flagged)

  # 5. Event Log: started.
  Write-Step 'the Event Log has the start entry (source cronsync, id 1)' (Wait-Until { (Get-ServiceEvent -Id 1 -Since $started).Count -gt 0 } 10)

  # 6. The every-minute example job fires and checks in.
  $checkedIn = $false
  $deadline = (Get-Date).AddSeconds($FireTimeoutSeconds)
  $pending = $listener.GetContextAsync()
  while (-not $checkedIn -and (Get-Date) -lt $deadline) {
    if (-not $pending.Wait(1000)) { continue }
    $ctx = $pending.Result
    $reader = New-Object System.IO.StreamReader($ctx.Request.InputStream, [Text.Encoding]::UTF8)
    $body = $reader.ReadToEnd()
    $reader.Dispose()
    $ctx.Response.StatusCode = 200
    $ctx.Response.Close()
    if ($body.Contains('hello-every-minute')) { $checkedIn = $true }
    $pending = $listener.GetContextAsync()
  }
  Write-Step "the example job demo/hello-every-minute fires and checks in to $receiverUrl" $checkedIn "(nothing within $FireTimeoutSeconds s; see $LogFile and Task Scheduler \cronsync\demo)"

  # 7. The log file.
  $jsonLines = @()
  if (Test-Path -LiteralPath $LogFile) {
    $jsonLines = @(Get-Content -LiteralPath $LogFile -Encoding UTF8 | Where-Object { $_.StartsWith('{') -and $_.Contains('"msg"') })
  }
  Write-Step "the daemon's JSON log is written to $LogFile" ($jsonLines.Count -gt 0)
  $diffOut = (& $Node (Join-Path $InstallDir 'dist\cli\main.js') diff --config $ConfigFile 2>&1 | Out-String)
  Write-Step 'a second sync finds nothing to change (cronsync diff exits 0): Windows exports the tasks as they were written' ($LASTEXITCODE -eq 0) "(exit $LASTEXITCODE; a task read back with other Settings or triggers is drift, see src/scheduler/windows/parse.ts):`n$diffOut"

  # 8. A timed-out job leaves no process behind. The manifest joins the watched source; once it
  #    is synced, exec runs it by hand. Its pings count 617 echoes, so that they can be told apart.
  $synced = Install-PingJob -Dir (Join-Path $work 'manifests') -Name 'timeout-tree' -Marker 617 -Spec @('timeout: 5s')
  $exitCode = $null
  $leftBehind = @()
  if ($synced) {
    & $Node (Join-Path $InstallDir 'dist\cli\main.js') exec --config $ConfigFile demo/timeout-tree | Out-Host
    $exitCode = $LASTEXITCODE
    Start-Sleep -Seconds 2
    $leftBehind = @(Get-Pings -Marker 617)
  }
  $leftIds = ($leftBehind | ForEach-Object { $_.ProcessId }) -join ', '
  Write-Step 'a timed-out job (exec by hand, timeout 5s) exits 124 and leaves none of its processes behind' ($synced -and $exitCode -eq 124 -and $leftBehind.Count -eq 0) "(synced: $synced, exit code: $exitCode, left behind: $leftIds)"
  foreach ($p in $leftBehind) { Stop-Process -Id $p.ProcessId -Force -ErrorAction SilentlyContinue }

  # 9. Replace ends the replaced run's whole tree. Both runs are started by hand in the
  #    background; the first one's pings must be gone while the second still runs.
  $synced = Install-PingJob -Dir (Join-Path $work 'manifests') -Name 'replace-tree' -Marker 619 -Spec @('timeout: 15s', 'concurrency: Replace')
  $execArgs = '"' + (Join-Path $InstallDir 'dist\cli\main.js') + '" exec --config "' + $ConfigFile + '" demo/replace-tree'
  $firstGone = $false
  $secondCode = $null
  $left = @()
  if ($synced) {
    $first = Start-Process -FilePath $Node -ArgumentList $execArgs -PassThru -WindowStyle Hidden
    $firstPings = @()
    if (Wait-Until { @(Get-Pings -Marker 619).Count -ge 2 } 30) { $firstPings = @(Get-Pings -Marker 619 | ForEach-Object { $_.ProcessId }) }
    $second = Start-Process -FilePath $Node -ArgumentList $execArgs -PassThru -WindowStyle Hidden
    $null = $second.Handle # keeps the handle, so that ExitCode can be read after the exit
    $firstGone = $firstPings.Count -ge 2 -and (Wait-Until { $first.HasExited } 30) -and
      @($firstPings | Where-Object { $null -ne (Get-Process -Id $_ -ErrorAction SilentlyContinue) }).Count -eq 0 -and -not $second.HasExited
    if ($second.WaitForExit(60000)) { $secondCode = $second.ExitCode }
    Start-Sleep -Seconds 2
    $left = @(Get-Pings -Marker 619)
  }
  Write-Step 'concurrency: Replace ends the whole tree of the run it replaces; the new run then times out (124) and leaves nothing' ($synced -and $firstGone -and $secondCode -eq 124 -and $left.Count -eq 0) "(synced: $synced, first run's tree gone while the second ran: $firstGone, second exit code: $secondCode, left behind: $(($left | ForEach-Object { $_.ProcessId }) -join ', '))"
  foreach ($p in $left) { Stop-Process -Id $p.ProcessId -Force -ErrorAction SilentlyContinue }

  # 10. A crash: the host exits non-zero and SCM recovery restarts it (after 5 s).
  $before = Get-DaemonProcess
  $crashAt = Get-Date
  if ($null -ne $before) { Stop-Process -Id $before.ProcessId -Force }
  $restarted = Wait-Until {
    $now = Get-DaemonProcess
    (Get-Service -Name $ServiceName).Status -eq 'Running' -and $null -ne $now -and $null -ne $before -and $now.ProcessId -ne $before.ProcessId
  } 90
  $crashLogged = (Get-ServiceEvent -Id 3 -Since $crashAt).Count -gt 0
  Write-Step 'a killed daemon is reported (id 3) and restarted by SCM recovery' ($restarted -and $crashLogged) "(restarted: $restarted, event: $crashLogged)"

  # 11. Clean stop: the daemon sees its stdin close and exits 0.
  $stopAt = Get-Date
  Stop-Service -Name $ServiceName
  $stopped = Wait-Until { (Get-Service -Name $ServiceName).Status -eq 'Stopped' } 60
  $stopEvent = @(Get-ServiceEvent -Id 2 -Since $stopAt)
  $clean = $stopEvent.Count -gt 0 -and $stopEvent[0].Message.Contains('exit code 0') -and (Get-ServiceEvent -Id 4 -Since $stopAt).Count -eq 0
  Write-Step 'Stop-Service stops the daemon cleanly (exit code 0, id 2, not killed)' ($stopped -and $clean)
} catch {
  Write-Host "ERROR $_" -ForegroundColor Red
  $script:failed++
} finally {
  # 12. Uninstall, always: the host must be left as it was found.
  try {
    & (Join-Path $PSScriptRoot 'uninstall.ps1') -InstallDir $InstallDir -Node $Node -Purge | Out-Host
    $gone = $null -eq (Get-Service -Name $ServiceName -ErrorAction SilentlyContinue) -and -not (Test-Path -LiteralPath $InstallDir) -and
      @(Get-ScheduledTask -TaskPath '\cronsync\*' -ErrorAction SilentlyContinue).Count -eq 0
    Write-Step 'uninstall.ps1 -Purge removes the job tasks, the service and the package' $gone
  } catch {
    Write-Step 'uninstall.ps1 -Purge removes the job tasks, the service and the package' $false "($_)"
  }
  $listener.Stop()
  Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}

if ($script:failed -gt 0) {
  Write-Host "Service check: $($script:failed) step(s) FAILED." -ForegroundColor Red
  exit 1
}
Write-Host 'Service check: every step passed.'
exit 0
