import { ConfigError } from '../../../lambdas/shared/config';
import { loadTerminationWatcherConfig } from '../../../lambdas/termination-watcher/config';
import { QUEUE_URL, baseEnv } from './harness';

describe('loadTerminationWatcherConfig', () => {
  const problemsOf = (env: Record<string, string | undefined>): string[] => {
    try {
      loadTerminationWatcherConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
    throw new Error('expected a ConfigError');
  };

  it('should read every setting the construct passes', () => {
    expect(loadTerminationWatcherConfig(baseEnv({ GHES_URL: 'https://ghes.example.com', LOG_LEVEL: 'WARN' }))).toEqual({
      prefix: 'gh-ci',
      appIdParameterName: '/gh-ci/github-app/id',
      appKeyParameterName: '/gh-ci/github-app/key',
      ghesUrl: 'https://ghes.example.com',
      organizationRunners: true,
      tlsVerify: true,
      retryQueueUrl: QUEUE_URL,
      retryDelaySeconds: 45,
      maxAttempts: 3,
      metricsNamespace: 'Test/GitHubRunners',
      logLevel: 'warn',
    });
  });

  it('should treat an empty GHES_URL as github.com and apply the defaults', () => {
    const config = loadTerminationWatcherConfig({
      PREFIX: 'gh-ci',
      GITHUB_APP_ID_SSM_PARAMETER_NAME: '/id',
      GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/key',
      GHES_URL: '',
      RETRY_QUEUE_URL: QUEUE_URL,
    });
    expect(config).toMatchObject({ ghesUrl: undefined, organizationRunners: false, retryDelaySeconds: 60, maxAttempts: 10, metricsNamespace: 'GitHubRunners', logLevel: 'info' });
  });

  it('should say PREFIX is required when it is missing', () => {
    expect(() => loadTerminationWatcherConfig(baseEnv({ PREFIX: '' }))).toThrow('invalid Lambda configuration: PREFIX is required');
  });

  it.each([
    ['0', 'MAX_ATTEMPTS must be an integer in [1, 100], got "0"'],
    ['101', 'MAX_ATTEMPTS must be an integer in [1, 100], got "101"'],
    ['2.5', 'MAX_ATTEMPTS must be an integer in [1, 100], got "2.5"'],
    ['ten', 'MAX_ATTEMPTS must be an integer in [1, 100], got "ten"'],
  ])('should reject MAX_ATTEMPTS=%s with a message naming the value', (value, message) => {
    expect(problemsOf(baseEnv({ MAX_ATTEMPTS: value }))).toEqual([message]);
  });

  it('should list every problem in one error', () => {
    const problems = problemsOf({
      GHES_URL: 'ghes.example.com',
      ENABLE_ORGANIZATION_RUNNERS: 'yes',
      RETRY_QUEUE_URL: 'gh-ci-termination-retry',
      RETRY_DELAY_SECONDS: '901',
      LOG_LEVEL: 'verbose',
    });
    expect(problems).toEqual([
      'PREFIX is required',
      'GITHUB_APP_ID_SSM_PARAMETER_NAME is required',
      'GITHUB_APP_KEY_SSM_PARAMETER_NAME is required',
      'GHES_URL must be an http(s) URL, got "ghes.example.com"',
      'ENABLE_ORGANIZATION_RUNNERS must be "true" or "false", got "yes"',
      'RETRY_QUEUE_URL must be an http(s) SQS queue URL, got "gh-ci-termination-retry"',
      'RETRY_DELAY_SECONDS must be an integer in [0, 900], got "901"',
      'LOG_LEVEL must be one of debug, info, warn, error, got "verbose"',
    ]);
  });

  it('should require the retry queue URL', () => {
    expect(problemsOf(baseEnv({ RETRY_QUEUE_URL: '' }))).toEqual(['RETRY_QUEUE_URL is required']);
  });
});
