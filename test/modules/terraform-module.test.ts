/**
 * The plain Terraform module for HCL users: a provider-less, backend-less
 * stack whose inputs are all variables.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  const bundle = makeBundleDir(['webhook', 'scale-up', 'scale-down', 'termination-watcher', 'syncer', 'pool', 'redelivery', 'runner-api']);
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
      expect(stack.variable?.runner_types.validation.map((v: { condition: string }) => v.condition).join('\n')).toContain('var.pool_runner_owner != null');
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
      // The module's key unless kms_key_arn brings one (then the key's count is 0).
      expect(stack.output?.kms_key_arn).toMatchObject({
        value: expect.stringMatching(/^\$\{\(var\.kms_key_arn == null\) \? aws_kms_key\.[^.]+\[0\]\.arn : var\.kms_key_arn\}$/),
        description: expect.any(String),
      });
      expect(Object.values(stack.resource!.aws_kms_key)[0]).toMatchObject({ count: '${(var.kms_key_arn == null) ? 1 : 0}' });
      expect(stack.output?.webhook_endpoint).toMatchObject({
        value: expect.stringMatching(/^\$\{aws_apigatewayv2_api\.[^.]+\.api_endpoint\}\/webhook$/),
        description: expect.any(String),
      });
    });
  });

  describe('outputs for grants and alarms (issue #10 item 5)', () => {
    it('should output the runner role, the instance profile, the runner security group and the job queues, described', () => {
      const out = stack.output ?? {};
      expect(out.runner_role_name).toMatchObject({ value: expect.stringMatching(/^\$\{aws_iam_role\.[^.]+\.name\}$/), description: expect.any(String) });
      expect(out.runner_role_arn).toMatchObject({ value: expect.stringMatching(/^\$\{aws_iam_role\.[^.]+\.arn\}$/) });
      expect(out.runner_instance_profile_name).toMatchObject({ value: expect.stringMatching(/^\$\{aws_iam_instance_profile\.[^.]+\.name\}$/) });
      expect(out.runner_instance_profile_arn).toMatchObject({ value: expect.stringMatching(/^\$\{aws_iam_instance_profile\.[^.]+\.arn\}$/) });
      // null when the caller brings security groups (the group's count is 0).
      expect(out.runner_security_group_id).toMatchObject({ value: expect.stringMatching(/^\$\{one\(aws_security_group\.[^.]+\[\*\]\.id\)\}$/) });
      expect(out.job_queues).toMatchObject({ value: expect.stringMatching(/^\$\{\{ for k, q in aws_sqs_queue\.[^ ]+_queue_[^ ]+ : k => \{ name = q\.name, arn = q\.arn, url = q\.url \} \}\}$/) });
      expect(out.job_dead_letter_queues).toMatchObject({ value: expect.stringMatching(/aws_sqs_queue\.[^ ]+_dlq_/) });
    });
  });

  describe('inputs reach the resources', () => {
    it('should name resources from var.prefix', () => {
      const webhook = Object.values(stack.resource!.aws_lambda_function).find((f: any) => f.function_name === '${var.prefix}-webhook');
      expect(webhook).toBeDefined();
      expect(webhook.environment.variables.WEBHOOK_SECRET_SSM_PARAMETER_NAME).toBe('${var.github_app_ssm_parameters.webhook_secret}');
    });

    /** Issue #10 item 5: ghes_ssl_verify reaches every function that signs in to GitHub as the App, and the runners. */
    it('should give var.ghes_ssl_verify to every function that calls GitHub and to the runner user data', () => {
      const fns = Object.values(stack.resource!.aws_lambda_function) as any[];
      const callers = fns.filter((f) => f.environment.variables.GITHUB_APP_KEY_SSM_PARAMETER_NAME !== undefined);
      expect(callers.map((f) => f.function_name).sort()).toEqual(
        ['${var.prefix}-pool', '${var.prefix}-scale-down', '${var.prefix}-scale-up_${each.key}', '${var.prefix}-termination-watcher', '${var.prefix}-webhook-redelivery', '${var.prefix}-runner-api'].sort(),
      );
      for (const f of callers) expect({ fn: f.function_name, verify: f.environment.variables.GHES_SSL_VERIFY }).toEqual({ fn: f.function_name, verify: '${tostring(var.ghes_ssl_verify)}' });
      for (const t of Object.values(stack.resource!.aws_launch_template) as any[]) expect(t.user_data).toContain('"ghes_ssl_verify" = var.ghes_ssl_verify');
    });

    it('should drive the per-type resources from var.runner_types', () => {
      expect(Object.values(stack.locals ?? {})).toContain('${var.runner_types}');
    });

    it('should pick the webhook code from S3 when var.lambda_s3_bucket is set, else the shipped zip', () => {
      const webhook = Object.values(stack.resource!.aws_lambda_function).find((f: any) => f.function_name === '${var.prefix}-webhook');
      const partial = '((var.lambda_s3_bucket == null) || ((var.webhook_lambda_s3_key == null) || (var.webhook_lambda_s3_object_version == null)))';
      expect(webhook.s3_bucket).toBe(`\${${partial} ? null : var.lambda_s3_bucket}`);
      expect(webhook.s3_object_version).toBe(`\${${partial} ? null : var.webhook_lambda_s3_object_version}`);
      expect(webhook.filename.startsWith(`\${${partial} ? format("%s/%s", path.module, "assets/lambda-bundle-webhook/`)).toBe(true);
      expect(webhook.filename).toMatch(/\/webhook\.zip"\) : null\}$/);
    });
  });

  describe('variable validation by terraform plan', () => {
    const REQUIRED_VALUES = {
      prefix: 'gh-ci',
      vpc_id: 'vpc-0123',
      subnet_ids: ['subnet-0123'],
      github_app_ssm_parameters: { app_id: '/gh/app-id', private_key: '/gh/key', webhook_secret: '/gh/secret' },
    };

    /**
     * Runs `terraform plan` on the module's variable blocks alone (no resources,
     * so no providers or init), with `values` as the tfvars: Terraform evaluates
     * every validation and reports each failure. Returns the exit code and the
     * error messages, whitespace collapsed.
     */
    function planVariables(values: Record<string, unknown>): { status: number | null; errors: string } {
      const dir = mkdtempSync(join(tmpdir(), 'module-vars-'));
      writeFileSync(join(dir, 'variables.tf.json'), JSON.stringify({ terraform: { required_version: stack.terraform?.required_version }, variable: stack.variable }));
      writeFileSync(join(dir, 'bad.tfvars.json'), JSON.stringify({ ...REQUIRED_VALUES, ...values }));
      const result = spawnSync('terraform', ['plan', '-input=false', '-no-color', '-lock=false', '-var-file=bad.tfvars.json'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' },
      });
      if (result.error) throw new Error(`terraform is required to check the variable validations: ${result.error.message}`);
      return { status: result.status, errors: result.stderr.replace(/^.*?does not exist\.\s*/s, '').replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ') };
    }

    const pool = (overrides: Record<string, unknown>) => [{ size: 1, schedule_expression: 'cron(0/5 8-18 ? * MON-FRI *)', ...overrides }];

    it('should accept good values, including every schedule form and an IANA time zone', () => {
      const result = planVariables({
        pool_runner_owner: 'my-org',
        lambda_s3_bucket: 'lambdas',
        ...Object.fromEntries(['webhook', 'scale_up', 'scale_down', 'termination_watcher', 'syncer', 'pool', 'redelivery', 'runner_api'].flatMap((n) => [[`${n}_lambda_s3_key`, `${n}.zip`], [`${n}_lambda_s3_object_version`, 'v1']])),
        scale_down_schedule_expression: 'rate(1 minute)',
        runner_binaries_syncer_schedule_expression: 'rate(15 minutes)',
        runner_types: {
          a: { labels: ['linux'], enable_on_demand_failover_for_errors: ['InsufficientInstanceCapacity'], runners_maximum_count: 2, pool_config: pool({ size: 2, schedule_expression_timezone: 'Europe/Amsterdam' }) },
          b: { labels: ['arm'], runners_maximum_count: -1, pool_config: pool({ size: 10, schedule_expression: 'cron(0 8 1 * ? *)', schedule_expression_timezone: 'America/Argentina/Salta' }) },
        },
      });
      expect(result).toEqual({ status: 0, errors: expect.not.stringContaining('Error') });
    });

    it('should reject bad runner types at plan time, naming the variable and each offending type', () => {
      const { status, errors } = planVariables({
        pool_runner_owner: 'my-org',
        runner_types: {
          blank: { labels: ['linux', ' \t'] },
          'x-dlq': { labels: ['dlq'] },
          failover: { labels: ['f'], enable_on_demand_failover_for_errors: ['InsufficientInstanceCapacity', 'NoSuchError'] },
          bigpool: { labels: ['p'], runners_maximum_count: 2, pool_config: pool({ size: 3 }) },
          ratetypo: { labels: ['r'], pool_config: pool({ schedule_expression: 'rate(1 minutes)' }) },
          cron5: { labels: ['c'], pool_config: pool({ schedule_expression: 'cron(0/5 8-18 * MON-FRI *)' }) },
          noqm: { labels: ['q'], pool_config: pool({ schedule_expression: 'cron(0 8 * * MON-FRI *)' }) },
          tz: { labels: ['t'], pool_config: pool({ schedule_expression_timezone: 'CET!' }) },
          bound: { labels: ['linux', 'GHR-RUN-9'] },
          unbound: { labels: ['linux', 'ghr-run-x'] },
        },
        runner_extra_labels: ['ghr-run-12'],
      });
      expect(status).not.toBe(0);
      expect(errors).toContain('runner_types: labels needs at least one label, and no label may be empty or only whitespace (runner types: blank).');
      expect(errors).toContain('runner_types: names must not end in "-dlq"');
      expect(errors).toMatch(/must not end in "-dlq".*\(runner types: x-dlq\)/);
      expect(errors).toMatch(/enable_on_demand_failover_for_errors may only list EC2 fleet error codes: InsufficientInstanceCapacity, .*\(runner types: failover\)/);
      expect(errors).toContain("pool_config size must not exceed the type's runners_maximum_count (runner types: bigpool).");
      expect(errors).toMatch(/pool_config schedule_expression must be an EventBridge .* \(runner types: cron5, noqm, ratetypo\)/);
      expect(errors).toContain('pool_config schedule_expression_timezone must be an IANA time zone name: UTC or Area/Location, e.g. Europe/Amsterdam (runner types: tz).');
      expect(errors).toMatch(/runner_types: labels must not have the run-label form ghr-run-<digits>: .* \(runner types: bound\)\./);
      expect(errors).toContain('runner_extra_labels must not hold a label of the run-label form ghr-run-<digits>');
    });

    it('should reject S3 keys or versions without the bucket, the bucket without keys, and bad schedules of scale-down and the syncer', () => {
      const withoutBucket = planVariables({ scale_down_lambda_s3_key: 'scale-down.zip', pool_lambda_s3_object_version: 'v1', scale_down_schedule_expression: 'rate(5 minute)', runner_binaries_syncer_schedule_expression: 'cron(27 * * * * *)' });
      expect(withoutBucket.status).not.toBe(0);
      expect(withoutBucket.errors).toContain('scale_down_lambda_s3_key is set but lambda_s3_bucket is null: set lambda_s3_bucket too, or unset scale_down_lambda_s3_key.');
      expect(withoutBucket.errors).toContain('pool_lambda_s3_object_version is set but lambda_s3_bucket is null');
      expect(withoutBucket.errors).toContain('scale_down_schedule_expression must be an EventBridge rate(1 minute)');
      expect(withoutBucket.errors).toContain('runner_binaries_syncer_schedule_expression must be an EventBridge rate(1 minute)');
      expect(withoutBucket.errors).not.toContain('webhook_lambda_s3_key');
      // The bucket without keys is a precondition on terraform_data.input_checks (a validation
      // would form a cycle with the keys'): test/scripts/module-validation.test.ts plans it.
    });

    it('should reject a bad webhook redelivery schedule or look-back window, and accept good ones', () => {
      const bad = planVariables({ webhook_redelivery_schedule_expression: 'rate(5 minute)', webhook_redelivery_lookback_minutes: 4 });
      expect(bad.status).not.toBe(0);
      expect(bad.errors).toContain('webhook_redelivery_schedule_expression must be an EventBridge rate(1 minute)');
      expect(bad.errors).toContain('webhook_redelivery_lookback_minutes must be a whole number from 5 to 4320.');
      const good = planVariables({ enable_webhook_redelivery: false, webhook_redelivery_schedule_expression: 'rate(10 minutes)', webhook_redelivery_lookback_minutes: 4320 });
      expect(good).toEqual({ status: 0, errors: expect.not.stringContaining('Error') });
    });

    it('should reject a bad runner API timeout or issuer, and take good ones (issue #15)', () => {
      const bad = planVariables({ runner_api_default_timeout_minutes: 0, runner_api_oidc_issuer: 'http://issuer', runner_api_audience: 'a b' });
      expect(bad.status).not.toBe(0);
      expect(bad.errors).toContain('runner_api_default_timeout_minutes must be a whole number from 1 to 1440.');
      expect(bad.errors).toContain('runner_api_oidc_issuer must be an https URL');
      expect(bad.errors).toContain('runner_api_audience must not contain spaces.');
      const good = planVariables({ enable_runner_api: true, runner_api_audience: 'https://runners.example.com', runner_api_default_timeout_minutes: 1440, runner_api_oidc_issuer: 'https://ghes.example.com/_services/token' });
      expect(good).toEqual({ status: 0, errors: expect.not.stringContaining('Error') });
      expect(stack.variable?.enable_runner_api.default).toBe(false);
    });

    it('should refuse runner-API labels in runner types and runner_extra_labels', () => {
      const bad = planVariables({ runner_types: { api: { labels: ['linux', 'GHR-API-1-1-0'] } }, runner_extra_labels: ['ghr-api-12-3-4'] });
      expect(bad.status).not.toBe(0);
      expect(bad.errors).toMatch(/runner_types: labels must not have the runner-API form ghr-api-<run id>-<attempt>-<index>: .* \(runner types: api\)\./);
      expect(bad.errors).toContain('runner_extra_labels must not hold a label of the runner-API form');
    });

    it('should reject a stranded-job threshold outside 1 to 1440 whole minutes at plan, and take the bounds', () => {
      for (const bad of [0, 1441, 2.5]) {
        const result = planVariables({ job_stranded_alarm_minutes: bad });
        expect(result.status).not.toBe(0);
        expect(result.errors).toContain('job_stranded_alarm_minutes must be a whole number from 1 to 1440.');
      }
      for (const good of [1, 1440]) expect(planVariables({ job_stranded_alarm_minutes: good })).toEqual({ status: 0, errors: expect.not.stringContaining('Error') });
      expect(stack.variable?.job_stranded_alarm_minutes.default).toBe(30);
    });

    it('should reject a scale-up timeout too short to launch, and take the shortest that can', () => {
      const short = planVariables({ runners_scale_up_lambda_timeout: 9 });
      expect(short.status).not.toBe(0);
      expect(short.errors).toContain('runners_scale_up_lambda_timeout must be 10 to 60 seconds.');
      expect(planVariables({ runners_scale_up_lambda_timeout: 10 })).toEqual({ status: 0, errors: expect.not.stringContaining('Error') });
    });

    const ENTERPRISE = {
      role_path: '/ci/github-runners/',
      role_permissions_boundary: 'arn:aws:iam::123456789012:policy/ci/boundary',
      instance_profile_path: '/',
      runner_iam_role_managed_policy_arns: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess', 'arn:aws-us-gov:iam::123456789012:policy/deploy'],
      enable_ssm_on_runners: true,
      runner_egress_rules: [
        { protocol: 'tcp', from_port: 443, to_port: 443, cidr_blocks: ['0.0.0.0/0'] },
        { protocol: '-1', from_port: 0, to_port: 0, self: true, description: 'peers' },
        { protocol: 'icmp', from_port: -1, to_port: -1, prefix_list_ids: ['pl-123'] },
        { protocol: '17', from_port: 53, to_port: 53, security_groups: ['sg-123'] },
        { cidr_blocks: ['10.0.0.0/8'], ipv6_cidr_blocks: null, prefix_list_ids: null, from_port: 0, protocol: '-1', security_groups: null, self: null, to_port: 0, description: null },
      ],
    };

    it('should accept IAM paths, a boundary, policy ARNs and egress rules, including the reference module\'s full rule objects', () => {
      expect(planVariables(ENTERPRISE)).toEqual({ status: 0, errors: expect.not.stringContaining('Error') });
    });

    it('should default ghes_ssl_verify to true, and refuse false without ghes_url, naming both', () => {
      expect(stack.variable?.ghes_ssl_verify).toMatchObject({ type: 'bool', default: true });
      expect(planVariables({ ghes_url: 'https://ghes.example.com', ghes_ssl_verify: false })).toEqual({ status: 0, errors: expect.not.stringContaining('Error') });
      const { status, errors } = planVariables({ ghes_ssl_verify: false });
      expect(status).not.toBe(0);
      expect(errors).toContain('ghes_ssl_verify is false but ghes_url is null: certificate checks can be turned off only for a GitHub Enterprise Server. Set ghes_url, or leave ghes_ssl_verify true.');
    });

    it('should take a KMS key ARN, and reject an alias or anything else, naming kms_key_arn', () => {
      expect(planVariables({ kms_key_arn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' })).toEqual({ status: 0, errors: expect.not.stringContaining('Error') });
      for (const bad of ['arn:aws:kms:eu-west-1:123456789012:alias/ci', '1234abcd-12ab-34cd-56ef-1234567890ab']) {
        const { status, errors } = planVariables({ kms_key_arn: bad });
        expect(status).not.toBe(0);
        expect(errors).toContain('kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>; not an alias) or null.');
      }
    });

    it('should reject bad IAM paths, boundary and policy ARNs, naming each variable', () => {
      const { status, errors } = planVariables({
        role_path: 'ci/',
        role_permissions_boundary: 'arn:aws:iam::123456789012:role/not-a-policy',
        instance_profile_path: '/ci',
        runner_iam_role_managed_policy_arns: ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'AmazonS3ReadOnlyAccess'],
      });
      expect(status).not.toBe(0);
      expect(errors).toContain('role_path must start and end with "/" (e.g. /ci/runners/)');
      expect(errors).toContain('role_permissions_boundary must be an IAM policy ARN (arn:aws:iam::<account>:policy/<name>) or null.');
      expect(errors).toContain('instance_profile_path must start and end with "/" (e.g. /ci/runners/)');
      expect(errors).toMatch(/runner_iam_role_managed_policy_arns must hold IAM policy ARNs .*; not: AmazonS3ReadOnlyAccess\./);
    });

    it('should reject egress rules with a bad protocol, ports or no destination, naming the variable and each rule', () => {
      const { status, errors } = planVariables({
        runner_egress_rules: [
          { protocol: 'tcpx', from_port: 443, to_port: 443, cidr_blocks: ['0.0.0.0/0'], description: 'typo' },
          { protocol: '-1', from_port: 443, to_port: 443, cidr_blocks: ['0.0.0.0/0'] },
          { protocol: 'tcp', from_port: 443, to_port: 80, cidr_blocks: ['0.0.0.0/0'], description: 'reversed' },
          { protocol: 'udp', from_port: 0, to_port: 70000, cidr_blocks: ['0.0.0.0/0'], description: 'too high' },
          { protocol: 'tcp', from_port: 443, to_port: 443, description: 'nowhere' },
          { protocol: 'icmp', from_port: 300, to_port: 0, cidr_blocks: ['0.0.0.0/0'] },
        ],
      });
      expect(status).not.toBe(0);
      expect(errors).toContain('runner_egress_rules: protocol must be "-1" (all), tcp, udp, icmp, icmpv6 or a protocol number 0 to 255 (rules: #0 (typo)).');
      expect(errors).toContain('runner_egress_rules: protocol "-1" needs from_port = 0 and to_port = 0 (rules: #1).');
      expect(errors).toContain('runner_egress_rules: tcp and udp ports must be 0 to 65535 with from_port <= to_port (rules: #2 (reversed), #3 (too high)).');
      expect(errors).toContain('runner_egress_rules: every rule needs a destination: cidr_blocks, ipv6_cidr_blocks, prefix_list_ids, security_groups or self (rules: #4 (nowhere)).');
      expect(errors).toContain('runner_egress_rules: icmp from_port (type) and to_port (code) must be -1 to 255 (rules: #5).');
    });

    it('should name runner_types and the pooled types when pool_runner_owner is missing', () => {
      const { status, errors } = planVariables({ runner_types: { a: { labels: ['linux'] }, warm: { labels: ['w'], pool_config: pool({ size: 1 }) } } });
      expect(status).not.toBe(0);
      expect(errors.replace(/\s+/g, ' ')).toContain('runner_types: a pool_config needs pool_runner_owner (where pool runners register); set pool_runner_owner, or remove the pools (runner types: warm).');
    });
  });
});
