import { describe, expect, it } from 'vitest';
import { execWord, renderService, renderTimer, unitBase } from '../../../src/scheduler/systemd/render.js';
import type { UnitContext } from '../../../src/scheduler/systemd/render.js';
import { decodeMarker } from '../../../src/scheduler/marker.js';
import { SOURCE, desired } from '../fixtures.js';

const ctx: UnitContext = { sourceId: SOURCE, execCommand: { file: '/usr/bin/node', args: ['/opt/cronsync/dist/cli/launch.cjs'] }, stateDir: '/var/lib/cronsync', user: 'root', unitDir: '/etc/systemd/system' };
const NOW = Date.UTC(2026, 5, 1);

describe('scheduler/systemd/render', () => {
  it.each`
    word                    | want
    ${'/usr/bin/node'}      | ${'/usr/bin/node'}
    ${'acme/backup'}        | ${'acme/backup'}
    ${'/srv/state dir'}     | ${'"/srv/state dir"'}
    ${'/srv/100%'}          | ${'/srv/100%%'}
    ${'/srv/$HOME'}         | ${'"/srv/$$HOME"'}
    ${'a"b\\c'}             | ${'"a\\"b\\\\c"'}
    ${';'}                  | ${'";"'}
    ${''}                   | ${'""'}
  `('ExecStart word $word → $want', ({ word, want }: { word: string; want: string }) => {
    expect(execWord(word)).toBe(want);
  });

  it('refuses a control character in a unit line', () => {
    expect(() => execWord('/srv/a\nExecStartPost=/bin/evil')).toThrow(/control character/);
    expect(() => renderService(desired('a', '0 3 * * *'), { ...ctx, user: 'root\nUser=x' })).toThrow(/control character/);
  });

  it('renders the service: oneshot running exec --scheduled as the run-as user, with the marker first', () => {
    const d = desired('backup', '0 2 * * *');

    const text = renderService(d, ctx);
    const marker = decodeMarker(text.split('\n')[0]!);

    expect(text).toContain('\n[Service]\nType=oneshot\nExecStart=/usr/bin/node /opt/cronsync/dist/cli/launch.cjs exec --scheduled --state-dir /var/lib/cronsync acme/backup\nUser=root\nSyslogIdentifier=cronsync-acme-backup\n');
    expect(marker?.marker).toMatchObject({ sourceId: SOURCE, jobId: 'acme/backup', path: 'jobs/backup.yaml' });
    expect(renderService(d, { ...ctx, user: undefined })).not.toMatch(/^User=/m);
  });

  it('renders the timer: zone-suffixed calendar, exact accuracy, no catch-up, enabled by timers.target', () => {
    const d = desired('backup', '30 2 * * *', { timezone: 'Europe/Berlin' });

    const text = renderTimer(d, ctx, NOW, renderService(d, ctx));

    expect(text).toContain('\n[Timer]\nOnCalendar=*-*-* 02:30:00 Europe/Berlin\n');
    expect(text).toContain('\nOnCalendar=2026-10-25 00:30:00 UTC\nOnCalendar=2027-03-28 01:30:00 UTC\nAccuracySec=1s\nRandomizedDelaySec=0\nPersistent=false\nUnit=cronsync-acme-backup.service\n\n[Install]\nWantedBy=timers.target\n');
    expect(unitBase(d.id)).toBe('cronsync-acme-backup');
  });
});
