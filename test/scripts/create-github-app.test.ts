/**
 * `npm run create-github-app` end to end: real HTTP on 127.0.0.1 for the
 * local manifest page and for a fake GitHub API, SSM through
 * aws-sdk-client-mock. The test plays the browser and GitHub's redirect.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyObject } from 'node:crypto';
import { SSMClient } from '@aws-sdk/client-ssm';
import { runCreateGitHubApp } from '../../scripts/lib/github-app/run';
import { captureOutput, FakeGitHub, fakeSsm, mockSsmClient, secretFragments, startFakeGitHub, testAppKey } from './github-app/fakes';

const WEBHOOK = 'https://abc123.execute-api.eu-west-1.amazonaws.com/webhook';
const KMS = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const CODE = 'manifest-code-5f2a9c';
const NAMES = { appId: '/gh-ci/github/app-id', privateKey: '/gh-ci/github/private-key', webhookSecret: '/gh-ci/github/webhook-secret' };
const ssmMock = mockSsmClient();

/** Play the operator's browser: load the page, record where it posts, send a forged callback, then GitHub's redirect. */
function browser(seen: { action?: string; manifest?: Record<string, unknown>; forgedStatus?: number }) {
  return (pageUrl: string) => {
    void (async () => {
      const html = await (await fetch(pageUrl)).text();
      const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
      seen.action = unescape(/action="([^"]+)"/.exec(html)?.[1] ?? '');
      const manifest = JSON.parse(unescape(/name="manifest" value="([^"]*)"/.exec(html)?.[1] ?? '{}')) as Record<string, unknown>;
      seen.manifest = manifest;
      const state = new URL(seen.action).searchParams.get('state') ?? '';
      const callback = manifest.redirect_url as string;
      seen.forgedStatus = (await fetch(`${callback}?code=forged&state=not-${state}`)).status;
      await fetch(`${callback}?code=${CODE}&state=${encodeURIComponent(state)}`);
    })();
  };
}

describe('create-github-app', () => {
  let key: { pem: string; publicKey: KeyObject };
  let github: FakeGitHub | undefined;
  beforeAll(() => {
    key = testAppKey();
  });
  afterEach(async () => {
    await github?.close();
    github = undefined;
  });

  describe('manifest mode', () => {
    it('should create the App on GHES, store its credentials and set a generated webhook secret on it', async () => {
      // GIVEN GitHub returns no webhook secret with the new App
      github = await startFakeGitHub({ apiPrefix: '/api/v3', publicKey: key.publicKey, pem: key.pem, webhookSecret: null });
      const ssm = fakeSsm(ssmMock);
      const output = captureOutput();
      const seen: Parameters<typeof browser>[0] = {};

      // WHEN the operator runs the manifest flow for an organisation
      const code = await runCreateGitHubApp(
        ['--webhook-url', WEBHOOK, '--org', 'acme', '--github-url', github.origin, '--kms-key-id', KMS],
        { out: output.out, err: output.err, ssm: new SSMClient({}), onManifestPage: browser(seen) },
      );

      // THEN the page posted an org-level manifest to the GHES new-App page, and the forged callback got 400
      expect(code).toBe(0);
      expect(seen.action).toMatch(new RegExp(`^${github.origin}/organizations/acme/settings/apps/new\\?state=`));
      expect(seen.manifest).toMatchObject({
        hook_attributes: { url: WEBHOOK, active: true },
        default_events: ['workflow_job'],
        default_permissions: { organization_self_hosted_runners: 'write', actions: 'read', metadata: 'read' },
      });
      expect(seen.forgedStatus).toBe(400);

      // AND the code was exchanged under /api/v3, then the hook secret PATCHed as the App
      expect(github.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        `POST /api/v3/app-manifests/${CODE}/conversions`,
        'PATCH /api/v3/app/hook/config',
      ]);
      const patch = github.requests[1];
      expect(patch.jwt).toMatchObject({ valid: true, claims: { iss: 424242 } });

      // AND the three parameters are SecureStrings under the module key, the secret the one set on the App
      const puts = ssm.puts();
      expect(puts.map((p) => [p.Name, p.Type, p.KeyId, p.Overwrite])).toEqual([
        [NAMES.appId, 'SecureString', KMS, true],
        [NAMES.privateKey, 'SecureString', KMS, true],
        [NAMES.webhookSecret, 'SecureString', KMS, true],
      ]);
      expect(puts[0].Value).toBe('424242');
      expect(puts[1].Value).toBe(key.pem.trim());
      const secret = puts[2].Value as string;
      expect(secret).toMatch(/^[0-9a-f]{64}$/);
      expect(patch.body).toEqual({ secret });

      // AND the operator saw numbered steps, the block to paste and the install URL, and no secret
      const text = output.text();
      for (const step of ['1/5', '2/5', '3/5', '4/5', '5/5']) expect(text).toContain(`\n${step} `.trimStart());
      expect(text).toContain(
        'github_app_ssm_parameters = {\n  app_id         = "/gh-ci/github/app-id"\n  private_key    = "/gh-ci/github/private-key"\n  webhook_secret = "/gh-ci/github/webhook-secret"\n}',
      );
      expect(text).toContain('enable_organization_runners = true');
      expect(text).toContain(`${github.origin}/github-apps/gh-ci-runners/installations/new`);
      expect(text).toMatch(/private key SHA256:[A-Za-z0-9+/]{43}=/);
      for (const fragment of secretFragments(key.pem, secret, CODE)) expect(text).not.toContain(fragment);
      expect(text).not.toContain('client-secret-never-printed');
    });

    it('should keep the webhook secret GitHub returned, not PATCH, and use the ops layout', async () => {
      github = await startFakeGitHub({ apiPrefix: '/api/v3', publicKey: key.publicKey, pem: key.pem, webhookSecret: 'b'.repeat(40) });
      const ssm = fakeSsm(ssmMock);
      const output = captureOutput();
      const code = await runCreateGitHubApp(['--webhook-url', WEBHOOK, '--github-url', github.origin, '--environment', 'dev', '--path-layout', 'ops'], {
        out: output.out,
        ssm: new SSMClient({}),
        onManifestPage: browser({}),
      });
      expect(code).toBe(0);
      expect(github.requests.map((r) => r.method)).toEqual(['POST']);
      expect(ssm.puts().map((p) => [p.Name, p.KeyId])).toEqual([
        ['/ops/github/runner/dev/app-id', undefined],
        ['/ops/github/runner/dev/private-key', undefined],
        ['/ops/github/runner/dev/webhook-secret', undefined],
      ]);
      expect(ssm.puts()[2].Value).toBe('b'.repeat(40));
      expect(output.text()).toContain('no --kms-key-id');
      expect(output.text()).toContain('enable_organization_runners = false');
      for (const fragment of secretFragments(key.pem, 'b'.repeat(40), CODE)) expect(output.text()).not.toContain(fragment);
    });

    it('should stop before creating an App when the parameters already hold values', async () => {
      const ssm = fakeSsm(ssmMock, { [NAMES.appId]: { value: '7', type: 'SecureString' } });
      const output = captureOutput();
      const opened = jest.fn();
      const code = await runCreateGitHubApp(['--webhook-url', WEBHOOK], { out: output.out, ssm: new SSMClient({}), onManifestPage: opened });
      expect(code).toBe(1);
      expect(opened).not.toHaveBeenCalled();
      expect(ssm.puts()).toEqual([]);
      expect(output.text()).toContain('/gh-ci/github/app-id already hold values');
    });

    it('should still store the credentials and explain the manual step when the PATCH fails', async () => {
      github = await startFakeGitHub({ apiPrefix: '/api/v3', publicKey: key.publicKey, pem: key.pem, hookConfigStatus: 500 });
      const ssm = fakeSsm(ssmMock);
      const output = captureOutput();
      const code = await runCreateGitHubApp(['--webhook-url', WEBHOOK, '--github-url', github.origin], {
        out: output.out,
        ssm: new SSMClient({}),
        onManifestPage: browser({}),
      });
      expect(code).toBe(1);
      expect(ssm.puts()).toHaveLength(3);
      expect(output.text()).toContain("aws ssm get-parameter --name '/gh-ci/github/webhook-secret' --with-decryption");
      expect(output.text()).toContain(`${github.origin}/settings/apps/gh-ci-runners`);
      for (const fragment of secretFragments(key.pem, ssm.puts()[2].Value as string, CODE)) expect(output.text()).not.toContain(fragment);
    });

    it('should only print the manifest and names in a dry run', async () => {
      fakeSsm(ssmMock);
      const output = captureOutput();
      const opened = jest.fn();
      const code = await runCreateGitHubApp(['--dry-run', '--webhook-url', WEBHOOK, '--level', 'repo', '--kms-key-id', KMS], {
        out: output.out,
        ssm: new SSMClient({}),
        onManifestPage: opened,
      });
      expect(code).toBe(0);
      expect(ssmMock.calls()).toHaveLength(0);
      expect(opened).not.toHaveBeenCalled();
      const text = output.text();
      expect(text).toContain('"administration": "write"');
      expect(text).toContain('"redirect_url": "http://127.0.0.1:<port>/callback"');
      expect(text).toContain('https://github.com/settings/apps/new?state=<random>');
      for (const name of Object.values(NAMES)) expect(text).toContain(name);
    });
  });

  describe('import mode', () => {
    let dir: string;
    let keyFile: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'create-github-app-'));
      keyFile = join(dir, 'app.pem');
      writeFileSync(keyFile, key.pem);
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('should store the key, generate a secret, set it on the App, and skip everything unchanged on a second run', async () => {
      github = await startFakeGitHub({ apiPrefix: '/api/v3', publicKey: key.publicKey, pem: key.pem });
      const ssm = fakeSsm(ssmMock);
      const argv = ['import', '--app-id', '424242', '--private-key-file', keyFile, '--set-webhook-secret', '--github-url', github.origin, '--kms-key-id', KMS];

      const first = captureOutput();
      expect(await runCreateGitHubApp(argv, { out: first.out, ssm: new SSMClient({}) })).toBe(0);
      expect(github.requests.map((r) => `${r.method} ${r.path} ${r.jwt?.valid}`)).toEqual(['GET /api/v3/app true', 'PATCH /api/v3/app/hook/config true']);
      const secret = ssm.puts()[2].Value as string;
      expect(github.requests[1].body).toEqual({ secret });
      expect(first.text()).toContain(`${github.origin}/github-apps/gh-ci-runners/installations/new`);

      const second = captureOutput();
      const putsBefore = ssm.puts().length;
      expect(await runCreateGitHubApp(argv, { out: second.out, ssm: new SSMClient({}) })).toBe(0);
      expect(ssm.puts()).toHaveLength(putsBefore);
      expect(second.text().match(/unchanged, already holds this value; skipped/g)).toHaveLength(3);
      expect(github.requests[3].body).toEqual({ secret }); // the kept secret, set again
      for (const fragment of secretFragments(key.pem, secret)) expect(first.text() + second.text()).not.toContain(fragment);
    });

    it('should call no GitHub API without --set-webhook-secret and flag a generated secret as a manual step', async () => {
      const ssm = fakeSsm(ssmMock);
      const fetchSpy = jest.fn();
      const output = captureOutput();
      const code = await runCreateGitHubApp(['import', '--app-id', '424242', '--private-key-file', keyFile], {
        out: output.out,
        ssm: new SSMClient({}),
        fetch: fetchSpy as unknown as typeof fetch,
      });
      expect(code).toBe(1);
      expect(fetchSpy).not.toHaveBeenCalled();
      expect(ssm.puts().map((p) => p.Name)).toEqual(Object.values(NAMES));
      expect(output.text()).toContain('--set-webhook-secret');
      for (const fragment of secretFragments(key.pem, ssm.puts()[2].Value as string)) expect(output.text()).not.toContain(fragment);
    });

    it('should store a webhook secret from a file and refuse a file that is not a key', async () => {
      const ssm = fakeSsm(ssmMock);
      const secretFile = join(dir, 'secret');
      writeFileSync(secretFile, `${'c'.repeat(64)}\n`);
      const output = captureOutput();
      expect(await runCreateGitHubApp(['import', '--app-id', '5', '--private-key-file', keyFile, '--webhook-secret-file', secretFile], { out: output.out, ssm: new SSMClient({}) })).toBe(0);
      expect(ssm.puts()[2].Value).toBe('c'.repeat(64));
      expect(output.text()).not.toContain('c'.repeat(64));

      writeFileSync(keyFile, 'not a key');
      const bad = captureOutput();
      expect(await runCreateGitHubApp(['import', '--app-id', '5', '--private-key-file', keyFile], { out: bad.out, ssm: new SSMClient({}) })).toBe(1);
      expect(bad.text()).toContain('is not a usable private key');
    });
  });

  it('should exit 2 with every problem listed for a bad command line', async () => {
    const output = captureOutput();
    expect(await runCreateGitHubApp(['bogus'], { out: output.out })).toBe(2);
    expect(output.text()).toContain('mode must be manifest or import, got "bogus"');
  });
});
