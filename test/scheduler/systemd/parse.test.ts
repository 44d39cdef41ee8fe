import { describe, expect, it } from 'vitest';
import { timerBlock, unitEntry } from '../../../src/scheduler/systemd/parse.js';
import type { UnitFiles } from '../../../src/scheduler/systemd/parse.js';
import { renderUnits } from '../../../src/scheduler/systemd/render.js';
import type { TimerState } from '../../../src/scheduler/systemd/systemctl.js';
import { SOURCE, desired } from '../fixtures.js';

const ctx = { sourceId: SOURCE, execCommand: { file: '/usr/bin/node', args: [] }, stateDir: '/var/lib/cronsync', unitDir: '/etc/systemd/system', user: 'root' };
const pair = renderUnits(desired('backup', '0 2 * * *'), ctx, Date.UTC(2026, 5, 1));

function unit(unitFileState: string | null, edited = false, error?: string): UnitFiles {
  const state: TimerState = { enabled: unitFileState === 'enabled' || unitFileState === 'enabled-runtime', active: true, stale: false, unitFileState, ...(error === undefined ? {} : { error }) };
  return { base: pair.base, service: pair.service, timer: edited ? pair.timer.replace('AccuracySec=1s', 'AccuracySec=2s') : pair.timer, state };
}

describe('scheduler/systemd/parse', () => {
  // systemctl(1), table "is-enabled output", for an active timer of an active job.
  it.each`
    state                | edited   | drifted  | blocked
    ${'enabled'}         | ${false} | ${false} | ${false}
    ${'enabled-runtime'} | ${false} | ${false} | ${false}
    ${'disabled'}        | ${false} | ${true}  | ${false}
    ${'indirect'}        | ${false} | ${true}  | ${false}
    ${'masked'}          | ${false} | ${false} | ${true}
    ${'masked-runtime'}  | ${false} | ${false} | ${true}
    ${'static'}          | ${false} | ${false} | ${true}
    ${'alias'}           | ${false} | ${false} | ${true}
    ${'linked'}          | ${false} | ${false} | ${true}
    ${'linked-runtime'}  | ${false} | ${false} | ${true}
    ${'generated'}       | ${false} | ${false} | ${true}
    ${'transient'}       | ${false} | ${false} | ${true}
    ${'not-found'}       | ${false} | ${false} | ${true}
    ${null}              | ${false} | ${false} | ${true}
    ${'static'}          | ${true}  | ${true}  | ${false}
    ${null}              | ${true}  | ${true}  | ${false}
    ${'masked'}          | ${true}  | ${true}  | ${true}
  `('is-enabled $state, timer edited: $edited → drifted $drifted, not cronsync\'s to drive: $blocked', ({ state, edited, drifted, blocked }: { state: string | null; edited: boolean; drifted: boolean; blocked: boolean }) => {
    const u = unit(state, edited, state === null ? 'Bad message' : undefined);

    const e = unitEntry(u, SOURCE);

    expect({ drifted: e.drifted, blocked: timerBlock(u) !== null }).toEqual({ drifted, blocked });
    // A state that is not cronsync's to change never shows as drift in the entry's text.
    if (blocked) expect(e.raw).not.toMatch(/^# systemd:/m);
  });

  it('a pair with a link or an empty file in it is no one\'s entry of ours, whatever its other file says', () => {
    const u: UnitFiles = { base: pair.base, service: null, timer: pair.timer, state: null, occupants: ['/etc/systemd/system/cronsync-acme-backup.service is a symbolic link to /dev/null (masked)'] };

    expect(unitEntry(u, SOURCE)).toEqual({ key: 'systemd:cronsync-acme-backup', marker: null, paused: false, drifted: false, raw: `# /etc/systemd/system/cronsync-acme-backup.service is a symbolic link to /dev/null (masked)\n${pair.timer}` });
  });
});
