import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});


const job = (name: string): string => `apiVersion: v1\nkind: Job\nmetadata: { name: ${name}, tenant: acme }\nspec: { schedule: "0 3 * * *", command: /bin/true }\n`;

describe('cli/render', () => {
  it('reports a job whose entry is over cron\'s 999-character limit and still renders the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cronsync-render-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'repo'));
    const long = `l${'o'.repeat(60)}ng`;
    writeFileSync(join(dir, 'repo/a.yaml'), job('a'));
    writeFileSync(join(dir, 'repo/long.yaml'), job(long));
    const config = (stateDir: string): string => {
      writeFileSync(join(dir, 'config.yaml'), `agent: { tenant: acme }\nsource: { url: ${join(dir, 'repo')} }\nstateDir: ${stateDir}\n`);
      return 'config.yaml';
    };
    // Pad the state dir so that job a's entry is just under the limit and the long job's is over it.
    const short = await cli(['render', '--scheduler', 'crontab', '--config', config('/s'), 'repo'], dir);
    const entryA = short.out.split('\n').find((l) => l.endsWith(' acme/a'))!;
    expect(short.code).toBe(0);
    const padded = `/s${'x'.repeat(990 - entryA.length)}`;

    const res = await cli(['render', '--scheduler', 'crontab', '--config', config(padded), 'repo'], dir);

    expect(res.code).toBe(1);
    expect(res.out.split('\n').filter((l) => l.endsWith(' acme/a'))).toHaveLength(1);
    expect(res.out).not.toContain(`acme/${long}`);
    expect(res.err).toMatch(new RegExp(`long\\.yaml: error \\[entry-invalid\\] acme/${long}: `));
    expect(res.err).not.toMatch(/internal error|\n\s+at /);
  });
});
