/**
 * Reads back a unit pair (SPEC §4): the marker of each file, whether it was edited, and the
 * timer's state in systemd, as one inventory entry per `cronsync-*` unit name.
 */
import type { InstalledEntry, Marker } from '../../plan/types.js';
import { decodeMarker, entryHash } from '../marker.js';
import { PAUSED_NOTE, entryRaw } from './render.js';
import type { TimerState } from './systemctl.js';

/** The files of one unit name as read (null: missing) and the timer's state (null: unknown). */
export interface UnitFiles {
  base: string;
  service: string | null;
  timer: string | null;
  state: TimerState | null;
}

interface FileMarker {
  marker: Marker;
  /** The entry hash matches the rest of the file. */
  intact: boolean;
}

function fileMarker(text: string | null): FileMarker | null {
  if (text === null) return null;
  const nl = text.indexOf('\n');
  const line = decodeMarker(nl < 0 ? text : text.slice(0, nl));
  if (!line) return null;
  return { marker: line.marker, intact: line.entryHash === entryHash(nl < 0 ? '' : text.slice(nl + 1)) };
}

const sameMarker = (a: Marker, b: Marker): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The lines added to `raw` when the timer's state is not the one its file declares. */
export function stateLines(state: TimerState, paused: boolean): string {
  const is = `${state.enabled ? 'enabled' : 'disabled'}, ${state.active ? 'active' : 'inactive'}`;
  const want = !paused;
  return (state.enabled !== want || state.active !== want ? `# systemd: the timer is ${is}; cronsync keeps it ${paused ? 'disabled, inactive' : 'enabled, active'}\n` : '')
    + (state.stale ? '# systemd: runs an older version of these units (daemon-reload needed)\n' : '');
}

/**
 * The inventory entry of a unit name (never throws). Ours when either file carries a marker
 * (the timer's wins); drifted (for `sourceId`'s entries) when a file is missing or edited,
 * the two markers disagree, or the timer is not in the state its file declares.
 */
export function unitEntry(u: UnitFiles, sourceId: string): InstalledEntry {
  const t = fileMarker(u.timer);
  const s = fileMarker(u.service);
  const marker = t?.marker ?? s?.marker ?? null;
  const declaredPaused = u.timer !== null && u.timer.split('\n').includes(PAUSED_NOTE);
  const off = u.state === null ? '' : stateLines(u.state, declaredPaused);
  const stateOff = off !== '';
  const raw = entryRaw(u.base, u.timer, u.service) + off;
  const drifted = marker !== null && marker.sourceId === sourceId
    && (!t || !s || !t.intact || !s.intact || !sameMarker(t.marker, s.marker) || stateOff);
  const paused = u.state ? !(u.state.enabled && u.state.active) : declaredPaused;
  return { key: `systemd:${u.base}`, marker, paused, drifted, raw };
}
