/**
 * The launch permissions scale-up and the warm pool share. EC2 resolves a
 * launch template's `resolve:ssm:` image with the caller's permissions, so both
 * roles must be allowed to read the AMI parameter (terraform-aws-github-runner
 * PR #5016). The ARNs are computed by Terraform; the test evaluates the
 * synthesized expression with `terraform console`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { GitHubRunners } from '../../../modules/github-runners';
import { RunnerTypes } from '../../../modules/runners/runner-types';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { dataSources, makeBundleDir, synth } from '../helpers';

Testing.setupJest();

const bundle = makeBundleDir(['webhook', 'scale-up', 'scale-down', 'termination-watcher', 'syncer', 'pool']);

function synthWith(types: RunnerTypes) {
  return synth((scope) => {
    new GitHubRunners(scope, 'runners', {
      prefix: 'gh-ci',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0'],
      githubApp: { appId: '/gh-ci/github/app-id', privateKey: '/gh-ci/github/private-key', webhookSecret: '/gh-ci/github/webhook-secret' },
      poolRunnerOwner: 'octo-org',
      runnerTypes: types,
      lambdaCode: Object.fromEntries(['webhook', 'scaleUp', 'scaleDown', 'terminationWatcher', 'syncer', 'pool'].map((k) => [k, LambdaCode.fromBundle(k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), bundle.dir)])),
    });
  }).stack;
}

const POOL = [{ size: 1, scheduleExpression: 'cron(0/5 8-18 ? * MON-FRI *)' }];

/** The ReadAmiParameter statement of the policy document whose id contains `owner`. */
function amiStatement(stack: ReturnType<typeof synthWith>, owner: string) {
  const [, doc] = Object.entries(dataSources(stack, 'aws_iam_policy_document')).find(([id]) => id.includes(owner) && id.includes('policy-document'))!;
  return ((doc as any).statement as any[]).find((s) => s.sid === 'ReadAmiParameter');
}

/** Evaluates the synthesized per-type ARN map for `types`, in partition aws, region eu-west-1, account 123456789012. */
function evaluateArns(stack: ReturnType<typeof synthWith>, types: Record<string, { ami_id_ssm_parameter_name: string | null; runner_os: string; runner_architecture: string }>) {
  const [, expression] = Object.entries(stack.locals ?? {}).find(([id]) => id.includes('ami_parameter_arns'))! as [string, string];
  const hcl = expression
    .replace(/^\$\{/, '')
    .replace(/\}$/, '')
    .replace(/local\.[A-Za-z0-9_]*runner_types[A-Za-z0-9_]*/g, 'var.types')
    .replace(/\$\{element\(split\(":", aws_kms_key\.[^.]+\.arn\), 1\)\}/g, 'aws')
    .replace(/\$\{element\(split\(":", aws_kms_key\.[^.]+\.arn\), 4\)\}/g, '123456789012')
    .replace(/\$\{data\.aws_region\.[^.]+\.name\}/g, 'eu-west-1')
    .replace(/var\.types/g, JSON.stringify(types).replace(/"([a-z_0-9-]+)":/g, '"$1" = '));
  const result = spawnSync('terraform', ['console'], {
    cwd: mkdtempSync(join(tmpdir(), 'ami-arns-')),
    encoding: 'utf8',
    input: `jsonencode(${hcl})\n`,
    env: { ...process.env, CHECKPOINT_DISABLE: '1' },
  });
  if (result.error) throw new Error(`terraform is required to evaluate the ARN expression: ${result.error.message}`);
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  return JSON.parse(JSON.parse(result.stdout.trim())) as Record<string, string>;
}

describe('launch permissions: the AMI parameter', () => {
  const stack = synthWith(
    RunnerTypes.fromList([
      { name: 'default', labels: ['linux'], poolConfig: POOL },
      { name: 'custom', labels: ['custom'], amiIdSsmParameterName: '/team/runner-ami' },
    ]),
  );

  it('should let every scale-up role read its own type\'s AMI parameter (GetParameter and GetParameters)', () => {
    const statement = amiStatement(stack, 'scale-up');
    expect(statement.actions).toEqual(['ssm:GetParameter', 'ssm:GetParameters']);
    expect(statement.resources).toEqual([expect.stringMatching(/^\$\{local\.\S*ami_parameter_arns\S*\[each\.key\]\}$/)]);
  });

  it('should give the warm pool role no AMI parameter: it launches nothing, scale-up runs its top-ups (issue #11 item 5)', () => {
    expect(amiStatement(stack, 'pool')).toBeUndefined();
  });

  it('should compute public ARNs without an account for the defaults, and account ARNs for custom names, with or without "/", or an ARN as given', () => {
    const arns = evaluateArns(stack, {
      x64: { ami_id_ssm_parameter_name: null, runner_os: 'linux', runner_architecture: 'x64' },
      arm: { ami_id_ssm_parameter_name: null, runner_os: 'linux', runner_architecture: 'arm64' },
      win: { ami_id_ssm_parameter_name: null, runner_os: 'windows', runner_architecture: 'x64' },
      wincustom: { ami_id_ssm_parameter_name: '/team/windows-ami', runner_os: 'windows', runner_architecture: 'x64' },
      slash: { ami_id_ssm_parameter_name: '/team/runner-ami', runner_os: 'linux', runner_architecture: 'x64' },
      bare: { ami_id_ssm_parameter_name: 'runner-ami', runner_os: 'linux', runner_architecture: 'x64' },
      arn: { ami_id_ssm_parameter_name: 'arn:aws:ssm:eu-west-1:210987654321:parameter/shared/ami', runner_os: 'linux', runner_architecture: 'x64' },
    });
    expect(arns).toEqual({
      x64: 'arn:aws:ssm:eu-west-1::parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
      arm: 'arn:aws:ssm:eu-west-1::parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
      // The Windows default is a public parameter too: launching with it needs ssm:GetParameter on this ARN (PITFALLS, resolve:ssm).
      win: 'arn:aws:ssm:eu-west-1::parameter/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base',
      wincustom: 'arn:aws:ssm:eu-west-1:123456789012:parameter/team/windows-ami',
      slash: 'arn:aws:ssm:eu-west-1:123456789012:parameter/team/runner-ami',
      bare: 'arn:aws:ssm:eu-west-1:123456789012:parameter/runner-ami',
      arn: 'arn:aws:ssm:eu-west-1:210987654321:parameter/shared/ami',
    });
  });
});
