// The 100 jobs both tools install: varied, realistic schedules (hourly, every n minutes, office
// hours, daily, weekly, monthly, quarterly, the @ macros, both day fields restricted), all in
// UTC so cronsync writes each job's own schedule on a UTC host, and none that Debian's cron
// reads differently from cronsync's §2a rules (a `*`-prefixed day field with the other one
// restricted), so the installed schedules can be compared field by field.

/** Schedule templates; `m` and `h` vary per job so that the 100 lines differ. */
const PATTERNS = [
  (m) => `${m} * * * *`,
  () => '*/5 * * * *',
  (m, h) => `${m} ${h} * * *`,
  (m) => `${m} 9-17 * * 1-5`,
  () => '*/15 * * * *',
  (m, h) => `${m} ${h} * * 0`,
  (m) => `${m} */2 * * *`,
  (m, h) => `${m} ${h} 1 * *`,
  () => '@daily',
  (m) => `${m} 8-18 * * MON-FRI`,
  () => '*/10 * * * *',
  (m, h) => `${m} ${h} * * 1,3,5`,
  (m) => `${m} */6 * * *`,
  (m, h) => `${m} ${h} 1,15 * *`,
  () => '@hourly',
  (m, h) => `${m} ${h} * * SAT`,
  () => '*/20 6-22 * * *',
  (m, h) => `${m} ${h} 1 1,4,7,10 *`,
  (m) => `${m} 0,12 * * *`,
  () => '@weekly',
  (m, h) => `${m} ${h} * 6-8 *`,
  (m) => `${m} */4 * * *`,
  (m, h) => `${m} ${h} 13 * 5`,
  () => '*/30 * * * *',
  () => '@monthly',
  (m, h) => `${m} ${h} 1 JAN *`,
  (m, h) => `${m} ${h} 10-20 * *`,
  (m, h) => `${m} ${h} * * 2-4`,
];

const MACROS = { '@hourly': 'hourly', '@daily': 'daily', '@weekly': 'weekly', '@monthly': 'monthly', '@yearly': 'yearly', '@annually': 'annually' };

/** `count` jobs `{ name, schedule, command }`, deterministic. */
export function makeJobs(count) {
  const jobs = [];
  for (let i = 0; i < count; i++) {
    const schedule = PATTERNS[i % PATTERNS.length]((i * 13 + 7) % 60, (i * 7 + 1) % 24);
    jobs.push({ name: `job-${String(i).padStart(3, '0')}`, schedule, command: `/usr/local/bin/job-${i}.sh --quiet` });
  }
  return jobs;
}

/** The schedule the "one job changed" case gives job `name`: `flip` alternates two values. */
export function changedSchedule(flip) {
  return flip ? '17 5 * * 2' : '43 4 * * 4';
}

/** A Job v1 manifest (cronsync repo). */
export function manifest(job) {
  return `apiVersion: v1\nkind: Job\nmetadata:\n  name: ${job.name}\n  tenant: acme\n  labels:\n    team: ${teamOf(job)}\nspec:\n  schedule: "${job.schedule}"\n  command: ${job.command}\n`;
}

/** Path of a job's manifest in the cronsync repo. */
export function manifestPath(job) {
  return `${teamOf(job)}/${job.name}.yaml`;
}

function teamOf(job) {
  return `team-${Number(job.name.slice(4)) % 10}`;
}

/** The ansible vars file (`jobs.yml` in the playbook repo): one item per job for ansible.builtin.cron. */
export function ansibleVars(jobs) {
  const lines = ['# Cron jobs installed by local.yml (one ansible.builtin.cron item each).', 'cron_jobs:'];
  for (const job of jobs) {
    lines.push(`  - name: ${job.name}`);
    if (job.schedule.startsWith('@')) {
      lines.push(`    special_time: ${MACROS[job.schedule]}`);
    } else {
      const [minute, hour, day, month, weekday] = job.schedule.split(' ');
      lines.push(`    minute: "${minute}"`, `    hour: "${hour}"`, `    day: "${day}"`, `    month: "${month}"`, `    weekday: "${weekday}"`);
    }
    lines.push(`    job: ${job.command}`);
  }
  return lines.join('\n') + '\n';
}
