/**
 * What a runner instance is made of: one launch template per runner type,
 * the instance role and profile, the runners' security group (unless the
 * caller gives one) and the log group the instances may ship logs to.
 *
 * The instance role is deliberately small: read and delete its own JIT config
 * parameter (matched by a tag against the instance's own ARN), and write its
 * logs. It has no EC2 permission at all: an instance ends itself by shutting
 * down, and the launch template makes shutdown terminate.
 */
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { IamInstanceProfile } from '@cdktf/provider-aws/lib/iam-instance-profile';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment';
import { LaunchTemplate } from '@cdktf/provider-aws/lib/launch-template';
import { SecurityGroup, SecurityGroupEgress } from '@cdktf/provider-aws/lib/security-group';
import { AssetType, Fn, IResolvable, Op, ref, TerraformAsset, TerraformCount, TerraformIterator, TerraformLocal, Token } from 'cdktf';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { IAM_PATH_PATTERN, moduleRole, POLICY_ARN_PATTERN, policyDocument, RoleSettings, Statement } from '../shared/iam';
import { EncryptedLogGroup } from '../shared/log-group';
import { ModuleKey } from '../shared/module-key';
import { perTypeName } from '../shared/naming';
import { mergeTags } from '../shared/tags';
import { validate, whenKnown } from '../shared/validation';
import { BOOT_METRIC_NAME } from '../contract/metrics';
import { RUNNER_TAGS as TAGS } from '../contract/tags';
import { BoundRunnerTypes, DEFAULT_AMI_SSM_PARAMETERS, DEFAULT_WINDOWS_AMI_SSM_PARAMETER } from './runner-types';
import { RunnerConfigs } from './runner-configs';
import { USER_DATA_TEMPLATE_RELATIVE_PATH, WINDOWS_USER_DATA_TEMPLATE_RELATIVE_PATH } from './user-data';

/** The actions/runner release installed when the AMI is not pre-baked. */
export const DEFAULT_RUNNER_VERSION = '2.329.0';


/** A bucket holding the runner tarballs (the syncer). */
export interface RunnerBinariesSource {
  /** `s3://…` of the tarball for an architecture (x64 or arm64). */
  locationFor(architecture: string): string;
  /** `s3://…` of the Windows runner zip (win-x64). */
  readonly windowsLocation: string;
  /** The object ARNs runners may read. */
  readonly objectsArn: string;
}

/** One outbound rule of the runners' security group (the fields of `aws_security_group` egress). */
export interface EgressRule {
  /** IPv4 destinations in CIDR notation, e.g. ["0.0.0.0/0"]. @default [] */
  readonly cidrBlocks?: string[];
  /** IPv6 destinations in CIDR notation, e.g. ["::/0"]. @default [] */
  readonly ipv6CidrBlocks?: string[];
  /** Managed prefix list ids the traffic may go to, e.g. the S3 gateway endpoint's. @default [] */
  readonly prefixListIds?: string[];
  /** Security group ids the traffic may go to. @default [] */
  readonly securityGroups?: string[];
  /** To members of this same group. @default false */
  readonly self?: boolean;
  /** First port, 0 to 65535; 0 with protocol "-1". */
  readonly fromPort: number;
  /** Last port, 0 to 65535; 0 with protocol "-1". */
  readonly toPort: number;
  /** "-1" (all), "tcp", "udp", "icmp", "icmpv6" or a protocol number. */
  readonly protocol: string;
  /** What the rule is for, shown in the console. @default none */
  readonly description?: string;
}

/** The default: runners fetch from GitHub, package mirrors and AWS over anything. */
export const DEFAULT_EGRESS_RULES: readonly EgressRule[] = [
  { description: 'HTTPS and everything else runners fetch', fromPort: 0, toPort: 0, protocol: '-1', cidrBlocks: ['0.0.0.0/0'], ipv6CidrBlocks: ['::/0'] },
];

export interface RunnerInstancesProps {
  readonly prefix: string;
  readonly key: ModuleKey;
  readonly runnerTypes: BoundRunnerTypes;
  /** The VPC for the managed security group. */
  readonly vpcId: string;
  /** Security groups for the runners; when empty the module creates an egress-only one. @default [] */
  readonly securityGroupIds?: string[];
  /** Where scale-up writes each instance's JIT config: `<path>/<instance-id>`. */
  readonly ssmConfigPath: string;
  /** actions/runner version to install. @default DEFAULT_RUNNER_VERSION */
  readonly runnerVersion?: string;
  /** Ship the user-data and runner logs to CloudWatch with the CloudWatch agent. @default false */
  readonly enableCloudwatchAgent?: boolean | string;
  /** Give runners a public IP (only for public subnets without NAT). @default false */
  readonly associatePublicIpAddress?: boolean | string;
  /** Where runners download the runner from; undefined = the GitHub release. @default undefined */
  readonly binaries?: RunnerBinariesSource;
  /** Log retention for the runner log group. @default 180 */
  readonly logRetentionInDays?: number;
  /** Path and permissions boundary of the runner role. @default none */
  readonly role?: RoleSettings;
  /** IAM path of the runner instance profile (philips `instance_profile_path`): starts and ends with "/". @default "/" */
  readonly instanceProfilePath?: string;
  /**
   * Managed policies (by ARN) attached to the runner role, so jobs can reach
   * AWS (philips `runner_iam_role_managed_policy_arns`). @default []
   */
  readonly managedPolicyArns?: string[];
  /**
   * Attach AmazonSSMManagedInstanceCore to the runner role, so Session Manager
   * can reach the instances for debugging (philips `enable_ssm_on_runners`).
   * It lets the instance talk to SSM and read SSM documents; anyone allowed
   * `ssm:StartSession` on the instances gets a shell. @default false
   */
  readonly enableSsm?: boolean | IResolvable;
  /**
   * Outbound rules of the security group the module creates (philips
   * `runner_egress_rules`); unused when `securityGroupIds` is given.
   * @default one rule: everything to 0.0.0.0/0 and ::/0
   */
  readonly egressRules?: EgressRule[] | IResolvable;
  /**
   * Verify the GitHub server's TLS certificate on the runners (terraform-aws-github-runner
   * `ghes_ssl_verify`): false starts config.sh and run.sh with
   * `GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY=1`. @default true
   */
  readonly ghesSslVerify?: boolean | IResolvable;
  /**
   * CloudWatch namespace of the boot metrics the user data writes (one per
   * boot step, shipped by the CloudWatch agent when `enableCloudwatchAgent`).
   * @default "GitHubRunners/<prefix>", the Lambdas' namespace
   */
  readonly metricsNamespace?: string;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class RunnerInstances extends Construct {
  /** Per-type launch templates (for_each over the runner types). */
  readonly launchTemplate: LaunchTemplate;
  readonly role: IamRole;
  readonly instanceProfile: IamInstanceProfile;
  /** The security group ids the runners use. */
  readonly securityGroupIds: string[];
  /** The managed security group; its count is 0 when the caller gives security groups. */
  readonly securityGroup: SecurityGroup;
  /** The managed security group's id, or null when the caller gives security groups. */
  readonly securityGroupId: string;
  readonly logGroup: EncryptedLogGroup;
  /**
   * Per runner type, the ARN of the SSM parameter its launch template resolves
   * the AMI from (`resolve:ssm:`): EC2 reads it with the permissions of the
   * caller that launches, so scale-up and the warm pool must be allowed
   * `ssm:GetParameter(s)` on it. AWS public parameters (`/aws/service/...`)
   * have no account in their ARN; a name given as an ARN is used as is.
   */
  readonly amiParameterArns: TerraformLocal;
  /** Where each instance reads its JIT config (`<ssmConfigPath>/<instance-id>`), with the grants of who writes and cleans up. */
  readonly configs: RunnerConfigs;

  constructor(scope: Construct, id: string, props: RunnerInstancesProps) {
    super(scope, id);
    const tags = props.tags;
    const version = props.runnerVersion ?? DEFAULT_RUNNER_VERSION;
    const managedPolicyArns = props.managedPolicyArns ?? [];
    validate('RunnerInstances', [
      whenKnown(props.instanceProfilePath, () => IAM_PATH_PATTERN.test(props.instanceProfilePath ?? '/'), `instanceProfilePath must start and end with "/", got "${props.instanceProfilePath}"`),
      ...(Token.isUnresolved(managedPolicyArns) ? [] : managedPolicyArns).map((arn) =>
        whenKnown(arn, () => POLICY_ARN_PATTERN.test(arn), `managedPolicyArns must hold IAM policy ARNs (arn:aws:iam::aws:policy/… or arn:aws:iam::<account>:policy/…), got "${arn}"`),
      ),
      whenKnown(version, () => /^\d+\.\d+\.\d+$/.test(version), `runnerVersion must look like 2.329.0, got "${version}"`),
      whenKnown(props.ssmConfigPath, () => props.ssmConfigPath.startsWith('/'), `ssmConfigPath must start with "/", got "${props.ssmConfigPath}"`),
      // The rules shape only the group created here, which the caller's groups replace.
      {
        ok: props.egressRules === undefined || Token.isUnresolved(props.securityGroupIds) || (props.securityGroupIds ?? []).length === 0,
        message: 'egressRules is set but securityGroupIds is too: the rules apply only to the security group created when securityGroupIds is empty; put them on your groups and drop egressRules, or drop securityGroupIds',
      },
    ]);
    const { region } = props.key;

    this.logGroup = new EncryptedLogGroup(this, 'logs', {
      name: `/github-runners/${props.prefix}/runners`,
      key: props.key,
      retentionInDays: props.logRetentionInDays,
      tags,
    });

    this.role = moduleRole(
      this,
      'role',
      {
        name: `${props.prefix}-runner`,
        assumeRolePolicy: policyDocument(this, 'assume-role', [
          { sid: 'Ec2AssumeRole', actions: ['sts:AssumeRole'], resources: [], principals: [{ type: 'Service', identifiers: ['ec2.amazonaws.com'] }] },
        ]).json,
        tags,
      },
      props.role ?? {},
    );
    // What jobs need from AWS is the caller's to decide: attached by index, so
    // ARNs known only at apply (a policy created alongside) still plan.
    const managed = TerraformCount.of(Token.asNumber(Fn.lengthOf(managedPolicyArns)));
    new IamRolePolicyAttachment(this, 'managed-policy', {
      count: managed,
      role: this.role.name,
      policyArn: Token.asString(Fn.element(managedPolicyArns, Token.asNumber(managed.index))),
    });
    this.configs = new RunnerConfigs(props.ssmConfigPath, props.key);
    new IamRolePolicy(this, 'policy', {
      name: 'runner',
      role: this.role.name,
      policy: policyDocument(this, 'policy-document', [
        ...this.configs.grantReadAndDeleteOwn(),
        ...(props.binaries
          ? [
              { sid: 'DownloadRunnerBinaries', actions: ['s3:GetObject'], resources: [props.binaries.objectsArn] },
              {
                sid: 'DecryptRunnerBinaries',
                actions: ['kms:Decrypt'],
                resources: [props.key.arn],
                conditions: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`s3.${region}.amazonaws.com`] }],
              },
            ]
          : []),
        {
          sid: 'WriteRunnerLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [`${this.logGroup.arn}:*`],
        },
      ]).json,
    });
    this.instanceProfile = new IamInstanceProfile(this, 'profile', { name: `${props.prefix}-runner`, path: props.instanceProfilePath, role: this.role.name, tags });

    // Session Manager for debugging: AWS's own policy for it, only when asked.
    const ssm = props.enableSsm ?? false;
    new IamRolePolicyAttachment(this, 'ssm-core', {
      count: ssm === true ? 1 : ssm === false ? 0 : Token.asNumber(Fn.conditional(ssm, 1, 0)),
      role: this.role.name,
      // The provider's partition (no AWS call), so the ARN is known at plan.
      policyArn: `arn:${new DataAwsPartition(this, 'partition').partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
    });

    // Egress only; created when the caller gives no security group.
    const given = props.securityGroupIds ?? [];
    // Op.eq(x, 0) renders the 0 as undefined in cdktf 0.21; lt 1 says the same.
    const createGroup = Token.isUnresolved(given) ? Op.lt(Fn.lengthOf(given), 1) : given.length === 0;
    const group = new SecurityGroup(this, 'security-group', {
      name: `${props.prefix}-runners`,
      description: 'GitHub runners: outbound only',
      vpcId: props.vpcId,
      egress: egressBlocks(props.egressRules ?? [...DEFAULT_EGRESS_RULES]),
      count: createGroup === true ? 1 : createGroup === false ? 0 : Token.asNumber(Fn.conditional(createGroup, 1, 0)),
      tags: mergeTags(tags, { Name: `${props.prefix}-runners` }),
    });
    this.securityGroup = group;
    this.securityGroupId = Token.asString(ref(`one(${group.terraformResourceType}.${group.friendlyUniqueId}[*].id)`));
    this.securityGroupIds = Token.asList(Fn.concat([Token.asList(ref(`${group.terraformResourceType}.${group.friendlyUniqueId}[*].id`)), given]));

    const { partition, accountId } = props.key;
    const types = `local.${props.runnerTypes.local.friendlyUniqueId}`;
    // Windows types default to the Windows Server 2022 parameter; launching with it needs the same grant.
    const name = `trimprefix(coalesce(t.ami_id_ssm_parameter_name, t.runner_os == "windows" ? ${JSON.stringify(DEFAULT_WINDOWS_AMI_SSM_PARAMETER)} : lookup(${JSON.stringify(DEFAULT_AMI_SSM_PARAMETERS)}, t.runner_architecture)), "/")`;
    this.amiParameterArns = new TerraformLocal(
      this,
      'ami_parameter_arns',
      `\${{ for key, t in ${types} : key => (startswith(${name}, "arn:") ? ${name} : startswith(${name}, "aws/service/") ? ` +
        `"arn:${partition}:ssm:${region}::parameter/\${${name}}" : "arn:${partition}:ssm:${region}:${accountId}:parameter/\${${name}}") }}`,
    );

    const template = new TerraformAsset(this, 'user-data-template', {
      path: join(__dirname, USER_DATA_TEMPLATE_RELATIVE_PATH),
      type: AssetType.FILE,
    });
    const windowsTemplate = new TerraformAsset(this, 'windows-user-data-template', {
      path: join(__dirname, WINDOWS_USER_DATA_TEMPLATE_RELATIVE_PATH),
      type: AssetType.FILE,
    });
    const it = props.runnerTypes.iterator();
    const arch = it.getString('runner_architecture');
    const windows = Op.eq(it.getString('runner_os'), 'windows');
    const amiParameter = Fn.coalesce([
      it.getString('ami_id_ssm_parameter_name'),
      Fn.conditional(windows, DEFAULT_WINDOWS_AMI_SSM_PARAMETER, Fn.lookup(DEFAULT_AMI_SSM_PARAMETERS, arch)),
    ]);
    const shared = {
      prefix: props.prefix,
      ssm_config_path: props.ssmConfigPath,
      runner_version: version,
      enable_prebaked_ami: it.getAny('enable_prebaked_ami'),
      enable_cloudwatch_agent: props.enableCloudwatchAgent ?? false,
      cloudwatch_log_group: this.logGroup.name,
      config_poll_attempts: 30,
      config_poll_interval_seconds: 2,
      ghes_ssl_verify: props.ghesSslVerify ?? true,
      runner_type: it.key,
      metrics_namespace: props.metricsNamespace ?? `GitHubRunners/${props.prefix}`,
      boot_metric_name: BOOT_METRIC_NAME,
    };
    const userData = Fn.templatefile(Fn.format('%s/%s', [ref('path.module'), template.path]), {
      ...shared,
      runner_architecture: arch,
      runner_binaries_s3_location: props.binaries ? props.binaries.locationFor(arch) : '',
      enable_runner_packages: it.getAny('enable_runner_packages'),
      runner_extra_packages: Fn.join(' ', it.getList('runner_extra_packages')),
      // base64: the template puts every value between single quotes.
      userdata_pre_install_base64: Fn.base64encode(it.getString('userdata_pre_install')),
      userdata_post_install_base64: Fn.base64encode(it.getString('userdata_post_install')),
    });
    const windowsUserData = Fn.templatefile(Fn.format('%s/%s', [ref('path.module'), windowsTemplate.path]), {
      ...shared,
      runner_binaries_s3_location: props.binaries ? props.binaries.windowsLocation : '',
    });
    const instanceTags = mergeTags(tags, { [TAGS.prefix]: props.prefix, [TAGS.runnerType]: it.key });

    this.launchTemplate = new LaunchTemplate(this, 'launch-template', {
      forEach: it,
      name: perTypeName(props.prefix, 'runner', it.key),
      description: `GitHub runner type ${it.key}`,
      // EC2 resolves the SSM alias at each launch, so new AMIs need no apply.
      imageId: Token.asString(Fn.conditional(Op.neq(it.getString('ami_id'), Token.nullValue()), it.getString('ami_id'), `resolve:ssm:${amiParameter}`)),
      iamInstanceProfile: { arn: this.instanceProfile.arn },
      instanceInitiatedShutdownBehavior: 'terminate',
      updateDefaultVersion: true,
      // Tags stay out of the metadata: the user data never reads them, and with
      // them in IMDS EC2 restricts every instance tag key (see ec2-runners.ts).
      metadataOptions: { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1, instanceMetadataTags: 'disabled' },
      blockDeviceMappings: [
        {
          // The root device of the AMI, so the size applies to it: /dev/sda1 on Windows Server AMIs, /dev/xvda on AL2023.
          deviceName: Token.asString(Fn.conditional(windows, '/dev/sda1', '/dev/xvda')),
          // Encrypted with the account's EBS key (aws/ebs), not the module key:
          // CreateFleet launches through the EC2 Fleet and Spot service-linked
          // roles, which would need grants on a customer-managed key, and a key
          // policy cannot name those roles before they exist in the account.
          ebs: { volumeSize: it.getNumber('volume_size'), volumeType: 'gp3', encrypted: 'true', deleteOnTermination: 'true' },
        },
      ],
      networkInterfaces: [
        {
          associatePublicIpAddress: String(props.associatePublicIpAddress ?? false),
          securityGroups: this.securityGroupIds,
          deleteOnTermination: 'true',
        },
      ],
      monitoring: { enabled: false },
      // Linux: gzipped, as EC2 allows 16 KB of user data and cloud-init unpacks gzip.
      // Windows: plain, as EC2Launch v2 does not unpack gzip (the script fits; a test measures it).
      userData: Token.asString(Fn.conditional(windows, Fn.base64encode(windowsUserData), Fn.base64gzip(userData))),
      tagSpecifications: [
        { resourceType: 'instance', tags: instanceTags },
        { resourceType: 'volume', tags: instanceTags },
      ],
      tags,
    });
  }

  /**
   * What a launcher needs to give the runner role to the instances it
   * launches: `iam:PassRole` on this role, only to EC2 (`iam:PassedToService`).
   * The instance profile and the launch template carry the role; EC2 checks
   * the PassRole of the principal that calls CreateFleet or RunInstances.
   */
  grantPassRole(): Statement[] {
    return [
      {
        sid: 'PassRunnerRole',
        actions: ['iam:PassRole'],
        resources: [this.role.arn],
        conditions: [{ test: 'StringEquals', variable: 'iam:PassedToService', values: ['ec2.amazonaws.com'] }],
      },
    ];
  }
}

/** Known rules as blocks; rules from a Terraform variable as a dynamic block. */
function egressBlocks(rules: EgressRule[] | IResolvable): SecurityGroupEgress[] | IResolvable {
  if (!Token.isUnresolved(rules) && Array.isArray(rules)) {
    return rules.map((r) => ({
      description: r.description,
      fromPort: r.fromPort,
      toPort: r.toPort,
      protocol: r.protocol,
      cidrBlocks: r.cidrBlocks,
      ipv6CidrBlocks: r.ipv6CidrBlocks,
      prefixListIds: r.prefixListIds,
      securityGroups: r.securityGroups,
      selfAttribute: r.self,
    }));
  }
  const it = TerraformIterator.fromList(rules as IResolvable);
  return it.dynamic({
    description: it.getString('description'),
    from_port: it.getNumber('from_port'),
    to_port: it.getNumber('to_port'),
    protocol: it.getString('protocol'),
    cidr_blocks: it.getList('cidr_blocks'),
    ipv6_cidr_blocks: it.getList('ipv6_cidr_blocks'),
    prefix_list_ids: it.getList('prefix_list_ids'),
    security_groups: it.getList('security_groups'),
    self: it.getBoolean('self'),
  });
}
