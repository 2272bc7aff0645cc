/**
 * The time an invocation has left, shared by the domain code and the clients
 * it drives, so that every wait and retry is bounded by it.
 *
 * One {@link InvocationBudget} lives per container (clients are built once);
 * the handler calls {@link InvocationBudget.start} with the Lambda context's
 * remaining time at the start of every invocation. Code that must leave time
 * for a later step runs inside {@link InvocationBudget.within}: the AWS SDK
 * clients (see aws/budgeted-client.ts) and the GitHub client (see
 * github/octokit.ts) read the cutoff in force where they are called, through
 * AsyncLocalStorage, and neither start an attempt nor wait for a retry past it.
 *
 * Without a started invocation (tests, scripts) there is no cutoff.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** No call may start later than this before the invocation ends: time to log and return. */
export const RETURN_MARGIN_MS = 1_000;

/** A call refused because the cutoff in force has passed. */
export class DeadlineExceededError extends Error {
  constructor(what: string) {
    super(`${what}: not started, the invocation's time budget is spent`);
    this.name = 'DeadlineExceededError';
  }
}

export class InvocationBudget {
  private endsAt = Number.POSITIVE_INFINITY;
  private readonly cutoffs = new AsyncLocalStorage<number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Start an invocation with `remainingMs` left (the Lambda context's getRemainingTimeInMillis()); undefined: no limit. */
  start(remainingMs: number | undefined): void {
    this.endsAt = remainingMs === undefined ? Number.POSITIVE_INFINITY : this.now() + remainingMs;
  }

  /** Milliseconds until the invocation ends (Infinity without one). */
  untilEnd(): number {
    return this.endsAt - this.now();
  }

  /** Milliseconds until the cutoff in force here: the innermost {@link within}, else the end less {@link RETURN_MARGIN_MS}. */
  remainingMs(): number {
    return (this.cutoffs.getStore() ?? this.endsAt - RETURN_MARGIN_MS) - this.now();
  }

  /**
   * Run `fn` with a cutoff `reserveMs` before the end of the invocation (or
   * the cutoff already in force, if earlier), leaving `reserveMs` for what
   * follows. Calls inside fail fast once the cutoff passes; `fn` itself is
   * awaited, never abandoned, so nothing it started runs on unseen.
   */
  within<T>(reserveMs: number, fn: () => Promise<T>): Promise<T> {
    const outer = this.cutoffs.getStore() ?? Number.POSITIVE_INFINITY;
    return this.cutoffs.run(Math.min(outer, this.endsAt - reserveMs), fn);
  }
}
