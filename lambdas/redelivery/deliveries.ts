/**
 * The App's webhook delivery log, in our vocabulary: pages of deliveries
 * (GET /app/hook/deliveries) and one redelivery (POST
 * /app/hook/deliveries/{delivery_id}/attempts). Both endpoints take the
 * App's JWT only ("You must use a JWT to access this endpoint"; installation
 * tokens are refused), so the App needs no extra permission for them:
 * https://docs.github.com/en/rest/apps/webhooks
 *
 * Listing: at most 100 per page (`per_page`), newest first, and cursor
 * pagination: the next page's `cursor` is in the Link header's rel="next"
 * URL, which Octokit's paginate iterator follows. The list is not filtered
 * with `status=failure`: a failure whose redelivery succeeded must still be
 * seen as answered.
 *
 * Writes go through the client's WritePacer (GitHub's secondary limit: 900
 * points per minute per endpoint, 5 per write) and the throttling plugin
 * handles 403/429 with retry-after.
 */
import type { InvocationBudget } from '../shared/deadline';
import { githubApiBaseUrl } from '../shared/github/base-url';
import { type AppCredentials, type ClientSettings, createAppOctokit } from '../shared/github/octokit';
import { WritePacer, type WritePacerOptions } from '../shared/concurrency';
import type { Logger } from '../shared/logger';
import type { HookDelivery } from './plan';

/** The largest page GitHub serves. */
export const MAX_PER_PAGE = 100;

/** What the redelivery run needs from GitHub. */
export interface DeliveryLog {
  /** Pages of the delivery log, newest first; stop iterating to stop fetching. */
  pages(): AsyncIterable<readonly HookDelivery[]>;
  /** Ask GitHub to deliver the entry `id` again (202 Accepted). */
  redeliver(id: string): Promise<void>;
}

export interface DeliveryLogOptions extends AppCredentials {
  readonly ghesUrl?: string;
  /** Overrides `ghesUrl` (tests). */
  readonly baseUrl?: string;
  readonly logger: Logger;
  /** Verify GitHub's TLS certificate; see ClientSettings. @default true */
  readonly tlsVerify?: boolean;
  readonly budget?: InvocationBudget;
  /** @default burst 10, 170 per minute */
  readonly writePacing?: WritePacerOptions;
  readonly retries?: Pick<ClientSettings, 'maxRateLimitRetries' | 'maxRetryAfterSeconds' | 'retryAfterBaseMs' | 'serverErrorRetries'>;
}

/** The delivery log of the App, as the App. */
export function createDeliveryLog(options: DeliveryLogOptions): DeliveryLog {
  const app = createAppOctokit(options, {
    baseUrl: options.baseUrl ?? githubApiBaseUrl(options.ghesUrl),
    writePacer: new WritePacer(options.writePacing),
    logger: options.logger,
    throttleId: `ghr-redelivery-${options.appId}`,
    budget: options.budget,
    tlsVerify: options.tlsVerify,
    ...options.retries,
  });
  return {
    async *pages() {
      for await (const page of app.paginate.iterator(app.rest.apps.listWebhookDeliveries, { per_page: MAX_PER_PAGE })) {
        yield page.data.map(
          (d): HookDelivery => ({
            id: String(d.id),
            guid: d.guid,
            deliveredAt: d.delivered_at,
            redelivery: d.redelivery,
            status: d.status,
            statusCode: d.status_code,
            event: d.event,
            action: d.action,
          }),
        );
      }
    },
    async redeliver(id) {
      // delivery_id is typed as a number, but it is only ever placed in the path.
      await app.request('POST /app/hook/deliveries/{delivery_id}/attempts', { delivery_id: id as unknown as number });
    },
  };
}
