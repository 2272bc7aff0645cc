/**
 * What a function that launches and registers runners may do, whichever
 * launches it (scale-up for queued jobs, the warm pool for idle capacity):
 * one place for the grants they share. Each caller adds which launch
 * templates it may launch from and which instances it may terminate.
 */
import { Fn, Token } from 'cdktf';
import { Statement } from '../shared/iam';
import { ModuleKey } from '../shared/module-key';
import { RUNNER_TAGS as TAGS } from '../contract/tags';
import { grantReadGitHubApp } from '../shared/github-app';
import { RunnerInstances } from './runner-instances';

export interface LaunchPermissionsProps {
  readonly key: ModuleKey;
  readonly instances: RunnerInstances;
  readonly appIdParameterName: string;
  readonly privateKeyParameterName: string;
  /** The module prefix: every launch must carry it in `ghr:prefix`. */
  readonly prefix: string;
  /** The module's tags, which the launch templates put on every instance and volume. @default {} */
  readonly tags?: Record<string, string>;
}

/**
 * Read the AMI parameters the launch templates resolve (`resolve:ssm:`): EC2
 * checks `ssm:GetParameter` on them for the principal that calls CreateFleet
 * or RunInstances (terraform-aws-github-runner PR #5016, issue #4959).
 * `arns` comes from {@link RunnerInstances.amiParameterArns}: one type's ARN
 * for scale-up, every type's for the warm pool.
 */
export function readAmiParameterStatement(arns: string[]): Statement {
  return { sid: 'ReadAmiParameter', actions: ['ssm:GetParameter', 'ssm:GetParameters'], resources: arns };
}

/**
 * The tag keys a launch puts on an instance and its volumes: the launch
 * template's (the prefix, the runner type and the module's own tags, see
 * RunnerInstances) and CreateFleet's TagSpecifications (createFleetInput in
 * lambdas/shared/aws/ec2-runners.ts: the prefix, the runner type, the owner
 * and who launched it; for a runner started through the runner API also its
 * name and idle deadline). Tag-on-create is limited to these keys.
 */
export const LAUNCH_TAG_KEYS: readonly string[] = [TAGS.prefix, TAGS.runnerType, TAGS.owner, TAGS.createdBy, TAGS.apiRunner, TAGS.idleDeadline];

/** The keys of the module's tags, whether a literal map or a Terraform expression (the module's `tags` variable). */
function tagKeys(tags: Record<string, string> | undefined): string[] {
  if (tags === undefined) return [...LAUNCH_TAG_KEYS];
  if (Token.isUnresolved(tags)) return Token.asList(Fn.distinct(Fn.concat([[...LAUNCH_TAG_KEYS], Fn.keys(tags)])));
  return [...new Set([...LAUNCH_TAG_KEYS, ...Object.keys(tags)])];
}

/** Which launch templates a function launches from, and what they launch. */
export interface LaunchTemplatesGrant {
  /** ARNs of the launch templates: one (scale-up, per type) or every type's (the warm pool). */
  readonly templateArns: string[];
  /** The runner types those templates launch (their `ghr:runner-type` tag values). */
  readonly runnerTypes: string[];
  /** Sid of the RunInstances statement (named in WILDCARD_RESOURCE_SIDS). */
  readonly runInstancesSid: string;
}

/**
 * Describe, launch a fleet from the given launch templates, tag what it
 * creates, pass the runner role, read the App, write runner configs.
 *
 * How EC2 authorises an instant CreateFleet (Service Authorization Reference,
 * "Actions, resources, and condition keys for Amazon EC2", CreateFleet):
 * `ec2:CreateFleet` is checked on the fleet, the instances, the launch
 * template, and what the request itself names (our Overrides' subnets);
 * "resource-level permissions for this action do not include the resources
 * specified in a launch template", which EC2 checks as `ec2:RunInstances` on
 * the caller's behalf (image, security groups, network interface, volumes,
 * instance, subnet, launch template), with the keys `ec2:LaunchTemplate` and
 * `ec2:IsLaunchTemplateResource`. CreateFleet itself has neither key.
 *
 * `ec2:IsLaunchTemplateResource` "filters access by whether users are able to
 * override resources that are specified in the launch template" (same
 * reference); the EC2 User Guide's example policies (Launch templates) use it
 * "to prevent users from overriding any pre-existing ARNs in the launch
 * template". Our CreateFleet overrides the instance type and the subnet (the
 * template names neither), so the key is false or absent for the instance,
 * the subnet and the network interface placed in it, and launches would fail
 * if it were required there. Volumes may come from the AMI's own block
 * device mappings rather than the template. The image and the security
 * groups come only from the template: a Deny refuses them when EC2 reports
 * that they were overridden (the key false), so this role cannot launch our
 * template with another AMI or other security groups; where EC2 sets no
 * value the Deny does not apply, and the allow still needs the template.
 */
export function launchStatements(props: LaunchPermissionsProps, launch: LaunchTemplatesGrant): Statement[] {
  const { partition, region, accountId } = props.key;
  const ec2 = (kind: string) => `arn:${partition}:ec2:${region}:${accountId}:${kind}/*`;
  const image = `arn:${partition}:ec2:${region}::image/*`;
  return [
    { sid: 'DescribeInstances', actions: ['ec2:DescribeInstances'], resources: ['*'] },
    {
      // The resource types the Service Authorization Reference lists for
      // CreateFleet that an instant fleet from our template touches; the
      // template itself only if it is one of ours. The image only matters if an
      // override named one (ours never do).
      sid: 'CreateFleet',
      actions: ['ec2:CreateFleet'],
      resources: Token.asList(Fn.concat([[ec2('fleet'), ec2('instance'), ec2('volume'), ec2('subnet'), image], launch.templateArns])),
    },
    {
      sid: launch.runInstancesSid,
      actions: ['ec2:RunInstances'],
      resources: ['*'],
      conditions: [{ test: 'ArnEquals', variable: 'ec2:LaunchTemplate', values: launch.templateArns }],
    },
    {
      sid: 'KeepTemplateImageAndSecurityGroups',
      effect: 'Deny',
      actions: ['ec2:RunInstances'],
      resources: [image, ec2('security-group')],
      conditions: [{ test: 'Bool', variable: 'ec2:IsLaunchTemplateResource', values: ['false'] }],
    },
    {
      // Tag-on-create only (ec2:CreateAction), only the launch's own tag keys,
      // and only as one of this module's runners of these types.
      sid: 'TagOnLaunch',
      actions: ['ec2:CreateTags'],
      resources: [ec2('instance'), ec2('volume'), ec2('fleet')],
      conditions: [
        { test: 'StringEquals', variable: 'ec2:CreateAction', values: ['RunInstances', 'CreateFleet'] },
        { test: 'ForAllValues:StringEquals', variable: 'aws:TagKeys', values: tagKeys(props.tags) },
        { test: 'StringEquals', variable: `aws:RequestTag/${TAGS.prefix}`, values: [props.prefix] },
        { test: 'StringEquals', variable: `aws:RequestTag/${TAGS.runnerType}`, values: launch.runnerTypes },
      ],
    },
    ...props.instances.grantPassRole(),
    {
      // CreateFleet needs these service-linked roles; AWS creates them on first use.
      sid: 'CreateFleetServiceLinkedRoles',
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [`arn:${partition}:iam::${accountId}:role/aws-service-role/*`],
      conditions: [{ test: 'StringEquals', variable: 'iam:AWSServiceName', values: ['spot.amazonaws.com', 'ec2fleet.amazonaws.com'] }],
    },
    grantReadGitHubApp(props),
    // The App's parameters are SecureStrings with the module key.
    { sid: 'DecryptGitHubApp', actions: ['kms:Decrypt'], resources: [props.key.arn] },
    ...props.instances.configs.grantWrite(),
  ];
}
