/**
 * A fake `systemctl` (and `loginctl`) over a real unit directory, for the systemd adapter
 * tests. Behaviours, from systemctl(1) and loginctl(1) of systemd 252; those marked (offline)
 * are checked against the real `systemctl --root=DIR` by test/e2e/systemd-fake.test.ts:
 * - [is-enabled] (offline) prints one state per unit, from the unit directory (a name is never
 *   followed to decide): a link to /dev/null or an empty file is `masked`; a link to a file of
 *   another name `alias`, of the same name `linked`; a file whose [Install] section installs
 *   nothing `static`; an enabled one `enabled` (`enabled-runtime` with --runtime); one that an
 *   alias links to `indirect`; else `disabled`. Exit 0 when one state is enabled, enabled-runtime,
 *   static, alias, indirect, generated or transient; else 1. It stops at the first unit whose
 *   state it cannot read ("Failed to get unit file state for U: No such file or directory" for
 *   a missing file or a dangling link, "Bad message" for a broken section header), exit 1.
 * - [is-active] prints one state per unit (`active`, `inactive`); exit 0 when one is active,
 *   else 3 (LSB "program is not running").
 * - [daemon-reload] "Reload the systemd manager configuration ... rerun all generators, reload
 *   all unit files". Until then the manager works with the unit files it loaded before: the
 *   fake refuses to start or restart a unit whose file it has not loaded ("Unit … not found"),
 *   stricter than systemctl, whose `enable` reloads by itself, so that tests see the reload.
 * - [show] `--property=NAME` lists `NAME=value` per unit, units separated by a blank line;
 *   `NeedDaemonReload=yes` when the unit file changed on disk since the manager loaded it;
 *   `LoadState=masked` for a masked name (also masked in a preferred directory), `not-found`
 *   without a file, else `loaded`.
 * - [enable] (offline) all or nothing: a unit without a file ("Unit file U does not exist") or
 *   a masked one ("Unit file … is masked") fails the whole call, exit 1, and enables none; a
 *   static unit is not enabled (a note on stderr, exit 0). `--runtime` enables until reboot.
 *   `--now` then starts the units.
 * - [disable] all or nothing as the manager does it (systemd 255 checks this): a unit without
 *   a file fails the call, exit 1 ("Unit file U does not exist"); a masked unit is skipped.
 *   `systemctl --root` (offline) prints the same message but exits 0 and goes on. `--runtime`
 *   removes only the enablement until reboot; `--now` stops the units.
 * - [start/restart/stop] one job per unit, the others go on: a masked unit cannot be started
 *   ("Unit U is masked", exit 1); one the manager has not loaded is "not found" (start,
 *   restart) or "not loaded" (stop), exit 5.
 * - [mask] (offline) links the name to /dev/null in the unit directory, refused when a file is
 *   there ("File … already exists", exit 1); `--runtime` masks in /run, which tests model as a
 *   directory the manager prefers to the unit directory: {@link FakeSystemdState.masked}.
 * - [--user] talks to the calling user's manager; the fake keeps one state per scope.
 * - [loginctl show-user USER --property=Linger --value] prints `yes` or `no`; a user with no
 *   session who does not linger is unknown: "User … is not logged in or lingering", exit 1.
 * Not modelled: timers elapsing (the fidelity test checks calendars against systemd itself);
 * `disable` removing an alias's link.
 */
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { RunResult } from '../../src/system/runner.js';
import { FakeRunner } from './FakeRunner.js';

/** The manager state the fake keeps. */
export interface FakeSystemdState {
  enabled: Set<string>;
  /** Enabled until the next reboot (`enable --runtime`): `is-enabled` says `enabled-runtime`. */
  runtimeEnabled: Set<string>;
  active: Set<string>;
  /**
   * Units masked in a unit directory the manager prefers to the one under test (/etc over
   * /usr/local/lib/systemd/system, or /run for `mask --runtime`), whatever that one holds.
   */
  masked: Map<string, 'masked' | 'masked-runtime'>;
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

const MUTATING = new Set(['daemon-reload', 'enable', 'disable', 'restart', 'start', 'stop', 'mask', 'unmask']);

/** `is-enabled` states with exit 0 (systemctl(1), table "is-enabled output"). */
const ENABLED_EXIT_0 = new Set(['enabled', 'enabled-runtime', 'static', 'alias', 'indirect', 'generated', 'transient']);

/** A section header systemd cannot parse: "Invalid section header", then "Bad message". */
const badHeader = (text: string): boolean => text.split('\n').some((l) => l.trimStart().startsWith('[') && !/^\s*\[[^\]]+\]\s*$/.test(l));

/** Whether the [Install] section installs anything; a unit without is `static`. */
function installable(text: string): boolean {
  let section = '';
  for (const line of text.split('\n')) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) section = header[1]!;
    else if (section === 'Install' && /^\s*(WantedBy|RequiredBy|UpheldBy|Alias|Also|DefaultInstance)=\S/.test(line)) return true;
  }
  return false;
}

/** Creates the fake (see the module comment for what it models). */
export function fakeSystemctl(o: FakeSystemctlOptions): FakeSystemctl {
  const state: FakeSystemdState = { enabled: new Set(), runtimeEnabled: new Set(), active: new Set(), masked: new Map(), loaded: new Map(), reloads: 0 };
  const pathOf = (unit: string): string => join(o.unitDir, unit);
  /** The text systemd would load for a unit (a link followed), or null. */
  const fileOf = (unit: string): string | null => {
    try {
      return readFileSync(pathOf(unit), 'utf8');
    } catch {
      return null;
    }
  };
  const names = (): string[] => {
    try {
      return readdirSync(o.unitDir);
    } catch {
      return [];
    }
  };
  /** Names in the unit directory that link to `unit` under another name. */
  const aliasesOf = (unit: string): string[] => names().filter((n) => {
    if (n === unit) return false;
    try {
      return lstatSync(pathOf(n)).isSymbolicLink() && basename(resolve(o.unitDir, readlinkSync(pathOf(n)))) === unit;
    } catch {
      return false;
    }
  });

  /** What `is-enabled` says of a unit, or why it cannot tell. */
  function unitFileState(unit: string): { state: string } | { error: string } {
    const above = state.masked.get(unit);
    if (above) return { state: above };
    const p = pathOf(unit);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return { error: 'No such file or directory' };
    }
    if (st.isSymbolicLink()) {
      const target = readlinkSync(p);
      if (target === '/dev/null') return { state: 'masked' };
      const to = resolve(o.unitDir, target);
      try {
        if (statSync(to).isDirectory()) return { error: 'Is a directory' };
      } catch {
        return { error: 'No such file or directory' };
      }
      return { state: basename(to) === unit ? 'linked' : 'alias' };
    }
    if (st.isDirectory()) return { error: 'Is a directory' };
    if (!st.isFile()) return { error: 'Invalid argument' };
    if (st.size === 0) return { state: 'masked' };
    const text = readFileSync(p, 'utf8');
    if (badHeader(text)) return { error: 'Bad message' };
    if (state.enabled.has(unit)) return { state: 'enabled' };
    if (state.runtimeEnabled.has(unit)) return { state: 'enabled-runtime' };
    if (!installable(text)) return { state: 'static' };
    return { state: aliasesOf(unit).length > 0 ? 'indirect' : 'disabled' };
  }
  const isMasked = (unit: string): boolean => {
    const s = unitFileState(unit);
    return 'state' in s && s.state.startsWith('masked');
  };

  /** Starts, restarts or stops each unit; a failing one does not keep the others from it. */
  function jobs(verb: 'start' | 'restart' | 'stop', units: readonly string[]): Partial<RunResult> {
    let stderr = '';
    let exitCode = 0;
    for (const u of units) {
      if (verb !== 'stop' && isMasked(u)) {
        stderr += `Failed to ${verb} ${u}: Unit ${u} is masked.\n`;
        exitCode ||= 1;
      } else if (!state.loaded.has(u) && !(verb === 'stop' && state.active.has(u))) {
        stderr += verb === 'stop' ? `Failed to stop ${u}: Unit ${u} not loaded.\n` : `Failed to ${verb} ${u}: Unit ${u} not found.\n`;
        exitCode ||= 5;
      } else if (verb === 'stop') {
        state.active.delete(u);
      } else {
        state.active.add(u);
      }
    }
    return { stderr, exitCode };
  }

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
    const now = rest.includes('--now');
    const runtime = rest.includes('--runtime');
    switch (verb) {
      case 'is-enabled': {
        let stdout = '';
        let any = false;
        for (const u of units) {
          const s = unitFileState(u);
          if ('error' in s) return { stdout, stderr: `Failed to get unit file state for ${u}: ${s.error}\n`, exitCode: 1 };
          stdout += `${s.state}\n`;
          any ||= ENABLED_EXIT_0.has(s.state);
        }
        return { stdout, exitCode: any ? 0 : 1 };
      }
      case 'is-active':
        return { stdout: units.map((u) => `${state.active.has(u) ? 'active' : 'inactive'}\n`).join(''), exitCode: units.some((u) => state.active.has(u)) ? 0 : 3 };
      case 'show': {
        // [show] one block per unit, blank line between; a file changed since it was loaded needs a reload.
        const props = rest.filter((a) => a.startsWith('--property=')).map((a) => a.slice('--property='.length));
        // LoadState (systemd.unit(5), org.freedesktop.systemd1(5)): `masked` for a masked name, `not-found` without a file.
        const loadState = (u: string): string => (isMasked(u) ? 'masked' : fileOf(u) === null ? 'not-found' : 'loaded');
        const block = (u: string): string => props.map((p) => (p === 'Id' ? `Id=${u}` : p === 'NeedDaemonReload' ? `NeedDaemonReload=${state.loaded.has(u) && state.loaded.get(u) !== fileOf(u) ? 'yes' : 'no'}` : p === 'LoadState' ? `LoadState=${loadState(u)}` : `${p}=`)).join('\n');
        return { stdout: `${units.map(block).join('\n\n')}\n` };
      }
      case 'daemon-reload':
        state.reloads++;
        state.loaded.clear();
        for (const name of names()) {
          const text = /\.(service|timer)$/.test(name) ? fileOf(name) : null;
          if (text !== null) state.loaded.set(name, text);
        }
        return {};
      case 'enable': {
        let stderr = '';
        for (const u of units) {
          const s = unitFileState(u);
          if ('error' in s) return { exitCode: 1, stderr: `Failed to enable unit: Unit file ${u} does not exist.\n` };
          if (s.state.startsWith('masked')) return { exitCode: 1, stderr: `Failed to enable unit: Unit file ${pathOf(u)} is masked.\n` };
        }
        for (const u of units) {
          if (!installable(fileOf(u) ?? '')) {
            stderr += 'The unit files have no installation config (WantedBy=, RequiredBy=, Also=,\nAlias= settings in the [Install] section, and DefaultInstance= for template\nunits). This means they are not meant to be enabled using systemctl.\n';
            continue;
          }
          (runtime ? state.runtimeEnabled : state.enabled).add(u);
        }
        const started = now ? jobs('start', units) : {};
        return { stderr: stderr + (started.stderr ?? ''), exitCode: started.exitCode ?? 0 };
      }
      case 'disable':
        for (const u of units) {
          if ('error' in unitFileState(u)) return { exitCode: 1, stderr: `Failed to disable unit: Unit file ${u} does not exist.\n` };
        }
        for (const u of units) {
          if (isMasked(u)) continue;
          (runtime ? state.runtimeEnabled : state.enabled).delete(u);
        }
        if (now) for (const u of units) state.active.delete(u);
        return {};
      case 'start':
      case 'restart':
      case 'stop':
        return jobs(verb, units);
      case 'mask':
        for (const u of units) {
          if (runtime) {
            state.masked.set(u, 'masked-runtime');
            continue;
          }
          const p = pathOf(u);
          let there = false;
          try {
            there = !(lstatSync(p).isSymbolicLink() && readlinkSync(p) === '/dev/null');
          } catch {
            symlinkSync('/dev/null', p);
          }
          if (there) return { exitCode: 1, stderr: `Failed to mask unit: File ${p} already exists.\n` };
        }
        if (now) for (const u of units) state.active.delete(u);
        return {};
      case 'unmask':
        for (const u of units) {
          state.masked.delete(u);
          try {
            if (readlinkSync(pathOf(u)) === '/dev/null') unlinkSync(pathOf(u));
          } catch {
            // Not a link: nothing to unmask there.
          }
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
