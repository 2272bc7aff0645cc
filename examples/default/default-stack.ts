/**
 * The default example: organisation-level runners, one runner type, secrets
 * in SSM. Placeholder ids; `npm run plan` plans it offline.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { GitHubRunners } from '../../modules';

export class DefaultExampleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AwsProvider(this, 'aws', { region: 'eu-west-1' });
    const runners = new GitHubRunners(this, 'runners', {
      prefix: 'gh-ci',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      enableOrganizationRunners: true,
      githubApp: {
        appId: '/gh-ci/github/app-id',
        privateKey: '/gh-ci/github/private-key',
        webhookSecret: '/gh-ci/github/webhook-secret',
      },
      tags: { project: 'github-runners', environment: 'example' },
    });
    new TerraformOutput(this, 'webhook_endpoint', { value: runners.webhook.endpoint });
  }
}
