import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { TerraformVariable, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { BYPASS_TAG, ScaleDown, ScaleDownProps } from '../../../modules/runners/scale-down';
import { RunnerConfigs } from '../../../modules/runners/runner-configs';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { allStatements, logicalId, onlyResource, statementsOf, synth, Synthesized, testKey, validationError } from '../helpers';
import { MODULE_VERSION, MODULE_VERSION_TAG } from '../../../modules/shared/version';

Testing.setupJest();

const CODE = LambdaCode.fromS3({ bucket: 'artifacts', key: 'lambdas/scale-down.zip', objectVersion: 'v1' });
const APP_ID = '/gh-ci/github/app-id';
const APP_KEY = '/gh-ci/github/private-key';
const CONFIG_PATH = '/gh-ci/runners/config';

/** A module key and a scale-down, as GitHubRunners wires them; `props` may add variables to the scope. */
function synthScaleDown(props: (scope: Construct) => Partial<ScaleDownProps> = () => ({})) {
  return synth((scope: Construct) => {
    const key = testKey(scope);
    new ScaleDown(scope, 'scale-down', {
      prefix: 'gh-ci',
      key,
      code: CODE,
      lambda: { logLevel: 'info', metricsNamespace: 'GitHubRunners/gh-ci', functionSettings: {} },
      appIdParameterName: APP_ID,
      privateKeyParameterName: APP_KEY,
      runnerConfigs: new RunnerConfigs(CONFIG_PATH, key),
      tags: { team: 'ci' },
      ...props(scope),
    });
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

describe('ScaleDown', () => {
  const { json, stack } = synthScaleDown();
  const functionId = onlyResource(stack, 'aws_lambda_function').id;
  const ruleId = logicalId(stack, 'aws_cloudwatch_event_rule', 'scale-down_schedule_rule');
  const { keyArn, prefix: arn, region, account } = arnParts(stack);

  describe('schedule', () => {
    it('should run every 5 minutes by default, in one rule named <prefix>-scale-down', () => {
      expect(onlyResource(stack, 'aws_cloudwatch_event_rule').config).toEqual({
        name: 'gh-ci-scale-down',
        description: 'Runs scale-down',
        schedule_expression: 'cron(*/5 * * * ? *)',
        tags: { team: 'ci' },
      });
    });

    it('should run on the given schedule expression', () => {
      const { json: custom } = synthScaleDown(() => ({ scheduleExpression: 'rate(15 minutes)' }));
      expect(custom).toHaveResourceWithProperties(CloudwatchEventRule, { name: 'gh-ci-scale-down', schedule_expression: 'rate(15 minutes)' });
    });

    it.each(['every 5 minutes', 'rate(5 minute)', 'cron(*/5 * * * *)', 'cron(*/5 * * * * *)'])('should reject the schedule expression %j (EventBridge: rate unit plural from 2, six cron fields, one "?")', (scheduleExpression) => {
      const error = validationError(() => synthScaleDown(() => ({ scheduleExpression })));
      expect(error.construct).toBe('EventTrigger');
      expect(error.problems).toEqual([`gh-ci-scale-down: scheduleExpression must be rate(1 minute), rate(N minutes|hours|days) or a six-field cron(…) with "?" in day-of-month or day-of-week, got "${scheduleExpression}"`]);
    });

    it('should not retry a failed run, which the next scheduled run would overlap', () => {
      expect(onlyResource(stack, 'aws_lambda_function_event_invoke_config').config).toEqual({
        function_name: `\${aws_lambda_function.${functionId}.function_name}`,
        maximum_retry_attempts: 0,
      });
    });

    it('should target the scale-down function from the rule', () => {
      expect(onlyResource(stack, 'aws_cloudwatch_event_target').config).toEqual({
        rule: `\${aws_cloudwatch_event_rule.${ruleId}.name}`,
        arn: `\${aws_lambda_function.${functionId}.arn}`,
      });
      expect(json).toHaveResourceWithProperties(CloudwatchEventTarget, { arn: `\${aws_lambda_function.${functionId}.arn}` });
    });

    it('should let only this rule invoke the function (CKV_AWS_364)', () => {
      expect(onlyResource(stack, 'aws_lambda_permission').config).toEqual({
        statement_id_prefix: 'eventbridge-',
        action: 'lambda:InvokeFunction',
        function_name: `\${aws_lambda_function.${functionId}.function_name}`,
        principal: 'events.amazonaws.com',
        source_arn: `\${aws_cloudwatch_event_rule.${ruleId}.arn}`,
      });
    });
  });

  describe('function', () => {
    const env = environment(stack);

    it('should be named <prefix>-scale-down, run one at a time for up to 5 minutes', () => {
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        function_name: 'gh-ci-scale-down',
        timeout: 300,
        memory_size: 512,
        reserved_concurrent_executions: 1,
        kms_key_arn: keyArn,
        s3_bucket: 'artifacts',
        s3_key: 'lambdas/scale-down.zip',
        s3_object_version: 'v1',
        tags: { team: 'ci', [MODULE_VERSION_TAG]: MODULE_VERSION },
      });
    });

    it('should get the prefix, the App parameter names, the config path, the bypass tag and the defaults', () => {
      expect(BYPASS_TAG).toBe('ghr:scale-down-bypass');
      expect(env).toEqual({
        PREFIX: 'gh-ci',
        GITHUB_APP_ID_SSM_PARAMETER_NAME: APP_ID,
        GITHUB_APP_KEY_SSM_PARAMETER_NAME: APP_KEY,
        GHES_URL: '',
        GHES_SSL_VERIFY: 'true',
        ENABLE_ORGANIZATION_RUNNERS: 'false',
        MINIMUM_RUNNING_TIME_IN_MINUTES: '5',
        RUNNER_BOOT_TIME_IN_MINUTES: '5',
        SSM_CONFIG_PATH: CONFIG_PATH,
        BYPASS_TAG: 'ghr:scale-down-bypass',
        DRY_RUN: 'false',
        LOG_LEVEL: 'info',
        METRICS_NAMESPACE: 'GitHubRunners/gh-ci',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      });
    });

    it('should pass the given times, GHES URL, certificate check and flags through', () => {
      const { stack: custom } = synthScaleDown(() => ({
        minimumRunningTimeInMinutes: 0,
        runnerBootTimeInMinutes: 60,
        ghesUrl: 'https://github.example.com',
        ghesSslVerify: false,
        enableOrganizationRunners: true,
        dryRun: true,
      }));
      expect(environment(custom)).toMatchObject({
        MINIMUM_RUNNING_TIME_IN_MINUTES: '0',
        RUNNER_BOOT_TIME_IN_MINUTES: '60',
        GHES_URL: 'https://github.example.com',
        GHES_SSL_VERIFY: 'false',
        ENABLE_ORGANIZATION_RUNNERS: 'true',
        DRY_RUN: 'true',
      });
    });

    it('should pass module variables through as Terraform expressions', () => {
      const { json: tokenJson, stack: custom } = synthScaleDown((scope) => ({
        minimumRunningTimeInMinutes: new TerraformVariable(scope, 'minimum', { type: 'number' }).numberValue,
        runnerBootTimeInMinutes: new TerraformVariable(scope, 'boot', { type: 'number' }).numberValue,
        dryRun: new TerraformVariable(scope, 'dry_run', { type: 'bool' }).booleanValue,
        enableOrganizationRunners: new TerraformVariable(scope, 'org', { type: 'bool' }).booleanValue,
        ghesSslVerify: new TerraformVariable(scope, 'ghes_ssl_verify', { type: 'bool' }).booleanValue,
      }));
      expect(tokenJson).not.toContain('TfToken');
      expect(environment(custom)).toMatchObject({
        MINIMUM_RUNNING_TIME_IN_MINUTES: '${var.minimum}',
        RUNNER_BOOT_TIME_IN_MINUTES: '${var.boot}',
        DRY_RUN: '${tostring(var.dry_run)}',
        ENABLE_ORGANIZATION_RUNNERS: '${tostring(var.org)}',
        GHES_SSL_VERIFY: '${tostring(var.ghes_ssl_verify)}',
      });
    });
  });

  describe('grants', () => {
    const statements = statementsOf(stack, 'scale-down_lambda_policy-document');
    const bySid = Object.fromEntries(statements.map((s) => [s.sid, s]));
    const parameterArn = (name: string) => `${arn}:ssm:${region}:${account}:parameter${name}`;

    it('should grant exactly these statements', () => {
      expect(statements.map((s) => s.sid)).toEqual([
        'WriteOwnLogs',
        'DecryptOwnEnvironment',
        'DescribeInstances',
        'TerminateOwnInstances',
        'TagOrphanSightings',
        'ReadGitHubApp',
        'DecryptSecrets',
        'CleanUpRunnerConfigs',
      ]);
      for (const s of statements) expect(s.effect).toBe('Allow');
    });

    it("should terminate only instances tagged with the module's prefix and a runner type", () => {
      expect(bySid.TerminateOwnInstances).toEqual({
        sid: 'TerminateOwnInstances',
        effect: 'Allow',
        actions: ['ec2:TerminateInstances'],
        resources: [`${arn}:ec2:${region}:${account}:instance/*`],
        condition: [
          { test: 'StringEquals', variable: 'ec2:ResourceTag/ghr:prefix', values: ['gh-ci'] },
          { test: 'Null', variable: 'ec2:ResourceTag/ghr:runner-type', values: ['false'] },
        ],
      });
      const terminating = statements.filter((s) => s.actions.includes('ec2:TerminateInstances'));
      expect(terminating.map((s) => s.sid)).toEqual(['TerminateOwnInstances']);
    });

    it('should read the two GitHub App parameters only', () => {
      expect(bySid.ReadGitHubApp.actions).toEqual(['ssm:GetParameters']);
      expect(bySid.ReadGitHubApp.resources).toEqual([parameterArn(APP_ID), parameterArn(APP_KEY)]);
    });

    it('should list and delete runner configs only under the config path', () => {
      expect(bySid.CleanUpRunnerConfigs.actions).toEqual(['ssm:GetParametersByPath', 'ssm:DeleteParameters']);
      expect(bySid.CleanUpRunnerConfigs.resources).toEqual([
        `${arn}:ssm:${region}:${account}:parameter${CONFIG_PATH}`,
        `${arn}:ssm:${region}:${account}:parameter${CONFIG_PATH}/*`,
      ]);
      const ssm = statements.filter((s) => s.actions.some((a) => a.startsWith('ssm:')));
      expect(ssm.map((s) => s.sid)).toEqual(['ReadGitHubApp', 'CleanUpRunnerConfigs']);
    });

    it('should use the module key to decrypt, and nothing else', () => {
      const kms = statements.filter((s) => s.actions.some((a) => a.startsWith('kms:')));
      expect(kms.map((s) => s.sid)).toEqual(['DecryptOwnEnvironment', 'DecryptSecrets']);
      for (const s of kms) expect(s).toMatchObject({ actions: ['kms:Decrypt'], resources: [keyArn] });
    });

    it('should tag only the prefix\'s instances, and only with the orphan-sighting key', () => {
      const tag = statements.find((s) => s.sid === 'TagOrphanSightings');
      expect(tag?.actions).toEqual(['ec2:CreateTags']);
      expect(tag?.condition).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ test: 'StringEquals', variable: 'ec2:ResourceTag/ghr:prefix' }),
          { test: 'ForAllValues:StringEquals', variable: 'aws:TagKeys', values: ['ghr:orphan-seen-at'] },
        ]),
      );
    });

    it('should never launch instances', () => {
      const actions = allStatements(stack).flatMap((s) => s.actions);
      expect(actions).not.toContain('ec2:RunInstances');
      expect(actions).not.toContain('ec2:CreateFleet');
      expect(statements.flatMap((s) => s.actions).filter((a) => a.startsWith('ec2:')).sort()).toEqual([
        'ec2:CreateTags',
        'ec2:DescribeInstances',
        'ec2:TerminateInstances',
      ]);
    });

    it('should use the "*" resource only for DescribeInstances, and no wildcard action', () => {
      const wildcard = statements.filter((s) => Array.isArray(s.resources) && s.resources.includes('*'));
      expect(wildcard).toEqual([{ sid: 'DescribeInstances', effect: 'Allow', actions: ['ec2:DescribeInstances'], resources: ['*'] }]);
      for (const s of statements) expect(s.actions.filter((a) => a.includes('*'))).toEqual([]);
    });
  });

  describe('validation', () => {
    it('should reject times out of range in one error that names each', () => {
      const error = validationError(() => synthScaleDown(() => ({ minimumRunningTimeInMinutes: -1, runnerBootTimeInMinutes: 0 })));
      expect(error.construct).toBe('ScaleDown');
      expect(error.problems).toEqual(['minimumRunningTimeInMinutes must be a whole number from 0 to 1440, got -1', 'runnerBootTimeInMinutes must be a whole number from 1 to 60, got 0']);
    });

    it('should reject times above the maximum', () => {
      const error = validationError(() => synthScaleDown(() => ({ minimumRunningTimeInMinutes: 1441, runnerBootTimeInMinutes: 61 })));
      expect(error.problems).toEqual(['minimumRunningTimeInMinutes must be a whole number from 0 to 1440, got 1441', 'runnerBootTimeInMinutes must be a whole number from 1 to 60, got 61']);
    });

    it('should accept the limits of each range', () => {
      expect(() => synthScaleDown(() => ({ minimumRunningTimeInMinutes: 0, runnerBootTimeInMinutes: 1 }))).not.toThrow();
      expect(() => synthScaleDown(() => ({ minimumRunningTimeInMinutes: 1440, runnerBootTimeInMinutes: 60 }))).not.toThrow();
    });

    // The Lambda reads both times as integers (lambdas/scale-down/config.ts): a
    // synth that accepted 2.5 would deploy a scale-down that fails on every run.
    it('should reject fractional minutes, which the Lambda refuses at run time', () => {
      const error = validationError(() => synthScaleDown(() => ({ minimumRunningTimeInMinutes: 2.5, runnerBootTimeInMinutes: 1.5 })));
      expect(error.problems).toEqual([
        expect.stringMatching(/^minimumRunningTimeInMinutes .*got 2\.5$/),
        expect.stringMatching(/^runnerBootTimeInMinutes .*got 1\.5$/),
      ]);
    });

    it('should leave values that are Terraform expressions to Terraform', () => {
      expect(() =>
        synthScaleDown((scope) => ({
          minimumRunningTimeInMinutes: new TerraformVariable(scope, 'minimum', { type: 'number' }).numberValue,
          runnerBootTimeInMinutes: new TerraformVariable(scope, 'boot', { type: 'number' }).numberValue,
        })),
      ).not.toThrow();
    });
  });
});
