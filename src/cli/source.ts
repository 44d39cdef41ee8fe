/** The configured source, adapted to the reconciler's port. */
import type { AgentConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { durationMs } from '../manifest/duration.js';
import type { ReconcileSnapshot, ReconcileSource } from '../reconcile/types.js';
import { createSource } from '../source/index.js';
import type { Snapshot } from '../source/index.js';

/** Creates the source named by the config (`source.*`), with clones in the state dir. */
export async function createConfiguredSource(cfg: AgentConfig, log: Logger, cwd = process.cwd()): Promise<ReconcileSource> {
  const s = cfg.source;
  const source = createSource(
    { url: s.url, ref: s.ref, paths: s.paths, exclude: s.exclude, auth: s.auth, ssh: s.ssh, timeoutMs: durationMs(s.timeout) },
    { stateDir: cfg.stateDir, log: log.child({ component: 'source' }), cwd },
  );
  const toReconcile = (snap: Snapshot): ReconcileSnapshot & { raw: Snapshot } => ({
    ...snap,
    raw: snap,
    files: snap.files.map((f) => ({ path: f.path, oid: f.oid, content: f.content, ...(f.error ? { error: { rule: 'source-file', message: f.error } } : {}) })),
  });
  return {
    id: source.id,
    async fetch(signal, previous) {
      return toReconcile(await source.fetch(signal, (previous as { raw?: Snapshot } | undefined)?.raw));
    },
    ...(source.watch ? { watch: (onChange: () => void) => source.watch!(onChange) } : {}),
  };
}
