/**
 * The host's machine id, sent at enrollment so that the backend reuses this endpoint when the
 * host enrolls again: /etc/machine-id (systemd), /var/lib/dbus/machine-id, or on Windows the
 * MachineGuid of HKLM\SOFTWARE\Microsoft\Cryptography.
 */
import { readFile } from 'node:fs/promises';
import type { Runner } from '../system/runner.js';
import { hostOs, windowsSystemTool } from '../system/platform.js';

const FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

/** Reads the machine id, or null when the host has none. Never throws. */
export async function readMachineId(runner: Runner, platform: NodeJS.Platform = hostOs, files: readonly string[] = FILES): Promise<string | null> {
  if (platform === 'win32') {
    const r = await runner.run({ file: windowsSystemTool('reg.exe'), args: ['query', 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', '/v', 'MachineGuid'] }).catch(() => null);
    return r && r.exitCode === 0 ? parseMachineGuid(r.stdout) : null;
  }
  for (const f of files) {
    const id = await readFile(f, 'utf8').then((t) => t.trim(), () => '');
    if (/^[0-9a-f]{32}$/i.test(id)) return id.toLowerCase();
  }
  return null;
}

/** The MachineGuid in `reg query` output (`MachineGuid    REG_SZ    <guid>`), or null. Pure. */
export function parseMachineGuid(stdout: string): string | null {
  return /MachineGuid\s+REG_SZ\s+([0-9a-f-]{36})/i.exec(stdout)?.[1]?.toLowerCase() ?? null;
}
