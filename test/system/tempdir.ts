/**
 * Temp dirs for tests that are removed however the test ends. `testTempDir` is for use inside
 * a test (removed when it finishes, passed or failed); `TempDirs` is for suites that make dirs
 * in hooks or helpers (remove them in `afterEach`/`afterAll`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

/** A new temp dir `<tmp>/<prefix>XXXXXX`, removed when the current test finishes. */
export function testTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Temp dirs made by a suite, removed together by {@link TempDirs.removeAll}. */
export class TempDirs {
  private readonly dirs: string[] = [];

  /** A new temp dir `<tmp>/<prefix>XXXXXX`, removed by the next removeAll(). */
  make(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** Removes every dir made so far. */
  removeAll(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}
