/**
 * Bounded concurrency for the Lambdas: how many calls run at once
 * ({@link mapLimited}) and how fast GitHub writes start ({@link WritePacer}).
 * One copy of each, shared by every function (issue #14 item 5).
 */

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Paces GitHub writes (POST, PATCH, PUT, DELETE) to GitHub's secondary rate
 * limits instead of @octokit/plugin-throttling's default of one write per
 * second in series.
 *
 * GitHub allows 900 points per minute per endpoint, and a write costs 5, so
 * 180 writes per minute per endpoint (for us: 180 JIT configs per minute per
 * App). The pacer is a token bucket: `burst` writes may start at once (a batch
 * of runners registers in parallel), then writes start at `perMinute`. With the
 * defaults (burst 10, 170 per minute) no 60-second window holds more than 180
 * writes from one container. Containers do not share a bucket, so when several
 * run at once, lower `perMinute` (or cap the function's concurrency).
 *
 * The throttling plugin still handles 403/429 answers that carry
 * `retry-after`; the pacer only keeps us from provoking them.
 */

/** Options of a {@link WritePacer}. */
export interface WritePacerOptions {
  /** Writes that may start back to back. @default 10 */
  readonly burst?: number;
  /** Sustained writes per minute. @default 170 */
  readonly perMinute?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
  /** Timer, for tests. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** A FIFO token bucket. */
export class WritePacer {
  private readonly capacity: number;
  private readonly perMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private tokens: number;
  private refilledAt: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(options: WritePacerOptions = {}) {
    this.capacity = options.burst ?? 10;
    const perMinute = options.perMinute ?? 170;
    if (!(this.capacity >= 1) || !(perMinute > 0)) {
      throw new RangeError(`WritePacer needs burst ≥ 1 and perMinute > 0, got ${this.capacity} and ${perMinute}`);
    }
    this.perMs = perMinute / 60_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.tokens = this.capacity;
    this.refilledAt = this.now();
  }

  /** Resolves when one more write may start. Callers are served in order. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.takeOne());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async takeOne(): Promise<void> {
    this.refill();
    if (this.tokens < 1) {
      await this.sleep(Math.ceil((1 - this.tokens) / this.perMs));
      this.refill();
    }
    this.tokens -= 1;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (t - this.refilledAt) * this.perMs);
    this.refilledAt = t;
  }
}
