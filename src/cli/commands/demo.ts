/**
 * `cronsync demo` (what `npm start` runs): the daemon on this package's own
 * `manifests-example/`, read from its git repository (or the directory when there is none),
 * with the embedded scheduler, the state dir in `./.cronsync/`, and a loopback check-in
 * receiver that prints every check-in. No root needed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../io.js';
import { parseCommandArgs } from '../args.js';
import { run as runDaemon } from './daemon.js';
import { makeDirSync } from '../../system/regular-file.js';

export const usage = `Usage: cronsync demo [--state-dir DIR]

Runs the agent on the bundled example manifests (manifests-example/) as agent "demo-host"
(tenant demo, label role=demo) with the embedded scheduler, so the demo jobs fire every
minute without root. Check-ins go to a loopback receiver that prints them. State is kept in
./.cronsync/ (override with --state-dir). Stop with Ctrl-C.
`;

/** Runs the demo until interrupted. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { 'state-dir': { type: 'string' } });
  const root = fileURLToPath(new URL('../../../', import.meta.url)).replace(/[/\\]$/, '');
  const home = join(io.cwd, '.cronsync');
  const stateDir = values['state-dir'] ?? join(home, 'state');
  makeDirSync(home, 0o700);

  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      try {
        const c = JSON.parse(body) as { job_name?: string; tenant?: string; status?: string; exit_code?: number; duration?: number; attempts?: number };
        io.stderr.write(`[check-in] ${c.tenant}/${c.job_name}: ${c.status}${c.exit_code === undefined || c.exit_code === null ? '' : ` exit ${c.exit_code}`}${c.duration === undefined ? '' : ` in ${c.duration}s`}${c.attempts && c.attempts > 1 ? ` after ${c.attempts} attempts` : ''}\n`);
      } catch {
        io.stderr.write(`[check-in] ${req.method} ${req.url} (${body.length} bytes)\n`);
      }
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiver.unref();
  const port = (receiver.address() as AddressInfo).port;

  const config = join(home, 'config.yaml');
  writeFileSync(config, [
    '# Written by `cronsync demo` (npm start); edit freely, it is rewritten on every start.',
    'agent:',
    '  name: demo-host',
    '  tenant: demo',
    '  labels: { role: demo }',
    'source:',
    `  url: ${JSON.stringify(root)}`,
    '  paths: ["manifests-example/**/*.{yaml,yml}"]',
    '  interval: 30s',
    'scheduler:',
    '  kind: embedded',
    'checkin:',
    `  url: http://127.0.0.1:${port}/api/checkins`,
    `stateDir: ${JSON.stringify(stateDir)}`,
    '',
  ].join('\n'));
  io.stderr.write([
    'cronsync demo: agent demo-host (tenant demo, role=demo), embedded scheduler',
    `  manifests: ${root}/manifests-example (committed tree when it is a git repository)`,
    `  config:    ${config}`,
    `  state:     ${stateDir}`,
    `  check-ins: http://127.0.0.1:${port}/api/checkins (printed below as [check-in])`,
    `  status:    node ${join(root, 'dist/cli/main.js')} status --config ${config}`,
    'The demo jobs fire every minute, two and three minutes. Stop with Ctrl-C.',
    '',
  ].join('\n'));
  const code = await runDaemon(['--config', config, ...(argv.includes('--log-level') ? [] : ['--log-level', 'info'])], io);
  receiver.close();
  return code;
}
