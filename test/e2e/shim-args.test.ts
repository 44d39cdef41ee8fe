/**
 * Issue 11, item 2: `spec.args` never runs as a command and is never silently dropped, whatever
 * the command text looks like. Real `/bin/sh` children, through `runExec` as the scheduler runs
 * it; each case's args would create a file if the shell ran them as a command.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { argsPlan } from '../../src/manifest/args/plan.js';
import { loadManifests } from '../../src/manifest/load.js';
import { ARGS_REFUSED_EXIT, shellCommand } from '../../src/shim/command.js';
import { runExec } from '../../src/shim/run.js';
import { readLastRun } from '../../src/state/runs.js';
import { nodeRunner } from '../../src/system/runner.js';
import { FakeClock } from '../fakes/FakeClock.js';
import { FakeHttp } from '../fakes/FakeHttp.js';
import { install, makeJob, memoryLog } from '../shim/fixtures.js';

class Sink {
  text = '';
  write(c: Uint8Array | string): boolean {
    this.text += Buffer.from(c).toString('utf8');
    return true;
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cronsync-args-'));
  dirs.push(d);
  return d;
}

/** The `command` value of a YAML fragment at spec indentation, as the manifest parser reads it. */
const commandOf = (yaml: string): string => (parse(yaml) as { command: string }).command;

/** The old shim: ` "$@"` appended to the raw text. */
function oldShim(command: string, args: string[], cwd: string): string {
  return spawnSync('/bin/sh', ['-c', `${command} "$@"`, 'sh', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).stdout;
}

/** Runs the job `acme/job` with `command` and `args` in `workingDir` as `cronsync exec` does. */
async function exec(command: string, args: string[], workingDir: string): Promise<{ rc: number; stdout: string; stderr: string; checkin: Record<string, unknown>; stateDir: string }> {
  const stateDir = tempDir();
  const id = await install(stateDir, makeJob('job', { command, args, workingDir }));
  const http = new FakeHttp();
  const stdout = new Sink();
  const stderr = new Sink();
  const rc = await runExec({
    jobId: id, stateDir, clock: new FakeClock(Date.UTC(2026, 10, 23, 10, 0, 3)), http, log: memoryLog(), env: { PATH: process.env.PATH, CHECKIN_SECRET: 't' },
    stdout, stderr, runner: nodeRunner, random: () => 0.5, killGraceMs: 300,
  });
  return { rc, stdout: stdout.text, stderr: stderr.text, checkin: http.bodies()[0] ?? {}, stateDir };
}

describe('e2e/shim args', () => {
  // `harmfulBefore`: appending ` "$@"` to the raw text (the old shim) ran the first argument.
  it.each`
    name                                 | yaml                                                      | harmfulBefore
    ${'| block (trailing newline)'}      | ${'command: |\n  echo start\n'}                           | ${true}
    ${'> block (trailing newline)'}      | ${'command: >\n  echo\n  start\n'}                        | ${true}
    ${'|+ block (trailing blank lines)'} | ${'command: |+\n  echo start\n\n\n'}                      | ${true}
    ${'| block ending in a backslash'}   | ${'command: |\n  echo \\\n    start \\\n'}             | ${false}
    ${'here-doc before the last line'}   | ${"command: |\n  cat <<'EOF'\n  begin\n  EOF\n  echo start\n"} | ${true}
    ${'"$@" placed before a comment'}    | ${'command: |\n  echo start "$@" # nightly\n'}            | ${true}
    ${'"$@" placed before a ;'}          | ${'command: \'echo start "$@";\''}                        | ${true}
  `('gives every argument to the command: $name', async ({ yaml, harmfulBefore }: { yaml: string; harmfulBefore: boolean }) => {
    const command = commandOf(yaml);
    const dir = tempDir();
    const pwned = join(dir, 'pwned');
    const oldWay = join(dir, 'old-way');

    const r = await exec(command, ['touch', pwned], dir);
    oldShim(command, ['touch', oldWay], dir);

    expect(r.rc).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).pop()).toBe(`start touch ${pwned}`);
    expect(existsSync(pwned)).toBe(false);
    expect(existsSync(oldWay)).toBe(harmfulBefore);
    expect(loadManifests([{ path: 'a.yaml', content: manifest(yaml) }]).issues).toEqual([]);
  });

  it.each`
    name                                 | yaml                                                       | hazard                  | before
    ${'trailing comment'}                | ${'command: "echo start # nightly"\n'}                     | ${'ends in a comment'}  | ${'lost'}
    ${'| block ending in a comment'}     | ${'command: |\n  echo start\n  # done\n'}                  | ${'ends in a comment'}  | ${'ran'}
    ${'> block ending in a comment'}     | ${'command: >\n  echo start\n\n  # done\n'}                | ${'ends in a comment'}  | ${'ran'}
    ${'trailing backslash'}              | ${"command: 'echo start \\'\n"}                            | ${'line continuation'}  | ${'lost'}
    ${'here-doc at the end'}             | ${'command: |\n  cat <<EOF\n  start\n  EOF\n'}             | ${'here-document'}      | ${'ran'}
    ${'quoted here-doc, |- block'}       | ${"command: |-\n  cat <<-'EOF'\n  start\n  EOF\n"}         | ${'here-document'}      | ${'lost'}
    ${'trailing ;'}                      | ${'command: "echo start;"\n'}                              | ${'ends with `;`'}       | ${'ran'}
    ${'trailing ; in a | block'}         | ${'command: |\n  echo start;\n'}                           | ${'ends with `;`'}      | ${'ran'}
    ${'trailing &'}                      | ${'command: "echo start &"\n'}                             | ${'ends with `&`'}       | ${'ran'}
    ${'trailing && in a > block'}        | ${'command: >\n  echo start &&\n'}                         | ${'ends with `&&`'}     | ${'ran'}
    ${'trailing |'}                      | ${'command: "echo start |"\n'}                             | ${'ends with `|`'}      | ${'ran'}
    ${'assignment only'}                 | ${'command: "START=1"\n'}                                  | ${'run as the program'} | ${'ran'}
    ${'lone exec'}                       | ${'command: "exec 2>&1"\n'}                                | ${'run as the program'} | ${'ran'}
    ${'eval'}                            | ${'command: eval echo start\n'}                            | ${'as shell code'}      | ${'ran'}
    ${'unset variable as the program'}   | ${'command: $NO_SUCH_TOOL\n'}                              | ${'expands to nothing'} | ${'ran'}
  `('refuses to run, reports it and runs no argument: $name', async ({ yaml, hazard, before }: { yaml: string; hazard: string; before: string }) => {
    const command = commandOf(yaml);
    const dir = tempDir();
    const pwned = join(dir, 'pwned');
    const oldDir = tempDir();
    const oldWay = join(oldDir, 'pwned');

    const r = await exec(command, ['touch', pwned, ';', 'touch', `${pwned}-2`], dir);
    const oldOut = oldShim(command, ['touch', oldWay, ';', 'touch', `${oldWay}-2`], oldDir);

    expect(existsSync(oldWay) || existsSync(`${oldWay}-2`)).toBe(before === 'ran');
    if (before === 'lost') expect(oldOut).not.toContain(`start touch ${oldWay} ; touch ${oldWay}-2`);

    expect(r.rc).toBe(ARGS_REFUSED_EXIT);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('cronsync: refusing to run: spec.args cannot be appended to this command');
    expect(r.stderr).toContain(hazard);
    expect(existsSync(pwned)).toBe(false);
    expect(existsSync(`${pwned}-2`)).toBe(false);
    expect(r.checkin).toMatchObject({ status: 'failure', exit_code: ARGS_REFUSED_EXIT, error_message: expect.stringContaining(hazard) as unknown });
    expect(await readLastRun(r.stateDir, 'acme/job')).toMatchObject({ status: 'failure', exitCode: ARGS_REFUSED_EXIT });
    expect(loadManifests([{ path: 'a.yaml', content: manifest(yaml) }]).issues).toEqual([expect.objectContaining({ rule: 'command-args', severity: 'error', line: 8, col: 12 })]);
  });

  it('passes each argument as one word, never re-parsed, after a | block', async () => {
    const dir = tempDir();
    const args = ['a b', '$(touch x)', "it's;touch y", '*', '\ntouch z', '`touch w`'];

    const r = await exec('printf "[%s]"\n', args, dir);

    expect(r.rc).toBe(0);
    expect(r.stdout).toBe(args.map((a) => `[${a}]`).join(''));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('runs no argument for 150 generated command texts (fixed seed)', () => {
    const vocabulary = ['echo', 'echo a', 'cat', ' ', '\t', '\n', '#c', ';', '&', '|', '&&', '||', ';;', '!', '\\', '\\\n', "'", '"', '`', '$(', '(', ')', '{', '}',
      'if', 'then', 'fi', 'do', 'done', 'for', 'in', 'case', 'esac', '<<E', '<<-E', "<<'E'", 'E', 'cat <<E\nhi\nE\n', 'X=1', '>', '>/dev/null', '2>&1',
      'exec', 'eval', '"eval"', 'true', '$x', '${x:-}', '$((1))', "'a b'", 'echo $(echo b)'];
    let seed = 20261206;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const dir = tempDir();
    const pwned = join(dir, 'pwned');
    const ran: string[] = [];
    const counts = { append: 0, placed: 0, refuse: 0 };

    for (let n = 0; n < 150; n++) {
      let command = '';
      for (let k = Math.floor(random() * 7); k >= 0; k--) command += `${vocabulary[Math.floor(random() * vocabulary.length)]!}${random() < 0.5 ? ' ' : ''}`;
      const plan = argsPlan(command, 'linux');
      counts[plan.kind]++;
      const cmd = shellCommand(command, ['touch', pwned], 'linux');
      spawnSync(cmd.file, cmd.args, { cwd: dir, timeout: 5000, stdio: 'ignore' });
      // A command that refers to its own arguments ("$@" or $1 as the program) asked for this.
      if (existsSync(pwned) && plan.kind !== 'placed') ran.push(command);
      for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
    }

    console.log(`generated commands: ${JSON.stringify(counts)}`);
    expect(ran).toEqual([]);
    expect(counts.append).toBeGreaterThan(10);
    expect(counts.refuse).toBeGreaterThan(10);
  }, 120_000);
});

/** A whole manifest around a `command:` fragment, with args; the command key is on line 8, column 3. */
function manifest(fragment: string): string {
  const indented = fragment.replace(/\n$/, '').split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');
  return `apiVersion: v1\nkind: Job\nmetadata:\n  name: job-a\n  tenant: acme\nspec:\n  schedule: "0 2 * * *"\n${indented}\n  args: [touch, /tmp/x]\n`;
}
