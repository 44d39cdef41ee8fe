/** Signs webhook calls the way each Git host does, for webhook tests. */
import { createHmac } from 'node:crypto';
import type { WebhookProvider } from '../../src/daemon/webhooks.js';

/** The headers `provider` sends for a call with body `body`, delivery id `id`, signed with `secret`. */
export function signHook(provider: WebhookProvider, body: Buffer, id: string, secret: string): Record<string, string> {
  const hmac = createHmac('sha256', secret).update(body).digest('hex');
  switch (provider) {
    case 'github':
      return { 'x-hub-signature-256': `sha256=${hmac}`, 'x-github-delivery': id };
    case 'gitlab':
      return { 'x-gitlab-token': secret, 'x-gitlab-event-uuid': id };
    case 'gitea':
      return { 'x-gitea-signature': hmac, 'x-gitea-delivery': id };
    case 'forgejo':
      return { 'x-forgejo-signature': hmac, 'x-forgejo-delivery': id };
    case 'bitbucket':
      return { 'x-hub-signature': `sha256=${hmac}`, 'x-request-uuid': id, 'x-hook-uuid': 'same-for-every-call' };
    case 'generic':
      return { 'x-signature': `sha256=${hmac}`, 'x-delivery': id };
  }
}
