/**
 * `source.verify.mode: head` end to end: real commits signed in the test with ssh-keygen and
 * gpg, served by a real `git http-backend` (and read over SSH through the system git, and as a
 * local repository), synced by the real reconciler. Only signed heads apply; a refused commit
 * leaves the last good jobs installed and says why in the status file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentConfig } from '../../src/config/types.js';
import { Reasons } from '../../src/reconcile/reasons.js';
import { createReconciler } from '../../src/reconcile/reconciler.js';
import { createSource } from '../../src/source/index.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { MemoryScheduler } from '../fakes/MemoryScheduler.js';
import { agentConfig } from '../reconcile/fixtures.js';
import { createRepo, gitAvailable, makeFakeSsh, startGitServer } from './helpers/git-server.js';
import type { GitServer, TestRepo } from './helpers/git-server.js';
import { createSigningKeys, signingAvailable } from './helpers/signing.js';
import type { SigningKeys } from './helpers/signing.js';
import { nullLogger } from '../../src/log.js';

const job = (name: string): string => `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${name}\n  tenant: acme\nspec:\n  schedule: "0 2 * * *"\n  command: /opt/${name}.sh\n`;

type Kind = 'http' | 'ssh' | 'local';

describe.skipIf(!gitAvailable || !signingAvailable)('e2e/git-verify', () => {
  let server: GitServer;
  let keys: SigningKeys;
  let dir: string;
  let fakeSsh: string;
  let knownHosts: string;
  beforeAll(async () => {
    server = await startGitServer();
    keys = createSigningKeys();
    dir = mkdtempSync(path.join(tmpdir(), 'cronsync-verify-e2e-'));
    ({ fakeSsh, knownHosts } = makeFakeSsh(dir));
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    keys?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  function setup(kind: Kind, repo: TestRepo) {
    const stateDir = mkdtempSync(path.join(dir, `state-${kind}-`));
    const url = kind === 'http' ? server.repoUrl(repo.name) : kind === 'ssh' ? `ssh://git@git.example.test${repo.gitdir}` : repo.gitdir;
    const source = createSource({ url, ref: 'main', timeoutMs: 20_000, ...(kind === 'ssh' ? { ssh: { knownHosts } } : {}) }, { stateDir, sshProgram: fakeSsh });
    const base = agentConfig(stateDir);
    const config: AgentConfig = { ...base, source: { ...base.source, url, ref: 'main', verify: { mode: 'head', sshAllowedSigners: keys.allowedSigners, openpgpKeys: keys.openpgpKeys } } };
    const adapter = new MemoryScheduler(source.id);
    const rec = createReconciler({ config, source, adapter, scheduler: { kind: 'embedded', reason: 'test' }, clock: new FakeClock(), log: nullLogger });
    const installed = async (): Promise<string[]> => (await adapter.inventory(new AbortController().signal)).map((e) => e.marker!.jobId).sort();
    return { rec, installed };
  }

  it.each<Kind>(['http', 'ssh', 'local'])('%s: applies signed heads only; a refusal keeps the last good jobs and is reported', async (kind) => {
    const repo = createRepo(kind === 'http' ? server.root : dir, `verify-${kind}`, null);
    const { rec, installed } = setup(kind, repo);

    const good = keys.commit(repo, { 'a.yaml': job('a') }, 'ssh');
    const first = await rec.reconcile();
    const unsigned = keys.commit(repo, { 'b.yaml': job('b') }, null);
    const refused = await rec.reconcile();
    const jobsWhileRefused = await installed();
    const again = await rec.reconcile();
    const gpgHead = keys.commit(repo, { 'c.yaml': job('c') }, 'gpg');
    const last = await rec.reconcile();

    expect(first.result).toBe('ok');
    expect(first.status.source.commit).toBe(good);
    expect(first.status.source.verification).toEqual({ mode: 'head', commit: good, result: 'valid', signer: expect.stringMatching(/^alice@example\.com \(ED25519 key SHA256:/) });

    expect(refused.result).toBe('error');
    expect(refused.context.reason).toBe(Reasons.SourceVerifyFailed);
    expect(refused.status.lastAttempt.reason).toBe('SourceVerifyFailed');
    expect(refused.status.source.commit).toBe(good);
    expect(refused.status.source.verification).toEqual({ mode: 'head', commit: unsigned, result: 'unsigned', signer: null });
    expect(refused.status.problems).toEqual([{ path: '', line: 0, column: 0, rule: 'verify', severity: 'error', message: expect.stringContaining(`commit ${unsigned} refused: it is not signed`) }]);
    expect(refused.status.jobs.map((j) => [j.id, j.state, j.commit])).toEqual([['acme/a', 'installed', good]]);
    expect(refused.status.lastSuccess?.commit).toBe(good);
    expect(jobsWhileRefused).toEqual(['acme/a']);
    // The refused commit is checked again on the next poll, and refused again.
    expect(again.status.source.verification?.result).toBe('unsigned');

    // A signed head applies, with everything in it, even though its parent is unsigned.
    expect(last.result).toBe('ok');
    expect(last.status.source.verification).toEqual({ mode: 'head', commit: gpgHead, result: 'valid', signer: expect.stringMatching(/^Bob <bob@example\.com> \(key [0-9A-F]{40}\)$/) });
    expect(await installed()).toEqual(['acme/a', 'acme/b', 'acme/c']);
  }, 60_000);

  it('refuses commits by an unknown key and a tampered signed commit, naming the signer', async () => {
    const repo = createRepo(server.root, 'verify-bad', null);
    const { rec, installed } = setup('http', repo);
    keys.commit(repo, { 'a.yaml': job('a') }, 'gpg');
    await rec.reconcile();

    const unknown = keys.commit(repo, { 'b.yaml': job('b') }, 'ssh-unknown');
    const byUnknown = await rec.reconcile();
    const signed = keys.commit(repo, { 'c.yaml': job('c') }, 'ssh');
    const forged = keys.tamper(repo, signed);
    const byForger = await rec.reconcile();

    expect(byUnknown.status.source.verification).toEqual({ mode: 'head', commit: unknown, result: 'untrusted', signer: expect.stringMatching(/^ED25519 key SHA256:/) });
    expect(byUnknown.status.problems[0]?.message).toMatch(new RegExp(`^commit ${unknown} refused: signed by ED25519 key SHA256:\\S+, which is not a trusted key`));
    expect(byForger.status.source.verification).toEqual({ mode: 'head', commit: forged, result: 'invalid', signer: 'alice@example.com' });
    expect(byForger.status.problems[0]?.rule).toBe('verify');
    expect(await installed()).toEqual(['acme/a']);
  }, 60_000);
});
