/**
 * A baked runner image (issue #17 item 2): an EC2 Image Builder pipeline that
 * builds an Amazon Linux 2023 AMI for one architecture with the runner in
 * /opt/actions-runner, its libraries and the default tool set preinstalled,
 * writes the AMI id to an SSM parameter after every build, and deletes images
 * older than a retention. A runner type uses it with
 * `{ ...image.runnerTypeProps(), name, labels }`: `amiIdSsmParameterName`
 * (resolved by EC2 at launch through `resolve:ssm:`) and `enablePrebakedAmi`,
 * so the user data downloads and installs nothing.
 *
 * Why Image Builder and not Packer: see docs/ARCHITECTURE.md, "Baked images".
 * In short, it is AWS resources that `terraform plan` checks offline like the
 * rest of the module, it runs on AWS's schedule with no CI runner or Packer
 * binary, and it publishes the AMI id to SSM and expires old images itself.
 *
 * Encryption: the AMI's snapshot is encrypted with the account's EBS key
 * (aws/ebs), not the module key, for the reason the runner volumes are (see
 * runner-instances.ts): instances launched from a snapshot encrypted with a
 * customer-managed key need grants for the EC2 Fleet and Spot service-linked
 * roles, which a key policy cannot name before they exist.
 */
import { createHash } from 'node:crypto';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { ImagebuilderComponent } from '@cdktf/provider-aws/lib/imagebuilder-component';
import { ImagebuilderDistributionConfiguration } from '@cdktf/provider-aws/lib/imagebuilder-distribution-configuration';
import { ImagebuilderImagePipeline } from '@cdktf/provider-aws/lib/imagebuilder-image-pipeline';
import { ImagebuilderImageRecipe } from '@cdktf/provider-aws/lib/imagebuilder-image-recipe';
import { ImagebuilderInfrastructureConfiguration } from '@cdktf/provider-aws/lib/imagebuilder-infrastructure-configuration';
import { ImagebuilderLifecyclePolicy } from '@cdktf/provider-aws/lib/imagebuilder-lifecycle-policy';
import { Construct } from 'constructs';
import { DEFAULT_RUNNER_VERSION } from '../runners/runner-instances';
import { DEFAULT_AMI_SSM_PARAMETERS, PACKAGE_NAME_PATTERN } from '../runners/runner-types';
import { moduleRole, policyDocument, RoleSettings } from '../shared/iam';
import { mergeTags } from '../shared/tags';
import { validate, whenKnown } from '../shared/validation';

/**
 * What the user data installs at boot on a stock image (modules/runners/templates/user-data.sh,
 * RUNNER_LIBRARIES and WORKFLOW_PACKAGES), baked in instead. A test keeps the two lists equal.
 */
export const RUNNER_LIBRARIES = ['lttng-ust', 'openssl-libs', 'krb5-libs', 'zlib', 'libicu'];
/** The default tool set (user-data.sh WORKFLOW_PACKAGES). */
export const WORKFLOW_PACKAGES = ['git', 'docker', 'jq', 'unzip', 'tar'];
/** Baked too, so `enable_cloudwatch_agent` installs nothing at boot. */
export const IMAGE_EXTRA_PACKAGES = ['amazon-cloudwatch-agent'];
/** Where the runner is baked; the user data's RUNNER_DIR default. */
export const BAKED_RUNNER_DIR = '/opt/actions-runner';
/** Tag on the pipeline (and so its images) that the lifecycle policy selects by. */
export const IMAGE_TAG = 'ghr:image';

/** Image names: lower-case letters, digits and hyphens, 1 to 24 characters (role names stay under IAM's 64). */
export const IMAGE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,23}$/;
/** SSM parameter names as Image Builder's SsmParameterConfiguration accepts them, under a leading "/". */
const PARAMETER_NAME_PATTERN = /^\/[a-zA-Z0-9_.\-/]{1,1010}$/;
/**
 * Image Builder's cron: six fields, minute hour day month day-of-week year, one
 * space apart, no leading or trailing space
 * (https://docs.aws.amazon.com/imagebuilder/latest/userguide/cron-expressions.html).
 */
const IMAGE_BUILDER_CRON = /^cron\(\S+( \S+){5}\)$/;
/** Default build instance types: one current general-purpose type per architecture. */
const BUILD_INSTANCE_TYPES: Record<string, string[]> = { x64: ['m7i.large', 'm6i.large'], arm64: ['m7g.large', 'm6g.large'] };

/** Settings of one baked runner image. */
export interface RunnerImageProps {
  /** The module's prefix; names every resource `<prefix>-image-<name>`. */
  readonly prefix: string;
  /** Names this image, e.g. "al2023-x64": see IMAGE_NAME_PATTERN. */
  readonly name: string;
  /** "x64" or "arm64"; picks the parent image, the runner download and the build instance types. @default "x64" */
  readonly runnerArchitecture?: string;
  /** actions/runner version to bake. @default DEFAULT_RUNNER_VERSION (the one the user data installs) */
  readonly runnerVersion?: string;
  /** More dnf packages to bake (names as runner_extra_packages accepts them). @default [] */
  readonly packages?: string[];
  /** The parent image: an AMI id, an Image Builder image ARN, or `ssm:<parameter>`. @default `ssm:` the public Amazon Linux 2023 alias for the architecture */
  readonly parentImage?: string;
  /** The SSM parameter Image Builder writes the new AMI id to after each build (created if missing). @default `/<prefix>/images/<name>/ami-id` */
  readonly amiIdSsmParameterName?: string;
  /** Instance types for the build. @default m7i/m6i large (x64), m7g/m6g large (arm64) */
  readonly instanceTypes?: string[];
  /** Root volume of the image in GiB, 8 to 16384; runner types may launch it larger. @default 30 */
  readonly volumeSize?: number;
  /** Subnet of the build instance; it needs outbound HTTPS to GitHub and the dnf mirrors. @default Image Builder's choice in the default VPC */
  readonly subnetId?: string;
  /** Security groups of the build instance; required with subnetId. @default the default VPC's default group */
  readonly securityGroupIds?: string[];
  /** When the pipeline builds: an Image Builder `cron(…)` expression. @default "cron(0 4 ? * sun *)" (Sundays 04:00 UTC) */
  readonly scheduleExpression?: string;
  /** Delete images (AMIs and snapshots) older than this many days, 1 to 365. @default 30 */
  readonly retentionDays?: number;
  /** Keep at least this many of the newest images whatever their age, 1 to 10. @default 2 */
  readonly retainAtLeast?: number;
  /** Path and permissions boundary of the image's roles (the module's). @default "/" and none */
  readonly roles?: RoleSettings;
  /** IAM path of the build instance profile. @default "/" */
  readonly instanceProfilePath?: string;
  /** Tags for every resource (and the AMIs). @default {} */
  readonly tags?: Record<string, string>;
}

/** The runner type settings that use a baked image, for `RunnerTypes.fromList`. */
export interface BakedImageRunnerTypeProps {
  /** The image's architecture, "x64" or "arm64". */
  readonly runnerArchitecture: string;
  /** The SSM parameter the image's AMI id is written to. */
  readonly amiIdSsmParameterName: string;
  /** Always true: the runner is in /opt/actions-runner. */
  readonly enablePrebakedAmi: true;
}

/** The AWSTOE document that installs the runner and its packages (build) and checks them (test). */
export function componentDocument(arch: string, runnerVersion: string, packages: readonly string[]): string {
  const url = `https://github.com/actions/runner/releases/download/v${runnerVersion}/actions-runner-linux-${arch}-${runnerVersion}.tar.gz`;
  const all = [...RUNNER_LIBRARIES, ...WORKFLOW_PACKAGES, ...IMAGE_EXTRA_PACKAGES, ...packages];
  const bash = (name: string, commands: string[]) => ({ name, action: 'ExecuteBash', inputs: { commands } });
  return JSON.stringify({
    name: 'github-runner',
    description: `actions/runner ${runnerVersion} (${arch}) in ${BAKED_RUNNER_DIR} with its libraries and the default tool set`,
    schemaVersion: 1.0,
    phases: [
      {
        name: 'build',
        steps: [
          bash('InstallPackages', [`dnf install -y -q ${all.join(' ')}`, 'dnf clean all']),
          bash('InstallRunner', [
            'set -euo pipefail',
            `mkdir -p ${BAKED_RUNNER_DIR}`,
            `curl -fsSL --connect-timeout 10 --max-time 600 --retry 5 --retry-delay 5 -o /tmp/actions-runner.tar.gz ${url}`,
            `tar -xzf /tmp/actions-runner.tar.gz -C ${BAKED_RUNNER_DIR} --no-same-owner`,
            'rm -f /tmp/actions-runner.tar.gz',
          ]),
        ],
      },
      {
        name: 'test',
        steps: [
          bash('CheckRunner', [
            'set -euo pipefail',
            // What the user data checks before it trusts a prebaked AMI.
            `test -x ${BAKED_RUNNER_DIR}/run.sh`,
            `rpm -q ${all.join(' ')}`,
          ]),
        ],
      },
    ],
  });
}

/** A semantic version whose patch is the content's hash: a changed recipe or component is a new version, so it can be created before the old is deleted. */
function contentVersion(content: string): string {
  // 7 hex digits < 2^30, Image Builder's limit for each version number.
  return `1.0.${parseInt(createHash('sha256').update(content).digest('hex').slice(0, 7), 16)}`;
}

/** A baked runner image: an EC2 Image Builder pipeline that publishes its AMI id to SSM and expires old images (see the file header). */
export class RunnerImage extends Construct {
  /** The SSM parameter that holds the latest AMI id (written by Image Builder, not by Terraform). */
  readonly amiIdSsmParameterName: string;
  /** "x64" or "arm64". */
  readonly runnerArchitecture: string;
  /** The build instance's role. */
  readonly instanceRole: IamRole;
  /** The role Image Builder's lifecycle policy runs as. */
  readonly lifecycleRole: IamRole;
  /** The image pipeline (start a first build with its ARN). */
  readonly pipeline: ImagebuilderImagePipeline;
  /** The image recipe (its version follows its content). */
  readonly recipe: ImagebuilderImageRecipe;
  /** The lifecycle policy that deletes old images. */
  readonly lifecyclePolicy: ImagebuilderLifecyclePolicy;

  constructor(scope: Construct, id: string, props: RunnerImageProps) {
    super(scope, id);
    const arch = props.runnerArchitecture ?? 'x64';
    const version = props.runnerVersion ?? DEFAULT_RUNNER_VERSION;
    const packages = props.packages ?? [];
    const volumeSize = props.volumeSize ?? 30;
    const retentionDays = props.retentionDays ?? 30;
    const retainAtLeast = props.retainAtLeast ?? 2;
    const parameterName = props.amiIdSsmParameterName ?? `/${props.prefix}/images/${props.name}/ami-id`;
    const schedule = props.scheduleExpression ?? 'cron(0 4 ? * sun *)';
    const groups = props.securityGroupIds ?? [];
    const n = props.name;
    validate('RunnerImage', [
      whenKnown(n, () => IMAGE_NAME_PATTERN.test(n), `name must be lower-case letters, digits and hyphens, 1 to 24 characters, got "${n}"`),
      whenKnown(arch, () => arch in DEFAULT_AMI_SSM_PARAMETERS, `${n}: runnerArchitecture must be x64 or arm64, got "${arch}"`),
      whenKnown(version, () => /^\d+\.\d+\.\d+$/.test(version), `${n}: runnerVersion must look like 2.329.0, got "${version}"`),
      whenKnown(packages, () => packages.every((p) => new RegExp(PACKAGE_NAME_PATTERN).test(p)), `${n}: packages must be dnf package names, got ${JSON.stringify(packages)}`),
      whenKnown(parameterName, () => PARAMETER_NAME_PATTERN.test(parameterName) && !parameterName.startsWith('/aws/'), `${n}: amiIdSsmParameterName must be a parameter path starting with "/" (letters, digits, _ . - /), not under /aws/, got "${parameterName}"`),
      whenKnown(volumeSize, () => Number.isInteger(volumeSize) && volumeSize >= 8 && volumeSize <= 16384, `${n}: volumeSize must be 8 to 16384 GiB, got ${volumeSize}`),
      whenKnown(retentionDays, () => Number.isInteger(retentionDays) && retentionDays >= 1 && retentionDays <= 365, `${n}: retentionDays must be 1 to 365, got ${retentionDays}`),
      whenKnown(retainAtLeast, () => Number.isInteger(retainAtLeast) && retainAtLeast >= 1 && retainAtLeast <= 10, `${n}: retainAtLeast must be 1 to 10, got ${retainAtLeast}`),
      whenKnown(schedule, () => IMAGE_BUILDER_CRON.test(schedule), `${n}: scheduleExpression must be an Image Builder cron(…) expression with six fields (minute hour day month day-of-week year), got "${schedule}"`),
      whenKnown(groups, () => props.subnetId === undefined || groups.length > 0, `${n}: securityGroupIds are required with subnetId`),
    ]);
    this.runnerArchitecture = arch;
    this.amiIdSsmParameterName = parameterName;

    const base = `${props.prefix}-image-${n}`;
    const tags = mergeTags(props.tags, { [IMAGE_TAG]: base });
    const roles = props.roles ?? {};
    const partition = new DataAwsPartition(this, 'partition').partition;
    const region = new DataAwsRegion(this, 'region').name;
    const awsPolicy = (name: string) => `arn:${partition}:iam::aws:policy/${name}`;

    // The build instance: Session Manager is how Image Builder runs the
    // component on it, and EC2InstanceProfileForImageBuilder lets AWSTOE fetch
    // components and report; the two policies AWS documents for the role
    // (https://docs.aws.amazon.com/imagebuilder/latest/userguide/image-builder-setting-up.html#image-builder-IAM-prereq).
    this.instanceRole = moduleRole(
      this,
      'instance-role',
      {
        name: `${base}-build`,
        assumeRolePolicy: policyDocument(this, 'instance-assume-role', [
          { sid: 'Ec2AssumeRole', actions: ['sts:AssumeRole'], resources: [], principals: [{ type: 'Service', identifiers: ['ec2.amazonaws.com'] }] },
        ]).json,
        tags,
      },
      roles,
    );
    ['AmazonSSMManagedInstanceCore', 'EC2InstanceProfileForImageBuilder'].forEach((policy) => {
      new IamRolePolicyAttachment(this, `instance-${policy}`, { role: this.instanceRole.name, policyArn: awsPolicy(policy) });
    });
    const profile = new IamInstanceProfile(this, 'instance-profile', { name: `${base}-build`, path: props.instanceProfilePath, role: this.instanceRole.name, tags });

    const document = componentDocument(arch, version, packages);
    const component = new ImagebuilderComponent(this, 'component', {
      name: `${base}-runner`,
      description: `actions/runner ${version} for ${arch}, its libraries and the default tool set`,
      platform: 'Linux',
      version: contentVersion(document),
      data: document,
      tags,
      lifecycle: { createBeforeDestroy: true },
    });

    const parentImage = props.parentImage ?? `ssm:${DEFAULT_AMI_SSM_PARAMETERS[arch] ?? DEFAULT_AMI_SSM_PARAMETERS.x64}`;
    this.recipe = new ImagebuilderImageRecipe(this, 'recipe', {
      name: base,
      description: `GitHub runner image ${n} (${arch})`,
      parentImage,
      version: contentVersion(JSON.stringify({ parentImage, document, volumeSize })),
      component: [{ componentArn: component.arn }],
      blockDeviceMapping: [
        {
          deviceName: '/dev/xvda',
          // The account's EBS key (aws/ebs), as the runner volumes: see the header.
          ebs: { volumeSize, volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true' },
        },
      ],
      tags,
      lifecycle: { createBeforeDestroy: true },
    });

    const infrastructure = new ImagebuilderInfrastructureConfiguration(this, 'infrastructure', {
      name: base,
      description: `Build instances of ${base}`,
      instanceProfileName: profile.name,
      instanceTypes: props.instanceTypes ?? BUILD_INSTANCE_TYPES[arch],
      subnetId: props.subnetId,
      securityGroupIds: props.securityGroupIds,
      terminateInstanceOnFailure: true,
      instanceMetadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 1 },
      resourceTags: tags,
      tags,
    });

    // Image Builder's service-linked role (AWSServiceRoleForImageBuilder) writes
    // the parameter after distribution; the account needs nothing else
    // (https://docs.aws.amazon.com/imagebuilder/latest/userguide/cr-upd-ami-distribution-settings.html,
    // "Prerequisites for SSM output parameters": extra permissions only with a workflow execution role).
    const distribution = new ImagebuilderDistributionConfiguration(this, 'distribution', {
      name: base,
      description: `Publishes ${base} AMIs to ${parameterName}`,
      distribution: [
        {
          region,
          amiDistributionConfiguration: {
            name: `${base}-{{ imagebuilder:buildDate }}`,
            description: `GitHub runner image ${n} (${arch}), actions/runner ${version}`,
            amiTags: tags,
          },
          ssmParameterConfiguration: [{ parameterName, dataType: 'aws:ec2:image' }],
        },
      ],
      tags,
    });

    this.pipeline = new ImagebuilderImagePipeline(this, 'pipeline', {
      name: base,
      description: `Builds ${base} on a schedule and publishes its AMI id to ${parameterName}`,
      imageRecipeArn: this.recipe.arn,
      infrastructureConfigurationArn: infrastructure.arn,
      distributionConfigurationArn: distribution.arn,
      // A `ssm:` parent image is resolved at each build, so every scheduled run
      // picks up the newest Amazon Linux 2023 (and the newest dnf packages).
      schedule: { scheduleExpression: schedule, pipelineExecutionStartCondition: 'EXPRESSION_MATCH_ONLY' },
      imageTestsConfiguration: { imageTestsEnabled: true, timeoutMinutes: 60 },
      status: 'ENABLED',
      tags,
    });

    // Retention: Image Builder's lifecycle policy deletes the images (AMIs and
    // snapshots) of this pipeline older than retentionDays, keeping the newest
    // retainAtLeast. It runs as a role of its own, trusted by Image Builder,
    // with the AWS policy for it, which acts only on resources tagged
    // CreatedBy "EC2 Image Builder"
    // (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/EC2ImageBuilderLifecycleExecutionPolicy.html).
    this.lifecycleRole = moduleRole(
      this,
      'lifecycle-role',
      {
        name: `${base}-lifecycle`,
        assumeRolePolicy: policyDocument(this, 'lifecycle-assume-role', [
          { sid: 'ImageBuilderAssumeRole', actions: ['sts:AssumeRole'], resources: [], principals: [{ type: 'Service', identifiers: ['imagebuilder.amazonaws.com'] }] },
        ]).json,
        tags,
      },
      roles,
    );
    const lifecycleAttachment = new IamRolePolicyAttachment(this, 'lifecycle-policy-attachment', {
      role: this.lifecycleRole.name,
      policyArn: awsPolicy('service-role/EC2ImageBuilderLifecycleExecutionPolicy'),
    });
    this.lifecyclePolicy = new ImagebuilderLifecyclePolicy(this, 'lifecycle', {
      name: base,
      description: `Deletes ${base} images older than ${retentionDays} days, keeping the newest ${retainAtLeast}`,
      executionRole: this.lifecycleRole.arn,
      resourceType: 'AMI_IMAGE',
      status: 'ENABLED',
      policyDetail: [
        {
          action: [{ type: 'DELETE', includeResources: [{ amis: true, snapshots: true }] }],
          filter: [{ type: 'AGE', value: retentionDays, unit: 'DAYS', retainAtLeast }],
        },
      ],
      resourceSelection: [{ tagMap: { [IMAGE_TAG]: base } }],
      tags,
      dependsOn: [lifecycleAttachment],
    });
  }

  /** Settings for a runner type that launches this image: spread into RunnerTypeProps. */
  runnerTypeProps(): BakedImageRunnerTypeProps {
    return { runnerArchitecture: this.runnerArchitecture, amiIdSsmParameterName: this.amiIdSsmParameterName, enablePrebakedAmi: true };
  }
}
