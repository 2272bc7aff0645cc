/**
 * Test doubles for the GitHub App setup: a fake GitHub REST API on a real
 * 127.0.0.1 port that checks App JWTs against a test key's public half, and an
 * in-memory SSM behind aws-sdk-client-mock.
 */
import { generateKeyPairSync, KeyObject, verify } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DescribeParametersCommand,
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  PutParameterCommandInput,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';

/** An RSA key pair like the ones GitHub issues (PKCS#1 PEM). */
export function testAppKey(): { pem: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { pem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), publicKey };
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  /** The bearer JWT verified against the App's public key, with its claims; undefined when absent. */
  readonly jwt?: { readonly valid: boolean; readonly header: Record<string, unknown>; readonly claims: Record<string, unknown> };
}

export interface FakeGitHubOptions {
  /** '' for github.com's API shape, '/api/v3' for GHES. */
  readonly apiPrefix: '' | '/api/v3';
  /** The App's public key, to verify JWTs. */
  readonly publicKey: KeyObject;
  /** The App's private key, returned by the conversion. */
  readonly pem: string;
  /** The conversion's `webhook_secret`. @default null */
  readonly webhookSecret?: string | null;
  /** Status for PATCH /app/hook/config. @default 200 */
  readonly hookConfigStatus?: number;
  readonly appId?: number;
}

export interface FakeGitHub {
  /** Origin, e.g. http://127.0.0.1:49152 */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const requests: RecordedRequest[] = [];
  const appId = options.appId ?? 424242;
  const server = createServer((req, res) => void handle(req, res));
  let origin = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = raw ? JSON.parse(raw) : undefined;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const jwt = checkJwt(req.headers.authorization, options.publicKey);
    requests.push({ method: req.method ?? '', path, body, jwt });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const p = options.apiPrefix;
    const webBase = p === '' ? 'https://github.com/apps' : `${origin}/github-apps`;
    const conversion = new RegExp(`^${p.replace(/\//g, '\\/')}/app-manifests/([^/]+)/conversions$`).exec(path);
    if (req.method === 'POST' && conversion) {
      return send(201, {
        id: appId,
        slug: 'gh-ci-runners',
        node_id: 'A_1',
        name: 'gh-ci-runners',
        html_url: `${webBase}/gh-ci-runners`,
        client_id: 'Iv1.client',
        client_secret: 'client-secret-never-printed',
        webhook_secret: options.webhookSecret ?? null,
        pem: options.pem,
        owner: { login: 'acme' },
        permissions: {},
        events: ['workflow_job'],
      });
    }
    if (path === `${p}/app/hook/config` && req.method === 'PATCH') {
      if (!jwt?.valid) return send(401, { message: 'A JSON web token could not be decoded' });
      const status = options.hookConfigStatus ?? 200;
      return send(status, status === 200 ? { url: 'https://hook', content_type: 'json', insecure_ssl: '0', secret: '********' } : { message: 'Server Error' });
    }
    if (path === `${p}/app` && req.method === 'GET') {
      if (!jwt?.valid) return send(401, { message: 'A JSON web token could not be decoded' });
      return send(200, { id: appId, slug: 'gh-ci-runners', name: 'gh-ci-runners', html_url: `${webBase}/gh-ci-runners` });
    }
    send(404, { message: 'Not Found' });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function checkJwt(authorization: string | undefined, publicKey: KeyObject): RecordedRequest['jwt'] {
  const match = /^Bearer (.+)$/.exec(authorization ?? '');
  if (!match) return undefined;
  const [h, c, s] = match[1].split('.');
  const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  const header = decode(h);
  const claims = decode(c);
  const now = Math.floor(Date.now() / 1000);
  const valid =
    header.alg === 'RS256' &&
    verify('sha256', Buffer.from(`${h}.${c}`), publicKey, Buffer.from(s, 'base64url')) &&
    typeof claims.iat === 'number' &&
    typeof claims.exp === 'number' &&
    claims.iat <= now &&
    claims.exp > now &&
    claims.exp - claims.iat <= 600;
  return { valid, header, claims };
}

export interface StoredValue {
  readonly value: string;
  readonly type: string;
  readonly keyId?: string;
}

export type SsmMock = ReturnType<typeof mockSsmClient>;

/** One mock per test file (it stubs every SSMClient); `fakeSsm` resets and programs it. */
export function mockSsmClient() {
  return mockClient(SSMClient);
}

/** SSM as a map, through aws-sdk-client-mock: GetParameter (ParameterNotFound), PutParameter, DescribeParameters. */
export function fakeSsm(mock: SsmMock, initial: Record<string, StoredValue> = {}) {
  mock.reset();
  const store = new Map<string, StoredValue>(Object.entries(initial));
  mock.on(GetParameterCommand).callsFake((input: { Name: string }) => {
    const found = store.get(input.Name);
    if (!found) throw new ParameterNotFound({ message: 'not found', $metadata: {} });
    return { Parameter: { Name: input.Name, Value: found.value, Type: found.type } };
  });
  mock.on(PutParameterCommand).callsFake((input: PutParameterCommandInput) => {
    store.set(input.Name as string, { value: input.Value as string, type: input.Type as string, keyId: input.KeyId ?? 'alias/aws/ssm' });
    return { Version: 1, Tier: 'Standard' };
  });
  mock.on(DescribeParametersCommand).callsFake((input: { ParameterFilters?: Array<{ Values?: string[] }> }) => {
    const name = input.ParameterFilters?.[0]?.Values?.[0] ?? '';
    const found = store.get(name);
    return { Parameters: found ? [{ Name: name, Type: found.type, KeyId: found.keyId }] : [] };
  });
  return {
    mock,
    store,
    puts: () => mock.commandCalls(PutParameterCommand).map((c) => c.args[0].input),
  };
}

/** Collects output lines from both sinks. */
export function captureOutput() {
  const lines: string[] = [];
  return { lines, out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), text: () => lines.join('\n') };
}

/** Secret fragments that must never appear in output: the PEM, each long line of it, and any other values. */
export function secretFragments(pem: string, ...others: string[]): string[] {
  const pemLines = pem.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
  return [pem.trim(), ...pemLines, ...others.filter((o) => o.length > 0)];
}
