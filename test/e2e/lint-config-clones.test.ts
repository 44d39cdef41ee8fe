/**
 * `cronsync lint --config` fetches the configured source without the state dir's sync lock: it
 * must leave the clones of other source ids alone, since a sync or the daemon may be writing one.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceIdOf } from '../../src/source/select.js';
import { createRepo, gitAvailable, startGitServer } from './helpers/git-server.js';
import type { GitServer } from './helpers/git-server.js';
import { ensureBuilt, manifest, runCli, writeConfig } from './fixtures/sync-cli.js';

const me = process.getuid?.() === 0 ? 'root' : userInfo().username;

describe.skipIf(!gitAvailable)('e2e/lint --config and the clones', () => {
  let server: GitServer;
  beforeAll(async () => {
    await ensureBuilt();
    server = await startGitServer();
  }, 300_000);
  afterAll(async () => {
    await server.stop();
  });

  it('a lint of another ref keeps the clone the agent syncs from', async () => {
    const repo = createRepo(server.root, 'jobs', { 'a.yaml': manifest('a') });
    repo.commit({ 'b.yaml': manifest('b') }, { branch: 'feature' });
    const dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-lint-'));
    const stateDir = path.join(dir, 'state');
    const cronDir = path.join(dir, 'cron.d');
    mkdirSync(cronDir);
    const url = server.repoUrl('jobs');
    const config = writeConfig(dir, { agent: { name: 'host-1', tenant: 'acme' }, source: { url, ref: 'main' }, scheduler: { kind: 'cron.d', user: me, cronDir }, stateDir, log: { level: 'warn' } });
    expect((await runCli(['sync', '--config', config])).code).toBe(0);
    const clone = path.join(stateDir, 'sources', sourceIdOf({ url, ref: 'main' }));
    expect(existsSync(clone)).toBe(true);

    const lint = await runCli(['lint', '--config', config], { env: { CRONSYNC_SOURCE_REF: 'feature' } });

    expect(lint.code).toBe(0);
    expect(existsSync(clone)).toBe(true);
  }, 120_000);
});
