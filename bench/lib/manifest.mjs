// The Job manifest that the lint and reconcile benches generate, and that
// test/manifest/parse-fast.test.ts fuzzes from: block mappings with flow maps and sequences in
// them, a quoted schedule and a secret reference in `env`, as manifests are written.

/**
 * The manifest of job `job-<i>`.
 * @param {number} i
 * @param {{ tenant: string, schedule: string, timezone: string, role: string }} o
 * @returns {string}
 */
export function jobManifest(i, { tenant, schedule, timezone, role }) {
  return `apiVersion: v1
kind: Job
metadata:
  name: job-${i}
  tenant: ${tenant}
  labels: { env: production, team: platform }
spec:
  schedule: "${schedule}"
  timezone: ${timezone}
  command: /opt/scripts/run.sh
  args: ["--id=${i}"]
  env: { A: "1", B: "\${SECRET_B}" }
  retry: { enabled: true, attempts: 3, backoff: exponential, delay: 10s, maxDelay: 5m }
  agent: { selector: { role: ${role} } }
  timeout: 30m
`;
}
