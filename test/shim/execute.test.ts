import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Job } from '../../src/manifest/types.js';
import { ARGS_REFUSED_EXIT } from '../../src/shim/command.js';
import { execute } from '../../src/shim/execute.js';
import { MASK } from '../../src/shim/mask.js';
import type { Runner, RunOptions } from '../../src/system/runner.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { FakeRunner } from '../fakes/FakeRunner.js';
import { makeJob, memoryLog } from './fixtures.js';

class Sink {
  text = '';
  write(c: Uint8Array | string): boolean {
    this.text += Buffer.from(c).toString('utf8');
    return true;
  }
}

const retry: Job['spec']['retry'] = { enabled: true, attempts: 3, backoff: 'fixed', delay: '10s', maxDelay: '5m' };

/** Runs `job` with a runner whose every child fails with `exitCode`. */
async function run(job: Job, platform: NodeJS.Platform, exitCode = ARGS_REFUSED_EXIT) {
  const runner = new FakeRunner(() => ({ exitCode }));
  const clock = new FakeClock();
  const stderr = new Sink();
  const log = memoryLog();
  const r = await execute(job, {}, { runner, clock, log, stdout: new Sink(), stderr, signal: new AbortController().signal, random: () => 0.5, platform });
  return { r, runner, clock, stderr, log };
}

describe('shim/execute', () => {
  it.each`
    platform    | command              | says
    ${'linux'}  | ${'pg_dump;'}        | ${'ends with `;`, so the first argument would run as a command'}
    ${'win32'}  | ${'backup.cmd &'}    | ${'ends with `&`, so the first argument would run as a command'}
  `('fails a job whose args are refused at once, without retries ($platform)', async ({ platform, command, says }: { platform: NodeJS.Platform; command: string; says: string }) => {
    const { r, runner, clock, stderr, log } = await run(makeJob('job', { command, args: ['touch', '/tmp/pwned'], retry }), platform);

    expect(r).toMatchObject({ status: 'failure', exitCode: ARGS_REFUSED_EXIT, attempts: 1 });
    expect(runner.calls).toEqual([]);
    expect(clock.sleeps).toEqual([]);
    expect(log.lines.filter((l) => l.msg === 'Run failed, retrying')).toEqual([]);
    expect(stderr.text).toContain('cronsync: refusing to run: spec.args cannot be appended to this command');
    expect(stderr.text).toContain(says);
    expect(r.output).toContain(says);
    expect(r.errorMessage).toContain(says);
    expect(r.errorMessage).toMatch(new RegExp(`exit code ${ARGS_REFUSED_EXIT}$`));
  });

  it('still retries a failing job whose args can be passed', async () => {
    const { r, runner, clock } = await run(makeJob('job', { command: 'pg_dump', args: ['--db=prod'], retry }), 'linux', 3);

    expect(r).toMatchObject({ status: 'failure', exitCode: 3, attempts: 4 });
    expect(runner.calls).toHaveLength(4);
    expect(clock.sleeps).toEqual([10_000, 10_000, 10_000]);
  });

  describe('masking the output', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    /** A runner whose child prints what `script` writes (with the timers driven by the test). */
    const scripted = (script: (opts: RunOptions) => Promise<void>): Runner => ({
      run: async (_cmd, opts) => {
        await script(opts!);
        return { exitCode: 0, signal: null, stdout: '', stderr: '', timedOut: false, cancelled: false };
      },
    });

    it('lets out bytes kept back as the start of a value after a second without the rest, and masks a value completed sooner', async () => {
      vi.useFakeTimers();
      const stdout = new Sink();
      const seen: string[] = [];
      const runner = scripted(async (o) => {
        o.onStdout!(Buffer.from('progress: /'));
        seen.push(stdout.text);
        await vi.advanceTimersByTimeAsync(999);
        seen.push(stdout.text);
        await vi.advanceTimersByTimeAsync(1);
        seen.push(stdout.text);
        o.onStdout!(Buffer.from('done, in /var/lib/ap'));
        await vi.advanceTimersByTimeAsync(500);
        o.onStdout!(Buffer.from('p-data\n'));
      });

      const r = await execute(makeJob('job', { command: 'x' }), {}, { runner, clock: new FakeClock(), log: memoryLog(), stdout, stderr: new Sink(), signal: new AbortController().signal, masked: ['/var/lib/app-data'] });

      expect(seen).toEqual(['progress: ', 'progress: ', 'progress: /']);
      expect(stdout.text).toBe(`progress: /done, in ${MASK}\n`);
      expect(r.output).toBe(`progress: /done, in ${MASK}\n`);
    });
  });
});
