/**
 * What the IAM check needs from an applied root (`terraform show -json`):
 * per module instance, the roles with their policies as applied, the KMS key
 * policy, each function's environment (so requests name what the function
 * would name), the launch templates and the runners' security groups.
 */
import { PolicyDocument, RolePolicies } from './simulator';

interface StateResource {
  address: string;
  type: string;
  values: Record<string, unknown>;
}
interface StateModule {
  address?: string;
  resources?: StateResource[];
  child_modules?: StateModule[];
}

export interface AppliedFunction {
  readonly name: string;
  readonly role: RolePolicies;
  readonly env: Readonly<Record<string, string>>;
  /** The queue ARNs of the function's SQS event source mappings. */
  readonly eventSources: readonly string[];
}

export interface AppliedTemplate {
  readonly arn: string;
  readonly id: string;
  /** `resolve:ssm:<parameter>` or an AMI id. */
  readonly imageId: string;
  /** The tags the template puts on the instance. */
  readonly instanceTags: Readonly<Record<string, string>>;
}

export interface AppliedModule {
  /** `module.runners`. */
  readonly address: string;
  readonly prefix: string;
  readonly region: string;
  readonly accountId: string;
  readonly keyArn: string;
  readonly keyPolicy: PolicyDocument;
  /** The key's aliases (`alias/...`), as a KeyId may name it. */
  readonly keyAliases: readonly string[];
  /** The module's queues by ARN, with the KMS key each is encrypted with. */
  readonly queues: ReadonlyMap<string, { readonly kmsKey?: string }>;
  /** The module's buckets by name, with the bucket policy (evaluated with every S3 request on them) and the SSE-KMS key of their default encryption. */
  readonly buckets: ReadonlyMap<string, { readonly policy?: PolicyDocument; readonly kmsKey?: string }>;
  readonly functions: ReadonlyMap<string, AppliedFunction>;
  readonly runnerRole: RolePolicies;
  readonly runnerLogGroup: string;
  /** By runner type. */
  readonly templates: ReadonlyMap<string, AppliedTemplate>;
  readonly securityGroupIds: readonly string[];
}

export interface AppliedRoot {
  readonly modules: ReadonlyMap<string, AppliedModule>;
  readonly subnetIds: readonly string[];
}

/** Read the applied root from `terraform show -json`. */
export function readApplied(showJson: string): AppliedRoot {
  const state = JSON.parse(showJson) as { values: { root_module: StateModule } };
  const all: StateResource[] = [];
  const walk = (m: StateModule) => {
    all.push(...(m.resources ?? []));
    for (const c of m.child_modules ?? []) walk(c);
  };
  walk(state.values.root_module);
  const moduleOf = (r: StateResource) => r.address.split('.').slice(0, 2).join('.');
  const addresses = [...new Set(all.filter((r) => r.address.startsWith('module.')).map(moduleOf))];
  const modules = new Map<string, AppliedModule>();
  for (const address of addresses) {
    const mine = all.filter((r) => moduleOf(r) === address);
    const of = (type: string) => mine.filter((r) => r.type === type);
    const policies = of('aws_iam_role_policy');
    const roles = new Map<string, RolePolicies>();
    for (const role of of('aws_iam_role')) {
      const name = String(role.values.name);
      roles.set(name, {
        name,
        arn: String(role.values.arn),
        policies: policies.filter((p) => p.values.role === name).map((p) => ({ name: String(p.values.name), policy: JSON.parse(String(p.values.policy)) as PolicyDocument })),
      });
    }
    const role = (arn: string) => {
      const found = [...roles.values()].find((r) => r.arn === arn);
      if (!found) throw new Error(`${address}: no role ${arn}`);
      return found;
    };
    const functions = new Map<string, AppliedFunction>();
    for (const f of of('aws_lambda_function')) {
      const env = ((f.values.environment as { variables: Record<string, string> }[] | undefined) ?? [])[0]?.variables ?? {};
      const name = String(f.values.function_name);
      const eventSources = of('aws_lambda_event_source_mapping')
        .filter((e) => String(e.values.function_name).split(':').pop() === name || String(e.values.function_arn) === String(f.values.arn))
        .map((e) => String(e.values.event_source_arn));
      functions.set(name, { name, role: role(String(f.values.role)), env, eventSources });
    }
    const key = of('aws_kms_key')[0];
    const keyPolicy = of('aws_kms_key_policy')[0];
    const profile = of('aws_iam_instance_profile')[0];
    const runnerRole = roles.get(String(profile.values.role));
    if (!runnerRole) throw new Error(`${address}: no runner role`);
    const templates = new Map<string, AppliedTemplate>();
    for (const t of of('aws_launch_template')) {
      const type = /\["([^"]+)"\]$/.exec(t.address)?.[1] ?? '';
      const specs = (t.values.tag_specifications as { resource_type: string; tags: Record<string, string> }[]) ?? [];
      templates.set(type, {
        arn: String(t.values.arn),
        id: String(t.values.id),
        imageId: String(t.values.image_id),
        instanceTags: specs.find((s) => s.resource_type === 'instance')?.tags ?? {},
      });
    }
    const [, , , region, accountId] = String(key.values.arn).split(':');
    const logGroups = of('aws_cloudwatch_log_group').map((g) => String(g.values.name));
    modules.set(address, {
      address,
      prefix: String(of('aws_iam_instance_profile')[0].values.name).replace(/-runner$/, ''),
      region,
      accountId,
      keyArn: String(key.values.arn),
      keyPolicy: JSON.parse(String(keyPolicy.values.policy)) as PolicyDocument,
      keyAliases: of('aws_kms_alias').map((a) => String(a.values.name)),
      queues: new Map(of('aws_sqs_queue').map((q) => [String(q.values.arn), { kmsKey: (q.values.kms_master_key_id as string | null) || undefined }])),
      buckets: new Map(
        of('aws_s3_bucket').map((b) => {
          const name = String(b.values.bucket);
          const policy = of('aws_s3_bucket_policy').find((p) => p.values.bucket === name);
          const encryption = of('aws_s3_bucket_server_side_encryption_configuration').find((e) => e.values.bucket === name);
          const rule = ((encryption?.values.rule as { apply_server_side_encryption_by_default?: { sse_algorithm: string; kms_master_key_id?: string }[] }[] | undefined) ?? [])[0];
          const byDefault = rule?.apply_server_side_encryption_by_default?.[0];
          return [name, { policy: policy ? (JSON.parse(String(policy.values.policy)) as PolicyDocument) : undefined, kmsKey: byDefault?.sse_algorithm === 'aws:kms' ? byDefault.kms_master_key_id || undefined : undefined }];
        }),
      ),
      functions,
      runnerRole,
      runnerLogGroup: logGroups.find((g) => g.startsWith('/github-runners/')) ?? '',
      templates,
      securityGroupIds: of('aws_security_group').map((g) => String(g.values.id)),
    });
  }
  return { modules, subnetIds: all.filter((r) => r.type === 'aws_subnet').map((r) => String(r.values.id)) };
}
