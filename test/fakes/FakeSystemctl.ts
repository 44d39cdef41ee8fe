/**
 * A fake `systemctl` (and `loginctl`) over a real unit directory, for the systemd adapter
 * tests. Behaviours, from systemctl(1) and loginctl(1) of systemd 252:
 * - [is-enabled] "Checks whether any of the specified unit files are enabled"; prints one state
 *   per unit (`enabled`, `disabled`, ...); "returns 0 if at least one is enabled, non-zero
 *   otherwise". A unit without a file: no line, "Failed to get unit file state" on stderr.
 * - [is-active] prints one state per unit (`active`, `inactive`); exit 0 when all are active,
 *   else 3 (LSB "program is not running").
 * - [daemon-reload] "Reload the systemd manager configuration ... rerun all generators, reload
 *   all unit files". Until then the manager works with the unit files it loaded before: the
 *   fake refuses `enable`/`restart` of a unit whose file it has not loaded ("Unit … not found").
 * - [show] `--property=NAME` lists `NAME=value` per unit, units separated by a blank line;
 *   `NeedDaemonReload=yes` when the unit file changed on disk since the manager loaded it.
 * - [enable --now] creates the [Install] symlinks and starts the units; [disable --now] removes
 *   them and stops the units; a unit file that does not exist is an error.
 * - [--user] talks to the calling user's manager; the fake keeps one state per scope.
 * - [loginctl show-user USER --property=Linger --value] prints `yes` or `no`; a user with no
 *   session who does not linger is unknown: "User … is not logged in or lingering", exit 1.
 * Not modelled: timers elapsing (the fidelity test checks calendars against systemd itself).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../src/system/runner.js';
import { FakeRunner } from './FakeRunner.js';

/** The manager state the fake keeps. */
export interface FakeSystemdState {
  enabled: Set<string>;
  active: Set<string>;
  /** Unit file texts as of the last daemon-reload. */
  loaded: Map<string, string>;
  reloads: number;
}

/** Options of {@link fakeSystemctl}. */
export interface FakeSystemctlOptions {
  /** The unit directory the manager loads. */
  unitDir: string;
  /** Lingering per user (absent: unknown to logind). */
  linger?: Map<string, boolean>;
  /** Answers a call instead of the fake (failure injection). */
  inject?: (argv: readonly string[]) => Partial<RunResult> | undefined;
}

/** A FakeRunner behaving like systemctl/loginctl, plus the manager state. */
export type FakeSystemctl = FakeRunner & { state: FakeSystemdState; mutations(): string[][] };

const MUTATING = new Set(['daemon-reload', 'enable', 'disable', 'restart', 'start', 'stop']);

/** Creates the fake (see the module comment for what it models). */
export function fakeSystemctl(o: FakeSystemctlOptions): FakeSystemctl {
  const state: FakeSystemdState = { enabled: new Set(), active: new Set(), loaded: new Map(), reloads: 0 };
  const fileOf = (unit: string): string | null => {
    const p = join(o.unitDir, unit);
    return existsSync(p) ? readFileSync(p, 'utf8') : null;
  };
  const runner = new FakeRunner((cmd) => {
    const argv = [cmd.file, ...cmd.args];
    const injected = o.inject?.(argv);
    if (injected) return injected;
    if (cmd.file === 'loginctl') {
      const [verb, user] = cmd.args;
      if (verb !== 'show-user' || !cmd.args.includes('--property=Linger') || !cmd.args.includes('--value')) return { exitCode: 1, stderr: 'Unknown command verb\n' };
      const l = o.linger?.get(user ?? '');
      return l === undefined ? { exitCode: 1, stderr: `Failed to get user: User ${user ?? ''} is not logged in or lingering\n` } : { stdout: l ? 'yes\n' : 'no\n' };
    }
    if (cmd.file !== 'systemctl') return { exitCode: 127, spawnError: `spawn ${cmd.file} ENOENT` };
    const args = cmd.args.filter((a) => a !== '--user');
    const [verb, ...rest] = args;
    const units = rest.filter((a) => !a.startsWith('--'));
    switch (verb) {
      case 'is-enabled': {
        const lines: string[] = [];
        let stderr = '';
        for (const u of units) {
          if (fileOf(u) === null) stderr += `Failed to get unit file state for ${u}: No such file or directory\n`;
          else lines.push(state.enabled.has(u) ? 'enabled' : 'disabled');
        }
        return { stdout: lines.map((l) => `${l}\n`).join(''), stderr, exitCode: units.some((u) => state.enabled.has(u)) ? 0 : 1 };
      }
      case 'is-active':
        return { stdout: units.map((u) => `${state.active.has(u) ? 'active' : 'inactive'}\n`).join(''), exitCode: units.every((u) => state.active.has(u)) ? 0 : 3 };
      case 'show': {
        // [show] one block per unit, blank line between; a file changed since it was loaded needs a reload.
        const props = rest.filter((a) => a.startsWith('--property=')).map((a) => a.slice('--property='.length));
        const block = (u: string): string => props.map((p) => (p === 'Id' ? `Id=${u}` : p === 'NeedDaemonReload' ? `NeedDaemonReload=${state.loaded.has(u) && state.loaded.get(u) !== fileOf(u) ? 'yes' : 'no'}` : `${p}=`)).join('\n');
        return { stdout: `${units.map(block).join('\n\n')}\n` };
      }
      case 'daemon-reload':
        state.reloads++;
        state.loaded.clear();
        for (const name of existsSync(o.unitDir) ? readdirSync(o.unitDir) : []) {
          if (/\.(service|timer)$/.test(name)) state.loaded.set(name, fileOf(name)!);
        }
        return {};
      case 'enable':
      case 'restart':
      case 'start':
        for (const u of units) {
          if (fileOf(u) === null || !state.loaded.has(u)) return { exitCode: 5, stderr: `Failed to ${verb} unit: Unit ${u} not found.\n` };
        }
        for (const u of units) {
          if (verb === 'enable') state.enabled.add(u);
          if (verb !== 'enable' || rest.includes('--now')) state.active.add(u);
        }
        return {};
      case 'disable':
      case 'stop':
        for (const u of units) {
          if (verb === 'disable' && fileOf(u) === null) return { exitCode: 1, stderr: `Failed to disable unit: Unit file ${u} does not exist.\n` };
        }
        for (const u of units) {
          if (verb === 'disable') state.enabled.delete(u);
          if (verb !== 'disable' || rest.includes('--now')) state.active.delete(u);
        }
        return {};
      default:
        return { exitCode: 1, stderr: `Unknown command verb ${verb ?? ''}.\n` };
    }
  });

  return Object.assign(runner, {
    state,
    mutations: () => runner.calls.filter((c) => c.argv[0] === 'systemctl' && MUTATING.has(c.argv.filter((a) => a !== '--user')[1] ?? '')).map((c) => c.argv),
  });
}
