import { ConfigError } from '../../../lambdas/shared/config';
import { loadSyncerConfig } from '../../../lambdas/syncer/config';

describe('loadSyncerConfig', () => {
  it('should apply the documented defaults', () => {
    expect(loadSyncerConfig({ BUCKET_NAME: 'gh-ci-runner-binaries' })).toEqual({
      bucketName: 'gh-ci-runner-binaries',
      keyPrefix: 'actions-runner/',
      architectures: ['x64', 'arm64'],
      runnerVersion: undefined,
      githubApiUrl: 'https://api.github.com',
      githubTokenParameterName: undefined,
      metricsNamespace: 'GitHubRunners',
      logLevel: 'info',
    });
  });

  it('should treat an empty RUNNER_VERSION as "latest" and read every other setting', () => {
    const config = loadSyncerConfig({
      BUCKET_NAME: 'b-1.example',
      KEY_PREFIX: 'bin/runner/',
      ARCHITECTURES: '["arm64"]',
      RUNNER_VERSION: '',
      GITHUB_API_URL: 'http://127.0.0.1:8080/',
      GITHUB_TOKEN_SSM_PARAMETER_NAME: '/gh-ci/syncer/token',
      LOG_LEVEL: 'DEBUG',
    });
    expect(config).toMatchObject({
      keyPrefix: 'bin/runner/',
      architectures: ['arm64'],
      runnerVersion: undefined,
      githubApiUrl: 'http://127.0.0.1:8080',
      githubTokenParameterName: '/gh-ci/syncer/token',
      logLevel: 'debug',
    });
  });

  it('should accept a pinned version', () => {
    expect(loadSyncerConfig({ BUCKET_NAME: 'bucket', RUNNER_VERSION: '2.329.0' }).runnerVersion).toBe('2.329.0');
  });

  it('should list every problem in one error', () => {
    let caught: unknown;
    try {
      loadSyncerConfig({
        KEY_PREFIX: '/abs/',
        ARCHITECTURES: '["x64","x64","riscv"]',
        RUNNER_VERSION: 'v2.329.0',
        GITHUB_API_URL: 'http://api.github.com',
        LOG_LEVEL: 'loud',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toEqual([
      'BUCKET_NAME is required',
      'KEY_PREFIX must not start with "/", contain control characters or exceed 512 characters, got "/abs/"',
      'ARCHITECTURES: each entry must be one of x64, arm64, win-x64, got ["riscv"]',
      'ARCHITECTURES: must not repeat an architecture, got ["x64","x64","riscv"]',
      'RUNNER_VERSION must be empty or a version like 2.329.0 (no "v"), got "v2.329.0"',
      'GITHUB_API_URL must be an https URL (http only for loopback hosts), got "http://api.github.com"',
      'LOG_LEVEL must be one of debug, info, warn, error, got "loud"',
    ]);
  });

  it.each([
    ['Upper_Case', 'BUCKET_NAME must be an S3 bucket name, got "Upper_Case"'],
    ['a..b', 'BUCKET_NAME must be an S3 bucket name, got "a..b"'],
  ])('should reject the bucket name %s', (name, message) => {
    expect(() => loadSyncerConfig({ BUCKET_NAME: name })).toThrow(message);
  });

  it.each(['[]', '"x64"', '{'])('should reject ARCHITECTURES=%s', (raw) => {
    expect(() => loadSyncerConfig({ BUCKET_NAME: 'bucket', ARCHITECTURES: raw })).toThrow(/ARCHITECTURES/);
  });
});
