/**
 * What a function that launches and registers runners may do, whichever
 * launches it (scale-up for queued jobs, the warm pool for idle capacity):
 * one place for the grants they share. Each caller adds which launch
 * templates it may launch from and which instances it may terminate.
 */
import { Statement } from '../shared/iam';
import { ModuleKey } from '../shared/module-key';
import { RunnerInstances } from './runner-instances';

export interface LaunchPermissionsProps {
  readonly key: ModuleKey;
  readonly instances: RunnerInstances;
  readonly appIdParameterName: string;
  readonly privateKeyParameterName: string;
  /** Parent path of the per-instance runner configs. */
  readonly ssmConfigPath: string;
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

/** Describe, launch a fleet, tag what it creates, pass the runner role, read the App, write runner configs. */
export function launchStatements(props: LaunchPermissionsProps): Statement[] {
  const { partition, region, accountId } = props.key;
  const ec2 = (kind: string) => `arn:${partition}:ec2:${region}:${accountId}:${kind}/*`;
  return [
    { sid: 'DescribeInstances', actions: ['ec2:DescribeInstances'], resources: ['*'] },
    { sid: 'CreateFleet', actions: ['ec2:CreateFleet'], resources: ['*'] },
    {
      sid: 'TagOnLaunch',
      actions: ['ec2:CreateTags'],
      resources: [ec2('instance'), ec2('volume'), ec2('fleet')],
      conditions: [{ test: 'StringEquals', variable: 'ec2:CreateAction', values: ['RunInstances', 'CreateFleet'] }],
    },
    {
      sid: 'PassRunnerRole',
      actions: ['iam:PassRole'],
      resources: [props.instances.role.arn],
      conditions: [{ test: 'StringEquals', variable: 'iam:PassedToService', values: ['ec2.amazonaws.com'] }],
    },
    {
      // CreateFleet needs these service-linked roles; AWS creates them on first use.
      sid: 'CreateFleetServiceLinkedRoles',
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [`arn:${partition}:iam::${accountId}:role/aws-service-role/*`],
      conditions: [{ test: 'StringEquals', variable: 'iam:AWSServiceName', values: ['spot.amazonaws.com', 'ec2fleet.amazonaws.com'] }],
    },
    {
      sid: 'ReadGitHubApp',
      actions: ['ssm:GetParameters'],
      resources: [props.key.parameterArn(props.appIdParameterName), props.key.parameterArn(props.privateKeyParameterName)],
    },
    {
      sid: 'WriteRunnerConfigs',
      actions: ['ssm:PutParameter', 'ssm:AddTagsToResource'],
      resources: [props.key.parameterArn(`${props.ssmConfigPath}/*`)],
    },
    { sid: 'UseModuleKey', actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], resources: [props.key.arn] },
  ];
}
