/**
 * Installation access tokens, cached per installation for the life of the
 * container.
 *
 * A token lives one hour. Minting one costs a GitHub call (and a JWT
 * signature), so every invocation of a warm container reuses the token until
 * it is within `refreshMarginMs` of expiry (five minutes by default: longer
 * than any Lambda invocation that starts with the token in hand). Concurrent
 * requests for the same installation share one mint.
 */

/** A token and when GitHub says it expires. */
export interface InstallationToken {
  readonly token: string;
  /** Expiry, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** Options of an {@link InstallationTokenCache}. */
export interface InstallationTokenCacheOptions {
  /** Refresh a token this long before it expires. @default 300000 (5 minutes) */
  readonly refreshMarginMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

/** Caches installation tokens by a caller-chosen key (API base URL, App id and installation id). */
export class InstallationTokenCache {
  private readonly tokens = new Map<string, InstallationToken>();
  private readonly minting = new Map<string, Promise<InstallationToken>>();
  private readonly refreshMarginMs: number;
  private readonly now: () => number;

  constructor(options: InstallationTokenCacheOptions = {}) {
    this.refreshMarginMs = options.refreshMarginMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** The cached token for `key`, or a new one from `mint` when absent or about to expire. */
  async get(key: string, mint: () => Promise<InstallationToken>): Promise<string> {
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt - this.refreshMarginMs > this.now()) return cached.token;
    let pending = this.minting.get(key);
    if (!pending) {
      pending = mint().finally(() => this.minting.delete(key));
      this.minting.set(key, pending);
    }
    const fresh = await pending;
    this.tokens.set(key, fresh);
    return fresh.token;
  }

  /** Forget the token for `key` (GitHub answered 401 with it). */
  invalidate(key: string): void {
    this.tokens.delete(key);
  }

  /** Forget every token. */
  clear(): void {
    this.tokens.clear();
  }
}

/** The container-wide cache the Lambdas use; warm invocations reuse its tokens. */
export const sharedInstallationTokenCache = new InstallationTokenCache();
