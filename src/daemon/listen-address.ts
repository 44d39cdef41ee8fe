/** The `host:port` of a listener (config `daemon.health.listen`, `daemon.webhooks.listen`). Pure. */

/** Where a listener binds. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port`, `[v6]:port` or a bare port (host 127.0.0.1), with the port in range; null otherwise. */
export function listenAddressOf(text: string): ListenAddress | null {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) return null;
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? '127.0.0.1', port };
}
