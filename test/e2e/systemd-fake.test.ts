/**
 * The fake systemctl (test/fakes/FakeSystemctl.ts) against the real one, offline: `systemctl
 * --root=DIR` reads and changes the unit files of DIR without a manager (is-enabled, enable,
 * disable, mask), so each behaviour the fake models for those verbs is checked here on two
 * copies of one unit directory. Skipped where systemctl is not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeSystemctl } from '../fakes/FakeSystemctl.js';
import type { FakeSystemctl } from '../fakes/FakeSystemctl.js';

const hasSystemctl = spawnSync('systemctl', ['--version']).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'cronsync-systemctl-fake-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TIMER = '[Unit]\nDescription=t\n\n[Timer]\nOnCalendar=daily\n\n[Install]\nWantedBy=timers.target\n';

/** A unit dir with one name in each state the adapter meets. */
function populate(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cronsync-a-off.timer'), TIMER);
  writeFileSync(join(dir, 'cronsync-a-on.timer'), TIMER);
  symlinkSync('/dev/null', join(dir, 'cronsync-a-masked.timer'));
  writeFileSync(join(dir, 'cronsync-a-empty.timer'), '');
  writeFileSync(join(dir, 'cronsync-a-static.timer'), '[Timer]\nOnCalendar=daily\n');
  writeFileSync(join(dir, 'cronsync-a-target.timer'), TIMER);
  symlinkSync('cronsync-a-target.timer', join(dir, 'cronsync-a-alias.timer'));
  writeFileSync(join(dir, 'cronsync-a-bad.timer'), '[Timer\nOnCalendar=daily\n');
  symlinkSync('/nonexistent/cronsync-a-dangling.timer', join(dir, 'cronsync-a-dangling.timer'));
}

interface Answer { stdout: string; stderr: string; exitCode: number }

let root = '';
let fake: FakeSystemctl;

/** systemctl ARGS, offline on the real copy. */
function real(...args: string[]): Answer {
  const r = spawnSync('systemctl', [`--root=${root}`, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, LANG: 'C', SYSTEMD_LOG_COLOR: '0', SYSTEMD_COLORS: '0' } });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status ?? -1 };
}

/** systemctl ARGS, from the fake on its copy. */
async function faked(...args: string[]): Promise<Answer> {
  const r = await fake.run({ file: 'systemctl', args });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
}

beforeEach(() => {
  root = mkdtempSync(join(tmp, 'root-'));
  populate(join(root, 'etc/systemd/system'));
  const fakeDir = mkdtempSync(join(tmp, 'fake-'));
  populate(fakeDir);
  fake = fakeSystemctl({ unitDir: fakeDir });
  real('enable', 'cronsync-a-on.timer');
  fake.state.enabled.add('cronsync-a-on.timer');
});

describe.skipIf(!hasSystemctl)('e2e the fake systemctl against systemctl --root', () => {
  it.each([
    ['cronsync-a-on.timer', 'enabled'],
    ['cronsync-a-off.timer', 'disabled'],
    ['cronsync-a-masked.timer', 'masked'],
    ['cronsync-a-empty.timer', 'masked'],
    ['cronsync-a-static.timer', 'static'],
    ['cronsync-a-alias.timer', 'alias'],
    ['cronsync-a-target.timer', 'indirect'],
  ])('is-enabled %s: %s, with the same exit code', async (unit, state) => {
    const r = real('is-enabled', unit);
    const f = await faked('is-enabled', unit);

    expect(r.stdout).toBe(`${state}\n`);
    expect(f).toEqual({ stdout: r.stdout, stderr: '', exitCode: r.exitCode });
  });

  it.each([
    ['cronsync-a-none.timer', 'No such file or directory'],
    ['cronsync-a-dangling.timer', 'No such file or directory'],
    ['cronsync-a-bad.timer', 'Bad message'],
  ])('is-enabled %s cannot tell: %s, exit 1', async (unit, why) => {
    const r = real('is-enabled', unit);
    const f = await faked('is-enabled', unit);

    expect(r.stderr.trim().split('\n').at(-1)).toBe(`Failed to get unit file state for ${unit}: ${why}`);
    expect(r.exitCode).toBe(1);
    expect(f).toEqual({ stdout: '', stderr: `Failed to get unit file state for ${unit}: ${why}\n`, exitCode: 1 });
  });

  it('is-enabled of many units stops at the first it cannot read, after printing the states before it', async () => {
    const units = ['cronsync-a-on.timer', 'cronsync-a-masked.timer', 'cronsync-a-bad.timer', 'cronsync-a-off.timer'];

    const r = real('is-enabled', ...units);
    const f = await faked('is-enabled', ...units);

    expect(r.stdout).toBe('enabled\nmasked\n');
    expect(r.stderr).toMatch(/Failed to get unit file state for cronsync-a-bad\.timer: Bad message/);
    expect(f).toMatchObject({ stdout: r.stdout, exitCode: r.exitCode });
  });

  it('enable of a masked unit fails the whole call: the other unit is not enabled either', async () => {
    const r = real('enable', 'cronsync-a-off.timer', 'cronsync-a-masked.timer');
    const f = await faked('enable', 'cronsync-a-off.timer', 'cronsync-a-masked.timer');

    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/cronsync-a-masked\.timer is masked/);
    expect(f).toMatchObject({ exitCode: 1, stderr: expect.stringMatching(/cronsync-a-masked\.timer is masked/) });
    expect(real('is-enabled', 'cronsync-a-off.timer').stdout).toBe('disabled\n');
    expect((await faked('is-enabled', 'cronsync-a-off.timer')).stdout).toBe('disabled\n');
  });

  it('enable of a missing unit fails: "does not exist", exit 1', async () => {
    const r = real('enable', 'cronsync-a-none.timer');
    const f = await faked('enable', 'cronsync-a-none.timer');

    expect(r).toMatchObject({ exitCode: 1, stderr: expect.stringMatching(/cronsync-a-none\.timer does not exist/) });
    expect(f).toMatchObject({ exitCode: 1, stderr: expect.stringMatching(/cronsync-a-none\.timer does not exist/) });
  });

  it('enable of a static unit succeeds and enables nothing', async () => {
    const r = real('enable', 'cronsync-a-static.timer');
    const f = await faked('enable', 'cronsync-a-static.timer');

    expect([r.exitCode, f.exitCode]).toEqual([0, 0]);
    expect(r.stderr).toMatch(/no installation config/);
    expect(f.stderr).toMatch(/no installation config/);
    expect(real('is-enabled', 'cronsync-a-static.timer').stdout).toBe('static\n');
    expect((await faked('is-enabled', 'cronsync-a-static.timer')).stdout).toBe('static\n');
  });

  it('enable --runtime: enabled-runtime; disable --runtime undoes it', async () => {
    real('enable', '--runtime', 'cronsync-a-off.timer');
    await faked('enable', '--runtime', 'cronsync-a-off.timer');
    const on = [real('is-enabled', 'cronsync-a-off.timer'), await faked('is-enabled', 'cronsync-a-off.timer')];
    real('disable', '--runtime', 'cronsync-a-off.timer');
    await faked('disable', '--runtime', 'cronsync-a-off.timer');
    const off = [real('is-enabled', 'cronsync-a-off.timer'), await faked('is-enabled', 'cronsync-a-off.timer')];

    expect(on.map((a) => [a.stdout, a.exitCode])).toEqual([['enabled-runtime\n', 0], ['enabled-runtime\n', 0]]);
    expect(off.map((a) => [a.stdout, a.exitCode])).toEqual([['disabled\n', 1], ['disabled\n', 1]]);
  });

  it('disable of a missing unit says it does not exist (offline systemctl still exits 0; the manager, which the fake follows, fails)', async () => {
    const r = real('disable', 'cronsync-a-none.timer');
    const f = await faked('disable', 'cronsync-a-none.timer');

    expect(r).toMatchObject({ exitCode: 0, stderr: expect.stringMatching(/cronsync-a-none\.timer does not exist/) });
    expect(f).toMatchObject({ exitCode: 1, stderr: expect.stringMatching(/cronsync-a-none\.timer does not exist/) });
  });

  it('disable of a masked unit changes nothing and succeeds', async () => {
    const r = real('disable', 'cronsync-a-masked.timer');
    const f = await faked('disable', 'cronsync-a-masked.timer');

    expect([r.exitCode, f.exitCode]).toEqual([0, 0]);
    expect(real('is-enabled', 'cronsync-a-masked.timer').stdout).toBe('masked\n');
    expect((await faked('is-enabled', 'cronsync-a-masked.timer')).stdout).toBe('masked\n');
  });

  it('mask links a free name to /dev/null, and refuses a name that holds a file', async () => {
    const taken = [real('mask', 'cronsync-a-off.timer'), await faked('mask', 'cronsync-a-off.timer')];
    const free = [real('mask', 'cronsync-a-new.timer'), await faked('mask', 'cronsync-a-new.timer')];
    const state = [real('is-enabled', 'cronsync-a-new.timer'), await faked('is-enabled', 'cronsync-a-new.timer')];

    expect(taken.map((a) => [a.exitCode, /already exists/.test(a.stderr)])).toEqual([[1, true], [1, true]]);
    expect(free.map((a) => a.exitCode)).toEqual([0, 0]);
    expect(state.map((a) => [a.stdout, a.exitCode])).toEqual([['masked\n', 1], ['masked\n', 1]]);
  });
});
