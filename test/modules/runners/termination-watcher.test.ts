import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { TerraformOutput, TerraformVariable, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { TerminationWatcher, TerminationWatcherProps } from '../../../modules/runners/termination-watcher';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { allStatements, logicalId, onlyResource, resources, statementsOf, synth, Synthesized, testKey, validationError } from '../helpers';
import { MODULE_VERSION, MODULE_VERSION_TAG } from '../../../modules/shared/version';

Testing.setupJest();

const CODE = LambdaCode.fromS3({ bucket: 'artifacts', key: 'lambdas/termination-watcher.zip', objectVersion: 'v1' });
const APP_ID = '/gh-ci/github/app-id';
const APP_KEY = '/gh-ci/github/private-key';

/** A module key and the watcher, as GitHubRunners wires them; `props` may add variables to the scope. */
function synthWatcher(props: (scope: Construct) => Partial<TerminationWatcherProps> = () => ({})) {
  return synth((scope: Construct) => {
    const watcher = new TerminationWatcher(scope, 'watcher', {
      prefix: 'gh-ci',
      key: testKey(scope),
      code: CODE,
      lambda: { logLevel: 'info', metricsNamespace: 'GitHubRunners/gh-ci', functionSettings: {} },
      appIdParameterName: APP_ID,
      privateKeyParameterName: APP_KEY,
      tags: { team: 'ci' },
      ...props(scope),
    });
    new TerraformOutput(scope, 'retry_queue', { value: watcher.retryQueue.queue.arn });
  });
}

/** The ARN parts the module key exposes, as they render in the synthesized JSON. */
function arnParts(stack: Synthesized) {
  const keyId = logicalId(stack, 'aws_kms_key', 'key');
  const regionId = logicalId(stack, 'aws_region', 'key_region', 'data');
  return {
    keyArn: `\${aws_kms_key.${keyId}.arn}`,
    prefix: `arn:\${element(split(":", aws_kms_key.${keyId}.arn), 1)}`,
    region: `\${data.aws_region.${regionId}.name}`,
    account: `\${element(split(":", aws_kms_key.${keyId}.arn), 4)}`,
  };
}

/** Environment values as Lambda receives them: Terraform turns a JSON number in the map(string) into its decimal string. */
function environment(stack: Synthesized): Record<string, string> {
  const variables = onlyResource(stack, 'aws_lambda_function').config.environment.variables as Record<string, unknown>;
  return Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)]));
}

describe('TerminationWatcher', () => {
  const { json, stack } = synthWatcher();
  const functionId = onlyResource(stack, 'aws_lambda_function').id;
  const fnArn = `\${aws_lambda_function.${functionId}.arn}`;
  const queueArn = `\${aws_sqs_queue.${logicalId(stack, 'aws_sqs_queue', 'watcher_retry_queue')}.arn}`;
  const queueUrl = `\${aws_sqs_queue.${logicalId(stack, 'aws_sqs_queue', 'watcher_retry_queue')}.url}`;
  const dlqArn = `\${aws_sqs_queue.${logicalId(stack, 'aws_sqs_queue', 'watcher_retry_dlq')}.arn}`;
  const { keyArn, prefix: arn, region, account } = arnParts(stack);

  describe('rules', () => {
    const rules = resources(stack, 'aws_cloudwatch_event_rule');
    const spotId = logicalId(stack, 'aws_cloudwatch_event_rule', 'watcher_spot-warning_rule');
    const stateId = logicalId(stack, 'aws_cloudwatch_event_rule', 'watcher_state-change_rule');

    it('should create exactly two event rules and no schedule', () => {
      expect(Object.keys(rules).sort()).toEqual([spotId, stateId].sort());
      for (const rule of Object.values(rules)) {
        expect(rule.schedule_expression).toBeUndefined();
        expect(rule.tags).toEqual({ team: 'ci' });
      }
    });

    it('should match every spot interruption warning of EC2', () => {
      expect(rules[spotId].name).toBe('gh-ci-spot-interruption');
      expect(JSON.parse(rules[spotId].event_pattern as string)).toEqual({
        source: ['aws.ec2'],
        'detail-type': ['EC2 Spot Instance Interruption Warning'],
      });
    });

    it('should match instances that start shutting down, once per instance (not again when terminated)', () => {
      expect(rules[stateId].name).toBe('gh-ci-instance-terminating');
      expect(JSON.parse(rules[stateId].event_pattern as string)).toEqual({
        source: ['aws.ec2'],
        'detail-type': ['EC2 Instance State-change Notification'],
        detail: { state: ['shutting-down'] },
      });
    });

    it('should target the watcher function from each rule', () => {
      const targets = Object.values(resources(stack, 'aws_cloudwatch_event_target'));
      expect(targets.map((t) => t.rule).sort()).toEqual([`\${aws_cloudwatch_event_rule.${spotId}.name}`, `\${aws_cloudwatch_event_rule.${stateId}.name}`].sort());
      for (const target of targets) expect(target.arn).toBe(fnArn);
    });

    it('should let each rule, and only that rule, invoke the function (CKV_AWS_364)', () => {
      const permissions = Object.values(resources(stack, 'aws_lambda_permission'));
      expect(permissions.map((p) => p.source_arn).sort()).toEqual(
        [`\${aws_cloudwatch_event_rule.${spotId}.arn}`, `\${aws_cloudwatch_event_rule.${stateId}.arn}`].sort(),
      );
      for (const permission of permissions) {
        expect(permission).toEqual({
          statement_id_prefix: 'eventbridge-',
          action: 'lambda:InvokeFunction',
          function_name: `\${aws_lambda_function.${functionId}.function_name}`,
          principal: 'events.amazonaws.com',
          source_arn: expect.stringMatching(/^\$\{aws_cloudwatch_event_rule\..+\.arn\}$/),
        });
      }
    });
  });

  describe('retries', () => {
    it('should encrypt the retry queue and its DLQ with the module key', () => {
      const queues = Object.values(resources(stack, 'aws_sqs_queue'));
      expect(queues.map((q) => q.name).sort()).toEqual(['gh-ci-termination-retry', 'gh-ci-termination-retry-dlq']);
      for (const q of queues) expect(q).toMatchObject({ kms_master_key_id: keyArn, tags: { team: 'ci' } });
    });

    it('should hide a retry for six times the function timeout and redrive it after 5 receives', () => {
      expect(json).toHaveResourceWithProperties(SqsQueue, {
        name: 'gh-ci-termination-retry',
        visibility_timeout_seconds: 360,
        redrive_policy: `\${jsonencode({"deadLetterTargetArn" = ${dlqArn.slice(2, -1)}, "maxReceiveCount" = 5})}`,
      });
      expect(stack.output?.retry_queue.value).toBe(queueArn);
    });

    it('should read the retry queue in batches of 10, reporting failed items one by one', () => {
      expect(onlyResource(stack, 'aws_lambda_event_source_mapping').config).toEqual({
        event_source_arn: queueArn,
        function_name: fnArn,
        batch_size: 10,
        function_response_types: ['ReportBatchItemFailures'],
        tags: { team: 'ci' },
      });
      expect(json).toHaveResourceWithProperties(LambdaEventSourceMapping, { batch_size: 10 });
    });

    it('should retry a failed event twice, then keep it in the DLQ', () => {
      expect(onlyResource(stack, 'aws_lambda_function_event_invoke_config').config).toEqual({
        function_name: `\${aws_lambda_function.${functionId}.function_name}`,
        maximum_retry_attempts: 2,
        destination_config: { on_failure: { destination: dlqArn } },
      });
      expect(json).toHaveResourceWithProperties(LambdaFunctionEventInvokeConfig, { maximum_retry_attempts: 2 });
    });
  });

  describe('function', () => {
    it('should be named <prefix>-termination-watcher and answer within 60 s', () => {
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        function_name: 'gh-ci-termination-watcher',
        timeout: 60,
        memory_size: 256,
        reserved_concurrent_executions: -1,
        kms_key_arn: keyArn,
        tags: { team: 'ci', [MODULE_VERSION_TAG]: MODULE_VERSION },
      });
    });

    it('should get the retry queue URL, the retry delay (60 s) and the attempts (10) by default', () => {
      expect(environment(stack)).toEqual({
        PREFIX: 'gh-ci',
        GITHUB_APP_ID_SSM_PARAMETER_NAME: APP_ID,
        GITHUB_APP_KEY_SSM_PARAMETER_NAME: APP_KEY,
        GHES_URL: '',
        GHES_SSL_VERIFY: 'true',
        ENABLE_ORGANIZATION_RUNNERS: 'false',
        RETRY_QUEUE_URL: queueUrl,
        RETRY_DELAY_SECONDS: '60',
        MAX_ATTEMPTS: '10',
        LOG_LEVEL: 'info',
        METRICS_NAMESPACE: 'GitHubRunners/gh-ci',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      });
    });

    it('should pass the given delay, attempts, GHES URL, certificate check and flag through', () => {
      const { stack: custom } = synthWatcher(() => ({
        retryDelaySeconds: 900,
        maxAttempts: 1,
        ghesUrl: 'https://github.example.com',
        ghesSslVerify: false,
        enableOrganizationRunners: true,
      }));
      expect(environment(custom)).toMatchObject({
        RETRY_DELAY_SECONDS: '900',
        MAX_ATTEMPTS: '1',
        GHES_URL: 'https://github.example.com',
        GHES_SSL_VERIFY: 'false',
        ENABLE_ORGANIZATION_RUNNERS: 'true',
      });
    });

    it('should pass module variables through as Terraform expressions', () => {
      const { json: tokenJson, stack: custom } = synthWatcher((scope) => ({
        retryDelaySeconds: new TerraformVariable(scope, 'delay', { type: 'number' }).numberValue,
        maxAttempts: new TerraformVariable(scope, 'attempts', { type: 'number' }).numberValue,
        enableOrganizationRunners: new TerraformVariable(scope, 'org', { type: 'bool' }).booleanValue,
        ghesSslVerify: new TerraformVariable(scope, 'ghes_ssl_verify', { type: 'bool' }).booleanValue,
      }));
      expect(tokenJson).not.toContain('TfToken');
      expect(environment(custom)).toMatchObject({
        RETRY_DELAY_SECONDS: '${var.delay}',
        MAX_ATTEMPTS: '${var.attempts}',
        ENABLE_ORGANIZATION_RUNNERS: '${tostring(var.org)}',
        GHES_SSL_VERIFY: '${tostring(var.ghes_ssl_verify)}',
      });
    });
  });

  describe('grants', () => {
    const statements = statementsOf(stack, 'watcher_lambda_policy-document');
    const bySid = Object.fromEntries(statements.map((s) => [s.sid, s]));
    const parameterArn = (name: string) => `${arn}:ssm:${region}:${account}:parameter${name}`;

    it('should grant exactly these statements', () => {
      expect(statements.map((s) => s.sid)).toEqual([
        'WriteOwnLogs',
        'DecryptOwnEnvironment',
        'DescribeInstances',
        'ReadGitHubApp',
        'RetryBusyRunners',
        'KeepFailedEvents',
        'UseModuleKey',
      ]);
      for (const s of statements) expect(s.effect).toBe('Allow');
    });

    it('should use SQS only on its own retry queue, and only send to its DLQ', () => {
      expect(bySid.RetryBusyRunners).toMatchObject({
        actions: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        resources: [queueArn],
      });
      expect(bySid.KeepFailedEvents).toMatchObject({ actions: ['sqs:SendMessage'], resources: [dlqArn] });
      const sqs = statements.filter((s) => s.actions.some((a) => a.startsWith('sqs:')));
      expect(sqs.map((s) => s.sid)).toEqual(['RetryBusyRunners', 'KeepFailedEvents']);
      for (const s of sqs) expect(s.actions.every((a) => a.startsWith('sqs:'))).toBe(true);
    });

    it('should read the two GitHub App parameters only', () => {
      expect(bySid.ReadGitHubApp).toMatchObject({ actions: ['ssm:GetParameters'], resources: [parameterArn(APP_ID), parameterArn(APP_KEY)] });
      const ssm = statements.filter((s) => s.actions.some((a) => a.startsWith('ssm:')));
      expect(ssm.map((s) => s.sid)).toEqual(['ReadGitHubApp']);
    });

    it('should use the module key, and nothing else', () => {
      expect(bySid.UseModuleKey.actions).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
      for (const s of statements.filter((s) => s.actions.some((a) => a.startsWith('kms:')))) expect(s.resources).toEqual([keyArn]);
    });

    it('should never terminate or launch instances: it only describes them', () => {
      expect(statements.flatMap((s) => s.actions).filter((a) => a.startsWith('ec2:'))).toEqual(['ec2:DescribeInstances']);
      const actions = allStatements(stack).flatMap((s) => s.actions);
      for (const forbidden of ['ec2:TerminateInstances', 'ec2:RunInstances', 'ec2:CreateFleet']) expect(actions).not.toContain(forbidden);
    });

    it('should use the "*" resource only for DescribeInstances, and no wildcard action', () => {
      const wildcard = statements.filter((s) => Array.isArray(s.resources) && s.resources.includes('*'));
      expect(wildcard.map((s) => s.sid)).toEqual(['DescribeInstances']);
      for (const s of statements) expect(s.actions.filter((a) => a.includes('*'))).toEqual([]);
    });
  });

  describe('validation', () => {
    it('should reject a delay and attempts below the range in one error that names each', () => {
      const error = validationError(() => synthWatcher(() => ({ retryDelaySeconds: -1, maxAttempts: 0 })));
      expect(error.construct).toBe('TerminationWatcher');
      expect(error.problems).toEqual(['retryDelaySeconds must be a whole number from 0 to 900, got -1', 'maxAttempts must be a whole number from 1 to 100, got 0']);
    });

    it('should reject a delay and attempts above the range', () => {
      const error = validationError(() => synthWatcher(() => ({ retryDelaySeconds: 901, maxAttempts: 101 })));
      expect(error.problems).toEqual(['retryDelaySeconds must be a whole number from 0 to 900, got 901', 'maxAttempts must be a whole number from 1 to 100, got 101']);
    });

    it('should accept the limits of each range', () => {
      expect(() => synthWatcher(() => ({ retryDelaySeconds: 0, maxAttempts: 1 }))).not.toThrow();
      expect(() => synthWatcher(() => ({ retryDelaySeconds: 900, maxAttempts: 100 }))).not.toThrow();
    });

    // The Lambda reads both as integers (lambdas/termination-watcher/config.ts): a
    // synth that accepted 30.5 would deploy a watcher that fails on every event.
    it('should reject a fractional delay or attempt count, which the Lambda refuses at run time', () => {
      const error = validationError(() => synthWatcher(() => ({ retryDelaySeconds: 30.5, maxAttempts: 2.5 })));
      expect(error.problems).toEqual([expect.stringMatching(/^retryDelaySeconds .*got 30\.5$/), expect.stringMatching(/^maxAttempts .*got 2\.5$/)]);
    });

    it('should leave values that are Terraform expressions to Terraform', () => {
      expect(() =>
        synthWatcher((scope) => ({
          retryDelaySeconds: new TerraformVariable(scope, 'delay', { type: 'number' }).numberValue,
          maxAttempts: new TerraformVariable(scope, 'attempts', { type: 'number' }).numberValue,
        })),
      ).not.toThrow();
    });
  });
});
