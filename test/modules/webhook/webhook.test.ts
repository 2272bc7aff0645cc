import { Apigatewayv2Api } from '@cdktf/provider-aws/lib/apigatewayv2-api';
import { Apigatewayv2Integration } from '@cdktf/provider-aws/lib/apigatewayv2-integration';
import { Apigatewayv2Route } from '@cdktf/provider-aws/lib/apigatewayv2-route';
import { Apigatewayv2Stage } from '@cdktf/provider-aws/lib/apigatewayv2-stage';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { TerraformOutput, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { JobQueues } from '../../../modules/runners/job-queues';
import { RunnerTypes } from '../../../modules/runners/runner-types';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { Webhook, WEBHOOK_ROUTE, WebhookProps } from '../../../modules/webhook/webhook';
import { escape, logicalId, makeBundleDir, onlyResource, statementsOf, synth, testKey, validationError } from '../helpers';

Testing.setupJest();

const bundle = makeBundleDir(['webhook']);
const SECRET = '/gh-ci/github/webhook-secret';

/** Key, runner types, job queues and the webhook, as GitHubRunners wires them. */
function synthWebhook(props: Partial<WebhookProps> = {}) {
  return synth((scope: Construct) => {
    const key = testKey(scope);
    const runnerTypes = RunnerTypes.fromList([
      { name: 'small', labels: ['linux', 'x64'] },
      { name: 'arm', labels: ['linux', 'arm64'] },
    ]).bind(scope);
    const queues = new JobQueues(scope, 'queues', { prefix: 'gh-ci', runnerTypes, key });
    const webhook = new Webhook(scope, 'webhook', {
      prefix: 'gh-ci',
      key,
      runnerTypes,
      queues,
      webhookSecretParameterName: SECRET,
      code: LambdaCode.fromBundle('webhook', bundle.dir),
      repositoryAllowList: ['octo-org/app'],
      lambda: { logLevel: 'debug', metricsNamespace: 'GitHubRunners/gh-ci', functionSettings: {} },
      tags: { team: 'ci' },
      ...props,
    });
    new TerraformOutput(scope, 'endpoint', { value: webhook.endpoint });
  });
}

describe('JobQueues', () => {
  const { json, stack } = synthWebhook();
  const dlqId = logicalId(stack, 'aws_sqs_queue', 'queues_jobs_dlq');

  it('should create one queue and one DLQ per runner type, with for_each over the runner types local', () => {
    expect(Object.keys(stack.locals ?? {})).toContain('runner_types');
    for (const queue of Object.values(stack.resource!.aws_sqs_queue)) expect(queue.for_each).toBe('${local.runner_types}');
    expect(json).toHaveResourceWithProperties(SqsQueue, { name: 'gh-ci-jobs_${each.key}' });
    expect(json).toHaveResourceWithProperties(SqsQueue, { name: 'gh-ci-jobs_${each.key}-dlq' });
  });

  it('should send jobs at once, hide them for 60 s, keep them a day and allow 1000 receives before the DLQ', () => {
    expect(json).toHaveResourceWithProperties(SqsQueue, {
      name: 'gh-ci-jobs_${each.key}',
      delay_seconds: 0,
      visibility_timeout_seconds: 60,
      message_retention_seconds: 86400,
      redrive_policy: `\${jsonencode({"deadLetterTargetArn" = aws_sqs_queue.${dlqId}[each.key].arn, "maxReceiveCount" = 1000})}`,
    });
  });
});

describe('Webhook', () => {
  const { json, stack } = synthWebhook();
  const apiId = onlyResource(stack, 'aws_apigatewayv2_api').id;
  const routeId = onlyResource(stack, 'aws_apigatewayv2_route').id;
  const integrationId = onlyResource(stack, 'aws_apigatewayv2_integration').id;
  const functionId = onlyResource(stack, 'aws_lambda_function').id;
  const queueId = logicalId(stack, 'aws_sqs_queue', 'queues_jobs_queue');
  const keyArn = `\${aws_kms_key.${logicalId(stack, 'aws_kms_key', 'key')}.arn}`;

  describe('API', () => {
    it('should be an HTTP API', () => {
      expect(json).toHaveResourceWithProperties(Apigatewayv2Api, { name: 'gh-ci-webhook', protocol_type: 'HTTP', tags: { team: 'ci' } });
    });

    it('should route POST /webhook to the integration', () => {
      expect(WEBHOOK_ROUTE).toBe('POST /webhook');
      expect(json).toHaveResourceWithProperties(Apigatewayv2Route, {
        api_id: `\${aws_apigatewayv2_api.${apiId}.id}`,
        route_key: 'POST /webhook',
        target: `integrations/\${aws_apigatewayv2_integration.${integrationId}.id}`,
      });
      expect(Object.keys(stack.resource!.aws_apigatewayv2_route)).toHaveLength(1);
    });

    it('should proxy to the webhook function with payload format 2.0', () => {
      expect(json).toHaveResourceWithProperties(Apigatewayv2Integration, {
        integration_type: 'AWS_PROXY',
        integration_uri: `\${aws_lambda_function.${functionId}.invoke_arn}`,
        payload_format_version: '2.0',
      });
    });

    it('should throttle the route loosely by default (1,000 rps, burst 2,000: a 429 loses the delivery)', () => {
      expect(json).toHaveResourceWithProperties(Apigatewayv2Stage, {
        name: '$default',
        auto_deploy: true,
        route_settings: [
          {
            route_key: `\${aws_apigatewayv2_route.${routeId}.route_key}`,
            throttling_rate_limit: 1000,
            throttling_burst_limit: 2000,
          },
        ],
        default_route_settings: { throttling_rate_limit: 1000, throttling_burst_limit: 2000 },
      });
    });

    it('should throttle with the given limits', () => {
      const { json: custom } = synthWebhook({ throttlingRateLimit: 5, throttlingBurstLimit: 10 });
      expect(custom).toHaveResourceWithProperties(Apigatewayv2Stage, {
        route_settings: [expect.objectContaining({ throttling_rate_limit: 5, throttling_burst_limit: 10 })],
      });
    });

    it('should reserve concurrency for the webhook function (100 by default, -1 for none)', () => {
      expect(json).toHaveResourceWithProperties(LambdaFunction, { function_name: expect.stringContaining('webhook'), reserved_concurrent_executions: 100 });
      const { json: unreserved } = synthWebhook({ reservedConcurrentExecutions: -1 });
      expect(unreserved).toHaveResourceWithProperties(LambdaFunction, { function_name: expect.stringContaining('webhook'), reserved_concurrent_executions: -1 });
      expect(() => synthWebhook({ reservedConcurrentExecutions: 0 })).toThrow(/reservedConcurrentExecutions must be -1 or at least 1/);
    });

    it('should write access logs, metadata only, to an encrypted log group', () => {
      const accessLogsId = logicalId(stack, 'aws_cloudwatch_log_group', 'webhook_access-logs_log-group');
      expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, {
        name: '/github-runners/gh-ci/webhook-access-logs',
        kms_key_id: keyArn,
        retention_in_days: 180,
      });
      const stage = onlyResource(stack, 'aws_apigatewayv2_stage').config;
      expect(stage.access_log_settings.destination_arn).toBe(`\${aws_cloudwatch_log_group.${accessLogsId}.arn}`);
      const format = JSON.parse(stage.access_log_settings.format) as Record<string, string>;
      expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
      // Never the body, headers or signature.
      for (const value of Object.values(format)) expect(value).not.toMatch(/body|header|signature/i);
    });

    it('should let only this API invoke the function, only through POST /webhook', () => {
      expect(json).toHaveResourceWithProperties(LambdaPermission, {
        action: 'lambda:InvokeFunction',
        principal: 'apigateway.amazonaws.com',
        function_name: `\${aws_lambda_function.${functionId}.function_name}`,
        source_arn: `\${aws_apigatewayv2_api.${apiId}.execution_arn}/*/POST/webhook`,
      });
    });

    it('should expose the endpoint as <api endpoint>/webhook', () => {
      expect(stack.output?.endpoint.value).toBe(`\${aws_apigatewayv2_api.${apiId}.api_endpoint}/webhook`);
    });
  });

  describe('function', () => {
    const env = onlyResource(stack, 'aws_lambda_function').config.environment.variables as Record<string, string>;

    it('should be named <prefix>-webhook and answer within 10 s', () => {
      expect(json).toHaveResourceWithProperties(LambdaFunction, { function_name: 'gh-ci-webhook', timeout: 10 });
    });

    it('should get the prefix, the secret parameter name, the log level, the metrics namespace and the allow list', () => {
      expect(env).toMatchObject({
        PREFIX: 'gh-ci',
        WEBHOOK_SECRET_SSM_PARAMETER_NAME: SECRET,
        LOG_LEVEL: 'debug',
        METRICS_NAMESPACE: 'GitHubRunners/gh-ci',
        REPOSITORY_ALLOW_LIST: '${jsonencode(["octo-org/app"])}',
      });
    });

    it('should get an empty allow list by default', () => {
      const { stack: defaults } = synthWebhook({ repositoryAllowList: undefined });
      expect(onlyResource(defaults, 'aws_lambda_function').config.environment.variables.REPOSITORY_ALLOW_LIST).toBe('${jsonencode([])}');
    });

    it("should get the routing table from the runner types local, with each type's queue URL", () => {
      expect(env.RUNNER_TYPES_CONFIG).toBe(
        '${jsonencode({ for key, val in local.runner_types: key => ' +
          `{ labels = val.labels, exact_match = val.exact_match, priority = val.priority, queue_url = aws_sqs_queue.${queueId}[key].url } })}`,
      );
    });

    it('should never get the secret itself', () => {
      expect(Object.keys(env).filter((k) => /SECRET/.test(k))).toEqual(['WEBHOOK_SECRET_SSM_PARAMETER_NAME']);
    });
  });

  describe('grants', () => {
    const statements = statementsOf(stack, 'webhook_lambda_policy-document');
    const withAction = (prefix: string) => statements.filter((s) => s.actions.some((a) => a.startsWith(prefix)));

    it('should read the webhook secret parameter only', () => {
      const ssm = withAction('ssm:');
      expect(ssm).toHaveLength(1);
      expect(ssm[0].actions.sort()).toEqual(['ssm:GetParameters']);
      expect(ssm[0].resources).toHaveLength(1);
      expect((ssm[0].resources as string[])[0]).toMatch(
        new RegExp(`^arn:.*:ssm:.*:parameter${escape(SECRET)}$`),
      );
    });

    it('should send to the job queues only (not their DLQs)', () => {
      const sqs = withAction('sqs:');
      expect(sqs).toHaveLength(1);
      expect(sqs[0].actions).toEqual(['sqs:SendMessage']);
      expect(sqs[0].resources).toBe(`\${values(aws_sqs_queue.${queueId})[*].arn}`);
    });

    it('should use the module key to encrypt jobs and decrypt the secret, and nothing else', () => {
      for (const s of withAction('kms:')) expect(s.resources).toEqual([keyArn]);
      expect(withAction('kms:').flatMap((s) => s.actions)).not.toContain('kms:*');
    });

    it('should use no wildcard action or resource', () => {
      for (const s of statements) {
        expect(s.actions.filter((a) => a.endsWith('*'))).toEqual([]);
        if (Array.isArray(s.resources)) expect(s.resources).not.toContain('*');
      }
    });
  });

  describe('validation', () => {
    it('should reject non-positive throttling limits in one error', () => {
      const error = validationError(() => synthWebhook({ throttlingRateLimit: 0, throttlingBurstLimit: -1 }));
      expect(error.construct).toBe('Webhook');
      expect(error.problems).toEqual(['throttlingRateLimit must be > 0, got 0', 'throttlingBurstLimit must be > 0, got -1']);
    });
  });
});
