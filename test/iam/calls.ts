/**
 * The AWS calls each function and the runner instance make in the local
 * cloud's scenarios (a queued job launched and registered, a warm pool
 * top-up, a scale-down, a spot interruption, a runner reading its config),
 * written as the IAM requests AWS authorises for them. Names, ARNs and tags
 * come from the applied root (each function's own environment) and from the
 * adapters themselves (createFleetInput, the JIT config store's tags), so a
 * change to what a function sends changes what is checked.
 *
 * Besides the SDK calls, the permissions AWS checks on the caller's behalf:
 * - CreateFleet: ec2:CreateFleet on the fleet, instances, volumes, the
 *   override subnets and the launch template; ec2:RunInstances on every
 *   resource the launch template names (Service Authorization Reference,
 *   CreateFleet: "resource-level permissions for this action do not include
 *   the resources specified in a launch template ... include the resources in
 *   the RunInstances action statement"); ec2:CreateTags with ec2:CreateAction
 *   for the tags applied at launch, those of the template and of the request
 *   (EC2 User Guide, "Grant permission to tag resources during creation");
 *   iam:PassRole for the instance profile's role; ssm:GetParameter on a
 *   `resolve:ssm:` image parameter (resolved with the caller's permissions,
 *   terraform-aws-github-runner #4959).
 * - KMS on the caller's behalf (kms:ViaService): SSM SecureString reads and
 *   writes, SQS SSE-KMS sends and receives, S3 SSE-KMS objects, and Lambda's
 *   environment decryption.
 * - The SQS event source: Lambda polls the queue with the function's role.
 */
import { createFleetInput } from '../../lambdas/shared/aws/ec2-runners';
import { INSTANCE_ARN_TAG, INSTANCE_ID_TAG, runnerConfigParameterName } from '../../lambdas/shared/aws/jit-config-store';
import { AppliedFunction, AppliedModule, AppliedRoot } from './applied';
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

/** KMS on the caller's behalf through `service` (kms:ViaService), with the encryption context that service sets. */
function viaService(m: AppliedModule, actions: string[], service: string, context: Record<string, string>, why: string): IamRequest[] {
  return actions.map((action) => ({
    action,
    resource: m.keyArn,
    context: { 'kms:ViaService': `${service}.${m.region}.amazonaws.com`, 'kms:CallerAccount': m.accountId, ...context },
    why,
  }));
}

/** What every function does: write its logs, decrypt its environment. */
function functionBasics(m: AppliedModule, f: AppliedFunction): IamRequest[] {
  const stream = arn(m, 'logs', `log-group:/aws/lambda/${f.name}:log-stream:2026/12/07/[$LATEST]0123456789abcdef`);
  return [
    { action: 'logs:CreateLogStream', resource: stream, why: 'Lambda writes the function logs' },
    { action: 'logs:PutLogEvents', resource: stream, why: 'Lambda writes the function logs' },
    ...viaService(m, ['kms:Decrypt'], 'lambda', {}, 'Lambda decrypts the environment (module key)'),
  ];
}

/** Read SecureString parameters (GetParameters WithDecryption), as ssm-parameters.ts does. */
function readParameters(m: AppliedModule, names: string[], why: string): IamRequest[] {
  return names.flatMap((name) => [
    { action: 'ssm:GetParameters', resource: parameter(m, name), why },
    ...viaService(m, ['kms:Decrypt'], 'ssm', {}, `${why}: SSM decrypts it`),
  ]);
}

function readApp(m: AppliedModule, f: AppliedFunction): IamRequest[] {
  return readParameters(m, [f.env.GITHUB_APP_ID_SSM_PARAMETER_NAME, f.env.GITHUB_APP_KEY_SSM_PARAMETER_NAME], 'read the GitHub App id and key');
}

/** A queue the function consumes through an event source mapping (Lambda polls with the function's role). */
function consumeQueue(m: AppliedModule, queueArn: string): IamRequest[] {
  return [
    ...['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'].map((action) => ({ action, resource: queueArn, why: 'the SQS event source polls the queue' })),
    ...viaService(m, ['kms:Decrypt'], 'sqs', {}, 'SQS decrypts received messages (SSE-KMS)'),
  ];
}

function sendToQueue(m: AppliedModule, queueArn: string, why: string): IamRequest[] {
  return [
    { action: 'sqs:SendMessage', resource: queueArn, why },
    ...viaService(m, ['kms:GenerateDataKey', 'kms:Decrypt'], 'sqs', {}, `${why}: SQS encrypts it (SSE-KMS)`),
  ];
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

/**
 * One CreateFleet from `type`'s template, as the adapter builds it, with what
 * AWS checks for it. `isLaunchTemplateResource` is the value EC2 gives that key
 * for the resources our fleet overrides or that may not come from the template
 * (instance, subnet, network interface, volume): the docs do not say, so the
 * checks hold for each of "true", "false" and absent.
 */
export function launchRequests(
  m: AppliedModule,
  subnetIds: readonly string[],
  typeConfig: { launch_template_id: string; subnet_ids: string[]; instance_types: string[] },
  type: string,
  owner: string,
  createdBy: string,
  isLaunchTemplateResource: 'true' | 'false' | undefined,
): IamRequest[] {
  const template = [...m.templates.values()].find((t) => t.id === typeConfig.launch_template_id);
  if (!template) throw new Error(`${m.address}: no launch template ${typeConfig.launch_template_id}`);
  const input = fleetInput(m, type, owner, createdBy, typeConfig.launch_template_id, typeConfig.subnet_ids, typeConfig.instance_types);
  const subnets = input.LaunchTemplateConfigs![0].Overrides!.map((o) => o.SubnetId!);
  if (!subnets.every((s) => subnetIds.includes(s))) throw new Error(`${m.address} ${type}: override subnets ${subnets.join(', ')} are not the root's`);
  const requestTags = Object.fromEntries((input.TagSpecifications![0].Tags ?? []).map((t) => [t.Key!, t.Value!]));
  const tags = { ...template.instanceTags, ...requestTags };
  const onBehalf = (resource: string, fromTemplate: 'true' | 'false' | undefined) => ({
    action: 'ec2:RunInstances',
    resource,
    context: { 'ec2:LaunchTemplate': template.arn, ...(fromTemplate === undefined ? {} : { 'ec2:IsLaunchTemplateResource': fromTemplate }) },
    why: 'CreateFleet: EC2 checks RunInstances on the launch template\'s resources',
  });
  const requests: IamRequest[] = [
    { action: 'ec2:CreateFleet', resource: ec2(m, 'fleet/fleet-01234567-89ab-cdef-0123-456789abcdef'), why: 'CreateFleet: the fleet' },
    { action: 'ec2:CreateFleet', resource: ec2(m, NEW.instance), context: { ...tagContext('aws:RequestTag', requestTags), 'aws:TagKeys': Object.keys(requestTags) }, why: 'CreateFleet: the instances' },
    { action: 'ec2:CreateFleet', resource: ec2(m, NEW.volume), context: { ...tagContext('aws:RequestTag', requestTags), 'aws:TagKeys': Object.keys(requestTags) }, why: 'CreateFleet: the volumes' },
    { action: 'ec2:CreateFleet', resource: template.arn, why: 'CreateFleet: the launch template' },
    ...subnets.map((s) => ({ action: 'ec2:CreateFleet', resource: ec2(m, `subnet/${s}`), why: 'CreateFleet: an override subnet' })),
    onBehalf(`arn:aws:ec2:${m.region}::image/${AMI}`, 'true'),
    ...m.securityGroupIds.map((g) => onBehalf(ec2(m, `security-group/${g}`), 'true')),
    onBehalf(template.arn, 'true'),
    onBehalf(ec2(m, NEW.instance), isLaunchTemplateResource),
    onBehalf(ec2(m, NEW.volume), isLaunchTemplateResource),
    onBehalf(ec2(m, NEW.eni), isLaunchTemplateResource),
    ...subnets.map((s) => onBehalf(ec2(m, `subnet/${s}`), isLaunchTemplateResource)),
    ...['CreateFleet', 'RunInstances'].flatMap((action) =>
      [NEW.instance, NEW.volume].map((resource) => ({
        action: 'ec2:CreateTags',
        resource: ec2(m, resource),
        context: { 'ec2:CreateAction': action, 'aws:TagKeys': Object.keys(tags), ...tagContext('aws:RequestTag', tags) },
        why: `tag on create (ec2:CreateAction ${action}): the template's and the request's tags`,
      })),
    ),
    { action: 'iam:PassRole', resource: m.runnerRole.arn, context: { 'iam:PassedToService': 'ec2.amazonaws.com' }, why: 'the instance profile\'s role is passed to EC2' },
  ];
  if (template.imageId.startsWith('resolve:ssm:')) {
    const name = template.imageId.slice('resolve:ssm:'.length).replace(/^\//, '');
    const account = name.startsWith('aws/service/') ? '' : m.accountId;
    requests.push({ action: 'ssm:GetParameter', resource: arn(m, 'ssm', `parameter/${name}`, account), why: 'EC2 resolves the resolve:ssm: image with the caller\'s permissions' });
  }
  return requests;
}

/** Register the launched runner: its JIT config in SSM, tagged with the instance, as jit-config-store.ts writes it. */
function registerRunner(m: AppliedModule, f: AppliedFunction, instanceId: string): IamRequest[] {
  const name = runnerConfigParameterName(f.env.SSM_CONFIG_PATH, instanceId);
  const tags = { [INSTANCE_ID_TAG]: instanceId, [INSTANCE_ARN_TAG]: `${f.env.INSTANCE_ARN_PREFIX}${instanceId}` };
  return [
    { action: 'ssm:PutParameter', resource: parameter(m, name), context: { ...tagContext('aws:RequestTag', tags), 'aws:TagKeys': Object.keys(tags) }, why: 'write the JIT config' },
    { action: 'ssm:AddTagsToResource', resource: parameter(m, name), context: { ...tagContext('aws:RequestTag', tags), 'aws:TagKeys': Object.keys(tags) }, why: 'PutParameter with Tags' },
    ...viaService(m, ['kms:Encrypt', 'kms:GenerateDataKey'], 'ssm', {}, 'SSM encrypts the JIT config with the module key'),
  ];
}

function onInstance(m: AppliedModule, action: string, instanceId: string, tags: Record<string, string>, extra: Record<string, string | string[]>, why: string): IamRequest {
  return { action, resource: ec2(m, `instance/${instanceId}`), context: { ...tagContext('ec2:ResourceTag', tags), ...tagContext('aws:ResourceTag', tags), ...extra }, why };
}

/** Every call of every function and runner of one module instance, in the local cloud's scenarios. */
export function recordedChecks(root: AppliedRoot, m: AppliedModule): Check[] {
  const checks: Check[] = [];
  const add = (f: AppliedFunction, requests: IamRequest[]) => checks.push(...checksOf(m, f.name, f.role, f.name, requests));
  const types = [...m.templates.keys()];

  // The webhook: the secret, then a job on the type's queue.
  const webhook = fn(m, `${m.prefix}-webhook`);
  const queues = JSON.parse(webhook.env.RUNNER_TYPES_CONFIG) as Record<string, unknown>;
  if (Object.keys(queues).length === 0) throw new Error(`${m.address}: the webhook knows no runner type`);
  add(webhook, [
    ...functionBasics(m, webhook),
    ...readParameters(m, [webhook.env.WEBHOOK_SECRET_SSM_PARAMETER_NAME], 'read the webhook secret'),
    ...types.flatMap((t) => sendToQueue(m, arn(m, 'sqs', `${m.prefix}-jobs-${t}`), 'publish the queued job')),
  ]);

  // Scale-up, per type: consume the queue, list, lock, launch, register, record the job, terminate a failed one.
  for (const type of types) {
    const f = fn(m, `${m.prefix}-scale-up-${type}`);
    const config = JSON.parse(f.env.RUNNER_TYPE_CONFIG) as { launch_template_id: string; subnet_ids: string[]; instance_types: string[] };
    const tags = launchedTags(m, type, 'octo-org/app', 'scale-up');
    add(f, [
      ...functionBasics(m, f),
      ...consumeQueue(m, arn(m, 'sqs', `${m.prefix}-jobs-${type}`)),
      ...readApp(m, f),
      { action: 'ec2:DescribeInstances', resource: '*', why: 'list the type\'s runners' },
      { action: 'dynamodb:UpdateItem', resource: arn(m, 'dynamodb', `table/${f.env.IDEMPOTENCY_TABLE_NAME}`), why: 'take, release and mark the launch lock' },
      ...([undefined, 'true', 'false'] as const).flatMap((v) => launchRequests(m, root.subnetIds, config, type, 'octo-org/app', 'scale-up', v)),
      ...registerRunner(m, f, INSTANCE),
      onInstance(m, 'ec2:CreateTags', INSTANCE, tags, { 'aws:TagKeys': [`ghr:job-id:${INSTANCE}`], [`aws:RequestTag/ghr:job-id:${INSTANCE}`]: '42' }, 'record the job id'),
      onInstance(m, 'ec2:TerminateInstances', INSTANCE, tags, {}, 'terminate a runner whose registration failed'),
    ]);
  }

  // The warm pool: launch every pooled type, register, terminate a failed one.
  const pool = m.functions.get(`${m.prefix}-pool`);
  if (pool) {
    const configs = JSON.parse(pool.env.RUNNER_TYPES_CONFIG) as Record<string, { launch_template_id: string; subnet_ids: string[]; instance_types: string[] }>;
    const requests = [...functionBasics(m, pool), ...readApp(m, pool), { action: 'ec2:DescribeInstances', resource: '*', why: 'count the pool' }];
    for (const [type, config] of Object.entries(configs)) {
      requests.push(...([undefined, 'true', 'false'] as const).flatMap((v) => launchRequests(m, root.subnetIds, config, type, 'octo-org', 'pool', v)));
      requests.push(onInstance(m, 'ec2:TerminateInstances', INSTANCE, launchedTags(m, type, 'octo-org', 'pool'), {}, 'terminate a pool runner whose registration failed'));
    }
    requests.push(...registerRunner(m, pool, INSTANCE));
    add(pool, requests);
  }

  // Scale-down: list, terminate idle runners, mark orphans, delete stale configs.
  const down = fn(m, `${m.prefix}-scale-down`);
  const path = down.env.SSM_CONFIG_PATH.replace(/^\//, '');
  add(down, [
    ...functionBasics(m, down),
    ...readApp(m, down),
    { action: 'ec2:DescribeInstances', resource: '*', why: 'list every instance of the prefix' },
    ...types.map((t) => onInstance(m, 'ec2:TerminateInstances', INSTANCE, launchedTags(m, t, 'octo-org/app', 'scale-up'), {}, 'terminate an idle runner')),
    onInstance(m, 'ec2:CreateTags', INSTANCE, launchedTags(m, types[0], 'octo-org/app', 'scale-up'), { 'aws:TagKeys': ['ghr:orphan-seen-at'], 'aws:RequestTag/ghr:orphan-seen-at': '2026-12-07T00:00:00.000Z' }, 'mark an orphan sighting'),
    { action: 'ssm:GetParametersByPath', resource: parameter(m, path), why: 'list the runner configs' },
    { action: 'ssm:DeleteParameters', resource: parameter(m, `${path}/${INSTANCE}`), why: 'delete a stale runner config' },
  ]);

  // The termination watcher: read the instance, deregister with the App, retry through its queue.
  const watcher = fn(m, `${m.prefix}-termination-watcher`);
  const retry = arn(m, 'sqs', `${m.prefix}-termination-retry`);
  add(watcher, [
    ...functionBasics(m, watcher),
    ...readApp(m, watcher),
    { action: 'ec2:DescribeInstances', resource: '*', why: 'read the interrupted instance' },
    ...sendToQueue(m, retry, 'retry a busy runner later'),
    ...consumeQueue(m, retry).filter((r) => r.action !== 'sqs:ChangeMessageVisibility'),
  ]);

  // The runner instance: its own config, read and deleted; its logs; the runner tarball.
  const runnerArn = `arn:aws:ec2:${m.region}:${m.accountId}:instance/${INSTANCE}`;
  const own = parameter(m, `${path}/${INSTANCE}`);
  const instanceContext = { 'ec2:SourceInstanceARN': runnerArn, [`ssm:resourceTag/${INSTANCE_ARN_TAG}`]: runnerArn, [`aws:ResourceTag/${INSTANCE_ARN_TAG}`]: runnerArn };
  const stream = arn(m, 'logs', `log-group:${m.runnerLogGroup}:log-stream:${INSTANCE}/runner`);
  const runnerRequests: IamRequest[] = [
    { action: 'ssm:GetParameter', resource: own, context: instanceContext, why: 'the runner reads its own JIT config' },
    ...viaService(m, ['kms:Decrypt'], 'ssm', {}, 'SSM decrypts the JIT config'),
    { action: 'ssm:DeleteParameter', resource: own, context: instanceContext, why: 'the runner deletes its JIT config once read' },
    { action: 'logs:CreateLogStream', resource: stream, why: 'the CloudWatch agent ships the runner logs' },
    { action: 'logs:PutLogEvents', resource: stream, why: 'the CloudWatch agent ships the runner logs' },
  ];
  const syncer = m.functions.get(`${m.prefix}-syncer`);
  if (syncer) {
    const object = `arn:aws:s3:::${syncer.env.BUCKET_NAME}/${syncer.env.KEY_PREFIX.replace(/\/$/, '')}/actions-runner-linux-x64.tar.gz`;
    runnerRequests.push({ action: 's3:GetObject', resource: object, why: 'the runner downloads the synced tarball' });
    runnerRequests.push(...viaService(m, ['kms:Decrypt'], 's3', {}, 'S3 decrypts the tarball (SSE-KMS)'));
    add(syncer, [
      ...functionBasics(m, syncer),
      { action: 's3:GetObject', resource: object, why: 'HeadObject: is this release synced' },
      { action: 's3:PutObject', resource: object, why: 'the multipart upload of the tarball' },
      { action: 's3:AbortMultipartUpload', resource: object, why: 'abort a failed upload' },
      { action: 's3:PutObjectTagging', resource: object, why: 'tag the tarball with its release' },
      ...viaService(m, ['kms:GenerateDataKey', 'kms:Decrypt'], 's3', {}, 'S3 encrypts the upload (SSE-KMS)'),
    ]);
  }
  checks.push(...checksOf(m, `${m.prefix}-runner`, m.runnerRole, INSTANCE, runnerRequests));
  return checks;
}

/** Calls that must be denied. */
export function forbiddenChecks(m: AppliedModule, other: AppliedModule): Check[] {
  const checks: Check[] = [];
  const add = (f: AppliedFunction, requests: IamRequest[]) => checks.push(...checksOf(m, f.name, f.role, f.name, requests));
  const types = [...m.templates.keys()];
  const type = types[0];
  const up = fn(m, `${m.prefix}-scale-up-${type}`);
  const config = JSON.parse(up.env.RUNNER_TYPE_CONFIG) as { launch_template_id: string; subnet_ids: string[]; instance_types: string[] };
  const tags = launchedTags(m, type, 'octo-org/app', 'scale-up');
  const untagged = { team: 'platform' };
  const otherTags = { ...tags, 'ghr:prefix': other.prefix };
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
