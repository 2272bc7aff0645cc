/**
 * GitHub adapter of the syncer: read a release of actions/runner and stream
 * one of its assets.
 *
 * Plain `fetch` rather than the shared Octokit client: these are two
 * unauthenticated-by-default GETs against github.com once per schedule, and the
 * shared client is built around GitHub App authentication.
 *
 * The optional token goes to the API only. Downloads are public and follow
 * GitHub's redirect to its CDN, so no credential is sent there.
 */
import { DownloadError, ReleaseLookupError } from './errors';
import type { GitHubRelease } from './plan';

/** Where releases and their bytes come from. */
export interface RunnerReleaseSource {
  /** The latest release, or the one tagged `v<version>` when `version` is given. Throws ReleaseLookupError. */
  getRelease(version: string | undefined, signal?: AbortSignal): Promise<GitHubRelease>;
  /** Start downloading `url`. Throws DownloadError; reading `chunks` throws DownloadError too. */
  download(url: string, assetName: string, signal?: AbortSignal): Promise<AssetDownload>;
}

/** A download in progress. */
export interface AssetDownload {
  /** Content-Length of the final response, when it sent one. */
  readonly contentLength?: number;
  /** The body, chunk by chunk, as it arrives. Iterate once. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Stop downloading and release the connection; safe to call at any time. */
  cancel(): void;
}

/** Options of {@link createGitHubReleases}. */
export interface GitHubReleasesOptions {
  /** REST API root without a trailing `/`, e.g. `https://api.github.com`. */
  readonly apiUrl: string;
  /** Token for the API calls (raises the rate limit); never sent to download hosts. */
  readonly token?: string;
  /** Attempts of a release lookup on 5xx or network errors (1 = no retry). @default 3 */
  readonly lookupAttempts?: number;
  /** Wait before the n-th retry is `n × retryDelayMs`. @default 1000 */
  readonly retryDelayMs?: number;
  /** Timeout of one API request. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** Fail a download that delivers no bytes for this long. @default 30000 */
  readonly idleTimeoutMs?: number;
  /** The fetch implementation. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

const USER_AGENT = 'cdktf-github-runners-syncer';
const RELEASES_PATH = '/repos/actions/runner/releases';

/** A {@link RunnerReleaseSource} over GitHub's REST API. */
export function createGitHubReleases(options: GitHubReleasesOptions): RunnerReleaseSource {
  const doFetch = options.fetch ?? fetch;
  const attempts = Math.max(1, options.lookupAttempts ?? 3);
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;

  async function getRelease(version: string | undefined, signal?: AbortSignal): Promise<GitHubRelease> {
    const what = version === undefined ? 'the latest release' : `release v${version}`;
    const url = `${options.apiUrl}${RELEASES_PATH}/${version === undefined ? 'latest' : `tags/v${encodeURIComponent(version)}`}`;
    const headers: Record<string, string> = {
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': USER_AGENT,
    };
    if (options.token) headers.authorization = `Bearer ${options.token}`;

    let last: ReleaseLookupError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(retryDelayMs * (attempt - 1), signal);
      let response: Response;
      try {
        const timeout = AbortSignal.timeout(requestTimeoutMs);
        response = await doFetch(url, { headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      } catch (cause) {
        if (signal?.aborted) throw new ReleaseLookupError(`looking up ${what} of actions/runner was cancelled`, undefined, { cause });
        last = new ReleaseLookupError(`could not reach GitHub to look up ${what} of actions/runner: ${describe(cause)}`, undefined, { cause });
        continue;
      }
      if (response.ok) {
        const body: unknown = await response.json().catch(() => undefined);
        if (!looksLikeRelease(body)) throw new ReleaseLookupError(`GitHub answered the lookup of ${what} of actions/runner with something that is not a release`, response.status);
        return body;
      }
      await response.body?.cancel().catch(() => undefined);
      last = lookupFailure(what, response);
      // 5xx may heal within seconds; 4xx will not within this invocation.
      if (response.status < 500) break;
    }
    throw last ?? new ReleaseLookupError(`could not look up ${what} of actions/runner`);
  }

  async function download(url: string, assetName: string, signal?: AbortSignal): Promise<AssetDownload> {
    if (!isAllowedDownloadUrl(url, options.apiUrl)) {
      throw new DownloadError(`refusing to download ${assetName} from ${url}: not https`, assetName);
    }
    if (signal?.aborted) throw new DownloadError(`download of ${assetName} was cancelled before it started`, assetName);
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onOuterAbort, { once: true });

    // The idle timer runs only while we wait on the network, never while the
    // caller holds the stream paused (uploading a part is not a stall).
    let idleFired = false;
    let idleTimer: NodeJS.Timeout | undefined;
    const waitingOnNetwork = <T>(pending: Promise<T>): Promise<T> => {
      const timer = setTimeout(() => {
        idleFired = true;
        controller.abort();
      }, idleTimeoutMs);
      idleTimer = timer;
      return pending.finally(() => clearTimeout(timer));
    };
    const stop = () => {
      clearTimeout(idleTimer);
      signal?.removeEventListener('abort', onOuterAbort);
      controller.abort();
    };
    const why = (cause: unknown) => (idleFired ? `no data for ${idleTimeoutMs} ms` : signal?.aborted ? 'cancelled' : describe(cause));

    let response: Response;
    try {
      response = await waitingOnNetwork(
        doFetch(url, {
          redirect: 'follow',
          signal: controller.signal,
          // identity: the bytes, size and digest must be the asset's, not a re-encoding of it.
          headers: { accept: 'application/octet-stream', 'accept-encoding': 'identity', 'user-agent': USER_AGENT },
        }),
      );
    } catch (cause) {
      stop();
      throw new DownloadError(`could not start the download of ${assetName}: ${why(cause)}`, assetName, undefined, { cause });
    }
    if (!response.ok || !response.body) {
      stop();
      throw new DownloadError(`download of ${assetName} failed with HTTP ${response.status}`, assetName, response.status);
    }
    const rawLength = response.headers.get('content-length');
    const contentLength = rawLength !== null && /^\d+$/.test(rawLength) ? Number(rawLength) : undefined;
    // Lock the body now and keep the Response reachable until the copy ends. undici
    // cancels the body of a Response that is garbage collected while its stream is
    // neither locked nor read, and the copy starts only after CreateMultipartUpload
    // answers: a GC in that window made the download read 0 bytes (issue #10 item 15).
    const reader = response.body.getReader();
    const keepAlive: { response?: Response } = { response };

    async function* chunks(): AsyncGenerator<Uint8Array> {
      let received = 0;
      try {
        for (;;) {
          let result: Awaited<ReturnType<typeof reader.read>>;
          try {
            result = await waitingOnNetwork(reader.read());
          } catch (cause) {
            throw new DownloadError(`download of ${assetName} broke off after ${received} bytes: ${why(cause)}`, assetName, undefined, { cause });
          }
          if (result.done) return;
          received += result.value.byteLength;
          yield result.value;
        }
      } finally {
        stop();
        reader.releaseLock();
        keepAlive.response = undefined;
      }
    }

    const cancel = () => {
      stop();
      reader.cancel().catch(() => undefined);
    };
    return { contentLength, chunks: chunks(), cancel };
  }

  return { getRelease, download };
}

function lookupFailure(what: string, response: Response): ReleaseLookupError {
  const status = response.status;
  if (status === 404) return new ReleaseLookupError(`GitHub has no ${what} of actions/runner (HTTP 404)`, status);
  if ((status === 403 || status === 429) && (response.headers.get('x-ratelimit-remaining') === '0' || response.headers.has('retry-after'))) {
    const reset = response.headers.get('x-ratelimit-reset');
    const until = reset && /^\d+$/.test(reset) ? ` until ${new Date(Number(reset) * 1000).toISOString()}` : '';
    return new ReleaseLookupError(`GitHub rate-limited the lookup of ${what} of actions/runner${until} (HTTP ${status}); consider GITHUB_TOKEN_SSM_PARAMETER_NAME`, status);
  }
  return new ReleaseLookupError(`GitHub answered the lookup of ${what} of actions/runner with HTTP ${status}`, status);
}

/** https always; plain http only on the API's own origin, which config allows only for loopback (tests). */
function isAllowedDownloadUrl(raw: string, apiUrl: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.origin === new URL(apiUrl).origin;
  } catch {
    return false;
  }
}

function looksLikeRelease(value: unknown): value is GitHubRelease {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.tag_name === 'string' &&
    Array.isArray(v.assets) &&
    v.assets.every((a: unknown) => {
      if (typeof a !== 'object' || a === null) return false;
      const asset = a as Record<string, unknown>;
      return typeof asset.name === 'string' && typeof asset.id === 'number' && typeof asset.size === 'number' && typeof asset.browser_download_url === 'string';
    })
  );
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports network failures as TypeError('fetch failed') with the reason in `cause`.
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
