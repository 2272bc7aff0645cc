import { ConfigError } from '../../../lambdas/shared/config';
import { loadScaleUpConfig } from '../../../lambdas/scale-up/config';
import { baseEnv, runnerTypeConfig } from './harness';

describe('loadScaleUpConfig', () => {
  it('should apply the documented defaults', () => {
    const config = loadScaleUpConfig(
      baseEnv({
        ENABLE_ORGANIZATION_RUNNERS: '',
        RUNNER_TYPE_CONFIG: JSON.stringify({
          labels: ['linux'],
          launch_template_id: 'lt-1',
          instance_types: ['m7i.large'],
          subnet_ids: ['subnet-a'],
          instance_target_capacity_type: 'on-demand',
          runners_maximum_count: 3,
        }),
      }),
    );
    expect(config).toMatchObject({
      organizationRunners: false,
      runnerGroupName: 'Default',
      jitConfig: true,
      jobQueuedCheck: false,
      dryRun: false,
      metricsNamespace: 'GitHubRunners',
      logLevel: 'info',
      ghesUrl: undefined,
      runnerTypeSettings: {
        launchTemplateVersion: '$Latest',
        allocationStrategy: 'price-capacity-optimized',
        onDemandFailoverErrors: [],
        capacityType: 'on-demand',
        maximumCount: 3,
      },
    });
  });

  it('should strip a trailing slash from SSM_CONFIG_PATH', () => {
    expect(loadScaleUpConfig(baseEnv({ SSM_CONFIG_PATH: '/gh-ci/runners/config/' })).ssmConfigPath).toBe('/gh-ci/runners/config');
  });

  it('should list every problem in one error', () => {
    let caught: unknown;
    try {
      loadScaleUpConfig(
        baseEnv({
          PREFIX: '',
          KMS_KEY_ID: '',
          DRY_RUN: 'yes',
          GHES_URL: 'not a url',
          SSM_CONFIG_PATH: 'relative/path',
          INSTANCE_ARN_PREFIX: 'arn:aws:ec2:eu-west-1:123:instance',
          RUNNER_TYPE_CONFIG: runnerTypeConfig({
            labels: [],
            instance_target_capacity_type: 'reserved',
            runners_maximum_count: -2,
            instance_allocation_strategy: 'cheapest',
          }),
        }),
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    for (const expected of [
      'PREFIX is required',
      'KMS_KEY_ID is required',
      'DRY_RUN must be "true" or "false"',
      'GHES_URL must be an http(s) URL',
      'SSM_CONFIG_PATH must start with "/"',
      'INSTANCE_ARN_PREFIX must look like arn:aws:ec2:<region>:<account>:instance/',
      'RUNNER_TYPE_CONFIG: labels must be a non-empty list',
      'instance_target_capacity_type must be "spot" or "on-demand", got "reserved"',
      'runners_maximum_count must be an integer ≥ -1 (-1 = unlimited), got -2',
      'instance_allocation_strategy must be one of',
    ]) {
      expect(problems).toContain(expected);
    }
  });
});
