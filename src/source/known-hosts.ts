/**
 * Pure parsing of SSH remotes and known_hosts files, so that an unknown host is reported clearly
 * before ssh is ever started.
 */
import { createHmac } from 'node:crypto';

/** Host and port of an `ssh://` or scp-like (`git@host:org/repo.git`) URL, or null if it is neither. */
export function parseSshUrl(url: string): { host: string; port: number } | null {
  const m = /^ssh:\/\/(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\//i.exec(url);
  if (m?.[1]) return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 22 };
  const scp = /^(?:[^@/:]+@)?([^:/]+):(?!\/\/)/.exec(url);
  if (scp?.[1] && !/^[a-z]:$/i.test(scp[1] + ':') && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return { host: scp[1], port: 22 };
  return null;
}

/** Whether `text` (a known_hosts file) holds a key for `host` on `port`. Hashed entries are supported. */
export function knownHostsHas(text: string, host: string, port = 22): boolean {
  const name = port === 22 ? host : `[${host}]:${port}`;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    if (fields[0]?.startsWith('@')) {
      if (fields[0] === '@revoked') continue;
      fields.shift();
    }
    const hosts = fields[0] ?? '';
    if (fields.length < 3) continue;
    if (hosts.startsWith('|1|')) {
      const [, , salt, hash] = hosts.split('|');
      if (salt && hash && createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash) return true;
      continue;
    }
    let hit = false;
    for (const pat of hosts.split(',')) {
      const neg = pat.startsWith('!');
      const re = new RegExp('^' + pat.replace(/^!/, '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
      if (re.test(name)) {
        if (neg) {
          hit = false;
          break;
        }
        hit = true;
      }
    }
    if (hit) return true;
  }
  return false;
}
