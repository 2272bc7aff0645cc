/**
 * Verifies GitHub Actions OIDC tokens with node:crypto only.
 *
 * GitHub documents the token (https://docs.github.com/en/actions/reference/security/oidc):
 * - `iss` is `https://token.actions.githubusercontent.com` on github.com and
 *   `https://HOSTNAME/_services/token` on GHES
 *   (https://docs.github.com/en/enterprise-server@3.15/actions/reference/security/oidc);
 * - the keys are published at `<issuer>/.well-known/openid-configuration` → `jwks_uri`;
 * - `aud` is the repository owner's URL unless the workflow asks for a custom
 *   audience (`core.getIDToken(audience)`, or `&audience=` on ACTIONS_ID_TOKEN_REQUEST_URL);
 * - the header carries `alg` and `kid`, the payload `exp`, `iat`, `nbf`, and
 *   GitHub's claims `repository`, `repository_owner`, `run_id`, `run_attempt`
 *   (strings of digits).
 *
 * Rules here: RS256 only (`none`, HS256 and every other alg are refused before
 * any key is looked at); iss equal to the configured issuer; aud (a string or
 * a list) containing the configured audience; exp in the future, nbf and iat
 * not in the future, each with {@link OidcVerifierOptions.skewSeconds}. Keys
 * are cached per container; a token naming a kid the cache does not hold makes
 * the verifier fetch the JWKS again (key rotation), at most once per
 * {@link OidcVerifierOptions.refetchIntervalMs}.
 *
 * Never logs or echoes the token: errors carry a short reason only.
 */
import { KeyObject, createPublicKey, verify as verifySignature } from 'node:crypto';

/** A token we refuse (401). `reason` is ours, never a part of the token. */
export class TokenError extends Error {
  constructor(readonly reason: string) {
    super(`OIDC token rejected: ${reason}`);
    this.name = 'TokenError';
  }
}

/** The issuer's keys could not be fetched (503: try again). */
export class JwksUnavailableError extends Error {
  constructor(reason: string) {
    super(`OIDC keys unavailable: ${reason}`);
    this.name = 'JwksUnavailableError';
  }
}

/** The claims the runner API acts on. */
export interface ActionsClaims {
  readonly repository: string;
  readonly repositoryOwner: string;
  readonly runId: number;
  readonly runAttempt: number;
  /** Epoch seconds. */
  readonly exp: number;
}

/** Fetches a JSON document; throws on a non-2xx answer. */
export type FetchJson = (url: string) => Promise<unknown>;

export interface OidcVerifierOptions {
  /** The accepted `iss`, without a trailing "/". */
  readonly issuer: string;
  /** The `aud` the token must carry. */
  readonly audience: string;
  readonly fetchJson: FetchJson;
  /** Allowed clock difference for exp, nbf and iat. @default 60 */
  readonly skewSeconds?: number;
  /** A kid miss refetches the JWKS at most this often. @default 60000 */
  readonly refetchIntervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** GitHub's issuer for github.com, or the GHES instance's (`https://<host>/_services/token`). */
export function defaultIssuer(ghesUrl: string | undefined): string {
  if (!ghesUrl) return 'https://token.actions.githubusercontent.com';
  return `${new URL(ghesUrl).origin}/_services/token`;
}

export class OidcVerifier {
  private keys = new Map<string, KeyObject>();
  private lastFetch = Number.NEGATIVE_INFINITY;
  private fetching?: Promise<void>;
  private readonly skew: number;
  private readonly refetchIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: OidcVerifierOptions) {
    this.skew = options.skewSeconds ?? 60;
    this.refetchIntervalMs = options.refetchIntervalMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Verify `token` and return its claims; throws TokenError or JwksUnavailableError. */
  async verify(token: string): Promise<ActionsClaims> {
    const parts = token.split('.');
    if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) throw new TokenError('not a compact JWS');
    const header = decodeJson(parts[0], 'header');
    if (header.alg !== 'RS256') throw new TokenError('alg must be RS256');
    if (typeof header.kid !== 'string' || header.kid === '') throw new TokenError('no kid');
    const payload = decodeJson(parts[1], 'payload');
    const key = await this.keyFor(header.kid);
    const signature = Buffer.from(parts[2], 'base64url');
    if (signature.length === 0 || !verifySignature('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), key, signature)) throw new TokenError('bad signature');
    return this.checkClaims(payload);
  }

  private checkClaims(p: Record<string, unknown>): ActionsClaims {
    if (p.iss !== this.options.issuer) throw new TokenError('wrong issuer');
    const aud = Array.isArray(p.aud) ? p.aud : [p.aud];
    if (!aud.includes(this.options.audience)) throw new TokenError('wrong audience');
    const nowS = this.now() / 1000;
    if (typeof p.exp !== 'number' || p.exp + this.skew <= nowS) throw new TokenError('expired');
    if (typeof p.iat !== 'number' || p.iat - this.skew > nowS) throw new TokenError('issued in the future');
    if (p.nbf !== undefined && (typeof p.nbf !== 'number' || p.nbf - this.skew > nowS)) throw new TokenError('not yet valid');
    const repository = p.repository;
    const owner = p.repository_owner;
    if (typeof repository !== 'string' || typeof owner !== 'string' || !repository.toLowerCase().startsWith(`${owner.toLowerCase()}/`)) throw new TokenError('no repository claims');
    const runId = digits(p.run_id);
    const runAttempt = digits(p.run_attempt);
    if (runId === undefined || runAttempt === undefined) throw new TokenError('no run_id/run_attempt claims');
    return { repository, repositoryOwner: owner, runId, runAttempt, exp: p.exp };
  }

  private async keyFor(kid: string): Promise<KeyObject> {
    let key = this.keys.get(kid);
    if (key) return key;
    // Unknown kid: the issuer may have rotated its keys. Refetch, rate-limited, so junk kids cannot make us hammer the issuer.
    if (this.now() - this.lastFetch >= this.refetchIntervalMs) await this.refresh();
    key = this.keys.get(kid);
    if (!key) throw new TokenError('unknown kid');
    return key;
  }

  private refresh(): Promise<void> {
    this.fetching ??= this.fetchKeys().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  private async fetchKeys(): Promise<void> {
    const { issuer, fetchJson } = this.options;
    let jwksUri = `${issuer}/.well-known/jwks`;
    try {
      const discovery = (await fetchJson(`${issuer}/.well-known/openid-configuration`)) as { jwks_uri?: unknown } | null;
      if (discovery && typeof discovery.jwks_uri === 'string') jwksUri = discovery.jwks_uri;
    } catch {
      // No discovery document: GitHub also serves the keys at <issuer>/.well-known/jwks.
    }
    let jwks: unknown;
    try {
      jwks = await fetchJson(jwksUri);
    } catch (error) {
      throw new JwksUnavailableError((error as Error).message);
    }
    this.lastFetch = this.now();
    const keys = new Map<string, KeyObject>();
    for (const jwk of ((jwks as { keys?: unknown[] } | null)?.keys ?? []) as Record<string, unknown>[]) {
      if (jwk?.kty !== 'RSA' || typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig') || (jwk.alg !== undefined && jwk.alg !== 'RS256')) continue;
      try {
        keys.set(jwk.kid, createPublicKey({ key: { kty: 'RSA', n: jwk.n as string, e: jwk.e as string }, format: 'jwk' }));
      } catch {
        // A malformed key is skipped; tokens signed with it fail as "unknown kid".
      }
    }
    this.keys = keys;
  }
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new TokenError(`${what} is not a JSON object`);
}

function digits(v: unknown): number | undefined {
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !/^[1-9]\d{0,15}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** FetchJson over the global fetch, with a timeout; answers other than 2xx throw. */
export function httpFetchJson(timeoutMs = 3_000): FetchJson {
  return async (url) => {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`GET ${new URL(url).pathname} answered ${res.status}`);
    return res.json();
  };
}
