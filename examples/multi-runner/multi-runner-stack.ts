/**
 * Three runner types: x64 on spot (falling back to on-demand) with a warm
 * pool of two idle runners during Amsterdam working hours, arm64 on spot, and
 * a large on-demand type that only serves jobs asking for exactly its labels,
 * and a Windows Server 2022 type (x64, PowerShell user data, the syncer's
 * win-x64 runner zip).
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { GitHubRunners, RunnerTypes } from '../../modules';

export class MultiRunnerExampleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AwsProvider(this, 'aws', { region: 'eu-west-1' });
    const runners = new GitHubRunners(this, 'runners', {
      prefix: 'gh-multi',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210', 'subnet-0a1b2c3d4e5f60718'],
      enableOrganizationRunners: true,
      poolRunnerOwner: 'acme',
      githubApp: {
        appId: '/gh-multi/github/app-id',
        privateKey: '/gh-multi/github/private-key',
        webhookSecret: '/gh-multi/github/webhook-secret',
      },
      runnerTypes: RunnerTypes.fromList([
        {
          name: 'x64',
          labels: ['self-hosted', 'linux', 'x64'],
          instanceTypes: ['m7i.large', 'm6i.large', 'm6a.large', 'm5.large'],
          runnersMaximumCount: 50,
          enableOnDemandFailoverForErrors: ['InsufficientInstanceCapacity', 'MaxSpotInstanceCountExceeded'],
          poolConfig: [{ size: 2, scheduleExpression: 'cron(*/10 8-18 ? * MON-FRI *)', scheduleExpressionTimezone: 'Europe/Amsterdam' }],
        },
        {
          name: 'arm64',
          labels: ['self-hosted', 'linux', 'arm64'],
          runnerArchitecture: 'arm64',
          instanceTypes: ['m7g.large', 'm6g.large', 'c7g.large'],
          runnersMaximumCount: 30,
        },
        {
          name: 'large',
          labels: ['self-hosted', 'linux', 'x64', 'large'],
          exactMatch: true,
          // Checked before x64, whose labels are a subset of these.
          priority: -1,
          instanceTypes: ['m7i.4xlarge', 'm6i.4xlarge'],
          instanceTargetCapacityType: 'on-demand',
          runnersMaximumCount: 5,
          volumeSize: 200,
        },
        {
          name: 'windows',
          labels: ['self-hosted', 'windows', 'x64'],
          runnerOs: 'windows',
          // Windows boots slower than Linux and is billed with its licence: on-demand, a small cap.
          instanceTypes: ['m7i.xlarge', 'm6i.xlarge'],
          instanceTargetCapacityType: 'on-demand',
          runnersMaximumCount: 5,
          volumeSize: 60,
        },
      ]),
      // Idle pool runners live this long before scale-down removes them; well
      // above the pool's 10-minute tick, so the pool is not rebuilt every tick.
      scaleDown: { minimumRunningTimeInMinutes: 30 },
      tags: { project: 'github-runners', environment: 'example' },
    });
    new TerraformOutput(this, 'webhook_endpoint', { value: runners.webhook.endpoint });
  }
}
