/**
 * One redelivery run: scan the newest part of the App's delivery log, choose
 * the failed workflow_job deliveries that were never redelivered
 * (planRedeliveries), and redeliver each once, within the run's bounds.
 *
 * Bounds: at most `maxPages` pages of 100, nothing older than the look-back
 * window, at most `maxRedeliveries` redeliveries, and nothing started once
 * the invocation's budget is nearly spent. Whatever is left (a deferred
 * guid, a page not read) is simply found again by the next run: the log is
 * the state, so there is no checkpoint to keep consistent.
 *
 * A partial scan (page limit, budget, a page that failed) is still safe:
 * the log is newest first and a redelivery is newer than its original, so
 * every guid whose original was read has its redeliveries read too.
 */
import { DeadlineExceededError, type InvocationBudget } from '../shared/deadline';
import type { Logger } from '../shared/logger';
import type { DeliveryLog } from './deliveries';
import { type HookDelivery, planRedeliveries } from './plan';

/** Stop reading pages with less than this left: the redeliveries need the time. */
export const SCAN_RESERVE_MS = 5_000;
/** Start no redelivery with less than this left. */
export const WRITE_RESERVE_MS = 1_500;

export interface RedeliverySettings {
  /** Minutes of the delivery log each run looks at. */
  readonly lookbackMinutes: number;
  /** Pages of 100 deliveries read per run at most. */
  readonly maxPages: number;
  /** Redeliveries per run at most. */
  readonly maxRedeliveries: number;
  readonly metricsNamespace: string;
}

export interface RedeliveryDependencies {
  readonly deliveries: DeliveryLog;
  readonly logger: Logger;
  readonly budget: InvocationBudget;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What one run did. */
export interface RedeliveryResult {
  readonly pagesRead: number;
  readonly deliveriesRead: number;
  /** The scan reached the end of the window (or of the log). */
  readonly scanComplete: boolean;
  readonly redelivered: number;
  readonly failures: number;
  /** Chosen but not sent (per-run limit or budget): found again next run. */
  readonly deferred: number;
  readonly alreadyRedelivered: number;
}

/** Run once. Throws only when not even the first page could be read. */
export async function redeliverFailedDeliveries(settings: RedeliverySettings, deps: RedeliveryDependencies): Promise<RedeliveryResult> {
  const now = deps.now ?? Date.now;
  const log = deps.logger;
  const notBefore = now() - settings.lookbackMinutes * 60_000;
  const scan = await readWindow(settings, deps, notBefore);
  const plan = planRedeliveries(scan.deliveries, { notBefore, maxRedeliveries: settings.maxRedeliveries });

  let redelivered = 0;
  let failures = 0;
  let notSent = 0;
  for (const [i, target] of plan.redeliver.entries()) {
    if (deps.budget.remainingMs() < WRITE_RESERVE_MS) {
      notSent = plan.redeliver.length - i;
      log.warn('time budget spent: the remaining redeliveries are left for the next run', { left: notSent });
      break;
    }
    try {
      await deps.deliveries.redeliver(target.id);
      redelivered += 1;
      log.info('delivery redelivered', { deliveryId: target.guid, logEntryId: target.id });
    } catch (error) {
      if (isDeadline(error)) {
        notSent = plan.redeliver.length - i;
        log.warn('time budget spent during a redelivery: the rest is left for the next run', { left: notSent, deliveryId: target.guid });
        break;
      }
      // Counted and not retried this run: the log shows no redelivery for the
      // guid, so the next run chooses it again (until it leaves the window).
      failures += 1;
      log.error('redelivery refused', { deliveryId: target.guid, logEntryId: target.id, status: (error as { status?: number }).status, error });
    }
  }

  const result: RedeliveryResult = {
    pagesRead: scan.pages,
    deliveriesRead: scan.deliveries.length,
    scanComplete: scan.complete,
    redelivered,
    failures,
    deferred: plan.deferred + notSent,
    alreadyRedelivered: plan.alreadyRedelivered,
  };
  log.metrics(
    settings.metricsNamespace,
    { Service: 'redelivery' },
    {
      DeliveriesRedelivered: { value: redelivered, unit: 'Count' },
      RedeliveryFailures: { value: failures, unit: 'Count' },
      RedeliveriesDeferred: { value: result.deferred, unit: 'Count' },
    },
  );
  log.info('redelivery run done', { ...result });
  return result;
}

/** Read pages, newest first, until the window, the page limit or the scan budget ends. */
async function readWindow(
  settings: RedeliverySettings,
  deps: RedeliveryDependencies,
  notBefore: number,
): Promise<{ deliveries: HookDelivery[]; pages: number; complete: boolean }> {
  const deliveries: HookDelivery[] = [];
  let pages = 0;
  let complete = false;
  const iterator = deps.deliveries.pages()[Symbol.asyncIterator]();
  try {
    // Bounded by maxPages (and by the budget check).
    while (pages < settings.maxPages) {
      if (pages > 0 && deps.budget.remainingMs() < SCAN_RESERVE_MS) {
        deps.logger.warn('time budget: stopped reading the delivery log early', { pages });
        break;
      }
      let next: IteratorResult<readonly HookDelivery[]>;
      try {
        next = await deps.budget.within(SCAN_RESERVE_MS, () => iterator.next());
      } catch (error) {
        if (pages === 0) throw error;
        // What was read is still a sound newest-first prefix of the log.
        deps.logger.warn('reading the delivery log failed after some pages; planning from what was read', { pages, error });
        break;
      }
      if (next.done) {
        complete = true;
        break;
      }
      pages += 1;
      deliveries.push(...next.value);
      if (next.value.some((d) => Date.parse(d.deliveredAt) < notBefore)) {
        complete = true;
        break;
      }
    }
  } finally {
    // Stop the paginator: no further page is fetched.
    await iterator.return?.();
  }
  if (!complete) deps.logger.warn('the look-back window was not read to its end this run', { pages, maxPages: settings.maxPages });
  return { deliveries, pages, complete };
}

function isDeadline(error: unknown): boolean {
  return error instanceof DeadlineExceededError || (error as { name?: string })?.name === 'AbortError' || (error as { name?: string })?.name === 'DeadlineExceededError';
}
