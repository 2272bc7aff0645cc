import { appSettingsUrl, buildManifest, installUrl, newAppPageUrl } from '../../../scripts/lib/github-app/manifest';
import { ManifestOptions, parseCommandLine, UsageError } from '../../../scripts/lib/github-app/options';

const WEBHOOK = 'https://abc123.execute-api.eu-west-1.amazonaws.com/webhook';

function manifestOptions(argv: string[]): ManifestOptions {
  const parsed = parseCommandLine(argv);
  if (parsed.kind !== 'run' || parsed.options.mode !== 'manifest') throw new Error('expected manifest options');
  return parsed.options;
}

function problemsOf(argv: string[]): readonly string[] {
  try {
    parseCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) return err.problems;
    throw err;
  }
  throw new Error('expected a UsageError');
}

describe('buildManifest', () => {
  const input = { name: 'gh-ci-runners', homepageUrl: 'https://github.com/acme', webhookUrl: WEBHOOK, redirectUrl: 'http://127.0.0.1:5000/callback', prefix: 'gh-ci' };

  it('should ask for organisation runner write, actions and metadata read for org-level runners', () => {
    const manifest = buildManifest({ ...input, level: 'org' });
    expect(manifest.default_permissions).toEqual({ actions: 'read', metadata: 'read', organization_self_hosted_runners: 'write' });
  });

  it('should ask for administration write instead for repository-level runners', () => {
    const manifest = buildManifest({ ...input, level: 'repo' });
    expect(manifest.default_permissions).toEqual({ actions: 'read', metadata: 'read', administration: 'write' });
    expect(manifest.default_permissions).not.toHaveProperty('organization_self_hosted_runners');
  });

  it('should ask actions write when the module re-runs spot-interrupted jobs (Re-run a job from a workflow run needs it)', () => {
    const manifest = buildManifest({ ...input, level: 'org', spotInterruptionRerun: true });
    expect(manifest.default_permissions).toEqual({ actions: 'write', metadata: 'read', organization_self_hosted_runners: 'write' });
  });

  it('should subscribe to workflow_job only, deliver to the module webhook and return to the local callback', () => {
    const manifest = buildManifest({ ...input, level: 'org' });
    expect(manifest.default_events).toEqual(['workflow_job']);
    expect(manifest.hook_attributes).toEqual({ url: WEBHOOK, active: true });
    expect(manifest.redirect_url).toBe('http://127.0.0.1:5000/callback');
    expect(manifest.public).toBe(false);
    expect(manifest).toMatchObject({ name: 'gh-ci-runners', url: 'https://github.com/acme' });
    expect(JSON.stringify(manifest)).not.toMatch(/secret/i);
  });
});

describe('GitHub URLs', () => {
  it('should point at the user or organisation new-App page on github.com', () => {
    expect(newAppPageUrl('https://github.com')).toBe('https://github.com/settings/apps/new');
    expect(newAppPageUrl('https://github.com', 'acme', 's1')).toBe('https://github.com/organizations/acme/settings/apps/new?state=s1');
  });

  it('should point at the GHES host for GHES', () => {
    expect(newAppPageUrl('https://ghes.example.com', 'acme')).toBe('https://ghes.example.com/organizations/acme/settings/apps/new');
    expect(appSettingsUrl('https://ghes.example.com', 'gh-ci-runners')).toBe('https://ghes.example.com/settings/apps/gh-ci-runners');
  });

  it('should install from the App page', () => {
    expect(installUrl('https://github.com/apps/gh-ci-runners')).toBe('https://github.com/apps/gh-ci-runners/installations/new');
  });
});

describe('parseCommandLine', () => {
  it('should default to manifest mode, prefix gh-ci, repo level and /<prefix>/github/* names', () => {
    const o = manifestOptions(['--webhook-url', WEBHOOK]);
    expect(o).toMatchObject({
      mode: 'manifest',
      name: 'gh-ci-runners',
      level: 'repo',
      port: 0,
      dryRun: false,
      githubWebUrl: 'https://github.com',
      githubApiUrl: 'https://api.github.com',
      parameters: { appId: '/gh-ci/github/app-id', privateKey: '/gh-ci/github/private-key', webhookSecret: '/gh-ci/github/webhook-secret' },
    });
    expect(o.kmsKeyId).toBeUndefined();
  });

  it('should default to org level when an organisation owns the App', () => {
    expect(manifestOptions(['--webhook-url', WEBHOOK, '--org', 'acme']).level).toBe('org');
    expect(manifestOptions(['--webhook-url', WEBHOOK, '--org', 'acme', '--level', 'repo']).level).toBe('repo');
  });

  it('should lay names out as /ops/github/runner/<env>/* with --path-layout ops', () => {
    const o = manifestOptions(['manifest', '--webhook-url', WEBHOOK, '--environment', 'dev', '--path-layout', 'ops', '--prefix', 'ci']);
    expect(o.parameters).toEqual({
      appId: '/ops/github/runner/dev/app-id',
      privateKey: '/ops/github/runner/dev/private-key',
      webhookSecret: '/ops/github/runner/dev/webhook-secret',
    });
    expect(o.name).toBe('ci-runners');
  });

  it('should take explicit parameter names and the KMS key', () => {
    const o = manifestOptions(['--webhook-url', WEBHOOK, '--app-id-parameter', '/x/id', '--kms-key-id', 'arn:aws:kms:eu-west-1:1:key/k']);
    expect(o.parameters.appId).toBe('/x/id');
    expect(o.kmsKeyId).toBe('arn:aws:kms:eu-west-1:1:key/k');
  });

  it('should use <url>/api/v3 for GHES', () => {
    const o = manifestOptions(['--webhook-url', WEBHOOK, '--github-url', 'https://ghes.example.com/']);
    expect(o.githubWebUrl).toBe('https://ghes.example.com');
    expect(o.githubApiUrl).toBe('https://ghes.example.com/api/v3');
  });

  it('should report every problem at once, naming the values', () => {
    const problems = problemsOf(['--level', 'enterprise', '--port', '70000', '--app-id-parameter', 'arn:aws:ssm:eu-west-1:1:parameter/x', '--name', 'x'.repeat(35)]);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('--webhook-url is required'),
        expect.stringContaining('got "enterprise"'),
        expect.stringContaining('got "70000"'),
        expect.stringContaining('got "arn:aws:ssm:eu-west-1:1:parameter/x"'),
        expect.stringContaining('1 to 34 characters'),
      ]),
    );
  });

  it('should refuse options of the other mode, an http webhook URL and --environment without the ops layout', () => {
    expect(problemsOf(['import', '--app-id', '1', '--private-key-file', 'k.pem', '--webhook-url', WEBHOOK])).toEqual([
      '--webhook-url does not apply to import mode',
    ]);
    expect(problemsOf(['--webhook-url', 'http://insecure.example.com'])).toEqual([expect.stringContaining('must be an https:// URL')]);
    expect(problemsOf(['--webhook-url', WEBHOOK, '--environment', 'dev'])).toEqual([expect.stringContaining('only used with --path-layout ops')]);
    expect(problemsOf(['--webhook-url', WEBHOOK, '--path-layout', 'ops'])).toEqual(['--path-layout ops needs --environment']);
  });

  it('should require the app id and key file in import mode', () => {
    expect(problemsOf(['import'])).toEqual(['--app-id is required in import mode', '--private-key-file is required in import mode']);
  });
});
