import { ConfigError } from '../../../lambdas/shared/config';
import { loadWebhookConfig } from '../../../lambdas/webhook/config';
import { DEFAULT_METRICS_NAMESPACE } from '../../../modules/contract/environment';
import { RUNNER_TYPES, SECRET_PARAMETER, testEnv } from './helpers';

function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadWebhookConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadWebhookConfig', () => {
  it('should load a complete environment with defaults', () => {
    const config = loadWebhookConfig(testEnv());
    expect(config).toEqual({
      prefix: 'test',
      webhookSecretParameterName: SECRET_PARAMETER,
      runnerTypes: RUNNER_TYPES,
      repositoryAllowList: undefined,
      metricsNamespace: DEFAULT_METRICS_NAMESPACE,
      logLevel: 'info',
    });
  });

  it('should lower-case the allow list', () => {
    const config = loadWebhookConfig(testEnv({ REPOSITORY_ALLOW_LIST: '["Octo-Org/Example", "me/repo"]' }));
    expect([...(config.repositoryAllowList ?? [])]).toEqual(['octo-org/example', 'me/repo']);
  });

  it('should treat an empty allow list as allowing all', () => {
    expect(loadWebhookConfig(testEnv({ REPOSITORY_ALLOW_LIST: '[]' })).repositoryAllowList).toBeUndefined();
  });

  it('should read METRICS_NAMESPACE and LOG_LEVEL', () => {
    const config = loadWebhookConfig(testEnv({ METRICS_NAMESPACE: 'Custom', LOG_LEVEL: 'DEBUG' }));
    expect(config.metricsNamespace).toBe('Custom');
    expect(config.logLevel).toBe('debug');
  });

  it('should report every problem at once', () => {
    // GIVEN an environment with five problems
    const env = testEnv({
      PREFIX: undefined,
      WEBHOOK_SECRET_SSM_PARAMETER_NAME: undefined,
      RUNNER_TYPES_CONFIG: '{"a":{"labels":[]}}',
      REPOSITORY_ALLOW_LIST: '["no-slash"]',
      LOG_LEVEL: 'loud',
    });
    // THEN one ConfigError names them all
    const problems = configErrorOf(env).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'PREFIX is required',
        'WEBHOOK_SECRET_SSM_PARAMETER_NAME is required',
        expect.stringMatching(/^RUNNER_TYPES_CONFIG: runner type "a" needs a non-empty list of labels/),
        expect.stringMatching(/^REPOSITORY_ALLOW_LIST: entry 0/),
        expect.stringMatching(/^LOG_LEVEL must be one of/),
      ]),
    );
  });

  it('should reject allow lists that are not JSON arrays', () => {
    expect(configErrorOf(testEnv({ REPOSITORY_ALLOW_LIST: 'octo/repo' })).problems).toEqual(['REPOSITORY_ALLOW_LIST is not valid JSON']);
    expect(configErrorOf(testEnv({ REPOSITORY_ALLOW_LIST: '{"a":1}' })).problems).toEqual([expect.stringMatching(/must be a JSON array/)]);
  });

  it('should require RUNNER_TYPES_CONFIG', () => {
    expect(configErrorOf(testEnv({ RUNNER_TYPES_CONFIG: undefined })).problems).toEqual(['RUNNER_TYPES_CONFIG is required']);
  });
});
