/**
 * `cronsync lint --config` fetches the configured source without the state dir's sync lock: it
 * must leave the clones of other source ids alone, since a sync or the daemon may be writing one.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceIdOf } from '../../src/source/select.js';
import { createRepo, gitAvailable, startGitServer } from './helpers/git-server.js';
import type { GitServer } from './helpers/git-server.js';
import { MAIN, ensureBuilt, manifest, runCli, writeConfig } from './fixtures/sync-cli.js';
import { createFsStateStore } from '../../src/state/fs-store.js';
import { selfIdentity } from '../../src/shim/lock.js';

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

  it('fetches under the sync lock: while a sync holds the state dir, lint waits for it, then lints', async () => {
    createRepo(server.root, 'locked', { 'a.yaml': manifest('a') });
    const dir = mkdtempSync(path.join(tmpdir(), 'cronsync-e2e-lint-'));
    const stateDir = path.join(dir, 'state');
    const cronDir = path.join(dir, 'cron.d');
    mkdirSync(cronDir);
    const config = writeConfig(dir, { agent: { name: 'host-1', tenant: 'acme' }, source: { url: server.repoUrl('locked'), ref: 'main' }, scheduler: { kind: 'cron.d', user: me, cronDir }, stateDir, log: { level: 'warn' } });
    const state = createFsStateStore(stateDir);
    await state.prepare();
    const held = await state.syncLock().tryAcquire({ ...selfIdentity(), runId: 'sync', startedAt: new Date().toISOString() });
    if (!held.acquired) throw new Error('the test could not take the sync lock');

    const child = spawn(process.execPath, [MAIN, 'lint', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let releasedWhileRunning = false;
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      // Released only once lint says it waits: a lint that did not take the lock never would.
      if (err.includes('Another sync holds the state dir; waiting for it') && !releasedWhileRunning) {
        releasedWhileRunning = true;
        void held.lock.release();
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect(releasedWhileRunning).toBe(true);
    expect(code).toBe(0);
    expect(out).toMatch(/1 valid job/);
    expect(await state.syncLock().holder()).toBeNull();
  }, 120_000);
});
