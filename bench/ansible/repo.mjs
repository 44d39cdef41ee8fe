// Bare repositories on the bench's git server, written with `git fast-import` (no work tree).
import path from 'node:path';
import { git } from '../git-server.mjs';

let stamp = 1_700_000_000;

function commit(gitdir, files, message, first) {
  const parts = [`commit refs/heads/main\ncommitter Bench <bench@example.com> ${stamp++} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`];
  if (!first) parts.push('from refs/heads/main^0\n');
  for (const [file, content] of Object.entries(files)) parts.push(`M 100644 inline ${file}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
  git(['--git-dir', gitdir, 'fast-import', '--quiet'], parts.join('') + '\n');
}

/** Creates `<root>/<name>.git` with one commit of `files` (path → content) on main; returns its path. */
export function createRepo(root, name, files) {
  const gitdir = path.join(root, `${name}.git`);
  git(['init', '--bare', '-q', '-b', 'main', gitdir]);
  commit(gitdir, files, 'initial', true);
  return gitdir;
}

/**
 * Adds a commit changing `files` on main: what the server holds after a push. The ref update is
 * the moment the bench calls "the push".
 */
export function pushCommit(gitdir, files, message = 'change one job') {
  commit(gitdir, files, message, false);
}
