/**
 * The contract test of issue #14: every Lambda function of every synthesized
 * stack (cdktf.out/stacks/* after `npm run synth`, and dist/terraform-module)
 * is given the environment its construct wrote, and that function's own config
 * loader must accept it.
 *
 * How the environment is made concrete: the literal `environment.variables`
 * of each `aws_lambda_function` is evaluated by `terraform console` (the real
 * HCL evaluator, so `jsonencode`, `for` expressions, conditionals, `tostring`,
 * `format` and the stack's locals and variables are Terraform's own). Only what
 * Terraform cannot know without an apply is replaced: every reference to a
 * resource or data source attribute (`aws_sqs_queue.x[key].url`,
 * `aws_kms_key.x.arn`, `data.aws_region.x.name`, …) is rewritten to a sample
 * object of that type's shape (a queue URL for a queue, a key ARN for a key, a
 * launch template id and a numeric latest_version for a launch template), keyed
 * like the resource (for_each keys evaluated from the resource's own for_each,
 * count from its count). A resource type with no sample fails the test, so a
 * new reference is a decision, not a silent pass.
 *
 * The terraform-module stack is evaluated with inputs: the README's minimal
 * ones, and a second set that turns on what the minimal set leaves off (a warm
 * pool, a given KMS key, GHES, org runners, an allow list).
 *
 * Each function is identified by its bundle (`assets/lambda-bundle-<name>/`
 * in its filename or its S3 fallback); a function with no mapped loader fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPoolConfig } from '../../lambdas/pool/config';
import { loadRedeliveryConfig } from '../../lambdas/redelivery/config';
import { loadRunnerApiConfig } from '../../lambdas/runner-api/config';
import { loadScaleDownConfig } from '../../lambdas/scale-down/config';
import { loadScaleUpConfig } from '../../lambdas/scale-up/config';
import { ConfigError } from '../../lambdas/shared/config';
import { loadSyncerConfig } from '../../lambdas/syncer/config';
import { loadTerminationWatcherConfig } from '../../lambdas/termination-watcher/config';
import { loadWebhookConfig } from '../../lambdas/webhook/config';
import { MINIMAL_MODULE_INPUTS } from '../../scripts/lib/terraform';

const ROOT = join(__dirname, '..', '..');

/** Bundle name (lambdas/<name>) → the config loader its handler runs once per container. */
const LOADERS: Record<string, (env: NodeJS.ProcessEnv) => unknown> = {
  webhook: loadWebhookConfig,
  'scale-up': loadScaleUpConfig,
  'scale-down': loadScaleDownConfig,
  'termination-watcher': loadTerminationWatcherConfig,
  syncer: loadSyncerConfig,
  pool: loadPoolConfig,
  redelivery: loadRedeliveryConfig,
  'runner-api': loadRunnerApiConfig,
};

/**
 * The variables each function cannot run without: dropping any one of them
 * from the synthesized environment must fail the loader with a message naming
 * it; dropping any other must still load (it has a default).
 */
const REQUIRED: Record<string, readonly string[]> = {
  webhook: ['PREFIX', 'WEBHOOK_SECRET_SSM_PARAMETER_NAME', 'RUNNER_TYPES_CONFIG'],
  'scale-up': [
    'PREFIX',
    'RUNNER_TYPE',
    'RUNNER_TYPE_CONFIG',
    'GITHUB_APP_ID_SSM_PARAMETER_NAME',
    'GITHUB_APP_KEY_SSM_PARAMETER_NAME',
    'SSM_CONFIG_PATH',
    'KMS_KEY_ID',
    'INSTANCE_ARN_PREFIX',
    'IDEMPOTENCY_TABLE_NAME',
  ],
  'scale-down': ['PREFIX', 'GITHUB_APP_ID_SSM_PARAMETER_NAME', 'GITHUB_APP_KEY_SSM_PARAMETER_NAME', 'SSM_CONFIG_PATH'],
  'termination-watcher': ['PREFIX', 'GITHUB_APP_ID_SSM_PARAMETER_NAME', 'GITHUB_APP_KEY_SSM_PARAMETER_NAME', 'RETRY_QUEUE_URL'],
  syncer: ['BUCKET_NAME'],
  pool: ['PREFIX', 'GITHUB_APP_ID_SSM_PARAMETER_NAME', 'GITHUB_APP_KEY_SSM_PARAMETER_NAME', 'SSM_CONFIG_PATH', 'KMS_KEY_ID', 'INSTANCE_ARN_PREFIX', 'RUNNER_TYPES_CONFIG'],
  redelivery: ['GITHUB_APP_ID_SSM_PARAMETER_NAME', 'GITHUB_APP_KEY_SSM_PARAMETER_NAME'],
  'runner-api': ['PREFIX', 'JOB_QUEUE_URLS', 'RUNNER_MAXIMUM_COUNTS', 'IDEMPOTENCY_TABLE_NAME', 'GITHUB_APP_ID_SSM_PARAMETER_NAME', 'GITHUB_APP_KEY_SSM_PARAMETER_NAME'],
};

/** {@link REQUIRED}, plus what another variable's value makes required. */
function requiredIn(bundle: string, env: Record<string, string>): string[] {
  const required = [...REQUIRED[bundle]];
  // Relaunching waiting jobs needs the ledger and the queues (scale-down).
  if (bundle === 'scale-down' && Number(env.JOB_RETRY_MAX_ATTEMPTS ?? '0') > 0) required.push('JOB_LEDGER_TABLE_NAME', 'JOB_QUEUE_URLS');
  // A pool needs an owner to register its runners with, and its types' queues to send its top-ups to (#11 item 5).
  if (bundle === 'pool' && Object.keys(JSON.parse(env.RUNNER_TYPES_CONFIG ?? '{}') as object).length > 0) required.push('POOL_RUNNER_OWNER', 'JOB_QUEUE_URLS');
  return required;
}

/** Variables a function holds that its loader does not read, and who reads them instead. */
const READ_ELSEWHERE = new Set([
  // Read by the AWS SDK itself when it loads, not by our config.
  'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
]);

/** Inputs of the terraform-module stack; the first is the README's minimal set (MINIMAL_MODULE_INPUTS). */
const MODULE_INPUTS: Record<string, Record<string, unknown>> = {
  minimal: MINIMAL_MODULE_INPUTS,
  full: {
    prefix: 'ci-full',
    vpc_id: 'vpc-0123456789abcdef0',
    subnet_ids: ['subnet-0123456789abcdef0'],
    enable_organization_runners: false,
    ghes_url: 'https://github.example.com',
    kms_key_arn: 'arn:aws-us-gov:kms:us-gov-west-1:210987654321:key/11111111-2222-3333-4444-555555555555',
    log_level: 'debug',
    dry_run: true,
    enable_jit_config: false,
    enable_job_queued_check: true,
    repository_allow_list: ['octo-org/app', 'octo-org/infra'],
    pool_runner_owner: 'octo-org/app',
    minimum_running_time_in_minutes: 30,
    runner_boot_time_in_minutes: 10,
    job_retry: { enable: true, max_attempts: 3 },
    webhook_redelivery_lookback_minutes: 120,
    enable_runner_api: true,
    runner_api_audience: 'https://runners.example.com',
    runner_api_default_timeout_minutes: 30,
    runner_version: '2.330.0',
    github_app_ssm_parameters: {
      app_id: '/ops/github/runner/prod/app-id',
      private_key: '/ops/github/runner/prod/private-key',
      webhook_secret: '/ops/github/runner/prod/webhook-secret',
    },
    runner_types: {
      linux: {
        labels: ['self-hosted', 'linux', 'x64'],
        pool_config: [{ size: 2, schedule_expression: 'cron(0/5 8-18 ? * MON-FRI *)' }],
      },
      arm: {
        labels: ['self-hosted', 'linux', 'arm64'],
        runner_architecture: 'arm64',
        exact_match: true,
        priority: 1,
        instance_target_capacity_type: 'on-demand',
        subnet_ids: ['subnet-0fedcba9876543210'],
      },
    },
  },
};

// ---------------------------------------------------------------------------
// Sample values for what only an apply knows. Each is of the shape AWS returns.
// `key` is an HCL expression naming the instance (a for_each key), or null.
// ---------------------------------------------------------------------------

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

function hclObject(fields: Record<string, string>): string {
  return `{ ${Object.entries(fields)
    .map(([k, v]) => `${k} = ${v}`)
    .join(', ')} }`;
}

const SAMPLES: Record<string, (name: string, key: string | null) => string> = {
  aws_sqs_queue: (name, key) => {
    const queue = key === null ? `"contract-${shortName(name)}"` : `"contract-${shortName(name)}-\${${key}}"`;
    return hclObject({
      name: queue,
      url: `"https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/\${${queue}}"`,
      id: `"https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/\${${queue}}"`,
      arn: `"arn:aws:sqs:${REGION}:${ACCOUNT}:\${${queue}}"`,
    });
  },
  aws_dynamodb_table: (name) => hclObject({ name: `"contract-${shortName(name)}"`, id: `"contract-${shortName(name)}"`, arn: `"arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/contract-${shortName(name)}"` }),
  aws_kms_key: () =>
    hclObject({
      arn: `"arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"`,
      key_id: '"1234abcd-12ab-34cd-56ef-1234567890ab"',
      id: '"1234abcd-12ab-34cd-56ef-1234567890ab"',
    }),
  'data.aws_region': () => hclObject({ name: `"${REGION}"`, id: `"${REGION}"`, region: `"${REGION}"` }),
  'data.aws_partition': () => hclObject({ partition: '"aws"', id: '"aws"' }),
  'data.aws_caller_identity': () => hclObject({ account_id: `"${ACCOUNT}"`, id: `"${ACCOUNT}"` }),
  aws_s3_bucket: (name) => hclObject({ id: `"contract-${shortName(name)}"`, bucket: `"contract-${shortName(name)}"`, arn: `"arn:aws:s3:::contract-${shortName(name)}"` }),
  // latest_version is a number in the provider's schema (the constructs tostring() it).
  aws_launch_template: () => hclObject({ id: '"lt-0123456789abcdef0"', latest_version: '3', arn: `"arn:aws:ec2:${REGION}:${ACCOUNT}:launch-template/lt-0123456789abcdef0"` }),
};

/** A resource's logical id without the construct path hash: runners_queues_jobs_queue_407227FD → jobs-queue-ish, for readable samples. */
function shortName(logicalId: string): string {
  return logicalId
    .replace(/_[0-9A-F]{8}$/, '')
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .toLowerCase()
    .slice(-40);
}

// ---------------------------------------------------------------------------
// Terraform JSON → HCL native syntax. A JSON-syntax string is a template; the
// same template in native syntax is the string quoted, with the literal parts
// escaped and the `${…}` parts copied as they are.
// ---------------------------------------------------------------------------

/** Index just past the `}` that closes the interpolation whose body starts at `i`. */
function skipInterpolation(s: string, i: number): number {
  let depth = 1;
  while (i < s.length) {
    const c = s[i];
    if (c === '"') {
      i = skipQuoted(s, i + 1);
      continue;
    }
    if (c === '{') depth++;
    if (c === '}' && --depth === 0) return i + 1;
    i++;
  }
  throw new Error(`unterminated interpolation in ${JSON.stringify(s.slice(0, 120))}`);
}

/** Index just past the closing quote of a quoted template whose body starts at `i`. */
function skipQuoted(s: string, i: number): number {
  while (i < s.length) {
    const c = s[i];
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '"') return i + 1;
    if (c === '$' && s[i + 1] === '{') {
      i = skipInterpolation(s, i + 2);
      continue;
    }
    i++;
  }
  throw new Error(`unterminated string in ${JSON.stringify(s.slice(0, 120))}`);
}

/** A JSON-syntax template string as a native-syntax quoted template. */
function templateToHcl(s: string): string {
  let out = '"';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i) || s.startsWith('%%{', i)) {
      out += s.slice(i, i + 3);
      i += 3;
    } else if (s.startsWith('${', i)) {
      const end = skipInterpolation(s, i + 2);
      out += s.slice(i, end);
      i = end;
    } else {
      const c = s[i++];
      out += c === '"' ? '\\"' : c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c;
    }
  }
  return `${out}"`;
}

function valueToHcl(v: unknown): string {
  if (typeof v === 'string') return templateToHcl(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  throw new Error(`environment value of unexpected JSON type: ${JSON.stringify(v)}`);
}

// ---------------------------------------------------------------------------
// One stack: rewrite references, write a variables-and-locals-only root, and
// ask terraform console for every function's environment.
// ---------------------------------------------------------------------------

interface TfJson {
  variable?: Record<string, unknown>;
  locals?: Record<string, unknown>;
  resource?: Record<string, Record<string, any>>;
  data?: Record<string, Record<string, any>>;
}

/** One function instance with its evaluated environment. */
interface FunctionEnvironment {
  /** `<logical id>` or `<logical id>["<key>"]` / `[<index>]`. */
  readonly address: string;
  readonly bundle: string;
  readonly env: Record<string, string>;
}

const REFERENCE = /(?<![\w.-])(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z_][A-Za-z0-9_-]*)/g;
const LOCAL = /(?<![\w.-])local\.([A-Za-z_][A-Za-z0-9_-]*)/g;

function refLocalName(isData: boolean, type: string, name: string): string {
  return `contract_ref_${isData ? 'data_' : ''}${type}_${name}`;
}

function rewriteReferences(text: string, seen: Map<string, { isData: boolean; type: string; name: string }>): string {
  return text.replace(REFERENCE, (_m, data: string | undefined, type: string, name: string) => {
    const local = refLocalName(!!data, type, name);
    seen.set(local, { isData: !!data, type, name });
    return `local.${local}`;
  });
}

/**
 * The bundle a function runs: `assets/lambda-bundle-<name>/` in its filename
 * (a Terraform asset of `npm run build`), or `<name>/<sha256>.zip` at the end of
 * its S3 key (as `npm run publish-lambdas` names objects, scripts/lib/publish.ts).
 */
function bundleOf(fn: Record<string, unknown>): string | undefined {
  const asset = /assets\/lambda-bundle-([a-z0-9-]+)\//.exec(JSON.stringify([fn.filename ?? null, fn.s3_key ?? null]));
  if (asset) return asset[1];
  const published = typeof fn.s3_key === 'string' ? /(?:^|\/)([a-z0-9-]+)\/[0-9a-f]{64}\.zip$/.exec(fn.s3_key) : null;
  return published?.[1];
}

function evaluateStack(tf: TfJson, inputs: Record<string, unknown> | undefined): FunctionEnvironment[] {
  const functions = tf.resource?.aws_lambda_function ?? {};
  const refs = new Map<string, { isData: boolean; type: string; name: string }>();
  const neededLocals = new Set<string>();
  const noteLocals = (text: string) => {
    for (const m of text.matchAll(LOCAL)) neededLocals.add(m[1]);
  };

  // Each function as one HCL expression: its env object, wrapped in `for` over its for_each or count.
  const fnExprs: string[] = [];
  for (const [id, fn] of Object.entries(functions)) {
    const vars: Record<string, unknown> = fn.environment?.variables ?? {};
    let body = `{\n${Object.entries(vars)
      .map(([k, v]) => `      "${k}" = ${valueToHcl(v)}`)
      .join('\n')}\n    }`;
    let expr: string;
    if (fn.for_each !== undefined) {
      body = body.replace(/(?<![\w.])each\.key\b/g, 'each_key').replace(/(?<![\w.])each\.value\b/g, 'each_value');
      expr = `{ for each_key, each_value in ${valueToHcl(fn.for_each)} : each_key => ${body} }`;
    } else if (fn.count !== undefined) {
      body = body.replace(/(?<![\w.])count\.index\b/g, 'count_index');
      expr = `[ for count_index in range(${valueToHcl(fn.count)}) : ${body} ]`;
    } else {
      expr = body;
    }
    fnExprs.push(`    "${id}" = ${rewriteReferences(expr, refs)}`);
  }
  fnExprs.forEach(noteLocals);

  // Sample objects for every resource and data source referenced, keyed like the resource, and the
  // stack's locals the environments use (references rewritten, still JSON syntax), to a fixed point:
  // a sample's for_each may read a local, and a local may reference a resource.
  const refExprs: string[] = [];
  const locals: Record<string, unknown> = {};
  const doneRefs = new Set<string>();
  const pendingRefs = () => [...refs.keys()].filter((k) => !doneRefs.has(k));
  const pendingLocals = () => [...neededLocals].filter((l) => !l.startsWith('contract_') && !(l in locals));
  for (let round = 0; round < 50 && (pendingRefs().length > 0 || pendingLocals().length > 0); round++) {
    for (const local of pendingRefs()) {
      doneRefs.add(local);
      const { isData, type, name } = refs.get(local)!;
      const key = isData ? `data.${type}` : type;
      const sample = SAMPLES[key];
      if (!sample) throw new Error(`an environment references ${key}.${name}: add a sample of its shape to SAMPLES in this test`);
      const block = (isData ? tf.data : tf.resource)?.[type]?.[name];
      if (!block) throw new Error(`an environment references ${key}.${name}, which the stack does not define`);
      let expr: string;
      if (block.for_each !== undefined) expr = `{ for k, v in ${valueToHcl(block.for_each)} : k => ${sample(name, 'k')} }`;
      else if (block.count !== undefined) expr = `[ for i in range(${valueToHcl(block.count)}) : ${sample(name, 'i')} ]`;
      else expr = sample(name, null);
      expr = rewriteReferences(expr, refs);
      noteLocals(expr);
      refExprs.push(`  ${local} = ${expr}`);
    }
    for (const name of pendingLocals()) {
      if (!tf.locals || !(name in tf.locals)) throw new Error(`local.${name} is not defined by the stack`);
      const text = rewriteReferences(JSON.stringify(tf.locals[name]), refs);
      locals[name] = JSON.parse(text);
      noteLocals(text);
    }
  }
  if (pendingRefs().length > 0 || pendingLocals().length > 0) throw new Error('references and locals did not settle in 50 rounds');

  const dir = mkdtempSync(join(tmpdir(), 'contract-env-'));
  try {
    if (Object.keys(tf.variable ?? {}).length > 0) writeFileSync(join(dir, 'variables.tf.json'), JSON.stringify({ variable: tf.variable }, null, 2));
    if (Object.keys(locals).length > 0) writeFileSync(join(dir, 'locals.tf.json'), JSON.stringify({ locals }, null, 2));
    writeFileSync(join(dir, 'contract.tf'), `locals {\n${refExprs.join('\n')}\n  contract_envs = {\n${fnExprs.join('\n')}\n  }\n}\n`);
    if (inputs) writeFileSync(join(dir, 'terraform.tfvars.json'), JSON.stringify(inputs));
    const result = spawnSync('terraform', ['console'], {
      cwd: dir,
      encoding: 'utf8',
      input: 'jsonencode(local.contract_envs)\n',
      env: { ...process.env, CHECKPOINT_DISABLE: '1' },
      timeout: 60_000,
    });
    if (result.error) throw new Error(`terraform is required to evaluate the environments: ${result.error.message}`);
    if (result.status !== 0) throw new Error(`terraform console failed (${result.status}):\n${result.stderr}\n--- contract.tf ---\n${readFileSync(join(dir, 'contract.tf'), 'utf8')}`);
    const evaluated = JSON.parse(JSON.parse(result.stdout.trim())) as Record<string, unknown>;

    const out: FunctionEnvironment[] = [];
    for (const [id, fn] of Object.entries(functions)) {
      const bundle = bundleOf(fn) ?? `(no lambda-bundle in ${JSON.stringify(fn.filename ?? fn.s3_key)})`;
      const value = evaluated[id];
      const instances: [string, unknown][] =
        fn.for_each !== undefined
          ? Object.entries(value as Record<string, unknown>).map(([k, v]) => [`${id}["${k}"]`, v])
          : fn.count !== undefined
            ? (value as unknown[]).map((v, i) => [`${id}[${i}]`, v])
            : [[id, value]];
      for (const [address, vars] of instances) out.push({ address, bundle, env: toLambdaEnvironment(address, vars as Record<string, unknown>) });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What Lambda receives: `environment.variables` is a map(string) in the
 * provider's schema, so Terraform converts numbers and bools to their string
 * form; anything else would fail at plan, and fails here. A null element is
 * left out (the provider sends no such variable).
 */
function toLambdaEnvironment(address: string, vars: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars ?? {})) {
    if (v === null) continue;
    if (typeof v === 'string') env[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') env[k] = String(v);
    else throw new Error(`${address}: ${k} is ${JSON.stringify(v)}, not a string Terraform can pass to Lambda`);
  }
  return env;
}

/** Run a loader on `env`, returning the problems it reports (ConfigError) and the names it read. */
function load(bundle: string, env: Record<string, string>): { problems: string[]; read: Set<string> } {
  const read = new Set<string>();
  const proxy = new Proxy(env, {
    get(target, prop) {
      if (typeof prop === 'string') read.add(prop);
      return Reflect.get(target, prop);
    },
  });
  const loader = LOADERS[bundle];
  if (!loader) throw new Error(`no config loader is mapped for the bundle "${bundle}": add it to LOADERS`);
  try {
    loader(proxy);
    return { problems: [], read };
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems, read };
    throw err;
  }
}

// ---------------------------------------------------------------------------

const stacksDir = join(ROOT, 'cdktf.out', 'stacks');
const moduleDir = join(ROOT, 'dist', 'terraform-module');
if (!existsSync(stacksDir) || !existsSync(join(moduleDir, 'cdk.tf.json'))) {
  throw new Error('no synthesized stacks: run `CHECKPOINT_DISABLE=1 npm run synth` first');
}

/** Every synthesized Terraform JSON, with the input sets it is evaluated under. */
const TARGETS: { name: string; file: string; inputs?: Record<string, unknown> }[] = [];
for (const stack of readdirSync(stacksDir).sort()) {
  const file = join(stacksDir, stack, 'cdk.tf.json');
  if (!existsSync(file)) continue;
  const tf = JSON.parse(readFileSync(file, 'utf8')) as TfJson;
  const required = Object.entries(tf.variable ?? {}).filter(([, v]) => (v as { default?: unknown }).default === undefined);
  if (required.length === 0) TARGETS.push({ name: stack, file });
  else for (const [set, inputs] of Object.entries(MODULE_INPUTS)) TARGETS.push({ name: `${stack} (${set} inputs)`, file, inputs });
}
for (const [set, inputs] of Object.entries(MODULE_INPUTS)) TARGETS.push({ name: `dist/terraform-module (${set} inputs)`, file: join(moduleDir, 'cdk.tf.json'), inputs });

describe('contract: each Lambda loads the environment its construct synthesized', () => {
  const evaluated = new Map<string, FunctionEnvironment[]>();
  const evaluate = (target: (typeof TARGETS)[number]) => {
    if (!evaluated.has(target.name)) {
      evaluated.set(target.name, evaluateStack(JSON.parse(readFileSync(target.file, 'utf8')) as TfJson, target.inputs));
    }
    return evaluated.get(target.name)!;
  };

  it('should cover the stacks the synth writes, the packaged module among them', () => {
    const names = TARGETS.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['example-default', 'example-multi-runner', 'terraform-module (minimal inputs)', 'dist/terraform-module (full inputs)']));
  });

  it('should evaluate as Terraform does: one scale-up per runner type, the pool only the pooled ones, references as samples of their shape', () => {
    const fns = evaluate(TARGETS.find((t) => t.name === 'dist/terraform-module (full inputs)')!);
    const scaleUps = fns.filter((f) => f.bundle === 'scale-up');
    expect(scaleUps.map((f) => f.env.RUNNER_TYPE).sort()).toEqual(['arm', 'linux']);
    const arm = JSON.parse(scaleUps.find((f) => f.env.RUNNER_TYPE === 'arm')!.env.RUNNER_TYPE_CONFIG);
    expect(arm).toMatchObject({ launch_template_id: 'lt-0123456789abcdef0', launch_template_version: '3', subnet_ids: ['subnet-0fedcba9876543210'], instance_types: ['m7g.large', 'm6g.large'], instance_target_capacity_type: 'on-demand' });
    const pool = fns.find((f) => f.bundle === 'pool')!;
    expect(Object.keys(JSON.parse(pool.env.RUNNER_TYPES_CONFIG))).toEqual(['linux']);
    // The given key's partition and account, not the sample key's.
    expect(pool.env.INSTANCE_ARN_PREFIX).toBe('arn:aws-us-gov:ec2:eu-west-1:210987654321:instance/');
    const webhook = fns.find((f) => f.bundle === 'webhook')!;
    expect(JSON.parse(webhook.env.RUNNER_TYPES_CONFIG).arm).toEqual({ labels: ['self-hosted', 'linux', 'arm64'], exact_match: true, priority: 1, queue_url: expect.stringMatching(/^https:\/\/sqs\.eu-west-1\.amazonaws\.com\/123456789012\/contract-\S+-arm$/) });
    expect(fns.find((f) => f.bundle === 'scale-down')!.env).toMatchObject({ JOB_RETRY_MAX_ATTEMPTS: '3', MINIMUM_RUNNING_TIME_IN_MINUTES: '30', DRY_RUN: 'true' });
  });

  describe.each(TARGETS.map((t) => [t.name, t] as const))('%s', (_name, target) => {
    it('should map every aws_lambda_function to a config loader', () => {
      const tf = JSON.parse(readFileSync(target.file, 'utf8')) as TfJson;
      const ids = Object.keys(tf.resource?.aws_lambda_function ?? {});
      expect(ids.length).toBeGreaterThan(0);
      const unmapped = Object.entries(tf.resource!.aws_lambda_function)
        .map(([id, fn]) => [id, bundleOf(fn)] as const)
        .filter(([, bundle]) => bundle === undefined || !(bundle in LOADERS));
      expect(unmapped).toEqual([]);
    });

    it('should load every function instance with no problem', () => {
      const fns = evaluate(target);
      expect(fns.length).toBeGreaterThan(0);
      const problems = fns.map((f) => ({ address: f.address, bundle: f.bundle, problems: load(f.bundle, f.env).problems }));
      expect(problems).toEqual(fns.map((f) => ({ address: f.address, bundle: f.bundle, problems: [] })));
    });

    it('should fail naming a required variable when it is dropped, and still load when any other one is', () => {
      for (const f of evaluate(target)) {
        const required = requiredIn(f.bundle, f.env);
        for (const name of Object.keys(f.env)) {
          const { [name]: _dropped, ...rest } = f.env;
          const { problems } = load(f.bundle, rest);
          expect({ address: f.address, dropped: name, problems }).toEqual({
            address: f.address,
            dropped: name,
            problems: required.includes(name) ? [expect.stringContaining(name)] : [],
          });
        }
        // A required variable the construct does not write at all fails the load test above; say which.
        expect({ address: f.address, missing: required.filter((n) => !(n in f.env)) }).toEqual({ address: f.address, missing: [] });
      }
    });
  });

  it('should have every variable a construct writes read by its Lambda on some stack (a rename on one side cannot fall back to a default)', () => {
    const written = new Map<string, Set<string>>();
    const read = new Map<string, Set<string>>();
    for (const target of TARGETS) {
      for (const f of evaluate(target)) {
        const w = written.get(f.bundle) ?? new Set<string>();
        Object.keys(f.env).forEach((k) => w.add(k));
        written.set(f.bundle, w);
        const r = read.get(f.bundle) ?? new Set<string>();
        load(f.bundle, f.env).read.forEach((k) => r.add(k));
        read.set(f.bundle, r);
      }
    }
    const unread = [...written].flatMap(([bundle, names]) => [...names].filter((n) => !read.get(bundle)!.has(n) && !READ_ELSEWHERE.has(n)).map((n) => `${bundle}: ${n}`));
    expect(unread).toEqual([]);
    // Every Lambda of lambdas/ is in some synthesized stack.
    expect([...written.keys()].sort()).toEqual(Object.keys(LOADERS).sort());
  });
});
