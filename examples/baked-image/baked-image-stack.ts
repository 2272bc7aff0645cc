/**
 * Baked images (issue #17 item 2): an EC2 Image Builder pipeline per
 * architecture builds an Amazon Linux 2023 AMI with the runner and the default
 * tool set preinstalled, writes its id to an SSM parameter, and deletes images
 * older than 14 days (keeping the newest 2). Each runner type launches the
 * image through that parameter (`resolve:ssm:` at launch) with
 * `enablePrebakedAmi`, so its instances download and install nothing at boot.
 * Placeholder ids; `npm run plan` plans it offline.
 *
 * The pipeline builds on its schedule: until the first build has written the
 * parameter, a launch fails (the parameter does not exist). Start a first build
 * after apply: `aws imagebuilder start-image-pipeline-execution
 * --image-pipeline-arn <the x64/arm64 pipeline ARN output>`.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { GitHubRunners, RunnerImage, RunnerTypes } from '../../modules';

export class BakedImageExampleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new AwsProvider(this, 'aws', { region: 'eu-west-1' });
    const prefix = 'gh-baked';
    const subnetIds = ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'];
    const tags = { project: 'github-runners', environment: 'baked-example' };
    // The images build with the runners' security group, so the runner types
    // come first and name the parameters the images will write. (Without that
    // dependency, spread `image.runnerTypeProps()` into the runner type.)
    const parameter = (name: string) => `/${prefix}/images/${name}/ami-id`;
    const runners = new GitHubRunners(this, 'runners', {
      prefix,
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds,
      enableOrganizationRunners: true,
      githubApp: {
        appId: `/${prefix}/github/app-id`,
        privateKey: `/${prefix}/github/private-key`,
        webhookSecret: `/${prefix}/github/webhook-secret`,
      },
      runnerTypes: RunnerTypes.fromList([
        { name: 'x64', labels: ['self-hosted', 'linux', 'x64'], runnerArchitecture: 'x64', amiIdSsmParameterName: parameter('al2023-x64'), enablePrebakedAmi: true },
        { name: 'arm64', labels: ['self-hosted', 'linux', 'arm64'], runnerArchitecture: 'arm64', amiIdSsmParameterName: parameter('al2023-arm64'), enablePrebakedAmi: true },
      ]),
      tags,
    });
    for (const arch of ['x64', 'arm64']) {
      const image = new RunnerImage(this, `image-${arch}`, {
        prefix,
        name: `al2023-${arch}`,
        runnerArchitecture: arch,
        amiIdSsmParameterName: parameter(`al2023-${arch}`),
        // Builds in the runners' subnet with their outbound-only security group.
        subnetId: subnetIds[0],
        securityGroupIds: runners.instances.securityGroupIds,
        retentionDays: 14,
        retainAtLeast: 2,
        tags,
      });
      new TerraformOutput(this, `image_pipeline_arn_${arch}`, { value: image.pipeline.arn });
    }
    new TerraformOutput(this, 'webhook_endpoint', { value: runners.webhook.endpoint });
  }
}
