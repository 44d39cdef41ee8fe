/**
 * Reads back a unit pair (SPEC §4): the marker of each file, whether it was edited, and the
 * timer's state in systemd, as one inventory entry per `cronsync-*` unit name.
 */
import type { InstalledEntry, Marker } from '../../plan/types.js';
import { decodeMarker, entryHash } from '../marker.js';
import type { UnitFileRead } from './files.js';
import { PAUSED_NOTE, entryRaw } from './render.js';
import type { TimerState } from './systemctl.js';

/** The files of one unit name as read (null: missing) and the timer's state (null: unknown). */
export interface UnitFiles {
  base: string;
  service: string | null;
  timer: string | null;
  state: TimerState | null;
  /**
   * Names of the pair holding what cronsync never writes, each with what it is (`… is a symbolic
   * link to /dev/null (masked)`): a link (a mask, an alias), an empty file (systemd reads it as
   * masked), a directory, a FIFO. Such a pair is someone else's: never written, never removed.
   */
  occupants?: string[];
}

/**
 * What is at a name of a pair that cronsync never writes there (for {@link UnitFiles.occupants}),
 * or null for a regular file with text. systemd reads an empty unit file as masked.
 */
export function occupantOf(read: UnitFileRead): string | null {
  if (read.kind === 'symlink') return `a symbolic link to ${read.target}${read.target === '/dev/null' ? ' (masked)' : ''}`;
  if (read.kind === 'other') return read.what;
  return read.text === '' ? 'empty (systemd reads an empty unit file as masked)' : null;
}

interface FileMarker {
  marker: Marker;
  /** The entry hash matches the rest of the file. */
  intact: boolean;
}

const firstLine = (text: string): string => {
  const nl = text.indexOf('\n');
  return nl < 0 ? text : text.slice(0, nl);
};

function fileMarker(text: string | null): FileMarker | null {
  if (text === null) return null;
  const line = decodeMarker(firstLine(text));
  if (!line) return null;
  const nl = text.indexOf('\n');
  return { marker: line.marker, intact: line.entryHash === entryHash(nl < 0 ? '' : text.slice(nl + 1)) };
}

/** The two files' markers name the same job version (only the timer's records when it was applied). */
const sameMarker = (a: Marker, b: Marker): boolean => JSON.stringify({ ...a, appliedAt: undefined }) === JSON.stringify({ ...b, appliedAt: undefined });

/** The marker of a unit pair: the timer's, else the service's; null for a pair with an occupant. */
export function unitMarker(u: UnitFiles): Marker | null {
  if (u.occupants) return null;
  const of = (text: string | null): Marker | undefined => (text === null ? undefined : decodeMarker(firstLine(text))?.marker);
  return of(u.timer) ?? of(u.service) ?? null;
}

/** `is-enabled` states of a name under which systemd loads something else than the timer file. */
const ELSEWHERE = new Set(['linked', 'linked-runtime', 'alias', 'generated', 'transient', 'static', 'bad', 'not-found']);

/**
 * Why the timer systemd has under this name is not cronsync's to start, stop or enable, or
 * null: an administrator masked it (`masked`, `masked-runtime`: their choice, kept), or the file
 * is intact and systemd still reads something else under its name (an alias or link to another
 * unit, a generated or transient unit, a file without [Install] in a directory it prefers), or
 * cannot read it at all. A hand-edited timer with such a state is drift instead: apply rewrites it.
 */
export function timerBlock(u: UnitFiles): string | null {
  const s = u.state;
  if (!s || u.timer === null || u.occupants) return null;
  const name = `${u.base}.timer`;
  const w = s.unitFileState;
  if (w === 'masked' || w === 'masked-runtime') {
    return `${name} is masked${w === 'masked-runtime' ? ' until the next reboot' : ''} (systemctl is-enabled: ${w}), an administrator's choice: cronsync neither starts nor enables it (systemctl unmask${w === 'masked-runtime' ? ' --runtime' : ''} ${name} lets it run)`;
  }
  if (w !== null && !ELSEWHERE.has(w)) return null;
  if (fileMarker(u.timer)?.intact !== true) return null;
  if (w === null || w === 'not-found') {
    return `systemd cannot read the state of ${name} (${s.error ?? w}); is the unit directory one systemd loads units from? cronsync neither starts nor enables it`;
  }
  return `systemd loads another unit than cronsync's file under the name ${name} (systemctl is-enabled: ${w}); cronsync neither starts nor enables it`;
}

/**
 * Why the job of an intact pair of ours cannot run although its timer can: its service is masked
 * (in a unit directory systemd prefers to ours, or at runtime), an administrator's choice. Its
 * timer is left as it is (neither started, enabled nor stopped for it), and is stopped and
 * disabled as usual when the job is removed. Null otherwise.
 */
export function serviceBlock(u: UnitFiles): string | null {
  if (!u.state?.serviceMasked || u.timer === null || u.occupants || timerBlock(u) !== null) return null;
  const name = `${u.base}.service`;
  return `${name} is masked (systemctl show: LoadState=masked), an administrator's choice: its timer starts nothing, and cronsync leaves ${u.base}.timer as it is (systemctl unmask ${name}, or --runtime if masked until the next reboot, lets it run)`;
}

/** The lines added to `raw` when the timer's state is not the one its file declares. */
export function stateLines(state: TimerState, paused: boolean): string {
  const is = `${state.unitFileState ?? (state.enabled ? 'enabled' : 'disabled')}, ${state.active ? 'active' : 'inactive'}`;
  const want = !paused;
  return (state.error !== undefined ? `# systemd: cannot read the timer's state (${state.error})\n` : '')
    + (state.enabled !== want || state.active !== want ? `# systemd: the timer is ${is}; cronsync keeps it ${paused ? 'disabled, inactive' : 'enabled, active'}\n` : '')
    + (state.stale ? '# systemd: runs an older version of these units (daemon-reload needed)\n' : '');
}

/** The `raw` of a pair that is not cronsync's: its first line names the files and what they are. */
function foreignRaw(u: UnitFiles): string {
  const plain = [u.timer === null ? null : `${u.base}.timer`, u.service === null ? null : `${u.base}.service`].filter((n) => n !== null);
  return `# ${u.occupants ? u.occupants.join('; ') : `${plain.join(', ')}: no cronsync marker`}\n${u.timer ?? ''}`;
}

/**
 * The inventory entry of a unit name (never throws). Ours when either file carries a marker
 * (the timer's wins) and no name of the pair holds a link or anything else cronsync never
 * writes; drifted (for `sourceId`'s entries) when a file is missing or edited, the two markers
 * disagree, or the timer is not in the state its file declares (a masked timer, or one systemd
 * has from elsewhere, is not: see {@link timerBlock}).
 */
export function unitEntry(u: UnitFiles, sourceId: string): InstalledEntry {
  const key = `systemd:${u.base}`;
  const marker = unitMarker(u);
  if (marker === null) return { key, marker, paused: false, drifted: false, raw: foreignRaw(u) };
  const t = fileMarker(u.timer);
  const s = fileMarker(u.service);
  const declaredPaused = u.timer !== null && u.timer.split('\n').includes(PAUSED_NOTE);
  const off = u.state === null || timerBlock(u) !== null || serviceBlock(u) !== null ? '' : stateLines(u.state, declaredPaused);
  const raw = entryRaw(u.base, u.timer, u.service) + off;
  const drifted = marker.sourceId === sourceId
    && (!t || !s || !t.intact || !s.intact || !sameMarker(t.marker, s.marker) || off !== '');
  const paused = u.state ? !(u.state.enabled && u.state.active) : declaredPaused;
  return { key, marker, paused, drifted, raw };
}
