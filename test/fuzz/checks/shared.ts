/**
 * What the fuzz checkers share: the exec command and state dir the harnesses configure, the
 * marker a job's entry must carry, and how a problem quotes text.
 */
import type { DesiredJob } from '../../../src/desired/types.js';
import { SOURCE } from '../../scheduler/fixtures.js';

/** A named text an adapter rendered or wrote. */
export interface Written { name: string; text: string }

/** The program and first argument of every entry (schedulerDeps' execCommand). */
export const EXEC = ['/usr/bin/node', '/opt/cronsync/dist/cli/launch.cjs'];
/** The state dir every harness configures. */
export const STATE_DIR = '/var/lib/cronsync';

/** The marker fields a job's entry must carry, built from the job, not from the adapter. */
export function expectedMarker(d: DesiredJob): Record<string, unknown> {
  return {
    source: SOURCE, job: d.id, commit: d.provenance.commit, path: d.provenance.path, index: d.provenance.index, hash: d.manifestHash,
    url: d.provenance.url, ref: d.provenance.ref, ...(d.appliedAt === undefined ? {} : { applied: d.appliedAt }),
  };
}

/** Do the marker fields of `got` equal the job's? */
export const sameMarker = (got: Record<string, unknown>, d: DesiredJob): boolean =>
  JSON.stringify(Object.fromEntries(Object.keys(expectedMarker(d)).map((k) => [k, got[k]]))) === JSON.stringify(expectedMarker(d));

/** Text quoted for a problem, clipped. */
export const show = (s: string): string => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);

/**
 * A C0 control but tab: cron ends a line at a newline and stops reading a command at NUL.
 * (Active lines are matched exactly, so any other character there is caught too.)
 */
export const CONTROL = /[\0-\x08\x0b-\x1f]/; // eslint-disable-line no-control-regex
