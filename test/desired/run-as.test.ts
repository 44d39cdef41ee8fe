import { describe, expect, it } from 'vitest';
import { runAsProblem } from '../../src/desired/select.js';
import type { AccountLookup } from '../../src/desired/select.js';
import type { DesiredJob } from '../../src/desired/types.js';
import type { Job } from '../../src/manifest/types.js';
import { renderEntryOrError } from '../../src/scheduler/entry-error.js';
import { createWindowsAdapter } from '../../src/scheduler/windows/index.js';
import { FakeRunner } from '../fakes/FakeRunner.js';

const job = (user?: string): Job => ({
  apiVersion: 'v1', kind: 'Job', metadata: { name: 'dump', tenant: 'acme', labels: {}, annotations: {} },
  spec: {
    schedule: '0 3 * * *', timezone: 'UTC', command: 'true', args: [], env: {}, ...(user === undefined ? {} : { user }),
    checkin: { enabled: true, timeout: 3600 }, retry: { enabled: false, attempts: 3, backoff: 'fixed', delay: '10s', maxDelay: '5m' },
    agent: { selector: {} }, enabled: true, paused: false, concurrency: 'Forbid',
  },
});

const accounts: Record<string, { uid: number } | { error: string }> = { root: { uid: 0 }, toor: { uid: 0 }, backup: { uid: 34 }, svc: { uid: 1001 }, flaky: { error: 'ldap down' } };
const lookup: AccountLookup = (name) => accounts[name] ?? null;

describe('desired/select runAsProblem', () => {
  it.each([
    { name: 'no spec.user', user: undefined, allowed: [], want: null },
    { name: 'listed', user: 'svc', allowed: ['svc'], want: null },
    { name: 'default (empty) list', user: 'svc', allowed: [], want: 'spec.user "svc" is not allowed on this agent (scheduler.allowedUsers: empty)' },
    { name: 'not listed', user: 'backup', allowed: ['svc', 'web'], want: 'spec.user "backup" is not allowed on this agent (scheduler.allowedUsers: svc, web)' },
    { name: '* allows any account', user: 'backup', allowed: '*', want: null },
    { name: '* as a list item', user: 'backup', allowed: ['*'], want: null },
    { name: '* never allows root', user: 'root', allowed: '*', want: 'spec.user "root" is root (uid 0), which scheduler.allowedUsers must name explicitly ("*" does not include it)' },
    { name: '* never allows another uid-0 account', user: 'toor', allowed: ['*', 'root'], want: 'spec.user "toor" is root (uid 0), which scheduler.allowedUsers must name explicitly ("*" does not include it)' },
    { name: 'root named', user: 'root', allowed: ['root'], want: null },
    { name: 'root named next to *', user: 'root', allowed: ['*', 'root'], want: null },
    { name: 'root not named', user: 'root', allowed: ['svc'], want: 'spec.user "root" is not allowed on this agent (scheduler.allowedUsers: svc)' },
    { name: 'allowed but not on the host', user: 'ghost', allowed: ['ghost'], want: 'spec.user "ghost" does not exist on this host' },
    { name: '* and not on the host', user: 'ghost', allowed: '*', want: 'spec.user "ghost" does not exist on this host' },
    { name: 'lookup failure', user: 'flaky', allowed: '*', want: 'cannot look up spec.user "flaky": ldap down' },
  ] as { name: string; user?: string; allowed: string[] | '*'; want: string | null }[])('$name', ({ user, allowed, want }) => {
    expect(runAsProblem(job(user), allowed, lookup)).toBe(want);
  });

  it('the windows adapter reports a job with spec.user as entry-invalid instead of running it as the task principal', () => {
    const adapter = createWindowsAdapter({ sourceId: 'src', execCommand: { file: 'C:\\cronsync\\node.exe', args: ['C:\\cronsync\\main.js'] }, stateDir: 'C:\\ProgramData\\cronsync', hostZone: 'UTC', now: () => new Date('2026-12-01T00:00:00Z') }, { runner: new FakeRunner() });
    const d = (user?: string): DesiredJob => ({ id: 'acme/dump', job: job(user), provenance: { sourceId: 'src', url: '/r', ref: 'main', commit: null, path: 'dump.yaml', index: 0 }, manifestHash: 'h' });

    expect(renderEntryOrError(adapter, d('svc'))).toEqual({ error: 'spec.user "svc" is not supported on Windows agents yet (tasks run as scheduler.user, or SYSTEM); remove spec.user or select non-Windows agents with spec.agent.selector' });
    expect(typeof renderEntryOrError(adapter, d())).toBe('string');
  });
});
