// Run on a real Windows host (windows/check.ps1 runs it, after `npm run build`): do a job's
// `args` reach its program whole through cmd.exe? For each case, the built shellCommand
// (dist/shim/command.js) makes the cmd.exe command line a job with args runs, here for a program
// that prints the arguments it received as JSON (node and a scratch script); the output must be
// the args. The same cases run on a simulator of cmd.exe's documented rules in
// test/shim/cmd-args.test.ts, where cmd.exe cannot run. Variables named in the cases (PATH, X,
// A) are defined for the run, so that an expansion would show.
//
//   node windows\check-args.mjs        prints PASS/FAIL per case, exits 1 on any failure

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Arguments that cmd.exe's parsing could change: percent forms of defined names, carets, quotes, operators. */
export const ARG_CASES = [
  'plain', 'a b', '', ' ', '"', '""', 'say "hi"', 'trailing\\', 'a\\"b', 'C:\\Program Files\\x\\',
  '%X%', '%PATH%', '%x%', '%X', 'X%', '50%', '%%', '%%X%%', '%^%', '%"%', '% %',
  '%PATH:~0,1%', '%PATH:~-5%', '%X:x=y%', '%X:*x=y%', '%A:a=&calc%', '%NOPE%', '%NOPE:a=b%',
  '^', '^^', '^%X^%', 'a^&b', 'a&b', 'a|b', '<in', '>out', '(x)', '!X!', 'a,b;c=d', '*?',
  '%X%%A%', '%X:~0,1%%A:a=b%', '"%X%"', '\\"%X%\\"', '%\\"%',
];

/** Environment of the cases: the names they refer to, defined. */
export const ARG_ENV = { X: 'xx', A: 'a' };

async function main() {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { shellCommand } = await import(new URL('../dist/shim/command.js', import.meta.url).href);
  const dir = mkdtempSync(join(tmpdir(), 'cronsync-check-args-'));
  let failed = 0;
  try {
    const script = join(dir, 'argv.js');
    writeFileSync(script, 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
    const command = `"${process.execPath}" "${script}"`;
    for (const arg of ARG_CASES) {
      const args = ['first', arg, 'last'];
      const cmd = shellCommand(command, args, 'win32');
      // CHECK_ARGS_CMD: another program in cmd.exe's place (the test suite's simulator, on Linux).
      const r = spawnSync(process.env.CHECK_ARGS_CMD || cmd.file, cmd.args, { windowsVerbatimArguments: cmd.windowsVerbatimArguments, env: { ...process.env, ...ARG_ENV }, encoding: 'utf8' });
      const ok = r.error === undefined && r.status === 0 && r.stdout === JSON.stringify(args);
      if (!ok) failed++;
      const why = r.error ? `cannot start ${cmd.file}: ${r.error.message}` : `got ${JSON.stringify(r.stdout)} (exit ${r.status}) ${(r.stderr ?? '').trim()}`;
      console.log(`${ok ? 'PASS' : 'FAIL'}  ${JSON.stringify(arg)}${ok ? '' : `  ${why}`}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(failed === 0 ? `PASS  all ${ARG_CASES.length} args arrived whole` : `FAIL  ${failed} of ${ARG_CASES.length} args changed on the way`);
  process.exitCode = failed === 0 ? 0 : 1;
}

/** Whether this module is the script node was started with (real paths: a checkout under a junction). */
function isMain() {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) await main();
