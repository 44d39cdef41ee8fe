/** The configured source (the reconciler's source port). */
import type { AgentConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { durationMs } from '../manifest/duration.js';
import { createSource } from '../source/index.js';
import type { Source, SourceDeps } from '../source/index.js';

/** Creates the source named by the config (`source.*`), with clones in the state dir. */
export async function createConfiguredSource(cfg: AgentConfig, log: Logger, cwd = process.cwd(), hooks: Pick<SourceDeps, 'onListed' | 'keepOtherClones'> = {}): Promise<Source> {
  const s = cfg.source;
  return createSource(
    { url: s.url, ref: s.ref, paths: s.paths, exclude: s.exclude, auth: s.auth, ssh: s.ssh, timeoutMs: durationMs(s.timeout), maxFetchSize: s.maxFetchSize },
    { stateDir: cfg.stateDir, log: log.child({ component: 'source' }), cwd, ...hooks },
  );
}
