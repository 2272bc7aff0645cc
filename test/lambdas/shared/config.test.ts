import { ConfigError, EnvReader, onceAsync } from '../../../lambdas/shared/config';
import { DEFAULT_METRICS_NAMESPACE } from '../../../modules/contract/environment';
import { type GitHubAppReaderEnvironment, readGitHubAppSettings } from '../../../lambdas/shared/github/app-settings';

function problemsOf(read: (reader: EnvReader<GitHubAppReaderEnvironment>) => unknown, env: NodeJS.ProcessEnv): string[] {
  const reader = new EnvReader<GitHubAppReaderEnvironment>(env);
  read(reader);
  try {
    reader.done();
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
}

describe('EnvReader', () => {
  it('should default LOG_LEVEL to info and accept any case', () => {
    expect(new EnvReader({}).logLevel()).toBe('info');
    expect(new EnvReader({ LOG_LEVEL: 'DEBUG' }).logLevel()).toBe('debug');
  });

  it('should name a bad LOG_LEVEL and the levels it accepts', () => {
    expect(problemsOf((r) => r.logLevel(), { LOG_LEVEL: 'verbose' })).toEqual(['LOG_LEVEL must be one of debug, info, warn, error, got "verbose"']);
  });

  it('should default METRICS_NAMESPACE', () => {
    expect(new EnvReader({}).metricsNamespace()).toBe(DEFAULT_METRICS_NAMESPACE);
    expect(new EnvReader({ METRICS_NAMESPACE: 'GitHubRunners/ci' }).metricsNamespace()).toBe('GitHubRunners/ci');
  });

  it('should accept an absent or http(s) URL and name anything else', () => {
    expect(new EnvReader<GitHubAppReaderEnvironment>({}).optionalHttpUrl('GHES_URL')).toBeUndefined();
    expect(new EnvReader<GitHubAppReaderEnvironment>({ GHES_URL: 'https://github.example.com' }).optionalHttpUrl('GHES_URL')).toBe('https://github.example.com');
    expect(problemsOf((r) => r.optionalHttpUrl('GHES_URL'), { GHES_URL: 'ftp://github.example.com' })).toEqual(['GHES_URL must be an http(s) URL, got "ftp://github.example.com"']);
  });
});

describe('readGitHubAppSettings', () => {
  it('should read the App parameter names, GHES URL and runner level', () => {
    const reader = new EnvReader({
      GITHUB_APP_ID_SSM_PARAMETER_NAME: '/ci/app-id',
      GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/ci/key',
      GHES_URL: 'https://github.example.com',
      ENABLE_ORGANIZATION_RUNNERS: 'true',
    });
    expect(readGitHubAppSettings(reader)).toEqual({
      appIdParameterName: '/ci/app-id',
      appKeyParameterName: '/ci/key',
      ghesUrl: 'https://github.example.com',
      organizationRunners: true,
      tlsVerify: true,
    });
    expect(() => reader.done()).not.toThrow();
  });

  it('should report every missing or bad setting at once', () => {
    expect(problemsOf(readGitHubAppSettings, { GHES_URL: 'nope', ENABLE_ORGANIZATION_RUNNERS: 'yes' })).toEqual([
      'GITHUB_APP_ID_SSM_PARAMETER_NAME is required',
      'GITHUB_APP_KEY_SSM_PARAMETER_NAME is required',
      'GHES_URL must be an http(s) URL, got "nope"',
      'ENABLE_ORGANIZATION_RUNNERS must be "true" or "false", got "yes"',
    ]);
  });
});

describe('onceAsync', () => {
  it('should build once, and build again after a failure', async () => {
    let calls = 0;
    const get = onceAsync(async () => {
      calls += 1;
      if (calls === 1) throw new Error('first try fails');
      return calls;
    });
    await expect(get()).rejects.toThrow('first try fails');
    expect(await get()).toBe(2);
    expect(await get()).toBe(2);
    expect(calls).toBe(2);
  });
});
