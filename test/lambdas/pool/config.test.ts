import { ConfigError } from '../../../lambdas/shared/config';
import { loadPoolConfig } from '../../../lambdas/pool/config';
import { OTHER_TYPE, RUNNER_TYPE, poolEnv, runnerType } from './harness';

describe('loadPoolConfig', () => {
  it('should apply the documented defaults', () => {
    // GIVEN only the required settings
    const env = poolEnv({
      METRICS_NAMESPACE: '',
      RUNNER_TYPES_CONFIG: JSON.stringify({ small: runnerType({ instance_target_capacity_type: 'on-demand', runners_maximum_count: -1 }) }),
      JOB_QUEUE_URLS: JSON.stringify({ small: 'https://sqs.eu-west-1.amazonaws.com/123456789012/gh-ci-small' }),
    });
    delete env.METRICS_NAMESPACE;

    // WHEN the configuration is loaded
    const config = loadPoolConfig(env);

    // THEN the defaults apply
    expect(config).toMatchObject({
      prefix: 'gh-ci',
      target: { level: 'org', owner: 'octo', ownerTag: 'octo' },
      runnerGroupName: 'Default',
      jitConfig: true,
      runnerBootTimeMinutes: 5,
      dryRun: false,
      metricsNamespace: 'GitHubRunners',
      logLevel: 'info',
      ghesUrl: undefined,
      queueUrls: { small: 'https://sqs.eu-west-1.amazonaws.com/123456789012/gh-ci-small' },
      runnerTypes: {
        small: {
          labels: ['linux', 'x64'],
          launchTemplateVersion: '$Latest',
          allocationStrategy: 'price-capacity-optimized',
          capacityType: 'on-demand',
          maximumCount: -1,
          onDemandFailoverErrors: ['InsufficientInstanceCapacity'],
        },
      },
    });
  });

  it('should read every runner type and the settings that override defaults', () => {
    const config = loadPoolConfig(
      poolEnv({
        POOL_RUNNER_OWNER: 'octo/hello',
        RUNNER_GROUP_NAME: 'pool',
        ENABLE_JIT_CONFIG: 'false',
        RUNNER_BOOT_TIME_IN_MINUTES: '8',
        DRY_RUN: 'true',
        GHES_URL: 'https://ghes.example.com',
        SSM_CONFIG_PATH: '/gh-ci/runners/config/',
        LOG_LEVEL: 'DEBUG',
      }),
    );
    expect(config).toMatchObject({
      target: { level: 'repo', owner: 'octo', repo: 'hello', ownerTag: 'octo/hello' },
      runnerGroupName: 'pool',
      jitConfig: false,
      runnerBootTimeMinutes: 8,
      dryRun: true,
      ghesUrl: 'https://ghes.example.com',
      ssmConfigPath: '/gh-ci/runners/config',
      logLevel: 'debug',
      metricsNamespace: 'GitHubRunners/gh-ci',
    });
    expect(Object.keys(config.runnerTypes).sort()).toEqual([OTHER_TYPE, RUNNER_TYPE].sort());
    expect(config.runnerTypes[OTHER_TYPE]).toMatchObject({ capacityType: 'on-demand', instanceTypes: ['m7g.large'] });
  });

  it('should say that pool_runner_owner must be set when POOL_RUNNER_OWNER is empty', () => {
    for (const owner of ['', '  ']) {
      expect(() => loadPoolConfig(poolEnv({ POOL_RUNNER_OWNER: owner }))).toThrow(/pool_runner_owner must be set/);
    }
    const env = poolEnv();
    delete env.POOL_RUNNER_OWNER;
    expect(() => loadPoolConfig(env)).toThrow(/POOL_RUNNER_OWNER is empty: pool_runner_owner must be set/);
  });

  it('should load without an owner when no runner type has a pool (the HCL module creates the function regardless)', () => {
    const env = poolEnv({ RUNNER_TYPES_CONFIG: '{}' });
    delete env.POOL_RUNNER_OWNER;
    const config = loadPoolConfig(env);
    expect(config.target).toBeUndefined();
    expect(config.runnerTypes).toEqual({});
    // An owner that is set must still be well formed.
    expect(() => loadPoolConfig(poolEnv({ RUNNER_TYPES_CONFIG: '{}', POOL_RUNNER_OWNER: 'a/b/c' }))).toThrow(/POOL_RUNNER_OWNER must be an organization login/);
  });

  it('should list every problem in one error', () => {
    // GIVEN many bad values at once
    const env = poolEnv({
      PREFIX: '',
      GITHUB_APP_KEY_SSM_PARAMETER_NAME: '',
      POOL_RUNNER_OWNER: 'a/b/c',
      RUNNER_TYPES_CONFIG: JSON.stringify({
        [RUNNER_TYPE]: runnerType({ instance_target_capacity_type: 'reserved', runners_maximum_count: -2 }),
        broken: runnerType({ labels: [] }),
      }),
      ENABLE_JIT_CONFIG: 'yes',
      RUNNER_BOOT_TIME_IN_MINUTES: '0',
      DRY_RUN: '1',
      GHES_URL: 'ftp://ghes',
      SSM_CONFIG_PATH: 'relative/path',
      INSTANCE_ARN_PREFIX: 'arn:aws:ec2:eu-west-1:123:instance/',
      LOG_LEVEL: 'verbose',
    });
    delete env.KMS_KEY_ID;

    // WHEN the configuration is loaded
    let error: ConfigError | undefined;
    try {
      loadPoolConfig(env);
    } catch (e) {
      error = e as ConfigError;
    }

    // THEN one ConfigError names each of them
    expect(error).toBeInstanceOf(ConfigError);
    const problems = error!.problems.join('\n');
    const expected = [
      /PREFIX is required/,
      /GITHUB_APP_KEY_SSM_PARAMETER_NAME is required/,
      /POOL_RUNNER_OWNER must be an organization login or "owner\/repo", got "a\/b\/c"/,
      /RUNNER_TYPES_CONFIG: runner type "linux-x64": instance_target_capacity_type must be "spot" or "on-demand", got "reserved"/,
      /RUNNER_TYPES_CONFIG: runner type "linux-x64": runners_maximum_count must be an integer ≥ -1/,
      /RUNNER_TYPES_CONFIG: runner type "broken": labels must be a non-empty list of strings/,
      /ENABLE_JIT_CONFIG must be "true" or "false", got "yes"/,
      /RUNNER_BOOT_TIME_IN_MINUTES must be an integer in \[1, 1440\], got "0"/,
      /DRY_RUN must be "true" or "false", got "1"/,
      /GHES_URL must be an http\(s\) URL/,
      /SSM_CONFIG_PATH must start with "\/"/,
      /KMS_KEY_ID is required/,
      /INSTANCE_ARN_PREFIX must look like/,
      /LOG_LEVEL must be one of/,
      /JOB_QUEUE_URLS has no queue for pooled runner type "broken"/,
    ];
    for (const e of expected) expect(problems).toMatch(e);
    expect(error!.problems).toHaveLength(expected.length);
  });

  it('should accept a RUNNER_TYPES_CONFIG with no pooled type (the HCL module always creates the function)', () => {
    expect(loadPoolConfig(poolEnv({ RUNNER_TYPES_CONFIG: '{}' })).runnerTypes).toEqual({});
  });

  it('should reject a RUNNER_TYPES_CONFIG that is not an object of runner types', () => {
    expect(() => loadPoolConfig(poolEnv({ RUNNER_TYPES_CONFIG: '[]' }))).toThrow(/RUNNER_TYPES_CONFIG: must be a JSON object keyed by runner-type name/);
    expect(() => loadPoolConfig(poolEnv({ RUNNER_TYPES_CONFIG: '{not json' }))).toThrow(/RUNNER_TYPES_CONFIG is not valid JSON/);
    expect(() => loadPoolConfig(poolEnv({ RUNNER_TYPES_CONFIG: '' }))).toThrow(/RUNNER_TYPES_CONFIG is required/);
  });
});
