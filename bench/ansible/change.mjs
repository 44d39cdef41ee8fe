// The one-job change of the bench: a push to either repository, and the check that the
// changed entry has reached the crontab or cron.d file.
import { readEntries } from './crontab.mjs';
import { ansibleVars, manifest, manifestPath } from './jobs.mjs';
import { pushCommit } from './repo.mjs';

/** Pushes a commit that gives job `changed` `schedule`, to the cronsync (`cs`) or ansible (`an`) repo. */
export function pushChange(m, tool, schedule, changed) {
  const jobs = m.jobs.map((j) => (j.name === changed ? { ...j, schedule } : j));
  const job = jobs.find((j) => j.name === changed);
  if (tool === 'cs') pushCommit(m.csRepo, { [manifestPath(job)]: manifest(job) });
  else pushCommit(m.anRepo, { 'jobs.yml': ansibleVars(jobs) });
}

/** A watch for proctree.measure(): true once job `changed` has `schedule` in `read()`. */
export function applied(read, cronD, schedule, changed) {
  const want = readEntries(`${schedule} ${cronD ? 'root ' : ''}x acme/${changed}`, { cronD }).get(changed).normalized;
  return () => {
    try {
      return readEntries(read(), { cronD }).get(changed)?.normalized === want;
    } catch {
      return false;
    }
  };
}

