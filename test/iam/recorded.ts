/**
 * The AWS calls recorded on the wire (test/cloud/emulator-proxy.ts sits in
 * front of moto_server and keeps every request), turned into the IAM
 * requests AWS authorises for them (issue #12 item 3). A call's parameters
 * are read from the request as sent (JSON bodies for SSM, SQS and DynamoDB,
 * the query form for EC2), so what a function really sends is what is
 * checked; a call this file cannot translate is an error, never skipped.
 *
 * Besides the call itself, what AWS checks on the caller's behalf, which no
 * SDK call shows:
 * - CreateFleet: ec2:CreateFleet on the fleet, instances, volumes, override
 *   subnets and the launch template; ec2:RunInstances on every resource the
 *   launch template names ("resource-level permissions for this action do
 *   not include the resources specified in a launch template ... include the
 *   resources in the RunInstances action statement", Service Authorization
 *   Reference, Amazon EC2, CreateFleet); ec2:CreateTags with ec2:CreateAction
 *   for the tags applied at launch (EC2 User Guide, "Grant permission to tag
 *   resources during creation"); iam:PassRole for the instance profile's role;
 *   ssm:GetParameter on a `resolve:ssm:` image parameter (resolved with the
 *   caller's permissions, EC2 User Guide "Use a Systems Manager parameter
 *   instead of an AMI ID"; terraform-aws-github-runner #4959).
 * - KMS through a service (kms:ViaService): SSM SecureString parameters
 *   written or read with the module key, SQS sends to a queue encrypted with
 *   it, Lambda decrypting each function's environment.
 * - An SQS event source mapping: Lambda polls the queue with the function's
 *   role (ReceiveMessage, DeleteMessage, GetQueueAttributes; Lambda Developer
 *   Guide, "Execution role permissions" for SQS), and SQS decrypts with the key.
 * - Each function writing its logs (logs:CreateLogStream, logs:PutLogEvents).
 * - S3 (REST): each call as the action the Service Authorization Reference
 *   names for it (HeadObject is s3:GetObject; CreateMultipartUpload,
 *   UploadPart and CompleteMultipartUpload are s3:PutObject), evaluated with
 *   the bucket policy; a multipart upload into a bucket whose default
 *   encryption is SSE-KMS with the module key also needs kms:GenerateDataKey
 *   and kms:Decrypt ("Multipart upload API and permissions", S3 User Guide).
 */
import { AppliedFunction, AppliedModule, AppliedRoot } from './applied';
import { Check } from './calls';
import { IamRequest, PolicyDocument } from './simulator';
export { EMPTY_ACCOUNT_STANDIN, substituteEmptyAccount } from './simulator';
import type { ProxiedCall } from '../cloud/emulator-proxy';

/** Calls one caller made, in order: a function's invocation, or a runner instance reading its config. */
export interface RecordedSegment {
  /** A function name, or `runner:<instance id>`. */
  readonly who: string;
  readonly calls: readonly ProxiedCall[];
}

/** What the translation needs to know of the world at the time (the tags of every instance, read from the emulator). */
export interface WorldFacts {
  readonly instanceTags: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

const tagContext = (prefix: string, tags: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(tags).map(([k, v]) => [`${prefix}/${k}`, v]));

/** The query form of an EC2 call. */
function form(call: ProxiedCall): URLSearchParams {
  return new URLSearchParams(call.body);
}

/** `Prefix.N` values of a query form, in order (`InstanceId.1`, `InstanceId.2`...). */
function listOf(params: URLSearchParams, prefix: string): string[] {
  const out: [number, string][] = [];
  for (const [k, v] of params) {
    const m = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)$`).exec(k);
    if (m) out.push([Number(m[1]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** Tags of a query form under `prefix` (`Tag` or `TagSpecification.1.Tag`). */
function tagsOf(params: URLSearchParams, prefix: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [k, v] of params) {
    const m = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)\\.Key$`).exec(k);
    if (m) tags[v] = params.get(`${prefix}.${m[1]}.Value`) ?? '';
  }
  return tags;
}

function json(call: ProxiedCall): Record<string, unknown> {
  return call.body ? (JSON.parse(call.body) as Record<string, unknown>) : {};
}

export class RecordedTranslator {
  /** The module key a parameter was written with, from the recorded PutParameter calls. */
  private readonly parameterKeys = new Map<string, string | undefined>();
  /** The tags a parameter was written with. */
  private readonly parameterTags = new Map<string, Record<string, string>>();

  constructor(
    private readonly root: AppliedRoot,
    private readonly facts: WorldFacts,
  ) {}

  /** The module instance and function (or runner) of a segment. */
  private caller(who: string): { m: AppliedModule; f?: AppliedFunction; instanceId?: string } {
    if (who.startsWith('runner:')) {
      const instanceId = who.slice('runner:'.length);
      const prefix = this.facts.instanceTags.get(instanceId)?.['ghr:prefix'];
      const m = [...this.root.modules.values()].find((x) => x.prefix === prefix);
      if (!m) throw new Error(`runner ${instanceId}: no module of prefix ${prefix}`);
      return { m, instanceId };
    }
    for (const m of this.root.modules.values()) {
      const f = m.functions.get(who);
      if (f) return { m, f };
    }
    throw new Error(`no applied function ${who}`);
  }

  /** Every IAM check of the recorded segments, then those of the applied event source mappings of the functions that ran. */
  checks(segments: readonly RecordedSegment[]): Check[] {
    const checks: Check[] = [];
    const ran = new Set<string>();
    for (const segment of segments) {
      const { m, f, instanceId } = this.caller(segment.who);
      const role = f ? f.role : m.runnerRole;
      const session = f ? f.name : instanceId!;
      const requests: IamRequest[] = [];
      if (f && !ran.has(f.name)) {
        ran.add(f.name);
        requests.push(...this.functionBasics(m, f));
      }
      for (const call of segment.calls) requests.push(...this.translate(m, call, instanceId));
      checks.push(...requests.map((request) => ({ who: segment.who, role, session, request, resourcePolicy: request.action.startsWith('kms:') ? m.keyPolicy : request.action.startsWith('s3:') ? this.bucketOf(m, request.resource).policy : undefined })));
    }
    return checks;
  }

  private functionBasics(m: AppliedModule, f: AppliedFunction): IamRequest[] {
    const stream = `arn:aws:logs:${m.region}:${m.accountId}:log-group:/aws/lambda/${f.name}:log-stream:2026/12/07/[$LATEST]0123456789abcdef`;
    const requests: IamRequest[] = [
      { action: 'logs:CreateLogStream', resource: stream, why: 'Lambda writes the function logs (on the function\'s behalf)' },
      { action: 'logs:PutLogEvents', resource: stream, why: 'Lambda writes the function logs (on the function\'s behalf)' },
      // Lambda's encryption context (aws:lambda:FunctionArn) is left out: the simulator drops kms:EncryptionContext keys, and no policy here conditions on it.
      this.kms(m, 'kms:Decrypt', 'lambda', 'Lambda decrypts the environment with the module key (on the function\'s behalf)'),
    ];
    for (const queue of f.eventSources) {
      for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']) {
        requests.push({ action, resource: queue, why: 'the SQS event source mapping polls with the function\'s role (on its behalf)' });
      }
      if (m.queues.get(queue)?.kmsKey) requests.push(this.kms(m, 'kms:Decrypt', 'sqs', 'SQS decrypts what the event source receives (SSE-KMS, on the function\'s behalf)'));
    }
    return requests;
  }

  private kms(m: AppliedModule, action: string, service: string, why: string): IamRequest {
    return { action, resource: m.keyArn, context: { 'kms:ViaService': `${service}.${m.region}.amazonaws.com`, 'kms:CallerAccount': m.accountId }, why };
  }

  private parameterArn(m: AppliedModule, name: string): string {
    return `arn:aws:ssm:${m.region}:${m.accountId}:parameter/${name.replace(/^\//, '')}`;
  }

  private instanceArn(m: AppliedModule, id: string): string {
    return `arn:aws:ec2:${m.region}:${m.accountId}:instance/${id}`;
  }

  /** The applied bucket an `arn:aws:s3:::<bucket>[/<key>]` names. */
  private bucketOf(m: AppliedModule, arn: string): { readonly policy?: PolicyDocument; readonly kmsKey?: string } {
    const name = arn.replace(/^arn:[^:]+:s3:::/, '').split('/')[0];
    const bucket = m.buckets.get(name);
    if (!bucket) throw new Error(`${arn}: not a bucket of ${m.address}`);
    return bucket;
  }

  /**
   * One recorded S3 REST call (path style: `/<bucket>/<key>?<subresource>`), as the
   * IAM action the Service Authorization Reference (Amazon S3) names for it.
   */
  private s3(m: AppliedModule, call: ProxiedCall): IamRequest[] {
    const url = new URL(call.url, 'http://s3');
    const [bucket, ...rest] = decodeURIComponent(url.pathname).replace(/^\//, '').split('/');
    const key = rest.join('/');
    const q = url.searchParams;
    const operation = ((): string => {
      if (!key) throw new Error(`no IAM translation for the recorded bucket-level S3 call ${call.method} ${call.url}: add one to test/iam/recorded.ts`);
      if (call.method === 'HEAD') return 'HeadObject';
      if (call.method === 'GET' && !q.has('tagging') && !q.has('uploadId')) return 'GetObject';
      if (call.method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
      if (call.method === 'PUT' && q.has('partNumber') && q.has('uploadId')) return 'UploadPart';
      if (call.method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
      if (call.method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
      if (call.method === 'PUT' && q.has('tagging')) return 'PutObjectTagging';
      if (call.method === 'PUT' && !q.has('uploadId') && !q.has('partNumber') && [...q.keys()].every((k) => k === 'x-id')) return 'PutObject';
      throw new Error(`no IAM translation for the recorded S3 call ${call.method} ${call.url}: add one to test/iam/recorded.ts`);
    })();
    const version = q.get('versionId');
    const action = {
      HeadObject: version ? 's3:GetObjectVersion' : 's3:GetObject',
      GetObject: version ? 's3:GetObjectVersion' : 's3:GetObject',
      CreateMultipartUpload: 's3:PutObject',
      UploadPart: 's3:PutObject',
      CompleteMultipartUpload: 's3:PutObject',
      AbortMultipartUpload: 's3:AbortMultipartUpload',
      // With a versionId, PutObjectTagging is authorised as s3:PutObjectVersionTagging (S3 API Reference, PutObjectTagging).
      PutObjectTagging: version ? 's3:PutObjectVersionTagging' : 's3:PutObjectTagging',
      PutObject: 's3:PutObject',
    }[operation]!;
    const resource = `arn:aws:s3:::${bucket}/${key}`;
    const why = `s3 ${operation} ${key}`;
    const out: IamRequest[] = [{ action, resource, why }];
    const { kmsKey } = this.bucketOf(m, resource);
    if ((operation === 'CreateMultipartUpload' || operation === 'PutObject') && this.usesModuleKey(m, kmsKey)) {
      out.push(this.kms(m, 'kms:GenerateDataKey', 's3', `${why}: S3 encrypts it with the bucket's default key (SSE-KMS)`));
      // "you must have permission to the kms:Decrypt and kms:GenerateDataKey actions" for a multipart upload with a KMS key (S3 User Guide, "Multipart upload API and permissions").
      if (operation === 'CreateMultipartUpload') out.push(this.kms(m, 'kms:Decrypt', 's3', `${why}: S3 decrypts the data key to complete the parts (SSE-KMS)`));
    }
    return out;
  }

  private usesModuleKey(m: AppliedModule, keyId: string | undefined): boolean {
    return keyId !== undefined && (keyId === m.keyArn || keyId === m.keyArn.split('/').pop() || m.keyAliases.includes(keyId));
  }

  /** The IAM requests of one recorded call made in module `m` (by a runner when `instanceId` is set). */
  translate(m: AppliedModule, call: ProxiedCall, instanceId?: string): IamRequest[] {
    const why = `${call.service} ${call.action}`;
    const runnerContext = (resourceTags: Record<string, string>) =>
      instanceId ? { 'ec2:SourceInstanceARN': this.instanceArn(m, instanceId), ...tagContext('ssm:resourceTag', resourceTags), ...tagContext('aws:ResourceTag', resourceTags) } : tagContext('aws:ResourceTag', resourceTags);
    if (call.service === 's3') return this.s3(m, call);
    switch (`${call.service}:${call.action}`) {
      case 'ssm:GetParameters':
      case 'ssm:GetParameter': {
        const body = json(call) as { Names?: string[]; Name?: string; WithDecryption?: boolean };
        const names = body.Names ?? [body.Name!];
        return names.flatMap((name) => {
          const tags = this.parameterTags.get(name) ?? {};
          const out: IamRequest[] = [{ action: `ssm:${call.action}`, resource: this.parameterArn(m, name), context: runnerContext(tags), why }];
          if (body.WithDecryption && this.usesModuleKey(m, this.parameterKeys.get(name))) out.push(this.kms(m, 'kms:Decrypt', 'ssm', `${why}: SSM decrypts ${name} with the module key`));
          return out;
        });
      }
      case 'ssm:PutParameter': {
        const body = json(call) as { Name: string; Type?: string; KeyId?: string; Tags?: { Key: string; Value: string }[] };
        const tags = Object.fromEntries((body.Tags ?? []).map((t) => [t.Key, t.Value]));
        this.parameterKeys.set(body.Name, body.Type === 'SecureString' ? body.KeyId : undefined);
        if (body.Tags) this.parameterTags.set(body.Name, tags);
        const tagged = { ...tagContext('aws:RequestTag', tags), 'aws:TagKeys': Object.keys(tags) };
        const out: IamRequest[] = [{ action: 'ssm:PutParameter', resource: this.parameterArn(m, body.Name), context: body.Tags ? tagged : {}, why }];
        // PutParameter with Tags also needs ssm:AddTagsToResource (Systems Manager User Guide, "Tagging parameters").
        if (body.Tags) out.push({ action: 'ssm:AddTagsToResource', resource: this.parameterArn(m, body.Name), context: tagged, why: `${why} with Tags` });
        if (body.Type === 'SecureString' && this.usesModuleKey(m, body.KeyId)) {
          out.push(this.kms(m, 'kms:Encrypt', 'ssm', `${why}: SSM encrypts a standard SecureString with the module key`));
          out.push(this.kms(m, 'kms:GenerateDataKey', 'ssm', `${why}: SSM encrypts an advanced SecureString with the module key`));
        }
        return out;
      }
      case 'ssm:DeleteParameter':
      case 'ssm:DeleteParameters': {
        const body = json(call) as { Names?: string[]; Name?: string };
        return (body.Names ?? [body.Name!]).map((name) => ({ action: `ssm:${call.action}`, resource: this.parameterArn(m, name), context: runnerContext(this.parameterTags.get(name) ?? {}), why }));
      }
      case 'ssm:GetParametersByPath': {
        const body = json(call) as { Path: string };
        return [{ action: 'ssm:GetParametersByPath', resource: this.parameterArn(m, body.Path), why }];
      }
      case 'sqs:SendMessage':
      case 'sqs:SendMessageBatch':
      case 'sqs:GetQueueUrl':
      case 'sqs:GetQueueAttributes': {
        const body = json(call) as { QueueUrl?: string; QueueName?: string };
        const name = body.QueueName ?? body.QueueUrl!.split('/').pop()!;
        const queue = `arn:aws:sqs:${m.region}:${m.accountId}:${name}`;
        // SendMessageBatch is authorised as sqs:SendMessage (Service Authorization Reference, Amazon SQS).
        const action = call.action === 'SendMessageBatch' ? 'sqs:SendMessage' : `sqs:${call.action}`;
        const out: IamRequest[] = [{ action, resource: queue, why }];
        if (action === 'sqs:SendMessage' && m.queues.get(queue)?.kmsKey) {
          // "To send messages to an encrypted queue, the producer must have kms:GenerateDataKey and kms:Decrypt" (SQS Developer Guide, key management).
          out.push(this.kms(m, 'kms:GenerateDataKey', 'sqs', `${why}: SQS encrypts it (SSE-KMS)`), this.kms(m, 'kms:Decrypt', 'sqs', `${why}: SQS encrypts it (SSE-KMS)`));
        }
        return out;
      }
      case 'dynamodb:UpdateItem':
      case 'dynamodb:PutItem':
      case 'dynamodb:GetItem':
      case 'dynamodb:DeleteItem':
      case 'dynamodb:Query': {
        const body = json(call) as { TableName: string; IndexName?: string };
        const table = `arn:aws:dynamodb:${m.region}:${m.accountId}:table/${body.TableName}${body.IndexName ? `/index/${body.IndexName}` : ''}`;
        return [{ action: `dynamodb:${call.action}`, resource: table, why: body.IndexName ? `${why} on the index ${body.IndexName}` : why }];
      }
      case 'ec2:DescribeInstances':
        return [{ action: 'ec2:DescribeInstances', resource: '*', why }];
      case 'ec2:TerminateInstances':
        return listOf(form(call), 'InstanceId').map((id) => this.onInstance(m, 'ec2:TerminateInstances', id, {}, why));
      case 'ec2:CreateTags': {
        const params = form(call);
        const tags = tagsOf(params, 'Tag');
        return listOf(params, 'ResourceId').map((id) => this.onInstance(m, 'ec2:CreateTags', id, { ...tagContext('aws:RequestTag', tags), 'aws:TagKeys': Object.keys(tags) }, `${why} ${Object.keys(tags).join(', ')}`));
      }
      case 'ec2:CreateFleet':
        return this.createFleet(m, form(call));
      default:
        throw new Error(`no IAM translation for the recorded call ${call.service} ${call.action} (${call.method} ${call.path}): add one to test/iam/recorded.ts`);
    }
  }

  private onInstance(m: AppliedModule, action: string, id: string, extra: Record<string, string | string[]>, why: string): IamRequest {
    const tags = this.facts.instanceTags.get(id);
    if (!tags) throw new Error(`${action} on ${id}: the emulator knows no such instance`);
    return { action, resource: this.instanceArn(m, id), context: { ...tagContext('ec2:ResourceTag', tags), ...tagContext('aws:ResourceTag', tags), ...extra }, why };
  }

  /** A recorded CreateFleet and what AWS checks for it, for each value EC2 may give ec2:IsLaunchTemplateResource for the resources a fleet overrides. */
  private createFleet(m: AppliedModule, params: URLSearchParams): IamRequest[] {
    const templateId = params.get('LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId');
    const template = [...m.templates.values()].find((t) => t.id === templateId);
    if (!template) throw new Error(`CreateFleet from ${templateId}: not a launch template of ${m.address}`);
    const subnets = [...new Set([...params.keys()].filter((k) => /^LaunchTemplateConfigs\.1\.Overrides\.\d+\.SubnetId$/.test(k)).map((k) => params.get(k)!))];
    const specs = [...new Set([...params.keys()].map((k) => /^TagSpecification\.(\d+)\.ResourceType$/.exec(k)?.[1]).filter((n): n is string => n !== undefined))];
    const requestTags: Record<string, string> = {};
    for (const n of specs) if (params.get(`TagSpecification.${n}.ResourceType`) === 'instance') Object.assign(requestTags, tagsOf(params, `TagSpecification.${n}.Tag`));
    const tags = { ...template.instanceTags, ...requestTags };
    const ec2 = (resource: string) => `arn:aws:ec2:${m.region}:${m.accountId}:${resource}`;
    const created = { instance: ec2('instance/i-0123456789abcdef0'), volume: ec2('volume/vol-0123456789abcdef0'), eni: ec2('network-interface/eni-0123456789abcdef0') };
    const tagged = { ...tagContext('aws:RequestTag', requestTags), 'aws:TagKeys': Object.keys(requestTags) };
    const onBehalf = (resource: string, fromTemplate: 'true' | 'false' | undefined): IamRequest => ({
      action: 'ec2:RunInstances',
      resource,
      context: { 'ec2:LaunchTemplate': template.arn, ...(fromTemplate === undefined ? {} : { 'ec2:IsLaunchTemplateResource': fromTemplate }) },
      why: `CreateFleet: RunInstances on ${resource.split(':').pop()} (on the caller's behalf${fromTemplate === undefined ? '' : `, IsLaunchTemplateResource ${fromTemplate}`})`,
    });
    const requests: IamRequest[] = [
      { action: 'ec2:CreateFleet', resource: ec2('fleet/fleet-01234567-89ab-cdef-0123-456789abcdef'), why: 'CreateFleet: the fleet' },
      { action: 'ec2:CreateFleet', resource: created.instance, context: tagged, why: 'CreateFleet: the instances' },
      { action: 'ec2:CreateFleet', resource: created.volume, context: tagged, why: 'CreateFleet: the volumes' },
      { action: 'ec2:CreateFleet', resource: template.arn, why: 'CreateFleet: the launch template' },
      ...subnets.map((s) => ({ action: 'ec2:CreateFleet', resource: ec2(`subnet/${s}`), why: 'CreateFleet: an override subnet' })),
      onBehalf(`arn:aws:ec2:${m.region}::image/ami-0abcdef1234567890`, 'true'),
      ...m.securityGroupIds.map((g) => onBehalf(ec2(`security-group/${g}`), 'true')),
      onBehalf(template.arn, 'true'),
      // The docs do not say what EC2 gives for resources a fleet overrides or creates: the policy must hold for each.
      ...(['true', 'false', undefined] as const).flatMap((v) => [onBehalf(created.instance, v), onBehalf(created.volume, v), onBehalf(created.eni, v), ...subnets.map((s) => onBehalf(ec2(`subnet/${s}`), v))]),
      ...['CreateFleet', 'RunInstances'].flatMap((action) =>
        [created.instance, created.volume].map((resource) => ({
          action: 'ec2:CreateTags',
          resource,
          context: { 'ec2:CreateAction': action, 'aws:TagKeys': Object.keys(tags), ...tagContext('aws:RequestTag', tags) },
          why: `tag on create (ec2:CreateAction ${action}): the template's and the request's tags`,
        })),
      ),
      { action: 'iam:PassRole', resource: m.runnerRole.arn, context: { 'iam:PassedToService': 'ec2.amazonaws.com' }, why: 'the instance profile\'s role is passed to EC2 (on the caller\'s behalf)' },
    ];
    if (template.imageId.startsWith('resolve:ssm:')) {
      const name = template.imageId.slice('resolve:ssm:'.length).replace(/^\//, '');
      const account = name.startsWith('aws/service/') ? '' : m.accountId;
      requests.push({ action: 'ssm:GetParameter', resource: `arn:aws:ssm:${m.region}:${account}:parameter/${name}`, why: 'EC2 resolves the resolve:ssm: image with the caller\'s permissions' });
    }
    return requests;
  }
}
