/**
 * What a source URL names, and the URL a source of it records: one rule for the sources, which
 * fetch with it, and `cronsync render --config`, which must write what they record.
 */
import { stripUrlPassword } from '../errors.js';
import { splitUrlAuth } from './auth.js';
import { parseSshUrl } from './known-hosts.js';

/** The kind of a remote URL (http(s) or SSH), or null for a local path. */
export function remoteKind(url: string): 'git-http' | 'git-ssh' | null {
  if (/^https?:\/\//i.test(url)) return 'git-http';
  if (/^ssh:\/\//i.test(url) || (parseSshUrl(url) && !/^[a-z]:[\\/]/i.test(url) && !url.startsWith('/') && !url.startsWith('.'))) return 'git-ssh';
  return null;
}

/**
 * The URL a source of `url` records in its snapshots, and so in its jobs' provenance: an http(s)
 * URL as its transport fetches it (parsed, userinfo and trailing slash off), an SSH URL without
 * its password, a local path as configured. `cronsync render --config` renders with it.
 */
export function provenanceUrl(url: string): string {
  const kind = remoteKind(url);
  return kind === 'git-http' ? splitUrlAuth(url).url : kind === 'git-ssh' ? stripUrlPassword(url) : url;
}
