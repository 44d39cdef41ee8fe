import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { loadWebhookSecret } from '../../src/daemon/secret.js';
import type { SecretDeps } from '../../src/daemon/secret.js';
import { createPosixPlatform, createWin32Platform, type Platform } from '../../src/system/platform.js';
import { testTempDir } from '../system/tempdir.js';

const SECRET = 'correct-horse-battery-staple';

function deps(files: Record<string, { text: string; mode: number }>, env: Record<string, string> = {}, platform: Platform = createPosixPlatform()): SecretDeps {
  const get = (p: string) => {
    const f = files[p];
    if (!f) throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
    return f;
  };
  return { readFile: (p) => get(p), env, platform };
}

describe('daemon/secret', () => {
  it('returns null when no source is configured (webhooks then reject everything)', () => {
    expect(loadWebhookSecret({}, deps({}))).toBeNull();
  });

  it('reads a 0600 file and drops the trailing newline', () => {
    expect(loadWebhookSecret({ secretFile: '/etc/cronsync/webhook-secret' }, deps({ '/etc/cronsync/webhook-secret': { text: `${SECRET}\n`, mode: 0o600 } }))).toBe(SECRET);
  });

  it('reads an environment variable', () => {
    expect(loadWebhookSecret({ secretEnv: 'HOOK' }, deps({}, { HOOK: SECRET }))).toBe(SECRET);
  });

  it.each([
    ['a group-readable file', { secretFile: '/s' }, deps({ '/s': { text: SECRET, mode: 0o640 } })],
    ['a missing file', { secretFile: '/missing' }, deps({})],
    ['an unset variable', { secretEnv: 'HOOK' }, deps({})],
    ['a short secret', { secretEnv: 'HOOK' }, deps({}, { HOOK: 'short' })],
    ['an empty file', { secretFile: '/s' }, deps({ '/s': { text: '\n', mode: 0o600 } })],
  ])('refuses %s with a ConfigError that does not contain the secret', (_name, src, d) => {
    let err: unknown;
    try {
      loadWebhookSecret(src, d);
    } catch (e) {
      err = e;
    }

    expect(err).toBeInstanceOf(ConfigError);
    expect(JSON.stringify({ m: (err as Error).message, d: (err as ConfigError).data })).not.toContain(SECRET);
  });

  it('checks the ACL, not POSIX modes, on Windows', () => {
    // `icacls <file>` output, format documented at
    // https://learn.microsoft.com/windows-server/administration/windows-commands/icacls
    const icacls = (aces: string) => createWin32Platform({ tools: { runSync: () => ({ status: 0, stdout: `C:\\s ${aces}\r\n\r\nSuccessfully processed 1 files; Failed processing 0 files\r\n` }), start: () => undefined } });
    const file = { 'C:\\s': { text: SECRET, mode: 0o666 } };

    expect(loadWebhookSecret({ secretFile: 'C:\\s' }, deps(file, {}, icacls('NT AUTHORITY\\SYSTEM:(F)')))).toBe(SECRET);
    expect(() => loadWebhookSecret({ secretFile: 'C:\\s' }, deps(file, {}, icacls('Everyone:(R)')))).toThrow(/must not be readable by other users: Everyone can read it/);
  });

  it('says why a secret file cannot be read, and refuses a FIFO or directory instead of blocking on it', () => {
    const dir = testTempDir('cronsync-secret-');
    chmodSync(dir, 0o700);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    const message = (secretFile: string): string => {
      try {
        loadWebhookSecret({ secretFile });
      } catch (err) {
        if (err instanceof ConfigError) return err.message;
        throw err;
      }
      return 'no error';
    };

    expect(message(join(dir, 'missing'))).toBe(`Cannot read webhook secret file ${join(dir, 'missing')}: no such file`);
    expect(message(dir)).toBe(`Cannot read webhook secret file ${dir}: not a regular file`);
    expect(message(fifo)).toBe(`Cannot read webhook secret file ${fifo}: not a regular file`);
  });
});

