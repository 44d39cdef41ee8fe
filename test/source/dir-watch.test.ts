import { testTempDir } from '../system/tempdir.js';
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';

const watchers: EventEmitter[] = [];
vi.mock('chokidar', () => ({
  watch: () => {
    const w = Object.assign(new EventEmitter(), { close: async () => undefined });
    watchers.push(w);
    return w;
  },
}));

const { createSource } = await import('../../src/source/index.js');

describe('source/dir watch', () => {
  it('logs a watcher error (ENOSPC: inotify limit, EACCES) instead of throwing it out of the daemon, and keeps watching', async () => {
    const root = testTempDir('cronsync-watch-err-');
    const warnings: unknown[] = [];
    const log = { debug: () => undefined, info: () => undefined, warn: (o: object) => void warnings.push(o) };
    const source = createSource({ url: root }, { stateDir: root, log, debounceMs: 0 });
    const unwatch = source.watch!(() => undefined);
    // The directory source's code (and chokidar) is imported by the first watch or fetch.
    await vi.waitFor(() => expect(watchers).toHaveLength(1));
    const err = Object.assign(new Error('System limit for number of file watchers reached, watch /srv/jobs'), { code: 'ENOSPC' });

    const emit = () => watchers[0]!.emit('error', err);

    expect(emit).not.toThrow();
    expect(warnings).toEqual([{ path: root, err: { code: 'ENOSPC', message: err.message } }]);
    unwatch();
  });
});

describe('source/index lazy watch', () => {
  it('stops a watch asked to stop before the directory source was loaded: no watcher is left', async () => {
    const root = testTempDir('cronsync-watch-stop-');
    const source = createSource({ url: root }, { stateDir: root });
    const before = watchers.length;

    source.watch!(() => undefined)();
    await source.fetch(new AbortController().signal);

    expect(watchers).toHaveLength(before);
  });
});
