/**
 * The calls no role of the module may make (issue #12 item 3), written as the
 * IAM requests AWS would authorise, with names, ARNs and tags from the applied
 * root and from the adapters themselves (createFleetInput, the JIT config
 * store's tags): terminating or adopting instances without the module's tags
 * or of another module instance, launching another module's or type's
 * template or another image, tags the module does not set, passing another
 * role, the webhook or a runner reading the App key, a runner reading or
 * deleting another instance's config (ec2:SourceInstanceARN against the
 * config's instance tag). The calls that are made are recorded on the wire
 * instead (test/iam/recorded.ts).
 */
import { createFleetInput } from '../../lambdas/shared/aws/ec2-runners';
import { INSTANCE_ARN_TAG } from '../../lambdas/shared/aws/jit-config-store';
import { AppliedFunction, AppliedModule } from './applied';
import { IamRequest, PolicyDocument, RolePolicies } from './simulator';

/** One IAM request, who makes it, and the resource policy AWS also evaluates. */
export interface Check {
  /** The function name, or `<prefix>-runner` for an instance. */
  readonly who: string;
  readonly role: RolePolicies;
  readonly session: string;
  readonly request: IamRequest;
  readonly resourcePolicy?: PolicyDocument;
}

const AMI = 'ami-0abcdef1234567890';
const INSTANCE = 'i-0123456789abcdef0';
/**
 * Resources being created have no id when AWS authorises them (it checks
 * `instance/*`); the simulator runs one request per resource type only for a
 * concrete ARN, so these stand in. Our policies name only `<type>/*` patterns,
 * which match both alike.
 */
const NEW = { instance: `instance/${INSTANCE}`, volume: 'volume/vol-0123456789abcdef0', eni: 'network-interface/eni-0123456789abcdef0' };
const OTHER_INSTANCE = 'i-0fedcba9876543210';

const arn = (m: AppliedModule, service: string, resource: string, account = m.accountId) => `arn:aws:${service}:${m.region}:${account}:${resource}`;
const ec2 = (m: AppliedModule, resource: string) => arn(m, 'ec2', resource);
const parameter = (m: AppliedModule, name: string) => arn(m, 'ssm', `parameter/${name.replace(/^\//, '')}`);
const tagContext = (prefix: 'aws:RequestTag' | 'ec2:ResourceTag' | 'aws:ResourceTag', tags: Record<string, string>) =>
  Object.fromEntries(Object.entries(tags).map(([k, v]) => [`${prefix}/${k}`, v]));

function fn(m: AppliedModule, name: string): AppliedFunction {
  const f = m.functions.get(name);
  if (!f) throw new Error(`${m.address}: no function ${name} (has ${[...m.functions.keys()].join(', ')})`);
  return f;
}

/** A caller's checks, with the key policy for KMS requests. */
function checksOf(m: AppliedModule, who: string, role: RolePolicies, session: string, requests: IamRequest[]): Check[] {
  return requests.map((request) => ({ who, role, session, request, resourcePolicy: request.action.startsWith('kms:') ? m.keyPolicy : undefined }));
}

/** The tags an instance launched by `createdBy` for `type` carries: the template's, then the request's. */
export function launchedTags(m: AppliedModule, type: string, owner: string, createdBy: string): Record<string, string> {
  const input = fleetInput(m, type, owner, createdBy, m.templates.get(type)!.id, ['subnet-x'], ['m7i.large']);
  const requestTags = Object.fromEntries((input.TagSpecifications?.[0].Tags ?? []).map((t) => [t.Key!, t.Value!]));
  return { ...m.templates.get(type)!.instanceTags, ...requestTags };
}

function fleetInput(m: AppliedModule, type: string, owner: string, createdBy: string, templateId: string, subnetIds: string[], instanceTypes: string[]) {
  return createFleetInput({
    prefix: m.prefix,
    runnerType: type,
    owner,
    count: 1,
    launchTemplateId: templateId,
    subnetIds,
    instanceTypes,
    capacityType: 'spot',
    clientToken: 'token',
    createdBy,
  });
}

function onInstance(m: AppliedModule, action: string, instanceId: string, tags: Record<string, string>, extra: Record<string, string | string[]>, why: string): IamRequest {
  return { action, resource: ec2(m, `instance/${instanceId}`), context: { ...tagContext('ec2:ResourceTag', tags), ...tagContext('aws:ResourceTag', tags), ...extra }, why };
}

/** Calls that must be denied. */
export function forbiddenChecks(m: AppliedModule, other: AppliedModule): Check[] {
  const checks: Check[] = [];
  const add = (f: AppliedFunction, requests: IamRequest[]) => checks.push(...checksOf(m, f.name, f.role, f.name, requests));
  const types = [...m.templates.keys()];
  const type = types[0];
  const up = fn(m, `${m.prefix}-scale-up_${type}`);
  const config = JSON.parse(up.env.RUNNER_TYPE_CONFIG) as { launch_template_id: string; subnet_ids: string[]; instance_types: string[] };
  const tags = launchedTags(m, type, 'octo-org/app', 'scale-up');
  const untagged = { team: 'platform' };
  const otherTags = { ...tags, 'ghr:prefix': other.prefix };
  const withoutType = Object.fromEntries(Object.entries(tags).filter(([k]) => k !== 'ghr:runner-type'));
  const template = m.templates.get(type)!;
  const foreign = { ...[...other.templates.values()][0] };
  const launchers = [up, m.functions.get(`${m.prefix}-pool`)].filter((f): f is AppliedFunction => f !== undefined);
  for (const f of [...launchers, fn(m, `${m.prefix}-scale-down`)]) {
    add(f, [
      onInstance(m, 'ec2:TerminateInstances', OTHER_INSTANCE, untagged, {}, 'terminate an instance without the module\'s tags'),
      onInstance(m, 'ec2:TerminateInstances', OTHER_INSTANCE, otherTags, {}, 'terminate another module\'s runner'),
      onInstance(m, 'ec2:TerminateInstances', OTHER_INSTANCE, { 'ghr:prefix': m.prefix }, {}, 'terminate an instance with the prefix but no runner type'),
    ]);
  }
  for (const f of launchers) {
    add(f, [
      { action: 'ec2:RunInstances', resource: `arn:aws:ec2:${m.region}::image/${AMI}`, context: { 'ec2:LaunchTemplate': template.arn, 'ec2:IsLaunchTemplateResource': 'false' }, why: 'launch the template with another image' },
      { action: 'ec2:RunInstances', resource: ec2(m, `security-group/${m.securityGroupIds[0]}`), context: { 'ec2:LaunchTemplate': template.arn, 'ec2:IsLaunchTemplateResource': 'false' }, why: 'launch the template with other security groups' },
      { action: 'ec2:RunInstances', resource: ec2(m, NEW.instance), context: { 'ec2:LaunchTemplate': foreign.arn }, why: 'launch another module\'s template' },
      { action: 'ec2:RunInstances', resource: ec2(m, NEW.instance), why: 'launch without a launch template' },
      { action: 'ec2:CreateFleet', resource: foreign.arn, why: 'CreateFleet from another module\'s template' },
      { action: 'ec2:CreateTags', resource: ec2(m, NEW.instance), context: { 'ec2:CreateAction': 'RunInstances', 'aws:TagKeys': [...Object.keys(tags), 'Name'], ...tagContext('aws:RequestTag', { ...tags, Name: 'x' }) }, why: 'tag on create with a key the module does not set' },
      { action: 'ec2:CreateTags', resource: ec2(m, NEW.instance), context: { 'ec2:CreateAction': 'RunInstances', 'aws:TagKeys': Object.keys(otherTags), ...tagContext('aws:RequestTag', otherTags) }, why: 'tag on create as another module\'s runner' },
      // aws:RequestTag/ghr:runner-type must equal one of the role's types: a launch that leaves it out is refused (#10 item 10).
      { action: 'ec2:CreateTags', resource: ec2(m, NEW.instance), context: { 'ec2:CreateAction': 'CreateFleet', 'aws:TagKeys': Object.keys(withoutType), ...tagContext('aws:RequestTag', withoutType) }, why: 'tag on create without the runner-type tag' },
      { action: 'ec2:CreateTags', resource: ec2(m, NEW.instance), context: { 'ec2:CreateAction': 'CreateFleet', 'aws:TagKeys': Object.keys(tags), ...tagContext('aws:RequestTag', { ...tags, 'ghr:runner-type': 'not-a-type' }) }, why: 'tag on create as a runner type the role does not launch' },
      onInstance(m, 'ec2:CreateTags', OTHER_INSTANCE, untagged, { 'aws:TagKeys': ['ghr:prefix'], 'aws:RequestTag/ghr:prefix': m.prefix }, 'adopt an instance by tagging it with the prefix'),
      { action: 'iam:PassRole', resource: fn(m, `${m.prefix}-webhook`).role.arn, context: { 'iam:PassedToService': 'ec2.amazonaws.com' }, why: 'pass another role to EC2' },
    ]);
  }
  if (types.length > 1) {
    const second = m.templates.get(types[1])!;
    add(up, [
      { action: 'ec2:RunInstances', resource: ec2(m, NEW.instance), context: { 'ec2:LaunchTemplate': second.arn }, why: 'scale-up of one type launching another type\'s template' },
      { action: 'ec2:CreateFleet', resource: second.arn, why: 'scale-up of one type using another type\'s template' },
    ]);
  }
  if (config.launch_template_id !== template.id) throw new Error(`${up.name} launches ${config.launch_template_id}, not its type's template ${template.id}`);

  const webhook = fn(m, `${m.prefix}-webhook`);
  const down = fn(m, `${m.prefix}-scale-down`);
  add(webhook, [
    { action: 'ssm:GetParameters', resource: parameter(m, down.env.GITHUB_APP_KEY_SSM_PARAMETER_NAME), why: 'the webhook reads the App key' },
    { action: 'ec2:TerminateInstances', resource: ec2(m, `instance/${INSTANCE}`), context: tagContext('ec2:ResourceTag', tags), why: 'the webhook terminates a runner' },
  ]);

  const path = down.env.SSM_CONFIG_PATH.replace(/^\//, '');
  const self = `arn:aws:ec2:${m.region}:${m.accountId}:instance/${INSTANCE}`;
  const otherArn = `arn:aws:ec2:${m.region}:${m.accountId}:instance/${OTHER_INSTANCE}`;
  const others = parameter(m, `${path}/${OTHER_INSTANCE}`);
  const ctx = { 'ec2:SourceInstanceARN': self, [`ssm:resourceTag/${INSTANCE_ARN_TAG}`]: otherArn, [`aws:ResourceTag/${INSTANCE_ARN_TAG}`]: otherArn };
  checks.push(
    ...checksOf(m, `${m.prefix}-runner`, m.runnerRole, INSTANCE, [
      { action: 'ssm:GetParameter', resource: others, context: ctx, why: 'a runner reads another instance\'s config' },
      { action: 'ssm:DeleteParameter', resource: others, context: ctx, why: 'a runner deletes another instance\'s config' },
      { action: 'ssm:GetParameters', resource: parameter(m, down.env.GITHUB_APP_KEY_SSM_PARAMETER_NAME), why: 'a runner reads the App key' },
      onInstance(m, 'ec2:TerminateInstances', OTHER_INSTANCE, tags, {}, 'a runner terminates another runner'),
    ]),
  );
  return checks;
}
