/**
 * A local OIDC issuer for the runner API's tests: an RSA key pair
 * (generateKeyPairSync), a discovery document and a JWKS served on
 * 127.0.0.1, and tokens signed like GitHub's (RS256, kid in the header,
 * run_id and run_attempt as strings of digits).
 */
import { KeyObject, generateKeyPairSync, sign } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { createServer, Server } from 'node:http';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function signingKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

export interface LocalIssuer {
  readonly url: string;
  /** The keys the JWKS publishes; replace to rotate. */
  keys: SigningKey[];
  /** Requests for the JWKS so far. */
  jwksFetches: number;
  close(): Promise<void>;
}

export async function startIssuer(keys: SigningKey[]): Promise<LocalIssuer> {
  let server: Server;
  const issuer: LocalIssuer = {
    url: '',
    keys,
    jwksFetches: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') return send(200, { issuer: issuer.url, jwks_uri: `${issuer.url}/.well-known/jwks` });
    if (req.url === '/.well-known/jwks') {
      issuer.jwksFetches += 1;
      return send(200, { keys: issuer.keys.map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, use: 'sig', alg: 'RS256' })) });
    }
    send(404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  (issuer as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return issuer;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A compact JWS of `payload`, RS256 with `key` unless `header` says otherwise. */
export function signToken(key: SigningKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const h = b64({ alg: 'RS256', typ: 'JWT', kid: key.kid, ...header });
  const p = b64(payload);
  const signature = sign('RSA-SHA256', Buffer.from(`${h}.${p}`), key.privateKey).toString('base64url');
  return `${h}.${p}.${signature}`;
}

/** An unsigned token (`alg: none`). */
export function unsignedToken(payload: Record<string, unknown>, kid: string): string {
  return `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(payload)}.`;
}

/** Claims like GitHub's for a job of octo/hello, run 9001 attempt 2. */
export function actionsClaims(issuer: string, audience: string, overrides: Record<string, unknown> = {}, nowS = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  return {
    iss: issuer,
    aud: audience,
    sub: 'repo:octo/hello:ref:refs/heads/main',
    repository: 'octo/hello',
    repository_owner: 'octo',
    run_id: '9001',
    run_attempt: '2',
    iat: nowS - 5,
    nbf: nowS - 5,
    exp: nowS + 300,
    ...overrides,
  };
}
