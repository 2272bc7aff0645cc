/**
 * The plain Terraform module for HCL users: a provider-less, backend-less
 * stack whose inputs are all variables.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { LambdaCode, LambdaS3Location } from '../../modules/shared/lambda-code';
import { REQUIRED_TERRAFORM_VERSION, TerraformModuleStack } from '../../modules/terraform-module/terraform-module-stack';
import { makeBundleDir, Synthesized } from './helpers';

/** The inputs of the README's minimal example (examples/hcl-consumer/main.tf): the only ones without a default. */
const REQUIRED = ['prefix', 'vpc_id', 'subnet_ids', 'github_app_ssm_parameters'];

/**
 * Synthesizes the stack the way `npm run synth` does (App.synth, so the
 * default backend is added before the stack removes it), with the Lambda
 * bundles taken from a temporary folder instead of dist/lambdas.
 */
function synthModule(): Synthesized {
  const bundle = makeBundleDir(['webhook', 'scale-up', 'scale-down', 'termination-watcher', 'syncer', 'pool']);
  const original = LambdaCode.fromBundleOrS3.bind(LambdaCode);
  const spy = jest
    .spyOn(LambdaCode, 'fromBundleOrS3')
    .mockImplementation((name: string, location: LambdaS3Location) => original(name, location, bundle.dir));
  try {
    const app = Testing.app();
    new TerraformModuleStack(app, 'terraform-module');
    app.synth();
    return JSON.parse(readFileSync(join(app.outdir, 'stacks', 'terraform-module', 'cdk.tf.json'), 'utf8')) as Synthesized;
  } finally {
    spy.mockRestore();
  }
}

describe('TerraformModuleStack', () => {
  const stack = synthModule();
  const variables = Object.entries(stack.variable ?? {}) as [string, { type?: string; description?: string; default?: unknown }][];

  describe('terraform block', () => {
    it('should configure no provider, so the consumer does', () => {
      expect(stack.provider).toBeUndefined();
    });

    it('should configure no backend, so the consumer does', () => {
      expect(stack.terraform?.backend).toBeUndefined();
    });

    it('should still require the aws provider', () => {
      expect(stack.terraform?.required_providers?.aws).toMatchObject({ source: expect.stringMatching(/(^|\/)aws$/), version: '>= 5.100.0, < 7.0.0' });
    });

    it('should require Terraform 1.9 or later', () => {
      expect(REQUIRED_TERRAFORM_VERSION).toBe('>= 1.9.0');
      expect(stack.terraform?.required_version).toBe('>= 1.9.0');
    });
  });

  describe('variables', () => {
    it.each(REQUIRED)('should declare %s with a description and a type, and no default', (name) => {
      const variable = stack.variable?.[name];
      expect(variable).toBeDefined();
      expect(variable.description).toEqual(expect.any(String));
      expect(variable.type).toEqual(expect.any(String));
      expect(variable).not.toHaveProperty('default');
    });

    // terraform-aws-github-runner defaults to repository-level runners; we keep
    // its default so its users can switch, and the README example sets it.
    it('should default enable_organization_runners to false, as the reference module does', () => {
      expect(stack.variable?.enable_organization_runners).toMatchObject({ type: 'bool', default: false });
    });

    it('should give every variable a non-empty description and a type', () => {
      expect(variables.length).toBeGreaterThan(REQUIRED.length);
      const incomplete = variables
        .filter(([, v]) => typeof v.description !== 'string' || v.description.trim() === '' || typeof v.type !== 'string' || v.type.trim() === '')
        .map(([name]) => name);
      expect(incomplete).toEqual([]);
    });

    it('should give every other variable a default', () => {
      const optional = variables.filter(([name]) => !REQUIRED.includes(name));
      expect(optional.filter(([, v]) => !('default' in v)).map(([name]) => name)).toEqual([]);
    });

    it('should validate the required inputs at plan time', () => {
      for (const name of REQUIRED) expect(stack.variable?.[name].validation).toEqual(expect.arrayContaining([expect.objectContaining({ condition: expect.stringContaining(`var.${name}`) })]));
    });
  });

  describe('warm pool', () => {
    it('should take pool_runner_owner, null by default, required by Terraform when a type has a pool_config', () => {
      expect(stack.variable?.pool_runner_owner).toMatchObject({ type: 'string', default: null, nullable: true });
      expect(stack.variable?.pool_runner_owner.validation[0].condition).toContain('t.pool_config');
      expect(stack.variable?.runner_types.type).toContain('pool_config');
    });

    it('should create the pool function and one schedule per window of var.runner_types', () => {
      const functions = Object.values(stack.resource?.aws_lambda_function ?? {}) as any[];
      expect(functions.some((f) => String(f.function_name).endsWith('-pool}') || String(f.function_name).endsWith('-pool'))).toBe(true);
      const schedules = Object.values(stack.resource?.aws_scheduler_schedule ?? {}) as any[];
      expect(schedules).toHaveLength(1);
      expect(schedules[0].for_each).toMatch(/pool_windows/);
    });
  });

  describe('alarms', () => {
    it('should take an optional SNS topic for the alarms, null by default and validated', () => {
      expect(stack.variable?.alarm_sns_topic_arn).toMatchObject({ type: 'string', default: null, nullable: true });
      expect(stack.variable?.alarm_sns_topic_arn.validation[0].condition).toContain('var.alarm_sns_topic_arn == null');
    });

    it('should notify that topic from every alarm', () => {
      const alarms = Object.values(stack.resource?.aws_cloudwatch_metric_alarm ?? {}) as any[];
      expect(alarms.length).toBeGreaterThanOrEqual(7);
      for (const alarm of alarms) expect(JSON.stringify(alarm.alarm_actions ?? alarm)).toContain('var.alarm_sns_topic_arn');
    });

    it('should output the dashboard name', () => {
      expect(stack.output?.dashboard_name).toMatchObject({ value: expect.stringContaining('aws_cloudwatch_dashboard.'), description: expect.any(String) });
    });
  });

  describe('outputs', () => {
    it('should output the KMS key ARN and the webhook endpoint, described', () => {
      expect(stack.output?.kms_key_arn).toMatchObject({ value: expect.stringMatching(/^\$\{aws_kms_key\.[^.]+\.arn\}$/), description: expect.any(String) });
      expect(stack.output?.webhook_endpoint).toMatchObject({
        value: expect.stringMatching(/^\$\{aws_apigatewayv2_api\.[^.]+\.api_endpoint\}\/webhook$/),
        description: expect.any(String),
      });
    });
  });

  describe('inputs reach the resources', () => {
    it('should name resources from var.prefix', () => {
      const webhook = Object.values(stack.resource!.aws_lambda_function).find((f: any) => f.function_name === '${var.prefix}-webhook');
      expect(webhook).toBeDefined();
      expect(webhook.environment.variables.WEBHOOK_SECRET_SSM_PARAMETER_NAME).toBe('${var.github_app_ssm_parameters.webhook_secret}');
    });

    it('should drive the per-type resources from var.runner_types', () => {
      expect(Object.values(stack.locals ?? {})).toContain('${var.runner_types}');
    });

    it('should pick the webhook code from S3 when var.lambda_s3_bucket is set, else the shipped zip', () => {
      const webhook = Object.values(stack.resource!.aws_lambda_function).find((f: any) => f.function_name === '${var.prefix}-webhook');
      expect(webhook.s3_bucket).toBe('${var.lambda_s3_bucket}');
      expect(webhook.s3_object_version).toBe('${(var.lambda_s3_bucket == null) ? null : var.webhook_lambda_s3_object_version}');
      expect(webhook.filename).toMatch(/^\$\{\(var\.lambda_s3_bucket == null\) \? format\("%s\/%s", path\.module, "assets\/lambda-bundle-webhook\/.*\/webhook\.zip"\) : null\}$/);
    });
  });
});
