/**
 * Which failed webhook deliveries to redeliver: a pure function over one scan
 * of the App's delivery log (GET /app/hook/deliveries, newest first).
 *
 * GitHub does not redeliver failed deliveries by itself
 * (https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries);
 * a delivery failed when its `status` is not "OK". A redelivery
 * (POST /app/hook/deliveries/{id}/attempts) is a new log entry with
 * `redelivery: true` and the same `guid`, which is the X-GitHub-Delivery
 * header the webhook keys its idempotency on.
 *
 * "Once per delivery" needs no state of our own: the log itself says, per
 * guid, whether a redelivery was ever made. A guid is redelivered when
 * - its event is workflow_job,
 * - no entry of it in the window succeeded, and its failure may heal
 *   (no answer, 408, 429 or 5xx),
 * - no entry of it is a redelivery (ours, or one an operator made by hand),
 *   so a redelivery that failed again is not redelivered again.
 * Redelivery entries are newer than the original, and the log is listed
 * newest first, so a scan that reached a guid's original has seen its
 * redeliveries too. An original that has aged out of the window is not
 * seen at all; its redelivery entries alone never trigger one.
 */

/** One entry of the delivery log, in our vocabulary. */
export interface HookDelivery {
  /** The log entry's id: what POST .../deliveries/{id}/attempts takes (a string: GitHub's ids are int64). */
  readonly id: string;
  /** X-GitHub-Delivery: shared by a delivery and its redeliveries. */
  readonly guid: string;
  /** ISO 8601. */
  readonly deliveredAt: string;
  readonly redelivery: boolean;
  /** "OK" for a 2xx answer; anything else is a failure (GitHub's rule). */
  readonly status: string;
  /** Our endpoint's HTTP status; 0 when there was no answer (timeout, no connection). */
  readonly statusCode: number;
  readonly event: string;
  readonly action?: string | null;
}

/** The events whose failed deliveries we redeliver: only workflow_job starts runners. */
export const REDELIVERED_EVENTS: readonly string[] = ['workflow_job'];

/** Whether GitHub counts the delivery as answered. */
export function deliverySucceeded(d: HookDelivery): boolean {
  return d.status === 'OK';
}

/**
 * Whether a redelivery could be answered differently: no answer (0, a
 * timeout or no connection), 408, 429 or 5xx. The webhook's other 4xx are
 * deliberate refusals (400 not JSON, 401 signature, 403 allow list, 413 too
 * large) that a redelivery of the same body would get again.
 */
export function failureMayHeal(d: HookDelivery): boolean {
  return d.statusCode === 0 || d.statusCode === 408 || d.statusCode === 429 || d.statusCode >= 500;
}

export interface PlanOptions {
  /** Entries delivered before this (ms since the epoch) are out of the window and ignored. */
  readonly notBefore: number;
  /** At most this many redeliveries. */
  readonly maxRedeliveries: number;
}

/** What a scan found and what to redeliver. */
export interface RedeliveryPlan {
  /** Log entry ids to redeliver, oldest failure first (the job that has waited longest goes first). */
  readonly redeliver: readonly { readonly id: string; readonly guid: string }[];
  /** Failed guids left for a later run because of `maxRedeliveries`. */
  readonly deferred: number;
  /** Failed workflow_job guids that were redelivered before (by us or by hand) and are not retried. */
  readonly alreadyRedelivered: number;
  /** workflow_job guids in the window that were answered. */
  readonly succeeded: number;
  /** Failed guids whose answer was a deliberate refusal (see failureMayHeal): not redelivered. */
  readonly refused: number;
}

/** Choose the failed workflow_job deliveries to redeliver once. */
export function planRedeliveries(deliveries: readonly HookDelivery[], options: PlanOptions): RedeliveryPlan {
  const byGuid = new Map<string, HookDelivery[]>();
  for (const d of deliveries) {
    if (!REDELIVERED_EVENTS.includes(d.event)) continue;
    const at = Date.parse(d.deliveredAt);
    if (!Number.isFinite(at) || at < options.notBefore) continue;
    const list = byGuid.get(d.guid);
    if (list) list.push(d);
    else byGuid.set(d.guid, [d]);
  }
  const candidates: { id: string; guid: string; at: number }[] = [];
  let alreadyRedelivered = 0;
  let succeeded = 0;
  let refused = 0;
  for (const [guid, entries] of byGuid) {
    if (entries.some(deliverySucceeded)) {
      succeeded += 1;
      continue;
    }
    if (entries.some((e) => e.redelivery)) {
      alreadyRedelivered += 1;
      continue;
    }
    // Every entry failed and none is a redelivery: normally one entry; take the newest.
    const latest = entries.reduce((a, b) => (Date.parse(b.deliveredAt) > Date.parse(a.deliveredAt) ? b : a));
    if (!failureMayHeal(latest)) {
      refused += 1;
      continue;
    }
    candidates.push({ id: latest.id, guid, at: Date.parse(latest.deliveredAt) });
  }
  candidates.sort((a, b) => a.at - b.at || a.guid.localeCompare(b.guid));
  const max = Math.max(0, Math.floor(options.maxRedeliveries));
  return {
    redeliver: candidates.slice(0, max).map(({ id, guid }) => ({ id, guid })),
    deferred: Math.max(0, candidates.length - max),
    alreadyRedelivered,
    succeeded,
    refused,
  };
}
