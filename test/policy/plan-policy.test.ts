/**
 * Policy rules on the offline plans of every stack and of the HCL consumer.
 * Each rule mirrors a checkov check, named in its title. The plans come from
 * `npm run plan` (which `npm test` runs before jest).
 */
import { gunzipSync } from 'node:zlib';
import { WILDCARD_RESOURCE_SIDS } from '../../modules/shared/iam';
import { Plan, planNames, refersTo } from './plan';

/** Every stack main.ts synthesizes, plus the plain HCL consumer. */
const EXPECTED_PLANS = [
  'example-baked-image',
  'example-default',
  'example-ghes',
  'example-multi-runner',
  'example-promotion-dev',
  'example-promotion-prod',
  'hcl-consumer',
  'hcl-enterprise',
  'hcl-tagged',
  'terraform-module',
];

/**
 * The tags each plan's root gives the module (main.ts and examples/hcl-tagged).
 * Every planned resource that has a `tags` attribute must carry them (issue #10
 * item 9: the event source mappings did not).
 */
const ROOT_TAGS: Record<string, Record<string, string>> = {
  'example-baked-image': { environment: 'baked-example', project: 'github-runners' },
  'example-default': { environment: 'example', project: 'github-runners' },
  'example-ghes': { environment: 'ghes-example', project: 'github-runners' },
  'example-multi-runner': { environment: 'example', project: 'github-runners' },
  'example-promotion-dev': { environment: 'dev', project: 'github-runners' },
  'example-promotion-prod': { environment: 'prod', project: 'github-runners' },
  'hcl-tagged': { team: 'platform', 'cost-center': 'ci-4711' },
};

/**
 * The IAM settings each plan's root gives the module (examples/hcl-enterprise;
 * issue #10 item 5). The others set none: roles at "/", no boundary, no extra
 * policies, no Session Manager, the one all-outbound egress rule.
 */
const ENTERPRISE = {
  rolePath: '/ci/github-runners/',
  boundary: 'arn:aws:iam::123456789012:policy/ci-boundary',
  profilePath: '/ci/profiles/',
  managed: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess', 'arn:aws:iam::123456789012:policy/ci-deploy'],
};
const IAM_SETTINGS: Record<string, typeof ENTERPRISE> = { 'hcl-enterprise': ENTERPRISE };
/** The KMS key a root brings (kms_key_arn); the others use the module's key. */
const GIVEN_KEYS: Record<string, string> = { 'hcl-enterprise': 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' };

/** Every `references` list in an expression tree. */
function referenceLists(node: unknown): string[][] {
  if (node === null || typeof node !== 'object') return [];
  const own = Array.isArray((node as { references?: unknown }).references) ? [(node as { references: string[] }).references] : [];
  return [...own, ...Object.values(node as Record<string, unknown>).flatMap(referenceLists)];
}
const SSM_CORE = 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore';
/**
 * The roles of a baked image (modules/images/runner-image.ts), by the suffix
 * of their name: the service that may assume each, and the only policies it
 * gets, the AWS managed ones AWS documents for it. No inline policy.
 */
const IMAGE_BUILDER_ROLES: Record<string, { service: string; policies: string[] }> = {
  '-build': { service: 'ec2.amazonaws.com', policies: [SSM_CORE, 'arn:aws:iam::aws:policy/EC2InstanceProfileForImageBuilder'] },
  '-lifecycle': { service: 'imagebuilder.amazonaws.com', policies: ['arn:aws:iam::aws:policy/service-role/EC2ImageBuilderLifecycleExecutionPolicy'] },
};
/** Plans that build a baked image, and the runner types that launch it. */
const BAKED_IMAGE_PLANS = ['example-baked-image'];
/** The image builder role kind of a role name ("-build", "-lifecycle"), or undefined for the module's other roles. */
const imageRoleKind = (name: unknown): string | undefined => (/-image-[a-z0-9-]+(-build|-lifecycle)$/.exec(String(name)) ?? [])[1];

/** Attributes that hold a resource's name in its AWS namespace. */
const NAME_ATTRIBUTES = ['name', 'function_name', 'bucket', 'alarm_name', 'dashboard_name', 'name_prefix'];
/**
 * Types whose name is scoped to a parent, or is a reference rather than a name:
 * an inline role policy's name is unique per role, a permission's
 * function_name names the function it belongs to, an API's stage per API.
 */
const PARENT_SCOPED_TYPES = new Set(['aws_iam_role_policy', 'aws_lambda_permission', 'aws_apigatewayv2_stage', 'aws_cloudwatch_event_target']);

describe('offline plans', () => {
  it('should exist for every stack and the HCL consumer (run `npm run plan` first)', () => {
    expect(planNames()).toEqual(expect.arrayContaining(EXPECTED_PLANS));
  });
});

// Rules run on every plan present; the test above fails when one is missing.
describe.each(planNames().length > 0 ? planNames() : EXPECTED_PLANS)('plan %s', (name) => {
  let plan: Plan;
  beforeAll(() => {
    plan = new Plan(name);
  });

  it('should create resources and delete or replace nothing', () => {
    const actions = plan.json.resource_changes.filter((r) => r.mode === 'managed').flatMap((r) => r.change.actions);
    expect(actions.length).toBeGreaterThan(10);
    expect(new Set(actions)).toEqual(new Set(['create']));
  });

  it('should encrypt every SQS queue with the module CMK (CKV_AWS_27)', () => {
    const queues = plan.configured('aws_sqs_queue');
    expect(queues.length).toBeGreaterThanOrEqual(2);
    for (const q of queues) expect({ queue: q.address, cmk: refersTo(q.expressions.kms_master_key_id, 'aws_kms_key') }).toEqual({ queue: q.address, cmk: true });
  });

  it('should give every SQS queue a dead-letter queue or be one (redrive policy)', () => {
    const queues = plan.configured('aws_sqs_queue');
    const withRedrive = queues.filter((q) => q.expressions.redrive_policy !== undefined);
    expect(withRedrive.length).toBeGreaterThan(0);
    expect(withRedrive.length * 2).toBe(queues.length);
  });

  it('should encrypt every log group with the module CMK (CKV_AWS_158)', () => {
    const groups = plan.configured('aws_cloudwatch_log_group');
    expect(groups.length).toBeGreaterThanOrEqual(2);
    for (const g of groups) expect({ group: g.address, cmk: refersTo(g.expressions.kms_key_id, 'aws_kms_key') }).toEqual({ group: g.address, cmk: true });
  });

  it('should give every log group a retention (CKV_AWS_66)', () => {
    for (const g of plan.changes('aws_cloudwatch_log_group')) {
      expect({ group: g.address, retention: g.change.after?.retention_in_days }).toEqual({ group: g.address, retention: expect.any(Number) });
      expect(g.change.after?.retention_in_days).toBeGreaterThan(0);
    }
  });

  it('should encrypt every S3 bucket with the module CMK (CKV2_AWS_73)', () => {
    const buckets = plan.configured('aws_s3_bucket');
    const encryption = plan.configured('aws_s3_bucket_server_side_encryption_configuration');
    expect(encryption.length).toBe(buckets.length);
    for (const e of encryption) {
      const rule = JSON.stringify(e.expressions.rule);
      expect({ bucket: e.address, cmk: rule.includes('aws_kms_key.') }).toEqual({ bucket: e.address, cmk: true });
    }
  });

  it('should encrypt every Lambda environment with the module CMK', () => {
    const functions = plan.configured('aws_lambda_function');
    expect(functions.length).toBeGreaterThan(0);
    for (const f of functions) expect({ fn: f.address, cmk: refersTo(f.expressions.kms_key_arn, 'aws_kms_key') }).toEqual({ fn: f.address, cmk: true });
  });

  it('should allow no "*" action in any IAM statement (CKV_AWS_49)', () => {
    const statements = plan.configured('aws_iam_policy_document', 'data').flatMap((d) =>
      ((d.expressions.statement as unknown as Array<Record<string, { constant_value?: unknown }>>) ?? []).map((s) => ({
        doc: d.address,
        sid: s.sid?.constant_value as string,
        effect: (s.effect?.constant_value as string | undefined) ?? 'Allow',
        actions: (s.actions?.constant_value as string[]) ?? [],
      })),
    );
    expect(statements.length).toBeGreaterThan(3);
    for (const s of statements) {
      expect({ ...s, wildcard: s.actions.includes('*') }).toEqual({ ...s, wildcard: false });
      // A service-wide wildcard is only allowed for the account root in the key
      // policy, and in a Deny, which grants nothing (the TLS-only bucket policy).
      if (s.sid !== 'KeyAdministration' && s.effect !== 'Deny') expect({ ...s, serviceWide: s.actions.some((a) => a.endsWith(':*')) }).toEqual({ ...s, serviceWide: false });
    }
  });

  it('should justify every "*" resource (CKV_AWS_356)', () => {
    const statements = plan.configured('aws_iam_policy_document', 'data').flatMap((d) =>
      ((d.expressions.statement as unknown as Array<Record<string, { constant_value?: unknown }>>) ?? []).map((s) => ({
        sid: s.sid?.constant_value as string,
        // A list of ARNs, or one expression string such as "${values(queue)[*].arn}".
        resources: [s.resources?.constant_value ?? []].flat() as string[],
      })),
    );
    for (const s of statements.filter((st) => st.resources.includes('*'))) {
      expect({ sid: s.sid, justified: s.sid in WILDCARD_RESOURCE_SIDS }).toEqual({ sid: s.sid, justified: true });
    }
  });

  it('should let every role that calls CreateFleet read the AMI parameter its launch templates resolve (resolve:ssm:)', () => {
    type St = Record<string, { constant_value?: unknown; references?: string[] }>;
    const docs = plan.configured('aws_iam_policy_document', 'data').map((d) => ({ doc: d.address, statements: (d.expressions.statement as unknown as St[]) ?? [] }));
    const launchers = docs.filter((d) => d.statements.some((s) => ((s.actions?.constant_value as string[]) ?? []).includes('ec2:CreateFleet')));
    expect(launchers.length).toBeGreaterThan(0);
    for (const d of launchers) {
      const read = d.statements.find((s) => s.sid?.constant_value === 'ReadAmiParameter');
      expect({ doc: d.doc, actions: read?.actions?.constant_value, arns: (read?.resources?.references ?? []).some((r) => r.includes('ami_parameter_arns')) }).toEqual({
        doc: d.doc,
        actions: ['ssm:GetParameter', 'ssm:GetParameters'],
        arns: true,
      });
    }
  });

  it('should terminate only instances carrying the prefix and a runner-type tag, and tag only with named keys, on create only the module\'s (CKV_AWS_290)', () => {
    type Cond = { test: { constant_value?: string }; variable: { constant_value?: string } };
    type St = Record<string, { constant_value?: unknown }> & { condition?: Cond[] };
    const statements = plan
      .configured('aws_iam_policy_document', 'data')
      .flatMap((d) => ((d.expressions.statement as unknown as St[]) ?? []).map((s) => ({ doc: d.address, s })));
    const variables = (s: St) => (s.condition ?? []).map((c) => c.variable?.constant_value ?? '');
    const terminate = statements.filter(({ s }) => ((s.actions?.constant_value as string[]) ?? []).includes('ec2:TerminateInstances'));
    expect(terminate.length).toBeGreaterThan(0);
    for (const { doc, s } of terminate) {
      expect({ doc, sid: s.sid?.constant_value, vars: variables(s) }).toEqual({
        doc,
        sid: s.sid?.constant_value,
        vars: expect.arrayContaining(['ec2:ResourceTag/ghr:prefix', 'ec2:ResourceTag/ghr:runner-type']),
      });
    }
    // Every CreateTags is limited to named tag keys (aws:TagKeys); tag-on-create
    // (ec2:CreateAction) also to the module's prefix and runner types (aws:RequestTag).
    const tagging = statements.filter(({ s }) => ((s.actions?.constant_value as string[]) ?? []).includes('ec2:CreateTags'));
    expect(tagging.some(({ s }) => variables(s).includes('ec2:CreateAction'))).toBe(true);
    for (const { doc, s } of tagging) {
      const vars = variables(s);
      const onCreate = vars.includes('ec2:CreateAction');
      const tagKeys = (s.condition ?? []).find((c) => c.variable?.constant_value === 'aws:TagKeys')?.test?.constant_value;
      expect({ doc, sid: s.sid?.constant_value, tagKeys, requestTags: onCreate ? vars.filter((v) => v.startsWith('aws:RequestTag/')).sort() : [] }).toEqual({
        doc,
        sid: s.sid?.constant_value,
        tagKeys: expect.stringMatching(/^ForAllValues:String(Equals|Like)$/),
        requestTags: onCreate ? ['aws:RequestTag/ghr:prefix', 'aws:RequestTag/ghr:runner-type'] : [],
      });
    }
  });

  it('should let CreateFleet launch only from the module\'s launch templates, on named resource types, never "*" (CKV_AWS_356, CKV_AWS_290)', () => {
    type St = Record<string, { constant_value?: unknown; references?: string[] }>;
    const docs = plan.configured('aws_iam_policy_document', 'data').map((d) => ({ doc: d.address, statements: (d.expressions.statement as unknown as St[]) ?? [] }));
    const fleets = docs.flatMap((d) => d.statements.filter((s) => ((s.actions?.constant_value as string[]) ?? []).includes('ec2:CreateFleet')).map((s) => ({ doc: d.doc, s })));
    expect(fleets.length).toBeGreaterThan(0);
    for (const { doc, s } of fleets) {
      const text = JSON.stringify(s.resources?.constant_value);
      expect({
        doc,
        wildcard: [s.resources?.constant_value].flat().includes('*'),
        templates: (s.resources?.references ?? []).some((r) => r.startsWith('aws_launch_template.')),
        types: ['fleet/*', 'instance/*', 'volume/*', 'subnet/*'].every((t) => text.includes(t)),
      }).toEqual({ doc, wildcard: false, templates: true, types: true });
    }
  });

  it('should refuse a launch whose image or security groups are not the launch template\'s (ec2:IsLaunchTemplateResource)', () => {
    type Cond = { test: { constant_value?: string }; variable: { constant_value?: string }; values: { constant_value?: unknown } };
    type St = Record<string, { constant_value?: unknown }> & { condition?: Cond[] };
    const docs = plan.configured('aws_iam_policy_document', 'data').map((d) => ({ doc: d.address, statements: (d.expressions.statement as unknown as St[]) ?? [] }));
    const launchers = docs.filter((d) => d.statements.some((s) => ((s.actions?.constant_value as string[]) ?? []).includes('ec2:CreateFleet')));
    expect(launchers.length).toBeGreaterThan(0);
    for (const d of launchers) {
      const keep = d.statements.find((s) => s.effect?.constant_value === 'Deny' && ((s.actions?.constant_value as string[]) ?? []).includes('ec2:RunInstances'));
      const text = JSON.stringify(keep?.resources?.constant_value ?? '');
      expect({
        doc: d.doc,
        condition: (keep?.condition ?? []).map((c) => [c.test.constant_value, c.variable.constant_value, c.values.constant_value]),
        image: text.includes('::image/*'),
        groups: text.includes(':security-group/*'),
      }).toEqual({ doc: d.doc, condition: [['Bool', 'ec2:IsLaunchTemplateResource', ['false']]], image: true, groups: true });
    }
  });

  it('should give every resource with a tags attribute the root\'s tags', () => {
    const expected = ROOT_TAGS[name];
    const taggable = plan.managed().filter((r) => r.change.after !== null && 'tags' in r.change.after);
    expect(taggable.length).toBeGreaterThan(30);
    if (expected === undefined) return; // this root passes no tags (hcl-consumer, terraform-module)
    const untagged = taggable
      .filter((r) => r.change.after_unknown?.tags !== true)
      .filter((r) => !Object.entries(expected).every(([k, v]) => (r.change.after?.tags as Record<string, string> | null)?.[k] === v))
      .map((r) => r.address);
    expect(untagged).toEqual([]);
  });

  it('should give no two resources of one type the same name, whatever the module instances', () => {
    const seen = new Map<string, string>();
    const duplicates: string[] = [];
    for (const r of plan.managed().filter((m) => !PARENT_SCOPED_TYPES.has(m.type))) {
      for (const attribute of NAME_ATTRIBUTES) {
        const value = r.change.after?.[attribute];
        if (typeof value !== 'string' || value === '') continue;
        const key = `${r.type}.${attribute}=${value}`;
        const other = seen.get(key);
        if (other !== undefined) duplicates.push(`${key}: ${other} and ${r.address}`);
        else seen.set(key, r.address);
      }
    }
    expect(duplicates).toEqual([]);
  });

  it('should scope every Lambda permission with source_arn (CKV_AWS_364)', () => {
    const permissions = plan.changes('aws_lambda_permission');
    expect(permissions.length).toBeGreaterThan(0);
    for (const p of permissions) {
      const known = typeof p.change.after?.source_arn === 'string' && p.change.after.source_arn !== '';
      expect({ permission: p.address, sourceArn: known || p.change.after_unknown.source_arn === true }).toEqual({ permission: p.address, sourceArn: true });
    }
  });

  it('should gzip every launch template\'s user data for cloud-init (EC2 allows 16 KB)', () => {
    const templates = plan.changes('aws_launch_template');
    expect(templates.length).toBeGreaterThan(0);
    for (const t of templates) {
      if (t.change.after_unknown.user_data === true) {
        // Known only at apply (it names the binaries bucket): check the expression.
        const configured = plan.configured('aws_launch_template').find((c) => t.address.includes(c.address));
        expect(JSON.stringify(configured?.expressions.user_data)).toContain('base64gzip(');
        continue;
      }
      const raw = Buffer.from(String(t.change.after?.user_data), 'base64');
      // Windows: EC2Launch v2 reads a plain <powershell> block (it does not gunzip).
      if (String(t.change.after?.image_id).includes('/ami-windows-latest/')) {
        expect(raw.length).toBeLessThanOrEqual(16 * 1024);
        expect(raw.toString('utf8')).toMatch(/^<powershell>\n/);
        continue;
      }
      expect({ template: t.address, gzip: raw[0] === 0x1f && raw[1] === 0x8b }).toEqual({ template: t.address, gzip: true });
      expect(raw.length).toBeLessThan(16 * 1024);
      expect(gunzipSync(raw).toString('utf8')).toMatch(/^#!\/bin\/bash\n/);
    }
  });

  it('should send a Windows type plain PowerShell and a Linux type gzipped bash, chosen by runner_os (issue #16)', () => {
    for (const c of plan.configured('aws_launch_template')) {
      const userData = JSON.stringify(c.expressions.user_data);
      expect({ template: c.address, windows: /runner_os == \\"windows\\"\) \? base64encode\(templatefile\([^)]*user-data\.ps1/.test(userData), linux: /: base64gzip\(templatefile\([^)]*user-data\.sh/.test(userData) }).toEqual({
        template: c.address,
        windows: true,
        linux: true,
      });
    }
  });

  it('should boot each Windows type from the public Windows Server 2022 parameter with its root volume on /dev/sda1, each Linux type on /dev/xvda (issue #16)', () => {
    const templates = plan.changes('aws_launch_template').map((t) => ({
      address: t.address,
      image: String(t.change.after?.image_id),
      device: (t.change.after as { block_device_mappings: Array<{ device_name: string }> }).block_device_mappings[0].device_name,
    }));
    // examples/multi-runner has a Windows type; the others have none.
    expect(templates.some((t) => t.image.includes('/ami-windows-latest/'))).toBe(name === 'example-multi-runner');
    for (const t of templates.filter((x) => x.image.startsWith('resolve:ssm:/aws/service/'))) {
      const windows = t.image === 'resolve:ssm:/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base';
      expect({ template: t.address, device: t.device }).toEqual({ template: t.address, device: windows ? '/dev/sda1' : '/dev/xvda' });
    }
  });

  it('should require IMDSv2 with hop limit 1 on every launch template, and terminate on shutdown (CKV_AWS_79)', () => {
    for (const t of plan.changes('aws_launch_template')) {
      const after = t.change.after as { metadata_options: Array<Record<string, unknown>>; instance_initiated_shutdown_behavior: string };
      // Tags stay out of IMDS: the user data never reads them, and they would restrict tag keys.
      expect(after.metadata_options[0]).toMatchObject({ http_tokens: 'required', http_put_response_hop_limit: 1, instance_metadata_tags: 'disabled' });
      expect(after.instance_initiated_shutdown_behavior).toBe('terminate');
    }
  });

  it('should encrypt every runner root volume, with the account EBS key that EC2 Fleet can use (CKV_AWS_8)', () => {
    for (const t of plan.changes('aws_launch_template')) {
      type Mappings = Array<{ ebs: Array<Record<string, unknown>> }>;
      const ebs = (t.change.after as { block_device_mappings: Mappings }).block_device_mappings[0].ebs[0];
      const unknown = (t.change.after_unknown as { block_device_mappings?: Mappings }).block_device_mappings?.[0]?.ebs?.[0] ?? {};
      // kms_key_id is null when known, and not "known after apply" (a key ARN).
      expect({ template: t.address, encrypted: ebs.encrypted, kmsKeyId: ebs.kms_key_id, kmsKeyIdLater: unknown.kms_key_id ?? false }).toEqual({
        template: t.address,
        encrypted: 'true',
        kmsKeyId: null,
        kmsKeyIdLater: false,
      });
    }
  });

  it('should hand every warm pool schedule the literal scheduled-time placeholder, which only Scheduler substitutes', () => {
    const schedules = plan.changes('aws_scheduler_schedule');
    // examples/multi-runner has a pool; the others have none.
    expect(schedules.length > 0).toBe(name === 'example-multi-runner');
    for (const s of schedules) {
      const input = (s.change.after as { target: Array<{ input: string }> }).target[0].input;
      expect({ schedule: s.address, input: JSON.parse(input) }).toEqual({
        schedule: s.address,
        input: { runnerType: expect.stringMatching(/^[a-z0-9-]+$/), size: expect.any(Number), scheduledTime: '<aws.scheduler.scheduled-time>' },
      });
    }
  });

  it('should give every IAM role the root\'s path and permissions boundary, or "/" and none', () => {
    const expected = IAM_SETTINGS[name];
    const roles = plan.changes('aws_iam_role');
    expect(roles.length).toBeGreaterThanOrEqual(5);
    for (const r of roles) {
      expect({ role: r.address, path: r.change.after?.path, boundary: r.change.after?.permissions_boundary ?? null }).toEqual({
        role: r.address,
        path: expected?.rolePath ?? '/',
        boundary: expected?.boundary ?? null,
      });
    }
    for (const p of plan.changes('aws_iam_instance_profile')) expect({ profile: p.address, path: p.change.after?.path }).toEqual({ profile: p.address, path: expected?.profilePath ?? '/' });
  });

  it('should attach exactly the root\'s managed policies, and Session Manager\'s only when enable_ssm_on_runners, to the runner role only', () => {
    const expected = IAM_SETTINGS[name];
    const attachments = plan
      .changes('aws_iam_role_policy_attachment')
      .map((a) => ({ role: a.change.after?.role, policy: a.change.after?.policy_arn }))
      // The image builder roles' own policies are checked in their rule below.
      .filter((a) => imageRoleKind(a.role) === undefined);
    const runnerRoles = plan.changes('aws_iam_role').filter((r) => String(r.change.after?.name).endsWith('-runner')).map((r) => r.change.after?.name);
    expect(runnerRoles.length).toBeGreaterThan(0);
    expect(attachments.map((a) => a.policy).sort()).toEqual(expected ? [...expected.managed, SSM_CORE].sort() : []);
    for (const a of attachments) expect(runnerRoles).toContain(a.role);
  });

  it('should pass only named roles, and only to the service named in iam:PassedToService (CKV_AWS_355)', () => {
    type Cond = { test: { constant_value?: string }; variable: { constant_value?: string }; values: { constant_value?: unknown } };
    type St = Record<string, { constant_value?: unknown; references?: string[] }> & { condition?: Cond[] };
    const passes = plan
      .configured('aws_iam_policy_document', 'data')
      .flatMap((d) => ((d.expressions.statement as unknown as St[]) ?? []).map((s) => ({ doc: d.address, s })))
      .filter(({ s }) => ((s.actions?.constant_value as string[]) ?? []).some((a) => a === 'iam:PassRole' || a === 'iam:*'));
    expect(passes.length).toBeGreaterThan(0);
    for (const { doc, s } of passes) {
      expect({
        doc,
        wildcard: [s.resources?.constant_value ?? []].flat().some((r) => String(r).includes('*')),
        roles: (s.resources?.references ?? []).length > 0 && (s.resources?.references ?? []).every((r) => r.startsWith('aws_iam_role.')),
        passedTo: (s.condition ?? []).find((c) => c.variable.constant_value === 'iam:PassedToService')?.values.constant_value,
      }).toEqual({ doc, wildcard: false, roles: true, passedTo: ['ec2.amazonaws.com'] });
    }
  });

  it('should trust each image builder role to its one service, and give it only the AWS policies documented for it', () => {
    const roles = plan.changes('aws_iam_role').filter((r) => imageRoleKind(r.change.after?.name) !== undefined);
    expect(roles.length).toBe(BAKED_IMAGE_PLANS.includes(name) ? 4 : 0);
    const attachments = plan.changes('aws_iam_role_policy_attachment').map((a) => ({ role: String(a.change.after?.role), policy: a.change.after?.policy_arn }));
    const inline = plan.changes('aws_iam_role_policy').map((p) => String(p.change.after?.role));
    for (const r of roles) {
      const roleName = String(r.change.after?.name);
      const expected = IMAGE_BUILDER_ROLES[imageRoleKind(roleName)!];
      const trust = JSON.parse(String(r.change.after?.assume_role_policy)) as { Statement: { Effect: string; Action: unknown; Principal: unknown; Condition?: unknown }[] };
      expect({ role: roleName, trust: trust.Statement }).toEqual({ role: roleName, trust: [expect.objectContaining({ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: expected.service } })] });
      expect({ role: roleName, policies: attachments.filter((a) => a.role === roleName).map((a) => a.policy).sort() }).toEqual({ role: roleName, policies: [...expected.policies].sort() });
      expect({ role: roleName, inline: inline.includes(roleName) }).toEqual({ role: roleName, inline: false });
    }
  });

  it('should build every image with its own build profile, expire it with its own lifecycle role, and encrypt its root volume (CKV_AWS_200 with the account EBS key)', () => {
    const pipelines = plan.configured('aws_imagebuilder_image_pipeline');
    expect(pipelines.length).toBe(BAKED_IMAGE_PLANS.includes(name) ? 2 : 0);
    const refs = (r: { expressions: Record<string, { references?: string[] }> }, attribute: string) => r.expressions[attribute]?.references ?? [];
    for (const infra of plan.configured('aws_imagebuilder_infrastructure_configuration')) {
      const profile = refs(infra, 'instance_profile_name').find((r) => r.startsWith('aws_iam_instance_profile.'));
      const role = plan.configured('aws_iam_instance_profile').find((p) => profile?.startsWith(p.address) && p.modulePath === infra.modulePath);
      expect({ infra: infra.address, role: refs(role!, 'role').some((r) => r.includes('instance-role')) }).toEqual({ infra: infra.address, role: true });
      expect({ infra: infra.address, metadata: infra.expressions.instance_metadata_options }).toEqual({
        infra: infra.address,
        metadata: [expect.objectContaining({ http_tokens: { constant_value: 'required' } })],
      });
    }
    for (const policy of plan.configured('aws_imagebuilder_lifecycle_policy')) {
      expect({ policy: policy.address, role: refs(policy, 'execution_role').some((r) => r.includes('lifecycle-role')) }).toEqual({ policy: policy.address, role: true });
    }
    for (const recipe of plan.changes('aws_imagebuilder_image_recipe')) {
      const ebs = (recipe.change.after?.block_device_mapping as { ebs: { encrypted: string }[] }[]).map((b) => b.ebs[0]?.encrypted);
      expect({ recipe: recipe.address, ebs }).toEqual({ recipe: recipe.address, ebs: ['true'] });
    }
  });

  it('should publish every image\'s AMI id to a parameter that a runner type launches with resolve:ssm:, and delete old images with their snapshots', () => {
    const published = plan
      .changes('aws_imagebuilder_distribution_configuration')
      .flatMap((d) => (d.change.after?.distribution as { ssm_parameter_configuration: { parameter_name: string; data_type: string }[] }[]).flatMap((x) => x.ssm_parameter_configuration));
    expect(published.length).toBe(BAKED_IMAGE_PLANS.includes(name) ? 2 : 0);
    const images = plan.changes('aws_launch_template').map((t) => String(t.change.after?.image_id));
    for (const p of published) expect({ parameter: p.parameter_name, dataType: p.data_type, launched: images.includes(`resolve:ssm:${p.parameter_name}`) }).toEqual({ parameter: p.parameter_name, dataType: 'aws:ec2:image', launched: true });
    for (const l of plan.changes('aws_imagebuilder_lifecycle_policy')) {
      const detail = (l.change.after?.policy_detail as { action: { type: string; include_resources: unknown[] }[]; filter: { type: string; retain_at_least: number }[] }[])[0];
      expect({ policy: l.address, action: detail.action[0].type, include: detail.action[0].include_resources, retain: detail.filter[0].retain_at_least > 0 }).toEqual({
        policy: l.address,
        action: 'DELETE',
        include: [expect.objectContaining({ amis: true, snapshots: true })],
        retain: true,
      });
    }
  });

  it('should render the root\'s egress rules on the managed runner security group, or the one all-outbound rule', () => {
    const groups = plan.changes('aws_security_group');
    expect(groups.length).toBeGreaterThan(0);
    const rule = (r: Record<string, unknown>) => ({ protocol: r.protocol, from: r.from_port, to: r.to_port, cidr: r.cidr_blocks, ipv6: r.ipv6_cidr_blocks, prefixLists: r.prefix_list_ids });
    const expected =
      name === 'hcl-enterprise'
        ? [
            { protocol: 'tcp', from: 443, to: 443, cidr: ['0.0.0.0/0'], ipv6: ['::/0'], prefixLists: [] },
            { protocol: 'tcp', from: 443, to: 443, cidr: [], ipv6: [], prefixLists: ['pl-6da54004'] },
          ]
        : [{ protocol: '-1', from: 0, to: 0, cidr: ['0.0.0.0/0'], ipv6: ['::/0'], prefixLists: [] }];
    for (const g of groups) {
      const egress = ((g.change.after?.egress as Record<string, unknown>[]) ?? []).map(rule);
      expect({ group: g.address, egress: [...egress].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) }).toEqual({
        group: g.address,
        egress: [...expected].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      });
      expect(g.change.after?.ingress ?? []).toEqual([]);
    }
  });

  it('should, with kms_key_arn, plan no key of its own and encrypt every queue, log group, Lambda environment and bucket with the given key', () => {
    const given = GIVEN_KEYS[name];
    const encrypted: [string, (after: Record<string, any>) => unknown][] = [
      ['aws_sqs_queue', (a) => a.kms_master_key_id],
      ['aws_cloudwatch_log_group', (a) => a.kms_key_id],
      ['aws_lambda_function', (a) => a.kms_key_arn],
      ['aws_s3_bucket_server_side_encryption_configuration', (a) => a.rule?.[0]?.apply_server_side_encryption_by_default?.[0]?.kms_master_key_id],
    ];
    if (given === undefined) {
      expect(plan.changes('aws_kms_key').length).toBeGreaterThanOrEqual(1);
      return;
    }
    for (const type of ['aws_kms_key', 'aws_kms_alias', 'aws_kms_key_policy']) expect({ type, planned: plan.changes(type).length }).toEqual({ type, planned: 0 });
    for (const [type, attribute] of encrypted) {
      const changes = plan.changes(type);
      expect({ type, count: changes.length > 0 }).toEqual({ type, count: true });
      for (const c of changes) expect({ resource: c.address, key: attribute(c.change.after ?? {}) }).toEqual({ resource: c.address, key: given });
    }
  });

  it('should route every use of the module key through kms_key_arn in the HCL module', () => {
    if (name !== 'terraform-module' && !name.startsWith('hcl-')) return; // CDKTF stacks pass no key: nothing to route
    // The alias and the key policy name the key itself; everything else (encryption
    // settings, grants, and the account and partition read from the ARN) goes through the choice.
    const own = new Set(['aws_kms_alias', 'aws_kms_key_policy']);
    const users = plan.configured('aws_kms_key').length === 0 ? [] : collect();
    function collect() {
      const out: { address: string; lists: string[][] }[] = [];
      const walk = (m: any, path: string) => {
        for (const r of m.resources ?? []) if (!own.has(r.type)) out.push({ address: `${path}${r.address}`, lists: referenceLists(r.expressions).filter((l) => l.some((x) => x.startsWith('aws_kms_key.'))) });
        for (const [n, call] of Object.entries<any>(m.module_calls ?? {})) walk(call.module, `${path}module.${n}.`);
      };
      walk(plan.json.configuration.root_module, '');
      return out.filter((u) => u.lists.length > 0);
    }
    expect(users.length).toBeGreaterThan(10);
    for (const u of users) for (const l of u.lists) expect({ resource: u.address, viaInput: l.includes('var.kms_key_arn') }).toEqual({ resource: u.address, viaInput: true });
  });

  it('should rotate the KMS key (CKV_AWS_7)', () => {
    const keys = plan.changes('aws_kms_key');
    expect(keys.length).toBeGreaterThanOrEqual(GIVEN_KEYS[name] ? 0 : 1);
    for (const key of keys) expect({ key: key.address, rotation: key.change.after?.enable_key_rotation }).toEqual({ key: key.address, rotation: true });
  });

  it('should read no data source that calls AWS at plan time', () => {
    // Computed by the provider from its own configuration, without an API call.
    const offline = new Set(['aws_iam_policy_document', 'aws_region', 'aws_partition']);
    const types = plan.dataSourceTypes();
    expect(types.length).toBeGreaterThan(0);
    expect(types.filter((t) => !offline.has(t))).toEqual([]);
  });
});
