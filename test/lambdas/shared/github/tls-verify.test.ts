/**
 * Issue #10 item 5, `ghes_ssl_verify`: with tlsVerify false the GitHub client
 * talks to a server whose certificate no CA signed (a GHES with a private CA),
 * and only that client does: Node's own fetch and node:https (what the AWS SDK
 * uses) still refuse it, and NODE_TLS_REJECT_UNAUTHORIZED is never touched.
 * The certificate is made with openssl at test time; the server binds 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, get, Server } from 'node:https';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInstallationOctokit } from '../../../../lambdas/shared/github/octokit';
import { InstallationTokenCache } from '../../../../lambdas/shared/github/token-cache';
import { WritePacer } from '../../../../lambdas/shared/concurrency';
import { Logger } from '../../../../lambdas/shared/logger';

describe('GitHub client TLS verification (ghes_ssl_verify)', () => {
  let server: Server;
  let baseUrl: string;
  const seen: string[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ghr-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
      server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
        seen.push(`${req.method} ${req.url}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ total_count: 0, runners: [] }));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/api/v3`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const client = (tlsVerify?: boolean) =>
    createInstallationOctokit(
      { cache: new InstallationTokenCache(), key: `k-${String(tlsVerify)}`, mint: async () => ({ token: 'ghs_test', expiresAt: Date.now() + 3_600_000 }) },
      { baseUrl, writePacer: new WritePacer(), logger: new Logger('test', {}, () => undefined), serverErrorRetries: 0, requestTimeoutMs: 5_000, ...(tlsVerify !== undefined && { tlsVerify }) },
    );

  it('should refuse the self-signed certificate by default and with tlsVerify true', async () => {
    const before = seen.length;
    await expect(client().request('GET /orgs/{org}/actions/runners', { org: 'o' })).rejects.toThrow();
    await expect(client(true).request('GET /orgs/{org}/actions/runners', { org: 'o' })).rejects.toThrow();
    expect(seen).toHaveLength(before);
  });

  it('should accept it with tlsVerify false, for that client only', async () => {
    expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).toBeUndefined();
    const answer = await client(false).request('GET /orgs/{org}/actions/runners', { org: 'o' });
    expect(answer.status).toBe(200);
    expect(seen).toContain('GET /api/v3/orgs/o/actions/runners');
    // Not process-wide: the setting is untouched, and Node's fetch and node:https
    // (the AWS SDK's transport) still verify certificates.
    expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).toBeUndefined();
    await expect(fetch(`${baseUrl}/meta`)).rejects.toThrow();
    const https = await new Promise<string>((resolve) => {
      get(`${baseUrl}/meta`, () => resolve('connected')).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(https).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    // And a verifying client made after the unverified one still refuses.
    await expect(client().request('GET /orgs/{org}/actions/runners', { org: 'o' })).rejects.toThrow();
  });
});
