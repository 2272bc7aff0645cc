/**
 * Issue #10 item 8: two instances of the module in one account (two prefixes)
 * never name the same resource, and neither do two runner types of one
 * instance. The names are read from the synthesized Terraform module, not
 * restated here: every resource with a name is put in the namespace AWS
 * keeps its names unique in (or excluded, with the reason), its name
 * template is evaluated for a prefix and runner types, and fast-check looks
 * for two (prefix, types) pairs that pass validation and share a name.
 * The rule it checks is modules/shared/naming.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import fc from 'fast-check';
import { LambdaCode, LambdaS3Location } from '../../modules/shared/lambda-code';
import { PREFIX_PATTERN } from '../../modules/shared/naming';
import { PropsValidationError } from '../../modules/shared/validation';
import { RunnerTypes } from '../../modules/runners/runner-types';
import { TerraformModuleStack } from '../../modules/terraform-module/terraform-module-stack';
import { makeBundleDir, Synthesized } from './helpers';

function synthModule(): Synthesized {
  const bundle = makeBundleDir(['webhook', 'scale-up', 'scale-down', 'termination-watcher', 'syncer', 'pool', 'redelivery', 'runner-api']);
  const original = LambdaCode.fromBundleOrS3.bind(LambdaCode);
  const spy = jest.spyOn(LambdaCode, 'fromBundleOrS3').mockImplementation((name: string, location: LambdaS3Location) => original(name, location, bundle.dir));
  try {
    const app = Testing.app();
    new TerraformModuleStack(app, 'terraform-module');
    app.synth();
    return JSON.parse(readFileSync(join(app.outdir, 'stacks', 'terraform-module', 'cdk.tf.json'), 'utf8')) as Synthesized;
  } finally {
    spy.mockRestore();
  }
}

/**
 * Where AWS keeps each kind of name unique, and the attribute that holds it.
 * Launch template, Lambda, SQS, log group, alarm, dashboard, rule (default
 * bus), schedule (default group), table, alias: per account and region; IAM
 * roles and instance profiles: per account; security groups: per VPC (one
 * VPC may hold both instances). API Gateway allows duplicate API names, but a
 * shared name would still confuse the console, so it is checked too.
 */
const NAMESPACES: Record<string, { attr: string; maxLength: number }> = {
  aws_apigatewayv2_api: { attr: 'name', maxLength: 128 },
  aws_cloudwatch_dashboard: { attr: 'dashboard_name', maxLength: 255 },
  aws_cloudwatch_event_rule: { attr: 'name', maxLength: 64 },
  aws_cloudwatch_log_group: { attr: 'name', maxLength: 512 },
  aws_cloudwatch_metric_alarm: { attr: 'alarm_name', maxLength: 255 },
  aws_dynamodb_table: { attr: 'name', maxLength: 255 },
  aws_iam_instance_profile: { attr: 'name', maxLength: 128 },
  aws_iam_role: { attr: 'name', maxLength: 64 },
  aws_kms_alias: { attr: 'name', maxLength: 256 },
  aws_lambda_function: { attr: 'function_name', maxLength: 64 },
  aws_launch_template: { attr: 'name', maxLength: 128 },
  aws_scheduler_schedule: { attr: 'name', maxLength: 64 },
  aws_security_group: { attr: 'name', maxLength: 255 },
  aws_sqs_queue: { attr: 'name', maxLength: 80 },
};

/** Resources whose name is not account-wide, with why. */
const EXCLUDED: Record<string, string> = {
  aws_iam_role_policy: 'an inline policy name is unique only within its role',
  aws_apigatewayv2_stage: 'a stage name is unique only within its API',
  aws_s3_bucket: 'bucket_prefix: AWS appends a unique suffix',
};

interface Template {
  readonly namespace: string;
  readonly address: string;
  readonly name: string;
  readonly forEach?: 'types' | 'pool-windows';
}

const stack = synthModule();
const resources = stack.resource ?? {};

function templates(): Template[] {
  const out: Template[] = [];
  for (const [type, byId] of Object.entries(resources)) {
    for (const [id, config] of Object.entries(byId as Record<string, Record<string, unknown>>)) {
      const namespace = NAMESPACES[type];
      // A name the module makes: an attribute naming the resource, built from the prefix.
      const hasName = Object.entries(config).some(([k, v]) => /(^|_)name(_prefix)?$|^bucket(_prefix)?$/.test(k) && typeof v === 'string' && v.includes('var.prefix'));
      if (!namespace) {
        if (hasName && !EXCLUDED[type]) throw new Error(`${type}.${id} has a name but no namespace here: add it to NAMESPACES or EXCLUDED`);
        continue;
      }
      const name = config[namespace.attr];
      if (typeof name !== 'string') throw new Error(`${type}.${id}: no ${namespace.attr}`);
      const forEach = config.for_each as string | undefined;
      out.push({
        namespace: type,
        address: `${type}.${id}`,
        name,
        forEach: forEach === undefined ? undefined : /local\.runners_runner_types_/.test(forEach) ? 'types' : /local\.runners_pool_pool_windows_/.test(forEach) ? 'pool-windows' : (() => { throw new Error(`${type}.${id}: for_each ${forEach} not known here`); })(),
      });
    }
  }
  return out;
}

const TEMPLATES = templates();
const byAddress = new Map(TEMPLATES.map((t) => [t.address, t]));

/** Two pool windows per type: `<type>-<index>`, the warm pool's window keys. */
const keysOf = (t: Template, types: readonly string[]): (string | undefined)[] =>
  t.forEach === 'types' ? [...types] : t.forEach === 'pool-windows' ? types.flatMap((n) => [`${n}-0`, `${n}-1`]) : [undefined];

/** A name template evaluated for `prefix` and one `each.key`; references to other names are followed. */
function evaluate(t: Template, prefix: string, key: string | undefined, template = t.name): string {
  const out = template.replace(/\$\{([^}]+)\}/g, (_, expr: string) => {
    if (expr === 'var.prefix') return prefix;
    if (expr === 'each.key' && key !== undefined) return key;
    const ref = /^(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(\[each\.key\])?\.(name|function_name)$/.exec(expr);
    const target = ref && byAddress.get(`${ref[1]}.${ref[2]}`);
    if (target && (ref![3] === undefined) === (target.forEach === undefined)) return evaluate(target, prefix, key);
    throw new Error(`${t.address}: cannot evaluate \${${expr}} in ${template}`);
  });
  return out;
}

/** Every name of one instance, as `namespace name` strings, with the resource that takes it. */
function namesOf(prefix: string, types: readonly string[], templateSet: readonly Template[] = TEMPLATES): Map<string, string> {
  const names = new Map<string, string>();
  for (const t of templateSet) {
    for (const key of keysOf(t, types)) {
      const name = evaluate(t, prefix, key);
      const id = `${t.namespace} ${name}`;
      const where = `${t.address}${key === undefined ? '' : `["${key}"]`}`;
      if (names.has(id)) throw new Error(`prefix ${prefix}, types ${types.join(', ')}: ${where} and ${names.get(id)} are both named ${id}`);
      names.set(id, where);
    }
  }
  return names;
}

/** The names two instances share. */
function shared(a: { prefix: string; types: string[] }, b: { prefix: string; types: string[] }, templateSet: readonly Template[] = TEMPLATES): string[] {
  const first = namesOf(a.prefix, a.types, templateSet);
  return [...namesOf(b.prefix, b.types, templateSet).keys()].filter((n) => first.has(n));
}

/** What the construct accepts (GitHubRunners' prefix rule, RunnerTypes.fromList's rules). */
const validPrefix = (p: string) => PREFIX_PATTERN.test(p);
function validTypes(types: readonly string[]): boolean {
  try {
    RunnerTypes.fromList(types.map((name) => ({ name, labels: ['self-hosted'] })));
    return true;
  } catch (e) {
    if (e instanceof PropsValidationError) return false;
    throw e;
  }
}

/** Words of the names themselves, so that generated prefixes and types run into the kinds. */
const WORDS = ['a', 'b', 'c', 'x', '0', '1', 'jobs', 'scale', 'up', 'down', 'pool', 'runner', 'runners', 'dlq', 'webhook', 'redelivery', 'termination', 'retry', 'watcher', 'errors', 'not', 'empty', 'syncer', 'scheduler', 'github'];
const hyphenated = (maxLength: number) =>
  fc.oneof(
    fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 4 }).map((w) => w.join('-')),
    fc.stringMatching(new RegExp(`^[a-z0-9_-]{1,${maxLength}}$`)),
  );
const instance = fc.record({
  prefix: hyphenated(20).filter(validPrefix),
  types: fc.uniqueArray(hyphenated(32), { minLength: 1, maxLength: 3 }).filter(validTypes),
});

describe('resource names', () => {
  it('should put every per-type resource and every module-wide one in a namespace', () => {
    const namespaces = new Set(TEMPLATES.map((t) => t.namespace));
    expect([...namespaces].sort()).toEqual(Object.keys(NAMESPACES).sort());
    // The per-type kinds the scheme names (modules/shared/naming.ts), all read from the synthesized module.
    const perType = TEMPLATES.filter((t) => t.forEach).map((t) => evaluate(t, 'p', 't'));
    expect(perType.sort()).toEqual(
      ['/aws/lambda/p-scale-up_t', 'p-jobs_t', 'p-jobs_t-dlq', 'p-jobs_t-dlq-not-empty', 'p-pool_t', 'p-runner_t', 'p-scale-up_t', 'p-scale-up_t', 'p-scale-up_t-errors'].sort(),
    );
  });

  it('should keep apart the pairs the review found colliding', () => {
    // Prefix a with type b-c, and prefix a-b with type c: both made the launch template a-b-c.
    expect(shared({ prefix: 'a', types: ['b-c'] }, { prefix: 'a-b', types: ['c'] })).toEqual([]);
    // Prefix x with type webhook, and prefix x-scale-up: both made the function and role x-scale-up-webhook.
    expect(shared({ prefix: 'x', types: ['webhook'] }, { prefix: 'x-scale-up', types: ['default'] })).toEqual([]);
    expect(namesOf('a', ['b-c']).has('aws_launch_template a-runner_b-c')).toBe(true);
    expect(namesOf('x', ['webhook']).has('aws_lambda_function x-scale-up_webhook')).toBe(true);
  });

  it('should find those collisions when the type is joined with "-" (the check can fail)', () => {
    const hyphenOnly = TEMPLATES.map((t) => ({ ...t, name: t.name.replace(/_\$\{each\.key\}/, '-${each.key}').replace(/-runner-\$\{each\.key\}/, '-${each.key}') }));
    expect(shared({ prefix: 'a', types: ['b-c'] }, { prefix: 'a-b', types: ['c'] }, hyphenOnly)).toContain('aws_launch_template a-b-c');
    expect(shared({ prefix: 'x', types: ['webhook'] }, { prefix: 'x-scale-up', types: ['default'] }, hyphenOnly)).toEqual(
      expect.arrayContaining(['aws_lambda_function x-scale-up-webhook', 'aws_iam_role x-scale-up-webhook']),
    );
  });

  it('should give no name twice within one instance, and none that another prefix also gives', () => {
    fc.assert(
      fc.property(instance, instance, (a, b) => {
        namesOf(a.prefix, a.types); // throws on a name taken twice within the instance
        if (a.prefix !== b.prefix) expect(shared(a, b)).toEqual([]);
      }),
      { numRuns: 3000, seed: 10_08 },
    );
  });

  it("should let the module key serve every log group of its instance and none of another prefix's", () => {
    // The key policy's CloudWatch Logs condition (module-key.ts) is an ArnLike
    // on the log group's ARN: `*` matches any run of characters.
    const statement = Object.values((stack.data?.aws_iam_policy_document ?? {}) as Record<string, { statement?: { sid?: string; condition?: { values: string[] }[] }[] }>)
      .flatMap((d) => d.statement ?? [])
      .find((st) => st.sid === 'KeyUseByCloudWatchLogs');
    const patterns = statement?.condition?.[0]?.values.map((v) => v.slice(v.indexOf(':log-group:') + ':log-group:'.length)) ?? [];
    expect(patterns.length).toBeGreaterThan(1);
    const served = (prefix: string, name: string) =>
      patterns.some((p) => new RegExp(`^${p.replace(/\$\{var\.prefix\}/g, prefix).split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`).test(name));
    const logGroups = (prefix: string, types: string[]) =>
      [...namesOf(prefix, types).keys()].filter((id) => id.startsWith('aws_cloudwatch_log_group ')).map((id) => id.slice('aws_cloudwatch_log_group '.length));
    // The review's case: prefix gh with `/aws/lambda/gh-*` also served gh-ci's functions.
    expect(logGroups('gh-ci', ['default']).filter((g) => served('gh', g))).toEqual([]);
    fc.assert(
      fc.property(instance, instance, (a, b) => {
        expect(logGroups(a.prefix, a.types).filter((g) => !served(a.prefix, g))).toEqual([]);
        if (a.prefix !== b.prefix) expect(logGroups(b.prefix, b.types).filter((g) => served(a.prefix, g))).toEqual([]);
      }),
      { numRuns: 1000, seed: 12_07 },
    );
  });

  it('should keep every name within its AWS length limit at the longest prefix and type name', () => {
    const prefix = 'p'.repeat(20);
    const type = 't'.repeat(32);
    expect(validPrefix(prefix) && validTypes([type])).toBe(true);
    const tooLong = TEMPLATES.flatMap((t) => keysOf(t, [type]).map((key) => evaluate(t, prefix, key)).filter((n) => n.length > NAMESPACES[t.namespace].maxLength).map((n) => `${t.namespace} ${n} (${n.length})`));
    expect(tooLong).toEqual([]);
  });
});
