import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../system/tempdir.js';
import { cli } from './helpers.js';


const job = (name: string): string => `apiVersion: v1\nkind: Job\nmetadata: { name: ${name}, tenant: acme }\nspec: { schedule: "0 3 * * *", command: /bin/true }\n`;

describe('cli/prune', () => {
  it('lists, then with --force removes every entry of this agent and its snapshots, leaving foreign files alone', async () => {
    const dir = testTempDir('cronsync-prune-');
    mkdirSync(join(dir, 'repo'));
    mkdirSync(join(dir, 'cron'));
    writeFileSync(join(dir, 'repo/a.yaml'), job('a'));
    writeFileSync(join(dir, 'repo/b.yaml'), job('b'));
    writeFileSync(join(dir, 'cron/other'), '17 * * * * root /usr/local/bin/mine\n');
    writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: acme }\nsource: { url: ${join(dir, 'repo')} }\nscheduler: { kind: cron.d, cronDir: ${join(dir, 'cron')}, user: root }\nstateDir: ${join(dir, 'state')}\n`);
    expect((await cli(['sync', '--config', 'config.yaml'], dir)).code).toBe(0);

    const dry = await cli(['prune', '--all', '--config', 'config.yaml'], dir);
    const stillThere = readFileSync(join(dir, 'cron/cronsync'), 'utf8');
    // A sync lock left by a killed sync: prune takes it over, as a sync does, and releases it.
    writeFileSync(join(dir, 'state/sync.lock'), JSON.stringify({ pid: 2 ** 22 + 7, startTime: '1', runId: 'sync', startedAt: '2026-01-01T00:00:00.000Z' }));
    const forced = await cli(['prune', '--all', '--force', '--config', 'config.yaml'], dir);

    expect(dry.out).toContain('  - acme/a\n  - acme/b\n2 entries would be removed');
    expect(stillThere).toContain(`exec --scheduled --state-dir ${join(dir, 'state')} acme/a`);
    expect(forced.code).toBe(0);
    expect(forced.out).toContain('Removed 2 entries.');
    // Nothing left to hold: the file goes too (uninstall leaves no empty `cronsync` in cron.d).
    expect(existsSync(join(dir, 'cron/cronsync'))).toBe(false);
    expect(existsSync(join(dir, 'state/jobs/acme/a.json'))).toBe(false);
    expect(existsSync(join(dir, 'state/sync.lock'))).toBe(false);
    expect(existsSync(join(dir, 'state/status.json'))).toBe(false);
    expect(readFileSync(join(dir, 'cron/other'), 'utf8')).toBe('17 * * * * root /usr/local/bin/mine\n');
    expect((await cli(['prune', '--config', 'config.yaml'], dir)).code).toBe(2);
  });
});
