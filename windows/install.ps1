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

  The service runs as LocalSystem whatever config.yaml says, so nothing in %ProgramData%\cronsync
  may be anyone else's: any user may create folders under %ProgramData% and owns what they
  create, and an owner can always rewrite an ACL. When %ProgramData%\cronsync exists, every item
  in it must be owned by SYSTEM, Administrators or TrustedInstaller and none may be a junction
  or symbolic link; otherwise install.ps1 refuses and changes nothing. Then it replaces the
  directory's ACL in one step (owner Administrators; SYSTEM and Administrators only, nothing
  inherited), resets everything inside to inherit it, and checks the owners again. The parent
  folders of -InstallDir must likewise be changeable only by SYSTEM, Administrators and
  TrustedInstaller (%ProgramFiles% is; C:\ and a data drive's root, where every user may create
  folders, are not), and the package is staged in a directory created with its final ACL.

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
# A relative -InstallDir is taken from the current location, as PowerShell does (.NET would use
# the process's working directory).
$InstallDir = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($InstallDir).TrimEnd('\')
$DataDir = Join-Path $env:ProgramData 'cronsync'
$ConfigFile = Join-Path $DataDir 'config.yaml'
$StateDir = Join-Path $DataDir 'state'
$LogDir = Join-Path $DataDir 'logs'
$HostExe = Join-Path $InstallDir 'bin\cronsync-service.exe'
# Windows' own tools by their full path: a bare name is looked up on PATH, where a directory
# any user can write to could put its own sc.exe or icacls.exe in front of them (run elevated).
$SystemDir = [Environment]::SystemDirectory
$Sc = Join-Path $SystemDir 'sc.exe'
$Icacls = Join-Path $SystemDir 'icacls.exe'

# Well-known SIDs, so that any display language works.
$SystemSid = 'S-1-5-18'
$AdminsSid = 'S-1-5-32-544'
$UsersSid = 'S-1-5-32-545'
$TrustedInstallerSid = 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464'
# Who may own what the service (LocalSystem) reads or runs. No one else: an owner can always
# rewrite the ACL of what it owns.
$TrustedOwners = @($SystemSid, $AdminsSid, $TrustedInstallerSid)

# "NAME (SID)", or the SID alone when it has no name here.
function Format-Sid {
  param([string]$Sid)

  try {
    $name = ([System.Security.Principal.SecurityIdentifier]$Sid).Translate([System.Security.Principal.NTAccount]).Value
    return "$name ($Sid)"
  } catch {
    return $Sid
  }
}

# The SID of the owner of $Path (not of a link's target: callers refuse links first).
function Get-OwnerSid {
  param([string]$Path)

  $owner = (Get-Acl -LiteralPath $Path).GetOwner([System.Security.Principal.SecurityIdentifier])
  if ($null -eq $owner) { return '(no owner)' }
  return $owner.Value
}

# The first reason not to trust $Path, or $null: an item that is a junction or symbolic link
# (it would lead these checks, icacls /T and Remove-Item elsewhere), or an item whose owner is
# not SYSTEM, Administrators or TrustedInstaller; an item that cannot be read is a reason too.
# -Scope All checks $Path and everything under it; Links checks the owner of $Path alone, but
# refuses links anywhere under it; Top checks $Path alone.
function Find-UntrustedItem {
  param([string]$Path, [ValidateSet('All', 'Links', 'Top')][string]$Scope = 'All')

  $where = $Path
  try {
    $items = New-Object System.Collections.ArrayList
    [void]$items.Add((Get-Item -LiteralPath $Path -Force))
    for ($i = 0; $i -lt $items.Count; $i++) {
      $item = $items[$i]
      $where = $item.FullName
      if (($item.Attributes -band [System.IO.FileAttributes]::ReparsePoint) -ne 0) {
        return "$where is a junction or symbolic link"
      }
      if ($i -eq 0 -or $Scope -eq 'All') {
        $owner = Get-OwnerSid $where
        if ($TrustedOwners -notcontains $owner) { return "$where is owned by $(Format-Sid $owner)" }
      }
      if ($Scope -ne 'Top' -and $item -is [System.IO.DirectoryInfo]) {
        foreach ($child in @(Get-ChildItem -LiteralPath $where -Force)) { [void]$items.Add($child) }
      }
    }
  } catch {
    return "$where cannot be checked ($($_.Exception.Message))"
  }
  return $null
}

# The first folder above $Dir that someone other than SYSTEM, Administrators or TrustedInstaller
# could change so as to put their own directory at $Dir, or $null: its owner, or an allow entry
# (not inherit-only) for anyone else that grants creating entries (in the nearest existing
# folder, where $Dir and $Dir.new are made), deleting, renaming or re-permissioning.
function Find-OpenAncestor {
  param([string]$Dir)

  # WriteData (add file), AppendData (add subdirectory), GenericWrite.
  $createMask = 0x2 -bor 0x4 -bor 0x40000000
  # DeleteSubdirectoriesAndFiles, Delete, ChangePermissions, TakeOwnership, GenericAll.
  $changeMask = 0x40 -bor 0x10000 -bor 0x40000 -bor 0x80000 -bor 0x10000000
  $nearest = $true
  $folder = [System.IO.Path]::GetDirectoryName($Dir)
  while (-not [string]::IsNullOrEmpty($folder)) {
    $above = [System.IO.Path]::GetDirectoryName($folder)
    if (Test-Path -LiteralPath $folder) {
      $problem = Find-UntrustedItem -Path $folder -Scope Top
      if ($null -eq $problem) {
        $acl = Get-Acl -LiteralPath $folder
        $mask = $changeMask
        if ($nearest) { $mask = $mask -bor $createMask }
        # A drive's root cannot be renamed.
        if ([string]::IsNullOrEmpty($above)) { $mask = $mask -band -bnot 0x10000 }
        foreach ($rule in $acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])) {
          $sid = $rule.IdentityReference.Value
          $inheritOnly = ($rule.PropagationFlags -band [System.Security.AccessControl.PropagationFlags]::InheritOnly) -ne 0
          if ($rule.AccessControlType -eq [System.Security.AccessControl.AccessControlType]::Allow -and -not $inheritOnly -and
            $TrustedOwners -notcontains $sid -and $sid -ne 'S-1-3-0' -and ([int]$rule.FileSystemRights -band $mask) -ne 0) {
            $problem = "$folder lets $(Format-Sid $sid) create, delete or re-permission entries ($($rule.FileSystemRights))"
            break
          }
        }
      }
      if ($null -ne $problem) { return $problem }
      $nearest = $false
    }
    $folder = $above
  }
  return $null
}

# A directory ACL owned by Administrators and protected (nothing inherited from the parent):
# full control for SYSTEM and Administrators, read and execute for each SID in $ReadSids, all
# inherited by everything inside. With no $ReadSids, what the agent gives its private state dir
# (src/system/platform.ts PRIVATE_DIR_GRANTS).
function New-LockedAcl {
  param([string[]]$ReadSids = @())

  $acl = New-Object System.Security.AccessControl.DirectorySecurity
  $acl.SetOwner((New-Object System.Security.Principal.SecurityIdentifier($AdminsSid)))
  $acl.SetAccessRuleProtection($true, $false)
  $inherit = [System.Security.AccessControl.InheritanceFlags]'ContainerInherit, ObjectInherit'
  $propagate = [System.Security.AccessControl.PropagationFlags]::None
  $allow = [System.Security.AccessControl.AccessControlType]::Allow
  foreach ($sid in $SystemSid, $AdminsSid) {
    $who = New-Object System.Security.Principal.SecurityIdentifier($sid)
    $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($who, [System.Security.AccessControl.FileSystemRights]::FullControl, $inherit, $propagate, $allow)))
  }
  foreach ($sid in $ReadSids) {
    $who = New-Object System.Security.Principal.SecurityIdentifier($sid)
    $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($who, [System.Security.AccessControl.FileSystemRights]::ReadAndExecute, $inherit, $propagate, $allow)))
  }
  return $acl
}

# Creates the directory $Path with the ACL of New-LockedAcl from the start, so that no one can
# open it in between. Does nothing when $Path exists: callers check the result with
# Assert-LockedAcl, which refuses a directory someone else made first.
function New-LockedDirectory {
  param([string]$Path, [string[]]$ReadSids = @())

  $info = New-Object System.IO.DirectoryInfo($Path)
  if ($PSVersionTable.PSEdition -eq 'Core') {
    # .NET (PowerShell 7): an extension method, which PowerShell calls as a static one.
    [System.IO.FileSystemAclExtensions]::Create($info, (New-LockedAcl -ReadSids $ReadSids))
  } else {
    $info.Create((New-LockedAcl -ReadSids $ReadSids))
  }
}

# Throws unless the ACL of $Path is what New-LockedAcl makes: owner Administrators, protected,
# entries for SYSTEM, Administrators and $ReadSids only.
function Assert-LockedAcl {
  param([string]$Path, [string[]]$ReadSids = @())

  $acl = Get-Acl -LiteralPath $Path
  $owner = Get-OwnerSid $Path
  $allowed = @($SystemSid, $AdminsSid) + $ReadSids
  $others = @($acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]) |
    Where-Object { $allowed -notcontains $_.IdentityReference.Value } | ForEach-Object { Format-Sid $_.IdentityReference.Value })
  if ($owner -ne $AdminsSid -or -not $acl.AreAccessRulesProtected -or $others.Count -gt 0) {
    throw "The ACL of $Path is not what install.ps1 set (owner: $(Format-Sid $owner), protected: $($acl.AreAccessRulesProtected), others: $($others -join ', ')); inspect it and run install.ps1 again."
  }
}

# Replaces the whole ACL and the owner of the directory $Path in one step (New-LockedAcl): no
# entry of anyone else survives, explicit or inherited.
function Set-LockedAcl {
  param([string]$Path, [string[]]$ReadSids = @())

  Set-Acl -LiteralPath $Path -AclObject (New-LockedAcl -ReadSids $ReadSids)
  Assert-LockedAcl -Path $Path -ReadSids $ReadSids
}

# Refuses, before anything uses it, a %ProgramData%\cronsync that anyone else owns or put
# something in: the service would run as SYSTEM with the config.yaml found there.
function Assert-TrustedDataDir {
  $problem = Find-UntrustedItem -Path $DataDir
  if ($null -ne $problem) {
    throw ("Refusing to install: $problem. $DataDir and everything in it must be owned by SYSTEM, Administrators or TrustedInstaller: " +
      "someone else may have created it before cronsync was installed, and a config.yaml there could run commands as SYSTEM. " +
      "Inspect its contents, then remove $DataDir, or keep it if you trust all of it by giving it to Administrators (takeown /F `"$DataDir`" /A /R /D Y), and run install.ps1 again.")
  }
}

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
# The oldest Node.js the package runs on (its engines), asked of that node in syntax any node parses.
$engines = (Get-Content -LiteralPath (Join-Path $Source 'package.json') -Raw | ConvertFrom-Json).engines
if ($null -ne $engines -and $engines.node -match '^>=\s*(\d+(\.\d+)*)$') {
  $min = $Matches[1]
  # No double quotes in the script: Windows PowerShell 5.1 does not escape them for native programs.
  & $Node -e 'var h = process.versions.node.split(/[.]/).map(Number), n = process.argv[1].split(/[.]/).map(Number), i = 0; for (; i < 3 && (h[i] || 0) === (n[i] || 0); i++); process.exit(i === 3 || (h[i] || 0) > (n[i] || 0) ? 0 : 1)' $min 2>$null
  if ($LASTEXITCODE -ne 0) {
    throw "$Node is Node.js $(& $Node --version 2>$null); cronsync needs $min or later (pass -Node C:\path\to\node.exe)."
  }
}
if ($Node.StartsWith((Join-Path $env:SystemDrive 'Users'), [StringComparison]::OrdinalIgnoreCase)) {
  Write-Warning "$Node is under a user profile: the service runs it as LocalSystem, so that user could run code as SYSTEM. Prefer a machine-wide Node.js install."
}
# Refuse someone else's %ProgramData%\cronsync now, before anything is staged; step 2 checks
# it again.
if (Test-Path -LiteralPath $DataDir) { Assert-TrustedDataDir }

# 1. The package, staged next to the install dir, with the service host compiled into it. The
#    staging dir is created with its final ACL (SYSTEM and Administrators full control, Users
#    read and execute), in a folder only they may change: no one else can put a file in it or
#    keep one open for writing.
Write-Host "Staging cronsync for $InstallDir"
$staging = "$InstallDir.new"
$problem = Find-OpenAncestor -Dir $InstallDir
if ($null -ne $problem) {
  throw "Refusing to install into ${InstallDir}: $problem. The service runs the package as SYSTEM, so no one but SYSTEM, Administrators and TrustedInstaller may create, rename or delete folders on its path. Choose a -InstallDir under %ProgramFiles%, or restrict that folder's ACL."
}
# Missing folders above it are created like the staging dir, locked from the start (the nearest
# existing one, just checked, lets no one else create entries).
$missing = @()
$folder = [System.IO.Path]::GetDirectoryName($InstallDir)
while (-not [string]::IsNullOrEmpty($folder) -and -not (Test-Path -LiteralPath $folder)) {
  $missing = @($folder) + $missing
  $folder = [System.IO.Path]::GetDirectoryName($folder)
}
foreach ($dir in $missing) {
  New-LockedDirectory -Path $dir -ReadSids $UsersSid
  Assert-LockedAcl -Path $dir -ReadSids $UsersSid
}
foreach ($dir in $staging, $InstallDir) {
  if (Test-Path -LiteralPath $dir) {
    $problem = Find-UntrustedItem -Path $dir -Scope Links
    if ($null -ne $problem) { throw "Refusing to replace ${dir}: $problem. Inspect it, remove it and run install.ps1 again." }
  }
}
if (Test-Path -LiteralPath $staging) { Remove-Item -LiteralPath $staging -Recurse -Force }
New-LockedDirectory -Path $staging -ReadSids $UsersSid
Assert-LockedAcl -Path $staging -ReadSids $UsersSid
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
#    here) or own anything in them (the service runs config.yaml's jobs as SYSTEM). An existing
#    %ProgramData%\cronsync is checked before it is used: anything in it owned by someone else
#    is refused, config.yaml included. Then its ACL is replaced in one step, and the owners are
#    checked again: now that no one else can add anything, that covers what appeared meanwhile.
if (Test-Path -LiteralPath $DataDir) {
  Assert-TrustedDataDir
  Set-LockedAcl -Path $DataDir
} else {
  New-LockedDirectory -Path $DataDir
}
Assert-TrustedDataDir
Assert-LockedAcl -Path $DataDir
foreach ($dir in $StateDir, $LogDir) {
  New-Item -ItemType Directory -Path $dir -Force | Out-Null
}
$hadConfig = Test-Path -LiteralPath $ConfigFile
if (-not $hadConfig) {
  Copy-Item -LiteralPath (Join-Path $staging 'windows\config.example.yaml') -Destination $ConfigFile
  Write-Host "Wrote example $ConfigFile : edit it, then run: Start-Service $ServiceName"
} else {
  Write-Host "Keeping existing $ConfigFile"
}
# Everything inside inherits the data dir's ACL and nothing else (explicit entries go), the
# state dir gets its own protected copy of it, as the agent makes it, and Administrators own it all.
& $Icacls "$DataDir\*" /reset /T /C /Q | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls /reset failed under $DataDir" }
Set-LockedAcl -Path $StateDir
& $Icacls $DataDir /setowner "*$AdminsSid" /T /C /Q | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls /setowner failed on $DataDir" }
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
# LocalSystem runs these files: only SYSTEM and Administrators may change them. The renamed
# staging dir has this ACL already; a directory found at $InstallDir instead is refused.
if (-not (Test-Path -LiteralPath $HostExe)) { throw "$HostExe is missing after moving $staging to $InstallDir" }
Assert-LockedAcl -Path $InstallDir -ReadSids $UsersSid

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
& $Sc failure $ServiceName reset= 86400 actions= restart/5000/restart/5000/restart/60000 | Out-Null
if ($LASTEXITCODE -ne 0) { throw "sc.exe failure $ServiceName failed" }
# A stop with a non-zero exit code counts as a failure too, not only a crash.
& $Sc failureflag $ServiceName 1 | Out-Null
if ($LASTEXITCODE -ne 0) { throw "sc.exe failureflag $ServiceName failed" }

# Started when it was running before the upgrade, or on a first install that found a config;
# a service an administrator had stopped stays stopped.
if (-not $NoStart -and ($wasRunning -or ($null -eq $existing -and $hadConfig))) {
  Start-Service -Name $ServiceName
  Write-Host "cronsync started. Log: $LogDir\cronsync.log ; status: & '$Node' '$main' status --config '$ConfigFile'"
}
