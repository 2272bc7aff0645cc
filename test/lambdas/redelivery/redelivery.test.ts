import { InvocationBudget } from '../../../lambdas/shared/deadline';
import { Logger } from '../../../lambdas/shared/logger';
import type { DeliveryLog } from '../../../lambdas/redelivery/deliveries';
import type { HookDelivery } from '../../../lambdas/redelivery/plan';
import { SCAN_RESERVE_MS, redeliverFailedDeliveries } from '../../../lambdas/redelivery/redelivery';

const NOW = Date.parse('2026-12-07T10:00:00Z');
const settings = { lookbackMinutes: 60, maxPages: 3, maxRedeliveries: 100, metricsNamespace: 'GitHubRunners/test' };

/** `count` failed deliveries, one per minute back from NOW, newest first. */
function failures(count: number, from = 0): HookDelivery[] {
  return Array.from({ length: count }, (_, i) => ({
    id: String(1000 + from + i),
    guid: `g-${from + i}`,
    deliveredAt: new Date(NOW - (from + i) * 30_000).toISOString(),
    redelivery: false,
    status: 'Invalid HTTP Response: 502',
    statusCode: 502,
    event: 'workflow_job',
    action: 'queued',
  }));
}

/** An in-memory log that pages `all` by `perPage` and counts what is read. */
function memoryLog(all: HookDelivery[], perPage: number, onRedeliver: (id: string) => Promise<void> = async () => undefined) {
  const stats = { pagesServed: 0, redelivered: [] as string[] };
  const log: DeliveryLog = {
    async *pages() {
      for (let i = 0; i < all.length; i += perPage) {
        stats.pagesServed += 1;
        yield all.slice(i, i + perPage);
      }
    },
    async redeliver(id) {
      await onRedeliver(id);
      stats.redelivered.push(id);
    },
  };
  return { log, stats };
}

function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: new Logger('redelivery', {}, (l) => lines.push(JSON.parse(l)), 'debug'), lines };
}

describe('redeliverFailedDeliveries', () => {
  it('should redeliver each failed delivery once and emit DeliveriesRedelivered', async () => {
    const { log, stats } = memoryLog(failures(5), 100);
    const { logger, lines } = capture();
    const result = await redeliverFailedDeliveries(settings, { deliveries: log, logger, budget: new InvocationBudget(), now: () => NOW });
    expect(result).toMatchObject({ redelivered: 5, failures: 0, deferred: 0, scanComplete: true });
    expect(new Set(stats.redelivered).size).toBe(5);
    expect(lines.find((l) => l.message === 'metrics')).toMatchObject({ DeliveriesRedelivered: 5, RedeliveryFailures: 0 });
  });

  it('should read no more than maxPages pages', async () => {
    // 1000 failures within the window, 10 per page: the window would need 100 pages
    const { log, stats } = memoryLog(failures(100), 10);
    const { logger } = capture();
    const result = await redeliverFailedDeliveries(settings, { deliveries: log, logger, budget: new InvocationBudget(), now: () => NOW });
    expect(stats.pagesServed).toBe(3);
    expect(result).toMatchObject({ pagesRead: 3, deliveriesRead: 30, scanComplete: false, redelivered: 30 });
  });

  it('should stop reading at the first page that reaches past the window', async () => {
    // one delivery per 30 s: the 60-minute window ends within the 2nd page of 100
    const { log, stats } = memoryLog(failures(300), 100);
    const { logger } = capture();
    const result = await redeliverFailedDeliveries({ ...settings, maxPages: 10 }, { deliveries: log, logger, budget: new InvocationBudget(), now: () => NOW });
    expect(stats.pagesServed).toBe(2);
    // 121 failures in the window (0 to 60 minutes back); the per-run limit sends 100
    expect(result).toMatchObject({ scanComplete: true, redelivered: 100, deferred: 21 });
  });

  it('should count a refused redelivery and carry on with the others', async () => {
    const { log } = memoryLog(failures(3), 100, async (id) => {
      if (id === '1001') throw Object.assign(new Error('Validation Failed'), { status: 422 });
    });
    const { logger, lines } = capture();
    const result = await redeliverFailedDeliveries(settings, { deliveries: log, logger, budget: new InvocationBudget(), now: () => NOW });
    expect(result).toMatchObject({ redelivered: 2, failures: 1 });
    expect(lines.find((l) => l.message === 'metrics')).toMatchObject({ DeliveriesRedelivered: 2, RedeliveryFailures: 1 });
  });

  it('should stop redelivering when the budget is spent and leave the rest for the next run', async () => {
    // GIVEN an invocation with 10 s left, where each redelivery takes 2 s of its clock
    let t = NOW;
    const budget = new InvocationBudget(() => t);
    budget.start(10_000);
    const { log, stats } = memoryLog(failures(20), 100, async () => {
      t += 2_000;
    });
    const { logger } = capture();
    const result = await redeliverFailedDeliveries(settings, { deliveries: log, logger, budget, now: () => NOW });
    // THEN it stops with ≥ WRITE_RESERVE_MS left: 4 sent (10 s - 1 s margin, 2 s each), 16 deferred
    expect(stats.redelivered).toHaveLength(4);
    expect(result).toMatchObject({ redelivered: 4, deferred: 16, failures: 0 });
  });

  it('should stop reading pages when the budget is spent', async () => {
    let t = NOW;
    const budget = new InvocationBudget(() => t);
    budget.start(SCAN_RESERVE_MS + 3_000);
    const all = failures(100);
    const stats = { pages: 0 };
    const log: DeliveryLog = {
      async *pages() {
        for (let i = 0; i < all.length; i += 10) {
          stats.pages += 1;
          t += 1_500;
          yield all.slice(i, i + 10);
        }
      },
      redeliver: async () => undefined,
    };
    const { logger } = capture();
    const result = await redeliverFailedDeliveries({ ...settings, maxPages: 10 }, { deliveries: log, logger, budget, now: () => NOW });
    expect(result.pagesRead).toBeLessThan(10);
    expect(result.scanComplete).toBe(false);
  });

  it('should plan from the pages read when a later page fails', async () => {
    const all = failures(20);
    const log: DeliveryLog = {
      async *pages() {
        yield all.slice(0, 10);
        throw Object.assign(new Error('Server Error'), { status: 502 });
      },
      redeliver: async () => undefined,
    };
    const { logger } = capture();
    const result = await redeliverFailedDeliveries(settings, { deliveries: log, logger, budget: new InvocationBudget(), now: () => NOW });
    expect(result).toMatchObject({ pagesRead: 1, redelivered: 10, scanComplete: false });
  });

  it('should throw when not even the first page can be read', async () => {
    const log: DeliveryLog = {
      // eslint-disable-next-line require-yield
      async *pages() {
        throw Object.assign(new Error('Bad credentials'), { status: 401 });
      },
      redeliver: async () => undefined,
    };
    const { logger } = capture();
    await expect(redeliverFailedDeliveries(settings, { deliveries: log, logger, budget: new InvocationBudget(), now: () => NOW })).rejects.toThrow('Bad credentials');
  });
});
