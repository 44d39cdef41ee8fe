/**
 * Config values written into Windows tasks (src/config/validate.ts taskTextIssues): characters
 * task XML cannot hold, white space at either end, and task folders Windows or a console code
 * page would change are refused, each naming the key at its file:line:col.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { testTempDir } from '../system/tempdir.js';

const base = 'agent:\n  tenant: acme\nsource:\n  url: https://git.example.com/ops/jobs.git\n';

function file(text: string): string {
  const p = join(testTempDir('cronsync-cfg-task-text-'), 'config.yaml');
  writeFileSync(p, text);
  return p;
}

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('did not throw');
}

/** YAML double-quoted scalars: `\\` is one backslash, `\x01`, `\uFFFE`, `\uD800` escapes. */
describe('config: values written into Windows tasks', () => {
  it.each([
    ['scheduler.user', 'windows', 'scheduler:\n  kind: windows\n  user: "CORP\\\\bob "\n', '7:9', 'scheduler.user must not start or end with white space'],
    ['scheduler.user', 'crontab', 'scheduler:\n  kind: crontab\n  user: " bob"\n', '7:9', 'scheduler.user must not start or end with white space'],
    ['scheduler.user', 'windows', 'scheduler:\n  kind: windows\n  user: "CORP\\x01bob"\n', '7:9', 'scheduler.user must not contain U+0001'],
    ['scheduler.user', 'auto', 'scheduler:\n  user: "bob\\uFFFE"\n', '6:9', 'scheduler.user must not contain U+FFFE'],
    ['scheduler.taskFolder', 'windows', 'scheduler:\n  kind: windows\n  taskFolder: "\\\\Tâches"\n', '7:15', 'scheduler.taskFolder must be printable ASCII (it contains U+00E2)'],
    ['scheduler.taskFolder', 'auto', 'scheduler:\n  taskFolder: "\\\\cron?sync"\n', '6:15', 'scheduler.taskFolder must not contain ?'],
    ['scheduler.taskFolder', 'windows', 'scheduler:\n  kind: windows\n  taskFolder: "\\\\cronsync\\\\\\\\prod"\n', '7:15', 'scheduler.taskFolder must not contain an empty folder name'],
    ['scheduler.taskFolder', 'windows', 'scheduler:\n  kind: windows\n  taskFolder: "\\\\cronsync "\n', '7:15', 'scheduler.taskFolder must not start or end with white space'],
    ['scheduler.taskFolder', 'windows', 'scheduler:\n  kind: windows\n  taskFolder: "\\\\jobs.\\\\x"\n', '7:15', 'scheduler.taskFolder must not have a folder name that starts or ends with a space or ends with a dot ("jobs.")'],
    ['scheduler.taskFolder', 'windows', 'scheduler:\n  kind: windows\n  taskFolder: "\\\\NUL"\n', '7:15', 'scheduler.taskFolder must not use the device name NUL'],
    ['stateDir', 'windows', 'scheduler:\n  kind: windows\nstateDir: "C:\\\\state\\x01"\n', '7:11', 'stateDir must not contain U+0001'],
    ['stateDir', 'auto', 'stateDir: "C:\\\\state\\uD800"\n', '5:11', 'stateDir must not contain a lone surrogate (U+D800)'],
    ['stateDir', 'windows', 'scheduler:\n  kind: windows\nstateDir: "C:\\\\state "\n', '7:11', 'stateDir must not start or end with white space'],
  ])('refuses %s (kind %s): %j', (_key, _kind, yaml, at, want) => {
    const f = file(`${base}${yaml}`);

    expect(message(() => loadConfig({ file: f, env: {} }))).toContain(`${f}:${at}: ${want}`);
  });

  it('names the environment variable a refused value came from', () => {
    const f = file(`${base}scheduler:\n  kind: windows\n`);

    expect(message(() => loadConfig({ file: f, env: { CRONSYNC_SCHEDULER_USER: 'CORP\\bob ' } }))).toContain('CRONSYNC_SCHEDULER_USER: scheduler.user must not start or end with white space');
  });

  it('reports every bad value at once', () => {
    const f = file(`${base}scheduler:\n  kind: windows\n  user: "bob "\n  taskFolder: "\\\\Tâches"\nstateDir: " C:\\\\x"\n`);

    const text = message(() => loadConfig({ file: f, env: {} }));

    expect(text).toContain('scheduler.user must not');
    expect(text).toContain('scheduler.taskFolder must be printable ASCII');
    expect(text).toContain('stateDir must not start or end with white space');
  });

  it('accepts non-ASCII users and state dirs, inner spaces, nested and root folders', () => {
    const cfg = loadConfig({ file: file(`${base}scheduler:\n  kind: windows\n  user: "CORP\\\\Jürgen Müller"\n  taskFolder: "\\\\Ops Jobs\\\\cronsync\\\\"\nstateDir: "C:\\\\Données partagées\\\\cronsync"\n`), env: {} });
    const root = loadConfig({ file: file(`${base}scheduler:\n  kind: windows\n  taskFolder: "\\\\"\n`), env: {} });

    expect([cfg.scheduler.user, cfg.scheduler.taskFolder]).toEqual(['CORP\\Jürgen Müller', '\\Ops Jobs\\cronsync\\']);
    expect(root.scheduler.taskFolder).toBe('\\');
  });

  it('checks the task folder and the state dir only when the scheduler may be windows', () => {
    const cfg = loadConfig({ file: file(`${base}scheduler:\n  kind: crontab\n  taskFolder: "\\\\Tâches"\nstateDir: "/var/lib/cronsync "\n`), env: {} });

    expect([cfg.scheduler.taskFolder, cfg.stateDir]).toEqual(['\\Tâches', '/var/lib/cronsync ']);
  });
});
