import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverLambdas } from '../../scripts/lib/lambda-bundles';
import { PlanTarget, TerraformCommandError, findPluginDir, planOffline } from '../../scripts/lib/terraform';

/** A root module under fixtures/; planOffline adds the offline provider. */
const fixture = (name: string): PlanTarget => ({ name, dir: join(__dirname, 'fixtures', name), provider: 'add' });

/** Plans `fn` with a scratch plans folder, removed afterwards. */
async function withPlans<T>(fn: (plans: string) => Promise<T>): Promise<T> {
  const plans = mkdtempSync(join(tmpdir(), 'ghr-validation-'));
  try {
    return await fn(plans);
  } finally {
    rmSync(plans, { recursive: true, force: true });
  }
}

/**
 * Plans a fixture that must be refused, and returns the Terraform step that
 * refused it and its output on one line (box-drawing characters and line
 * breaks gone). A fixture that plans fails the test.
 */
async function refusal(name: string): Promise<{ step: string; text: string }> {
  const error = await withPlans((plans) => planOffline(fixture(name), plans, findPluginDir())).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof TerraformCommandError)) throw new Error(`${name}: expected terraform to refuse it, got ${error === undefined ? 'a plan' : String(error)}`);
  return { step: error.step, text: error.output.replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ') };
}

/** How a runner_types rule names its offending types. */
const types = (rule: string, names: string) => `runner_types: ${rule} (runner types: ${names}).`;

/** Issue #10 item 8: bad inputs fail at validate, naming the variable and each offending type. */
describe('module validation at terraform validate', () => {
  it('should name runner_types and each offending type', async () => {
    const { step, text } = await refusal('bad-runner-types');
    expect(step).toBe('validate');
    expect(text).toContain(types('labels needs at least one label, and no label may be empty or only whitespace', 'blank'));
    expect(text).toContain(types('runners_maximum_count must be -1 (no limit) or at least 1', 'zero-cap'));
    expect(text).toContain(types("pool_config size must not exceed the type's runners_maximum_count", 'big-pool'));
    expect(text).toContain(types('names must not end in "-dlq"', 'x-dlq').replace(' (runner types: x-dlq).', ''));
    expect(text).toMatch(/enable_on_demand_failover_for_errors may only list EC2 fleet error codes: [A-Za-z, ]+ \(runner types: failover\)/);
    expect(text).toMatch(/pool_config schedule_expression must be an EventBridge .* \(runner types: (bad-rate, five-cron|five-cron, bad-rate)\)/);
    expect(text).toMatch(/pool_config schedule_expression_timezone must be an IANA time zone name.* \(runner types: bad-zone\)/);
    expect(text).toMatch(/runner_extra_packages may only list dnf package names: .* \(runner types: bad-pkg\)/);
    expect(text).toMatch(/userdata_pre_install and userdata_post_install must each be at most 3072 bytes .* \(runner types: huge-hook\)/);
    expect(text).toContain('scale_down_schedule_expression must be an EventBridge rate(1 minute)');
    // Every message points at the variable in the caller's source, not "line 0".
    expect(text).not.toContain('source code not available');
  }, 120_000);

  /** Issue #16: runner_os, with the settings Windows cannot take; macOS is refused as not built yet. */
  it('should name runner_types and each type with a bad runner_os combination', async () => {
    const { step, text } = await refusal('bad-runner-os');
    expect(step).toBe('validate');
    expect(text).toContain(types('macOS runners (runner_os = "osx") are not supported yet: they need EC2 Mac dedicated hosts, which this module does not manage; use "linux" or "windows"', 'mac'));
    expect(text).toContain(types('runner_os must be one of linux, windows', 'beos'));
    expect(text).toContain(types('runner_os "windows" runs on x64 only: set runner_architecture = "x64"', 'win-arm'));
    expect(text).toContain(types('runner_os "windows" needs volume_size of at least 30 GiB (the Windows Server AMI\'s snapshot size)', 'win-small'));
    expect(text).toMatch(/runner_os "windows" does not take runner_extra_packages, userdata_pre_install or userdata_post_install yet .* \(runner types: win-snippet\)/);
    // The good Linux and Windows types are named by no rule.
    expect(text).not.toMatch(/runner types: [^)]*\b(linux|windows)\b/);
    expect(text).not.toContain('source code not available');
  }, 120_000);

  it('should name the Lambda S3 input that lacks its bucket, or its key, at plan', async () => {
    const { step, text } = await refusal('bad-lambda-s3');
    // Validations that read a second variable run at plan (Terraform >= 1.9).
    expect(step).toBe('plan');
    expect(text).toContain('scale_up_lambda_s3_key is set but lambda_s3_bucket is null: set lambda_s3_bucket too, or unset scale_up_lambda_s3_key.');
    expect(text).toMatch(/in module "key_without_bucket": \d+: scale_up_lambda_s3_key = /);
    // The bucket without keys is a precondition (a variable validation would form a cycle with the keys').
    expect(text).toContain('Resource precondition failed');
    expect(text).toContain('in resource.terraform_data.input_checks');
    const missing = /every Lambda needs its key and object version; missing: ([a-z0-9_, ]+)\./.exec(text)?.[1].split(', ');
    // Every Lambda the build discovers has its pair: a new function without S3 inputs fails here.
    const expected = discoverLambdas(join(__dirname, '..', '..', 'lambdas'))
      .map((name) => name.replace(/-/g, '_'))
      .flatMap((stem) => [`${stem}_lambda_s3_key`, `${stem}_lambda_s3_object_version`]);
    expect(missing?.sort()).toEqual(expected.sort());
    expect(text).toContain('enable_runner_api is true, so runner_api_audience must be set');
    expect(text).not.toContain('source code not available');
  }, 120_000);

  /** Issue #10 item 5: IAM paths, ARNs and egress rules, each message naming its variable. */
  it('should name each bad IAM, KMS and egress input at validate', async () => {
    const { step, text } = await refusal('bad-iam-inputs');
    expect(step).toBe('validate');
    expect(text).toContain('role_path must start and end with "/"');
    expect(text).toContain('role_permissions_boundary must be an IAM policy ARN');
    expect(text).toContain('instance_profile_path must start and end with "/"');
    expect(text).toContain('runner_iam_role_managed_policy_arns must hold IAM policy ARNs');
    expect(text).toContain('not: ReadOnlyAccess.');
    expect(text).toContain('kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>; not an alias) or null.');
    expect(text).toContain('runner_egress_rules: protocol "-1" needs from_port = 0 and to_port = 0 (rules: #0 (all on 443)).');
    expect(text).toContain('runner_extra_labels must hold labels that are not empty or only whitespace and have no comma (config.sh takes them comma-separated).');
    expect(text).toMatch(/in module "runners": \d+: runner_extra_labels = /);
    expect(text).toMatch(/in module "runners": \d+: role_path = "ci\/runners"/);
    expect(text).not.toContain('source code not available');
  }, 120_000);

  it('should stop at plan when runner_egress_rules and runner_security_group_ids are both set, naming both', async () => {
    const { step, text } = await refusal('egress-with-security-groups');
    // The check reads a second variable, so Terraform evaluates it at plan.
    expect(step).toBe('plan');
    const message = 'runner_egress_rules is set but runner_security_group_ids is too';
    expect(text).toContain(`${message}: the rules apply only to the security group the module creates`);
    // Only the module that sets both fails: the caller's groups with the default rules, or rules alone, plan.
    expect(text.split(message)).toHaveLength(2);
    expect(text).toMatch(/in module "both": \d+: runner_egress_rules = /);
    expect(text).not.toContain('module "groups_only"');
    expect(text).not.toContain('module "rules_only"');
    expect(text).not.toContain('source code not available');
  }, 180_000);

  it('should stop at plan when ghes_ssl_verify is false without ghes_url, naming both', async () => {
    const { step, text } = await refusal('ghes-ssl-verify-without-url');
    // The check reads a second variable, so Terraform evaluates it at plan.
    expect(step).toBe('plan');
    const message = 'ghes_ssl_verify is false but ghes_url is null: certificate checks can be turned off only for a GitHub Enterprise Server. Set ghes_url, or leave ghes_ssl_verify true.';
    expect(text).toContain(message);
    // Once, pointing at the caller's ghes_ssl_verify line.
    expect(text.split(message)).toHaveLength(2);
    expect(text).toMatch(/in module "no_url": \d+: ghes_ssl_verify = false/);
    expect(text).not.toContain('source code not available');
  }, 180_000);

  it('should plan ghes_ssl_verify false with ghes_url, rendered as GHES_SSL_VERIFY "false"', async () => {
    await withPlans(async (plans) => {
      const { planJsonPath } = await planOffline(fixture('ghes-ssl-verify-off'), plans, findPluginDir());
      const plan = JSON.parse(readFileSync(planJsonPath, 'utf8')) as { resource_changes: { type: string; change: { after: any } }[] };
      const after = (type: string) => plan.resource_changes.filter((r) => r.type === type).map((r) => r.change.after);
      const fns = after('aws_lambda_function');
      const env = (f: any) => (f.environment?.[0]?.variables ?? {}) as Record<string, string>;
      // Terraform's values where it knows them at plan: the redelivery function's
      // environment holds nothing that waits for apply. The others' also hold
      // queue URLs or the key ARN, so plan shows their environment as unknown
      // (and the user data too: it names the log group and the runner bucket);
      // test/modules/terraform-module.test.ts checks those expressions, and
      // test/modules/runners/user-data.test.ts renders the template as templatefile() does.
      const redelivery = fns.find((f) => f.function_name === 'gh-ghes-webhook-redelivery');
      expect(env(redelivery)).toMatchObject({ GHES_SSL_VERIFY: 'false', GHES_URL: 'https://ghes.example.com' });
      for (const f of fns.filter((f) => env(f).GITHUB_APP_KEY_SSM_PARAMETER_NAME !== undefined)) expect({ fn: f.function_name, verify: env(f).GHES_SSL_VERIFY }).toEqual({ fn: f.function_name, verify: 'false' });
    });
  }, 180_000);

  it('should stop at plan on a KMS key from another region, naming kms_key_arn and both regions', async () => {
    const { step, text } = await refusal('kms-other-region');
    expect(step).toBe('plan');
    expect(text).toContain('Resource precondition failed');
    expect(text).toContain("kms_key_arn must be a key in the module's region (eu-west-1), got one in us-east-1.");
  }, 120_000);
});
