/**
 * Verifies deliveries against the webhook secret kept in SSM, and picks up a
 * rotated secret without a redeploy.
 *
 * The secret is read once per container and cached. When a well-formed
 * signature does not match, the secret is re-read once (`refresh`) and the
 * signature checked again, so the first delivery signed with a new secret
 * succeeds.
 *
 * Forged traffic must not turn into SSM traffic, so refreshes are rate
 * limited per container: at most one SSM read per `minRefreshIntervalMs`
 * (10 s), counting the first load. A mismatch inside that window is rejected
 * against the cached secret without calling SSM. A forged-request storm thus
 * costs at most one GetParameters call per 10 s per warm container. The price:
 * a delivery signed with a secret rotated less than 10 s after the last read
 * is rejected with 401, and GitHub's "Redeliver" fixes it.
 *
 * Missing or malformed signature headers never reach SSM at all.
 */
import { Logger } from '../shared/logger';
import { SignatureError } from './errors';
import { SIGNATURE_HEADER, parseSignatureHeader, signatureMatches } from './signature';
import { HeaderMap } from './request';

/** Reads one SSM parameter, cached unless `refresh`. ParameterCache satisfies it. */
export interface SecretReader {
  getOne(name: string, options?: { refresh?: boolean }): Promise<string>;
}

/** Default minimum time between two SSM reads of the secret, per container. */
export const MIN_REFRESH_INTERVAL_MS = 10_000;

/** Checks X-Hub-Signature-256 against the cached secret, refreshing it at most once per interval (see above). One per container. */
export class WebhookSecretVerifier {
  private lastReadAt: number | undefined;
  private firstLoad: Promise<string> | undefined;

  constructor(
    private readonly secrets: SecretReader,
    private readonly parameterName: string,
    private readonly now: () => number,
    private readonly minRefreshIntervalMs = MIN_REFRESH_INTERVAL_MS,
  ) {}

  /**
   * Resolve when the request's signature matches `body`; throw SignatureError
   * (missing, malformed or mismatch) otherwise. SSM failures on the first load
   * propagate (an internal error); a failed refresh counts as a mismatch.
   */
  async verify(headers: HeaderMap, body: Uint8Array, log: Logger): Promise<void> {
    const digest = parseSignatureHeader(headers.all(SIGNATURE_HEADER));
    if (signatureMatches(await this.cached(), body, digest)) return;
    if (!this.mayRefresh()) throw new SignatureError('mismatch');
    const fresh = await this.refreshed(log);
    if (fresh === undefined || !signatureMatches(fresh, body, digest)) throw new SignatureError('mismatch');
    log.info('signature matched after re-reading the webhook secret');
  }

  /** The cached secret. Concurrent callers of a cold container share one load. */
  private cached(): Promise<string> {
    if (this.lastReadAt !== undefined) return this.secrets.getOne(this.parameterName);
    this.firstLoad ??= this.secrets
      .getOne(this.parameterName)
      .then((secret) => {
        this.lastReadAt ??= this.now();
        return secret;
      })
      .finally(() => {
        this.firstLoad = undefined;
      });
    return this.firstLoad;
  }

  private mayRefresh(): boolean {
    return this.lastReadAt === undefined || this.now() - this.lastReadAt >= this.minRefreshIntervalMs;
  }

  private async refreshed(log: Logger): Promise<string | undefined> {
    // Stamp before the call so concurrent or failing refreshes stay rate limited too.
    this.lastReadAt = this.now();
    try {
      return await this.secrets.getOne(this.parameterName, { refresh: true });
    } catch (error) {
      log.warn('re-reading the webhook secret failed', { error });
      return undefined;
    }
  }
}
