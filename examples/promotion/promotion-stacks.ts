/**
 * Dev and prod, fed the same Lambda artifacts. CI publishes the zips of the
 * installed release once (`npx cdktf-github-runners-publish-lambdas`, see
 * workflow.yml), passes on the tfvars JSON it writes, and both environments
 * deploy exactly those object versions. The example reads
 * artifacts.example.json, shaped like that output.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { DEFAULT_RUNNER_LABELS, GitHubRunners, LambdaCode, LambdaCodes, RunnerTypes } from '../../modules';

/** The tfvars JSON the publish command writes (`lambda_s3_bucket`, `<name>_lambda_s3_key`, `<name>_lambda_s3_object_version`). */
export type PublishedArtifacts = Record<string, string>;

export function readArtifacts(path = join(__dirname, 'artifacts.example.json')): PublishedArtifacts {
  return JSON.parse(readFileSync(path, 'utf8')) as PublishedArtifacts;
}

/**
 * Every Lambda of the module: its LambdaCodes key and its bundle, the
 * `lambdas/<name>/` folder (`scale-up` is published as `scale_up_lambda_s3_*`).
 * Typed by LambdaCodes, so a new function there fails the typecheck until it
 * is listed; test/examples/promotion.test.ts checks the bundles against the
 * ones the build discovers.
 */
export const PROMOTED_LAMBDAS: { readonly [K in keyof Required<LambdaCodes>]: string } = {
  webhook: 'webhook',
  scaleUp: 'scale-up',
  scaleDown: 'scale-down',
  terminationWatcher: 'termination-watcher',
  syncer: 'syncer',
  pool: 'pool',
  redelivery: 'redelivery',
  runnerApi: 'runner-api',
};

/** LambdaCode for every function, from the published artifacts: nothing comes from a local build. */
export function codesFrom(artifacts: PublishedArtifacts): Required<LambdaCodes> {
  const code = (bundle: string) => {
    const variable = bundle.replace(/-/g, '_');
    const key = artifacts[`${variable}_lambda_s3_key`];
    const objectVersion = artifacts[`${variable}_lambda_s3_object_version`];
    if (!key || !objectVersion) throw new Error(`artifacts lack ${variable}_lambda_s3_key or ${variable}_lambda_s3_object_version`);
    return LambdaCode.fromS3({ bucket: artifacts.lambda_s3_bucket, key, objectVersion });
  };
  const entries = Object.entries(PROMOTED_LAMBDAS).map(([name, bundle]) => [name, code(bundle)]);
  return Object.fromEntries(entries) as Required<LambdaCodes>;
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
