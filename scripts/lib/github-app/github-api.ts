/**
 * The few GitHub REST calls the App setup needs, in our vocabulary:
 *
 * - `createAppFromManifest(code)`: `POST /app-manifests/{code}/conversions`,
 *   unauthenticated (the code is the credential), returns id, slug, PEM and
 *   webhook secret (GitHub may return null for the secret).
 * - `getApp(credentials)`: `GET /app`, as the App (JWT).
 * - `setWebhookSecret(credentials, secret)`: `PATCH /app/hook/config`, as the App.
 *
 * The App JWT is RS256 over the App's private key, signed with node:crypto.
 * Error messages name the operation and GitHub's status and message, never the
 * code (it is part of the URL), a token, a key or a secret.
 */
import { createPrivateKey, sign } from 'node:crypto';
import type { components, operations } from '@octokit/openapi-types';

/** The conversion response: the App plus its one-time credentials. */
export type ManifestConversion = operations['apps/create-from-manifest']['responses'][201]['content']['application/json'];
/** A GitHub App as `GET /app` returns it. */
export type GitHubApp = NonNullable<components['schemas']['integration']>;
/** Body of `PATCH /app/hook/config`. */
export type WebhookConfigUpdate = operations['apps/update-webhook-config-for-app']['requestBody']['content']['application/json'];

/** GitHub answered with an error status or could not be reached. */
export class GitHubApiError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    detail: string,
  ) {
    super(`${operation} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${detail}`);
    this.name = 'GitHubApiError';
  }
}

/** What authenticates as the App. */
export interface AppCredentials {
  readonly appId: string;
  readonly privateKey: string;
}

const API_VERSION = '2022-11-28';
const USER_AGENT = 'cdktf-github-runners-create-github-app';

export class GitHubAppApi {
  /**
   * @param baseUrl REST API base: `https://api.github.com`, `<ghes>/api/v3`, or a test server.
   * @param fetchFn injected for tests; global fetch otherwise.
   * @param now clock in ms, for the JWT.
   */
  constructor(
    private readonly baseUrl: string,
    private readonly fetchFn: typeof fetch = fetch,
    private readonly now: () => number = Date.now,
  ) {}

  /** Exchange the manifest flow's temporary code for the new App and its credentials. */
  async createAppFromManifest(code: string): Promise<ManifestConversion> {
    const operation = 'creating the App from the manifest (POST /app-manifests/{code}/conversions)';
    const res = await this.call(operation, 'POST', `/app-manifests/${encodeURIComponent(code)}/conversions`, {});
    if (res.status === 404) throw new GitHubApiError(operation, 404, 'the code is unknown, already used, or older than one hour');
    if (res.status !== 201) throw new GitHubApiError(operation, res.status, await errorDetail(res));
    const body = (await res.json()) as ManifestConversion;
    if (typeof body.id !== 'number' || typeof body.pem !== 'string') {
      throw new GitHubApiError(operation, res.status, 'the response carries no App id or private key');
    }
    return body;
  }

  /** The App the credentials belong to; proves the id and the key match. */
  async getApp(credentials: AppCredentials): Promise<GitHubApp> {
    const operation = 'reading the App (GET /app)';
    const res = await this.call(operation, 'GET', '/app', undefined, this.jwtFor(credentials));
    if (res.status !== 200) throw new GitHubApiError(operation, res.status, await errorDetail(res));
    const app = (await res.json()) as GitHubApp | null;
    if (app === null || typeof app.html_url !== 'string') throw new GitHubApiError(operation, res.status, 'the response carries no App');
    return app;
  }

  /** Set the secret GitHub signs webhook deliveries with. */
  async setWebhookSecret(credentials: AppCredentials, secret: string): Promise<void> {
    const operation = 'setting the webhook secret (PATCH /app/hook/config)';
    const body: WebhookConfigUpdate = { secret };
    const res = await this.call(operation, 'PATCH', '/app/hook/config', body, this.jwtFor(credentials));
    if (res.status !== 200) throw new GitHubApiError(operation, res.status, await errorDetail(res));
    await res.body?.cancel();
  }

  private jwtFor(credentials: AppCredentials): string {
    return appJwt(credentials.appId, credentials.privateKey, this.now());
  }

  private async call(operation: string, method: string, path: string, body?: unknown, jwt?: string): Promise<Response> {
    const headers: Record<string, string> = {
      Accept: 'application/vnd.github+json',
      'X-GitHub-Api-Version': API_VERSION,
      'User-Agent': USER_AGENT,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (jwt !== undefined) headers.Authorization = `Bearer ${jwt}`;
    try {
      return await this.fetchFn(`${this.baseUrl.replace(/\/+$/, '')}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      // fetch's own message is generic; the cause names the network error (no URL path).
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
      throw new GitHubApiError(operation, undefined, `cannot reach ${new URL(this.baseUrl).origin}: ${cause}`);
    }
  }
}

/**
 * A GitHub App JWT: RS256, issued a minute in the past against clock drift,
 * valid nine minutes (GitHub allows at most ten).
 */
export function appJwt(appId: string, privateKeyPem: string, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000) - 60;
  const header = { alg: 'RS256', typ: 'JWT' };
  const payload = { iat, exp: iat + 60 + 9 * 60, iss: /^\d+$/.test(appId) ? Number(appId) : appId };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
  const signature = sign('sha256', Buffer.from(signingInput), createPrivateKey(privateKeyPem));
  return `${signingInput}.${signature.toString('base64url')}`;
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** GitHub's `message` (and the first validation error), short, from an error response. */
async function errorDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { message?: unknown; errors?: unknown };
    const first = Array.isArray(body.errors) ? body.errors[0] : undefined;
    const extra = typeof first === 'string' ? first : first && typeof first === 'object' && 'message' in first ? String(first.message) : '';
    const message = [typeof body.message === 'string' ? body.message : '', extra].filter(Boolean).join(': ');
    if (message) return message.slice(0, 300);
  } catch {
    // not JSON
  }
  return res.statusText || 'no details';
}
