import { ConfigError } from '../../../lambdas/shared/config';
import { DEFAULT_BYPASS_TAG, loadScaleDownConfig } from '../../../lambdas/scale-down/config';
import { DEFAULT_METRICS_NAMESPACE } from '../../../modules/contract/environment';
import { baseEnv } from './harness';

/** The problems a ConfigError lists, or [] when loading succeeded. */
function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadScaleDownConfig(env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
}

describe('loadScaleDownConfig', () => {
  it('should apply the defaults when only the required settings are given', () => {
    // GIVEN only what has no default
    const config = loadScaleDownConfig({
      PREFIX: 'gh-ci',
      GITHUB_APP_ID_SSM_PARAMETER_NAME: '/gh-ci/github-app/id',
      GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/gh-ci/github-app/key',
      SSM_CONFIG_PATH: '/gh-ci/runners/config',
    });

    // THEN
    expect(config).toEqual({
      prefix: 'gh-ci',
      appIdParameterName: '/gh-ci/github-app/id',
      appKeyParameterName: '/gh-ci/github-app/key',
      ghesUrl: undefined,
      organizationRunners: false,
      tlsVerify: true,
      minimumRunningTimeMinutes: 5,
      runnerBootTimeMinutes: 5,
      ssmConfigPath: '/gh-ci/runners/config',
      bypassTag: DEFAULT_BYPASS_TAG,
      dryRun: false,
      metricsNamespace: DEFAULT_METRICS_NAMESPACE,
      logLevel: 'info',
    });
  });

  it('should read every variable the construct sets, as the construct sets them', () => {
    // GIVEN the environment of modules/runners/scale-down.ts (GHES_URL is "" on github.com)
    const config = loadScaleDownConfig(
      baseEnv({
        GHES_URL: 'https://ghes.example.com',
        ENABLE_ORGANIZATION_RUNNERS: 'true',
        MINIMUM_RUNNING_TIME_IN_MINUTES: '0',
        RUNNER_BOOT_TIME_IN_MINUTES: '12',
        SSM_CONFIG_PATH: '/gh-ci/runners/config/',
        BYPASS_TAG: 'ghr:scale-down-bypass',
        DRY_RUN: 'true',
        LOG_LEVEL: 'DEBUG',
        METRICS_NAMESPACE: 'GitHubRunners/gh-ci',
      }),
    );

    // THEN
    expect(config).toMatchObject({
      ghesUrl: 'https://ghes.example.com',
      organizationRunners: true,
      tlsVerify: true,
      minimumRunningTimeMinutes: 0,
      runnerBootTimeMinutes: 12,
      ssmConfigPath: '/gh-ci/runners/config',
      bypassTag: 'ghr:scale-down-bypass',
      dryRun: true,
      logLevel: 'debug',
      metricsNamespace: 'GitHubRunners/gh-ci',
    });
    expect(loadScaleDownConfig(baseEnv({ GHES_URL: '' })).ghesUrl).toBeUndefined();
  });

  it('should list every missing required setting in one error', () => {
    const problems = problemsOf({});
    expect(problems).toEqual(
      expect.arrayContaining([
        'PREFIX is required',
        'GITHUB_APP_ID_SSM_PARAMETER_NAME is required',
        'GITHUB_APP_KEY_SSM_PARAMETER_NAME is required',
        'SSM_CONFIG_PATH is required',
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it.each([
    ['MINIMUM_RUNNING_TIME_IN_MINUTES', '-1', 'MINIMUM_RUNNING_TIME_IN_MINUTES must be an integer in [0, 1440], got "-1"'],
    ['MINIMUM_RUNNING_TIME_IN_MINUTES', 'five', 'MINIMUM_RUNNING_TIME_IN_MINUTES must be an integer in [0, 1440], got "five"'],
    ['RUNNER_BOOT_TIME_IN_MINUTES', '0', 'RUNNER_BOOT_TIME_IN_MINUTES must be an integer in [1, 1440], got "0"'],
    ['RUNNER_BOOT_TIME_IN_MINUTES', '2.5', 'RUNNER_BOOT_TIME_IN_MINUTES must be an integer in [1, 1440], got "2.5"'],
    ['DRY_RUN', 'yes', 'DRY_RUN must be "true" or "false", got "yes"'],
    ['ENABLE_ORGANIZATION_RUNNERS', '1', 'ENABLE_ORGANIZATION_RUNNERS must be "true" or "false", got "1"'],
    ['GHES_URL', 'ghes.example.com', 'GHES_URL must be an http(s) URL, got "ghes.example.com"'],
    ['SSM_CONFIG_PATH', 'gh-ci/runners/config', 'SSM_CONFIG_PATH must start with "/", got "gh-ci/runners/config"'],
    ['SSM_CONFIG_PATH', '/', 'SSM_CONFIG_PATH must not be the root "/"'],
    ['LOG_LEVEL', 'verbose', 'LOG_LEVEL must be one of debug, info, warn, error, got "verbose"'],
  ])('should reject %s=%p with a message naming the value', (name, value, message) => {
    expect(problemsOf(baseEnv({ [name]: value }))).toEqual([message]);
  });

  it('should report every bad value at once', () => {
    const problems = problemsOf(baseEnv({ DRY_RUN: 'maybe', RUNNER_BOOT_TIME_IN_MINUTES: '-3', PREFIX: '' }));
    expect(problems).toHaveLength(3);
    expect(() => loadScaleDownConfig(baseEnv({ DRY_RUN: 'maybe', PREFIX: '' }))).toThrow(/invalid Lambda configuration: .*PREFIX is required.*DRY_RUN must be "true" or "false", got "maybe"/);
  });
});

describe('loadScaleDownConfig job retry', () => {
  const base = {
    PREFIX: 'gh-ci',
    GITHUB_APP_ID_SSM_PARAMETER_NAME: '/gh-ci/github-app/id',
    GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/gh-ci/github-app/key',
    SSM_CONFIG_PATH: '/gh-ci/runners/config',
  };

  it('should leave relaunching off without JOB_RETRY_MAX_ATTEMPTS, or at 0', () => {
    expect(loadScaleDownConfig(base).jobRetry).toBeUndefined();
    expect(loadScaleDownConfig({ ...base, JOB_RETRY_MAX_ATTEMPTS: '0' }).jobRetry).toBeUndefined();
  });

  it('should read the ledger table and the queue of each runner type', () => {
    const config = loadScaleDownConfig({
      ...base,
      JOB_RETRY_MAX_ATTEMPTS: '2',
      JOB_LEDGER_TABLE_NAME: 'gh-ci-job-launches',
      JOB_QUEUE_URLS: JSON.stringify({ linux: 'https://sqs.eu-west-1.amazonaws.com/123456789012/gh-ci-jobs-linux' }),
    });
    expect(config.jobRetry).toEqual({
      maxAttempts: 2,
      strandedMinutes: 30,
      tableName: 'gh-ci-job-launches',
      queueUrls: { linux: 'https://sqs.eu-west-1.amazonaws.com/123456789012/gh-ci-jobs-linux' },
    });
  });

  it('should name every missing or bad relaunch setting', () => {
    expect(problemsOf({ ...base, JOB_RETRY_MAX_ATTEMPTS: '2', JOB_QUEUE_URLS: '{"linux": 3}' })).toEqual(
      expect.arrayContaining([expect.stringContaining('JOB_LEDGER_TABLE_NAME'), 'JOB_QUEUE_URLS: ["linux"] must be a queue URL']),
    );
    expect(problemsOf({ ...base, JOB_RETRY_MAX_ATTEMPTS: '11' })).toEqual(expect.arrayContaining([expect.stringContaining('JOB_RETRY_MAX_ATTEMPTS')]));
  });

  it('should read JOB_STRANDED_MINUTES, 1 to 1440, and name it when out of range', () => {
    const retry = {
      ...base,
      JOB_RETRY_MAX_ATTEMPTS: '2',
      JOB_LEDGER_TABLE_NAME: 'gh-ci-job-launches',
      JOB_QUEUE_URLS: JSON.stringify({ linux: 'https://sqs.eu-west-1.amazonaws.com/123456789012/gh-ci-jobs-linux' }),
    };
    expect(loadScaleDownConfig({ ...retry, JOB_STRANDED_MINUTES: '45' }).jobRetry?.strandedMinutes).toBe(45);
    for (const bad of ['0', '1441', '2.5', 'soon']) {
      expect(problemsOf({ ...retry, JOB_STRANDED_MINUTES: bad })).toEqual([expect.stringContaining('JOB_STRANDED_MINUTES')]);
    }
  });
});
