import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config/types.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { MemorySource } from '../fakes/MemorySource.js';
import { nullLogger } from '../../src/log.js';
import { testTempDir } from '../system/tempdir.js';

const Ajv = AjvModule.default ?? AjvModule;
const schema = JSON.parse(readFileSync(new URL('../../src/status/status.v1.schema.json', import.meta.url), 'utf8')) as object;

describe('status/status.v1.schema.json', () => {
  it('describes the status file the reconciler writes, which is 0644 and holds no secret', async () => {
    const stateDir = testTempDir('cronsync-status-');
    const source = new MemorySource({
      'a.yaml': 'apiVersion: v1\nkind: Job\nmetadata: { name: a, tenant: acme }\nspec:\n  schedule: "0 2 * * *"\n  command: /bin/true\n  env: { TOKEN: "${TOKEN}" }\n  checkin: { secret: "s3cr3t-literal" }\n',
      'b.yaml': 'apiVersion: v1\nkind: Job\nmetadata: { name: b, tenant: acme }\nspec: { schedule: "0 99 * * *", command: x }\n',
    });
    const config = {
      file: null, agent: { name: 'h', tenant: 'acme', labels: {} },
      source: { url: 'https://user:pw@git.example/jobs.git', paths: [], exclude: [], interval: '60s', timeout: '60s' },
      scheduler: { kind: 'embedded', cronDir: '/x', unitDir: '/x', taskFolder: '\\x' },
      checkin: { protocol: 'crontopus', start: false, spool: { maxAgeDays: 7, maxCount: 10 } },
      stateDir, prune: true, allowMassRemoval: false, daemon: { startDelay: '0s', maxBackoff: '1m', syncTimeout: '10m' }, log: { level: 'info' },
    } as AgentConfig;
    const rec = createReconciler({ config, source, adapter: new MemoryScheduler('src1'), scheduler: { kind: 'embedded', reason: 'test' }, clock: new FakeClock(), log: nullLogger });

    await rec.reconcile();
    source.failWith = new Error('boom https://user:pw@git.example/jobs.git');
    await rec.reconcile();

    const path = join(stateDir, 'status.json');
    const text = readFileSync(path, 'utf8');
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(validate(JSON.parse(text)), JSON.stringify(validate.errors)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(text).not.toContain('s3cr3t-literal');
    expect(text).not.toContain('user:pw');
    expect(JSON.parse(text).jobs.find((j: { id: string }) => j.id === 'acme/b')).toMatchObject({ state: 'invalid', schedule: '', reason: expect.stringContaining('b.yaml') });
  });
});
