/**
 * GitHub Enterprise Server, repository-level runners, jobs accepted only from
 * an allow list of repositories, Lambdas inside the VPC (GHES is usually
 * private), and JIT configs replaced by registration tokens for an older GHES.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { GitHubRunners } from '../../modules';

export class GhesExampleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AwsProvider(this, 'aws', { region: 'eu-central-1' });
    const runners = new GitHubRunners(this, 'runners', {
      prefix: 'ghes-ci',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      enableOrganizationRunners: false,
      githubApp: {
        appId: '/ops/github/runner/ghes/app-id',
        privateKey: '/ops/github/runner/ghes/private-key',
        webhookSecret: '/ops/github/runner/ghes/webhook-secret',
      },
      repositoryAllowList: ['platform/infrastructure', 'platform/services'],
      scaleUp: { ghesUrl: 'https://github.example.com', enableJitConfig: false, enableJobQueuedCheck: true },
      lambda: {
        vpc: { subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'], securityGroupIds: ['sg-0123456789abcdef0'] },
      },
      tags: { project: 'github-runners', environment: 'ghes-example' },
    });
    new TerraformOutput(this, 'webhook_endpoint', { value: runners.webhook.endpoint });
  }
}
