/**
 * Dev and prod, fed the same Lambda artifacts. CI publishes the zips once
 * (`npm run publish-lambdas`), commits or passes on the tfvars JSON it prints,
 * and both environments deploy exactly those object versions. The example
 * reads artifacts.example.json, shaped like that output.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { DEFAULT_RUNNER_LABELS, GitHubRunners, LambdaCode, LambdaCodes, RunnerTypes } from '../../modules';

/** The tfvars JSON `npm run publish-lambdas` prints. */
export type PublishedArtifacts = Record<string, string>;

export function readArtifacts(path = join(__dirname, 'artifacts.example.json')): PublishedArtifacts {
  return JSON.parse(readFileSync(path, 'utf8')) as PublishedArtifacts;
}

/** LambdaCode for every function, from the published artifacts. */
export function codesFrom(artifacts: PublishedArtifacts): LambdaCodes {
  const code = (variable: string) => {
    const key = artifacts[`${variable}_lambda_s3_key`];
    const objectVersion = artifacts[`${variable}_lambda_s3_object_version`];
    if (!key || !objectVersion) throw new Error(`artifacts lack ${variable}_lambda_s3_key or ${variable}_lambda_s3_object_version`);
    return LambdaCode.fromS3({ bucket: artifacts.lambda_s3_bucket, key, objectVersion });
  };
  return {
    webhook: code('webhook'),
    scaleUp: code('scale_up'),
    scaleDown: code('scale_down'),
    terminationWatcher: code('termination_watcher'),
    syncer: code('syncer'),
    pool: code('pool'),
  };
}

export interface EnvironmentProps {
  readonly environment: 'dev' | 'prod';
  readonly region: string;
  readonly artifacts: PublishedArtifacts;
  readonly runnersMaximumCount: number;
}

export class PromotionEnvironmentStack extends TerraformStack {
  constructor(scope: Construct, id: string, props: EnvironmentProps) {
    super(scope, id);
    new AwsProvider(this, 'aws', { region: props.region });
    const parameters = `/ops/github/runner/${props.environment}`;
    const runners = new GitHubRunners(this, 'runners', {
      prefix: `gh-${props.environment}`,
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      enableOrganizationRunners: true,
      githubApp: { appId: `${parameters}/app-id`, privateKey: `${parameters}/private-key`, webhookSecret: `${parameters}/webhook-secret` },
      runnerTypes: RunnerTypes.fromList([{ name: 'default', labels: DEFAULT_RUNNER_LABELS, runnersMaximumCount: props.runnersMaximumCount }]),
      lambdaCode: codesFrom(props.artifacts),
      tags: { project: 'github-runners', environment: props.environment },
    });
    new TerraformOutput(this, 'webhook_endpoint', { value: runners.webhook.endpoint });
  }
}
