/**
 * AWS SDK client settings that keep every call inside the invocation's time
 * budget (see ../deadline.ts): pass {@link budgetedClientConfig} to a client's
 * constructor.
 *
 * - Retries: exponential backoff with full jitter (the SDK's standard mode:
 *   https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html),
 *   `maxAttempts` in all, and no retry whose wait plus a minimal attempt would
 *   end past the cutoff in force. The SDK's adaptive mode is not used: its
 *   client-side rate limiter sleeps before attempts for as long as it likes,
 *   which no deadline bounds (issue #10 item 12: 2 s between PutParameter
 *   attempts ran scale-up past its timeout).
 * - Attempts: none starts past the cutoff, and one in flight is aborted at it;
 *   each also has connection and request timeouts of its own.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions, RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';
import { DeadlineExceededError, InvocationBudget } from '../deadline';

/** Tuning of {@link budgetedClientConfig}. */
export interface BudgetedClientOptions {
  /** Attempts per call, the first included. @default 4 */
  readonly maxAttempts?: number;
  /** Time to connect. @default 2000 */
  readonly connectionTimeoutMs?: number;
  /** Time for one attempt's response once connected. @default 5000 */
  readonly requestTimeoutMs?: number;
  /** Backoff base for throttling errors, in ms. @default 500 */
  readonly throttlingBaseMs?: number;
  /** Backoff base for other retryable errors, in ms. @default 100 */
  readonly baseMs?: number;
  /** Random source of the jitter, for tests. @default Math.random */
  readonly random?: () => number;
}

/** A retry is not worth making with less than this left after its wait. */
export const MIN_ATTEMPT_MS = 250;
/** No single backoff is longer than this (the SDK's own cap). */
const MAX_BACKOFF_MS = 20_000;

/** The `retryStrategy` and `requestHandler` of a client bounded by `budget`. */
export function budgetedClientConfig(budget: InvocationBudget, options: BudgetedClientOptions = {}) {
  const handler = new NodeHttpHandler({
    connectionTimeout: options.connectionTimeoutMs ?? 2_000,
    requestTimeout: options.requestTimeoutMs ?? 5_000,
    // Without this the handler only logs a warning when requestTimeout passes
    // and the attempt goes on waiting (@smithy/types HttpHandlerInitialization).
    throwOnRequestTimeout: true,
  });
  return {
    retryStrategy: new BudgetedRetryStrategy(budget, options),
    requestHandler: new BudgetedRequestHandler(handler, budget),
  };
}

class BudgetedRetryStrategy implements RetryStrategyV2 {
  private readonly maxAttempts: number;
  private readonly random: () => number;

  constructor(
    private readonly budget: InvocationBudget,
    private readonly options: BudgetedClientOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.random = options.random ?? Math.random;
  }

  async acquireInitialRetryToken(scope: string): Promise<RetryToken> {
    if (this.budget.remainingMs() < MIN_ATTEMPT_MS) throw new DeadlineExceededError(`AWS call (${scope})`);
    return token(0, 0);
  }

  async refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const retries = previous.getRetryCount() + 1;
    // Whatever is thrown here, the SDK rethrows the call's own error.
    if (info.errorType === 'CLIENT_ERROR' || retries >= this.maxAttempts) throw new Error('not retryable');
    const base = info.errorType === 'THROTTLING' ? (this.options.throttlingBaseMs ?? 500) : (this.options.baseMs ?? 100);
    let delay = Math.floor(this.random() * Math.min(MAX_BACKOFF_MS, base * 2 ** (retries - 1)));
    if (info.retryAfterHint) delay = Math.max(delay, info.retryAfterHint.getTime() - Date.now());
    if (delay + MIN_ATTEMPT_MS > this.budget.remainingMs()) throw new Error('no time left for a retry');
    return token(retries, delay);
  }

  recordSuccess(): void {}
}

function token(retryCount: number, delay: number): RetryToken {
  return { getRetryCount: () => retryCount, getRetryDelay: () => delay };
}

/** The node handler, with every attempt refused past the cutoff and aborted at it. */
class BudgetedRequestHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };

  constructor(
    private readonly inner: NodeHttpHandler,
    private readonly budget: InvocationBudget,
  ) {}

  handle(request: Parameters<NodeHttpHandler['handle']>[0], options: HttpHandlerOptions = {}): ReturnType<NodeHttpHandler['handle']> {
    const remaining = this.budget.remainingMs();
    if (remaining <= 0) return Promise.reject(new DeadlineExceededError(`AWS request to ${request.hostname}`));
    const atCutoff = AbortSignal.timeout(Math.ceil(remaining));
    const abortSignal = options.abortSignal ? AbortSignal.any([options.abortSignal as AbortSignal, atCutoff]) : atCutoff;
    return this.inner.handle(request, { ...options, abortSignal });
  }

  updateHttpClientConfig(...args: Parameters<NodeHttpHandler['updateHttpClientConfig']>): void {
    this.inner.updateHttpClientConfig(...args);
  }

  httpHandlerConfigs(): ReturnType<NodeHttpHandler['httpHandlerConfigs']> {
    return this.inner.httpHandlerConfigs();
  }

  destroy(): void {
    this.inner.destroy();
  }
}
