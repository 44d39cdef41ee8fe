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
    const forced = await cli(['prune', '--all', '--force', '--config', 'config.yaml'], dir);

    expect(dry.out).toContain('  - acme/a\n  - acme/b\n2 entries would be removed');
    expect(stillThere).toContain(`exec --scheduled --state-dir ${join(dir, 'state')} acme/a`);
    expect(forced.code).toBe(0);
    expect(forced.out).toContain('Removed 2 entries.');
    expect(readFileSync(join(dir, 'cron/cronsync'), 'utf8')).not.toContain('exec --scheduled');
    expect(existsSync(join(dir, 'state/jobs/acme/a.json'))).toBe(false);
    expect(readFileSync(join(dir, 'cron/other'), 'utf8')).toBe('17 * * * * root /usr/local/bin/mine\n');
    expect((await cli(['prune', '--config', 'config.yaml'], dir)).code).toBe(2);
  });
});
