/**
 * Octokit construction: one place that decides base URL, authentication,
 * throttling and retries for every GitHub call the Lambdas make.
 *
 * - The App client authenticates with the App's JWT (via @octokit/auth-app)
 *   and is used only to mint installation tokens.
 * - Installation clients authenticate with an installation token taken from
 *   an {@link InstallationTokenCache} on every request, so a warm container
 *   reuses tokens across invocations; a 401 drops the token and retries once.
 * - @octokit/plugin-throttling handles 403/429 with `retry-after` (bounded by
 *   `maxRateLimitRetries` and `maxRetryAfterSeconds`), and its write limiter is
 *   replaced by a {@link WritePacer}.
 * - @octokit/plugin-retry retries 5xx and network errors only.
 * - Every request has a timeout, and with an {@link InvocationBudget} neither
 *   a request nor a rate-limit wait runs past the invocation's cutoff.
 */
import { createAppAuth } from '@octokit/auth-app';
import type { ThrottlingOptions } from '@octokit/plugin-throttling';
import { throttling } from '@octokit/plugin-throttling';
import { retry } from '@octokit/plugin-retry';
import { Octokit } from '@octokit/rest';
import { Agent } from 'undici';
import { DeadlineExceededError, InvocationBudget } from '../deadline';
import { Logger } from '../logger';
import { InstallationToken, InstallationTokenCache } from './token-cache';
import { WritePacer } from '../concurrency';

const GitHubOctokit = Octokit.plugin(throttling, retry);

/** An Octokit REST client with the throttling and retry plugins. */
export type GitHubClient = InstanceType<typeof GitHubOctokit>;

/** How a client paces and retries; shared by the App and installation clients of one App. */
export interface ClientSettings {
  /** REST API base URL, e.g. from `githubApiBaseUrl`. */
  readonly baseUrl: string;
  /** Paces writes; share one per App per container. */
  readonly writePacer: WritePacer;
  /** Where rate-limit warnings go. */
  readonly logger: Logger;
  /** Retries of one request after a 403/429 rate-limit answer. @default 2 */
  readonly maxRateLimitRetries?: number;
  /** Give up rather than wait longer than this for `retry-after`. @default 30 */
  readonly maxRetryAfterSeconds?: number;
  /** Milliseconds per second of `retry-after` and of 5xx backoff; tests shrink it. @default 1000 */
  readonly retryAfterBaseMs?: number;
  /** Retries after a 5xx or network error. @default 2 */
  readonly serverErrorRetries?: number;
  /** Groups this App's requests in the throttling plugin's shared limiters. @default "ghr" */
  readonly throttleId?: string;
  /**
   * The invocation's time budget: no request starts past its cutoff, one in
   * flight is aborted at it, and no rate-limit wait runs past it.
   * @default none: only the limits above
   */
  readonly budget?: InvocationBudget;
  /** Time for one request. @default 10000 */
  readonly requestTimeoutMs?: number;
  /**
   * Verify the GitHub server's TLS certificate (philips `ghes_ssl_verify`).
   * false skips it for this client's requests only (an undici dispatcher on
   * its fetch), never process-wide: AWS SDK calls keep verifying.
   * @default true
   */
  readonly tlsVerify?: boolean;
}

/** The App's credentials. */
export interface AppCredentials {
  readonly appId: number | string;
  /** PEM (PKCS#1 or PKCS#8), as GitHub issues it. */
  readonly privateKey: string;
}

/** An Octokit authenticated as the App (JWT); use it for `/app/...` endpoints. */
export function createAppOctokit(credentials: AppCredentials, settings: ClientSettings): GitHubClient {
  return new GitHubOctokit({
    ...commonOptions(settings),
    authStrategy: createAppAuth,
    auth: { appId: credentials.appId, privateKey: credentials.privateKey },
  });
}

/** Source of installation tokens for {@link createInstallationOctokit}. */
export interface InstallationTokenSource {
  readonly cache: InstallationTokenCache;
  /** Cache key: unique per base URL, App and installation. */
  readonly key: string;
  /** Mints a new token (one GitHub call). */
  readonly mint: () => Promise<InstallationToken>;
}

/** An Octokit authenticated as one installation, with tokens from `tokens.cache`. */
export function createInstallationOctokit(tokens: InstallationTokenSource, settings: ClientSettings): GitHubClient {
  return new GitHubOctokit({
    ...commonOptions(settings),
    authStrategy: cachedInstallationAuth,
    auth: tokens,
  });
}

function commonOptions(settings: ClientSettings) {
  const log = settings.logger;
  const maxRetries = settings.maxRateLimitRetries ?? 2;
  const maxWait = settings.maxRetryAfterSeconds ?? 30;
  const baseMs = settings.retryAfterBaseMs ?? 1000;
  const onLimit =
    (kind: string) =>
    (retryAfter: number, options: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
      const withinBudget = settings.budget === undefined || retryAfter * baseMs + MIN_REQUEST_MS <= settings.budget.remainingMs();
      const retrying = retryCount < maxRetries && retryAfter <= maxWait && withinBudget;
      log.warn(`GitHub ${kind} rate limit`, { method: options.method, url: options.url, retryAfter, retryCount, retrying, withinBudget });
      return retrying;
    };
  const pacer = settings.writePacer;
  const throttle: ThrottlingOptions = {
    id: settings.throttleId ?? 'ghr',
    retryAfterBaseValue: baseMs,
    // The plugin calls write.key(id).schedule(options, noop) before each write;
    // a retry is scheduled with weight 0 and must not wait for the pacer again.
    write: {
      key: () => ({
        schedule: async <T>(options: { weight?: number }, task: () => Promise<T>): Promise<T> => {
          if (options.weight !== 0) await pacer.take();
          return task();
        },
      }),
    } as unknown as NonNullable<ThrottlingOptions['write']>,
    onRateLimit: onLimit('primary'),
    onSecondaryRateLimit: onLimit('secondary'),
  };
  return {
    baseUrl: settings.baseUrl,
    userAgent: 'cdktf-github-runners',
    request: { fetch: timedFetch(settings.requestTimeoutMs ?? 10_000, settings.budget, settings.tlsVerify === false ? unverifiedDispatcher() : undefined) },
    throttle,
    retry: {
      retries: settings.serverErrorRetries ?? 2,
      retryAfterBaseValue: baseMs,
      // 403 and 429 belong to the throttling plugin; 409 (a runner name taken) never heals.
      doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451],
    },
    log: {
      debug: () => undefined,
      info: () => undefined,
      warn: (message: string) => log.warn(`octokit: ${message}`),
      error: (message: string) => log.error(`octokit: ${message}`),
    },
  };
}

let unverified: Agent | undefined;

/** One connection pool per container that skips certificate checks (GHES with a private CA and ghes_ssl_verify false). */
function unverifiedDispatcher(): Agent {
  unverified ??= new Agent({ connect: { rejectUnauthorized: false } });
  return unverified;
}

/** A rate-limit retry is not worth waiting for with less than this left after the wait. */
const MIN_REQUEST_MS = 1_000;

/**
 * `fetch` with a timeout per request and, with a budget, no request started
 * past the cutoff and none running past it. A budget abort is named
 * AbortError: @octokit/request passes those through unwrapped, so neither
 * the retry nor the throttling plugin retries it.
 */
function timedFetch(timeoutMs: number, budget: InvocationBudget | undefined, dispatcher?: Agent): typeof fetch {
  return async (input, init) => {
    const remaining = budget?.remainingMs() ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) throw budgetAbort('GitHub request');
    const atCutoff = Number.isFinite(remaining) ? AbortSignal.timeout(Math.ceil(remaining)) : undefined;
    const signals = [init?.signal, AbortSignal.timeout(timeoutMs), atCutoff].filter((x): x is AbortSignal => x != null);
    try {
      // Looked up per call: the Lambda runtime's fetch (tests bind their own).
      // `dispatcher` is undici's extension of RequestInit (Node's fetch is undici).
      return await fetch(input, { ...init, signal: AbortSignal.any(signals), ...(dispatcher && { dispatcher }) } as RequestInit);
    } catch (error) {
      if (atCutoff?.aborted) throw budgetAbort('GitHub request in flight');
      throw error;
    }
  };
}

function budgetAbort(what: string): Error {
  const error = new DeadlineExceededError(what);
  error.name = 'AbortError';
  return error;
}

type RequestFn = ((options: Record<string, unknown>) => Promise<unknown>) & {
  endpoint: { merge: (route: unknown, parameters?: unknown) => Record<string, unknown> & { headers: Record<string, string> } };
};

/** An Octokit auth strategy that reads the token from the cache on every request. */
function cachedInstallationAuth(options: InstallationTokenSource) {
  const token = () => options.cache.get(options.key, options.mint);
  const auth = async () => ({ type: 'token', tokenType: 'installation', token: await token() });
  const hook = async (request: RequestFn, route: unknown, parameters?: unknown) => {
    const endpoint = request.endpoint.merge(route, parameters);
    const send = async () => request({ ...endpoint, headers: { ...endpoint.headers, authorization: `token ${await token()}` } });
    try {
      return await send();
    } catch (error) {
      if ((error as { status?: number }).status !== 401) throw error;
      // The token was revoked or the clock lied; mint a new one and try once more.
      options.cache.invalidate(options.key);
      return send();
    }
  };
  return Object.assign(auth, { hook });
}
