import { createPublicKey, KeyObject, verify } from 'node:crypto';
import { githubApiBaseUrl } from '../../../lambdas/shared/github/base-url';
import { appJwt, GitHubApiError, GitHubAppApi } from '../../../scripts/lib/github-app/github-api';
import { FakeGitHub, startFakeGitHub, testAppKey } from './fakes';

describe('GitHub App API client', () => {
  let key: { pem: string; publicKey: KeyObject };
  let github: FakeGitHub | undefined;
  beforeAll(() => {
    key = testAppKey();
  });
  afterEach(async () => {
    await github?.close();
    github = undefined;
  });

  it('should exchange the code at /app-manifests/<code>/conversions on the github.com API shape', async () => {
    github = await startFakeGitHub({ apiPrefix: '', publicKey: key.publicKey, pem: key.pem, webhookSecret: 'from-github' });
    const app = await new GitHubAppApi(github.origin).createAppFromManifest('abc123');
    expect(github.requests).toEqual([expect.objectContaining({ method: 'POST', path: '/app-manifests/abc123/conversions' })]);
    expect(app).toMatchObject({ id: 424242, slug: 'gh-ci-runners', pem: key.pem, webhook_secret: 'from-github' });
    expect(githubApiBaseUrl(undefined)).toBe('https://api.github.com');
  });

  it('should exchange the code under /api/v3 for GHES', async () => {
    github = await startFakeGitHub({ apiPrefix: '/api/v3', publicKey: key.publicKey, pem: key.pem });
    const app = await new GitHubAppApi(githubApiBaseUrl(github.origin)).createAppFromManifest('abc123');
    expect(github.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/v3/app-manifests/abc123/conversions']);
    expect(app.webhook_secret).toBeNull();
  });

  it('should explain an unknown or expired code without repeating it', async () => {
    github = await startFakeGitHub({ apiPrefix: '/api/v3', publicKey: key.publicKey, pem: key.pem });
    const call = new GitHubAppApi(github.origin).createAppFromManifest('secret-code-xyz');
    await expect(call).rejects.toBeInstanceOf(GitHubApiError);
    await expect(call).rejects.toThrow(/HTTP 404.*older than one hour/);
    await expect(call).rejects.not.toThrow(/secret-code-xyz/);
  });

  it('should set the webhook secret with PATCH /app/hook/config, authenticated by an App JWT', async () => {
    github = await startFakeGitHub({ apiPrefix: '', publicKey: key.publicKey, pem: key.pem });
    await new GitHubAppApi(github.origin).setWebhookSecret({ appId: '424242', privateKey: key.pem }, 'the-secret');
    const [patch] = github.requests;
    expect(patch).toMatchObject({ method: 'PATCH', path: '/app/hook/config', body: { secret: 'the-secret' } });
    expect(patch.jwt).toMatchObject({ valid: true, header: { alg: 'RS256' }, claims: { iss: 424242 } });
  });

  it('should report a failed PATCH with GitHub status and message', async () => {
    github = await startFakeGitHub({ apiPrefix: '', publicKey: key.publicKey, pem: key.pem, hookConfigStatus: 500 });
    await expect(new GitHubAppApi(github.origin).setWebhookSecret({ appId: '1', privateKey: key.pem }, 'the-secret')).rejects.toThrow(
      'setting the webhook secret (PATCH /app/hook/config) failed (HTTP 500): Server Error',
    );
  });

  it('should report an unreachable GitHub as a GitHubApiError', async () => {
    await expect(new GitHubAppApi('http://127.0.0.1:1').createAppFromManifest('c0de')).rejects.toThrow(/cannot reach http:\/\/127\.0\.0\.1:1/);
  });
});

describe('appJwt', () => {
  it('should sign RS256 claims that the public key verifies, backdated a minute and valid under ten', () => {
    const { pem } = testAppKey();
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const [h, c, s] = appJwt('99', pem, now).split('.');
    const decode = (p: string) => JSON.parse(Buffer.from(p, 'base64url').toString());
    expect(decode(h)).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(decode(c)).toEqual({ iat: now / 1000 - 60, exp: now / 1000 + 540, iss: 99 });
    expect(verify('sha256', Buffer.from(`${h}.${c}`), createPublicKey(pem), Buffer.from(s, 'base64url'))).toBe(true);
  });
});
