import { TerraformVariable, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { loadRedeliveryConfig } from '../../../lambdas/redelivery/config';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { WebhookRedelivery, WebhookRedeliveryProps } from '../../../modules/webhook/redelivery';
import { allStatements, onlyResource, statementsOf, synth, testKey, validationError } from '../helpers';

Testing.setupJest();

const CODE = LambdaCode.fromS3({ bucket: 'artifacts', key: 'lambdas/redelivery.zip', objectVersion: 'v1' });
const APP_ID = '/gh-ci/github/app-id';
const APP_KEY = '/gh-ci/github/private-key';

function synthRedelivery(props: (scope: Construct) => Partial<WebhookRedeliveryProps> = () => ({})) {
  return synth((scope: Construct) => {
    new WebhookRedelivery(scope, 'redelivery', {
      prefix: 'gh-ci',
      key: testKey(scope),
      code: CODE,
      lambda: { logLevel: 'info', metricsNamespace: 'GitHubRunners/gh-ci', functionSettings: {} },
      appIdParameterName: APP_ID,
      privateKeyParameterName: APP_KEY,
      ...props(scope),
    });
  });
}

function environment(stack: ReturnType<typeof synthRedelivery>['stack']): Record<string, string> {
  const variables = onlyResource(stack, 'aws_lambda_function').config.environment.variables as Record<string, unknown>;
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)]));
}

describe('WebhookRedelivery', () => {
  const { stack } = synthRedelivery();

  it('should run every 5 minutes by default, one run at a time, never retried', () => {
    expect(onlyResource(stack, 'aws_cloudwatch_event_rule').config).toMatchObject({ name: 'gh-ci-webhook-redelivery', schedule_expression: 'cron(*/5 * * * ? *)' });
    expect(onlyResource(stack, 'aws_cloudwatch_event_rule').config.state).toBeUndefined();
    expect(onlyResource(stack, 'aws_lambda_function').config).toMatchObject({ function_name: 'gh-ci-webhook-redelivery', reserved_concurrent_executions: 1, timeout: 120 });
    expect(onlyResource(stack, 'aws_lambda_function_event_invoke_config').config).toMatchObject({ maximum_retry_attempts: 0 });
  });

  it('should write an environment the Lambda config loader accepts, with the defaults', () => {
    const env = environment(stack);
    const config = loadRedeliveryConfig(env);
    expect(config).toMatchObject({
      appIdParameterName: APP_ID,
      appKeyParameterName: APP_KEY,
      lookbackMinutes: 60,
      maxPages: 10,
      maxRedeliveries: 100,
      metricsNamespace: 'GitHubRunners/gh-ci',
    });
    expect(config.ghesUrl).toBeUndefined();
  });

  it('should pass the limits through to the Lambda', () => {
    const env = environment(synthRedelivery(() => ({ lookbackMinutes: 180, maxPages: 3, maxRedeliveriesPerRun: 20, ghesUrl: 'https://ghes.example.com' })).stack);
    expect(loadRedeliveryConfig(env)).toMatchObject({ lookbackMinutes: 180, maxPages: 3, maxRedeliveries: 20, ghesUrl: 'https://ghes.example.com' });
  });

  it('should read only the App id and private key, and decrypt with the module key', () => {
    const statements = statementsOf(stack, 'redelivery_lambda_policy-document');
    const bySid = Object.fromEntries(statements.map((s) => [s.sid, s]));
    expect(bySid.ReadGitHubApp.actions).toEqual(['ssm:GetParameters']);
    expect(bySid.ReadGitHubApp.resources).toHaveLength(2);
    expect([bySid.ReadGitHubApp.resources].flat().join(' ')).toContain('parameter/gh-ci/github/app-id');
    expect([bySid.ReadGitHubApp.resources].flat().join(' ')).toContain('parameter/gh-ci/github/private-key');
    expect(bySid.DecryptSecrets.actions).toEqual(['kms:Decrypt']);
    const actions = allStatements(stack).flatMap((s) => s.actions);
    expect(actions.filter((a) => /^(ec2|sqs|dynamodb|ssm:Put|ssm:Delete)/.test(a))).toEqual([]);
  });

  it('should disable the schedule when a Terraform input says so', () => {
    const { stack: toggled } = synthRedelivery((scope) => ({ enabled: new TerraformVariable(scope, 'enable_webhook_redelivery', { type: 'bool', default: true }).booleanValue }));
    expect(onlyResource(toggled, 'aws_cloudwatch_event_rule').config.state).toBe('${var.enable_webhook_redelivery ? "ENABLED" : "DISABLED"}');
  });

  it.each([
    [{ lookbackMinutes: 4 }, 'lookbackMinutes must be a whole number from 5 to 4320, got 4'],
    [{ maxPages: 0 }, 'maxPages must be a whole number from 1 to 100, got 0'],
    [{ maxRedeliveriesPerRun: 1.5 }, 'maxRedeliveriesPerRun must be a whole number from 1 to 500, got 1.5'],
  ])('should refuse %j', (props, message) => {
    const error = validationError(() => synthRedelivery(() => props));
    expect(error.construct).toBe('WebhookRedelivery');
    expect(error.problems).toEqual([message]);
  });

  it('should refuse a schedule expression EventBridge would refuse', () => {
    const error = validationError(() => synthRedelivery(() => ({ scheduleExpression: 'rate(5 minute)' })));
    expect(error.construct).toBe('EventTrigger');
  });
});
