/**
 * The packaged module applied to an AWS emulator (issue #12 item 1): the HCL
 * consumer example as a user writes it, with a second instance of the module
 * beside it (several runner types, a warm pool, tags), is applied to
 * moto_server, re-planned, and destroyed. The emulator refuses a second
 * queue, role, table, function or parameter of the same name, so the apply
 * also shows the two instances do not collide (issue #10, "Done when").
 *
 * - The re-plan after apply must be empty. Where moto departs from AWS's
 *   documented answers, test/cloud/emulator-proxy.ts shims that one answer
 *   (named, with the moto behaviour and the AWS doc), so that what remains
 *   is drift in our configuration, never the emulator's.
 * - After destroy, the state is empty and the emulator holds none of the
 *   module's queues, tables, functions, roles, launch templates or buckets.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DescribeLaunchTemplatesCommand, DescribeLaunchTemplateVersionsCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetObjectCommand, GetObjectTaggingCommand, ListBucketsCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DescribeInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { DeleteParameterCommand, DeleteParametersCommand, GetParameterCommand, GetParametersByPathCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { GetQueueUrlCommand, Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractBundle, lambdaContext, loadBundle, prepareShippedBundles } from '../e2e/lib/bundles';
import { signedDelivery, workflowJobPayload } from '../e2e/lib/deliveries';
import { FakeGitHub, generateAppKey, startFakeGitHub } from '../lambdas/shared/fake-github';
import { FakeGitHub as FakeReleases } from '../lambdas/syncer/fake-github';
import { loadPoolConfig } from '../../lambdas/pool/config';
import { loadRedeliveryConfig } from '../../lambdas/redelivery/config';
import { loadRunnerApiConfig } from '../../lambdas/runner-api/config';
import { loadScaleDownConfig } from '../../lambdas/scale-down/config';
import { loadScaleUpConfig } from '../../lambdas/scale-up/config';
import { loadSyncerConfig } from '../../lambdas/syncer/config';
import { loadTerminationWatcherConfig } from '../../lambdas/termination-watcher/config';
import { loadWebhookConfig } from '../../lambdas/webhook/config';
import { EmulatorProxy, motoShims, startEmulatorProxy } from './emulator-proxy';
import { Moto, startMoto } from './moto';
import { ACCOUNT_ID_OVERRIDE, consumerRoot } from './consumer-root';
import { startFakeDeliveryLog } from '../lambdas/redelivery/fake-delivery-log';
import { readApplied } from '../iam/applied';
import { Check, forbiddenChecks } from '../iam/calls';
import { RecordedSegment, RecordedTranslator } from '../iam/recorded';
import { Evaluation, evaluate, withoutStatement } from '../iam/simulator';
import { EmulatorRoot, PlannedChange } from './terraform-emulator';
import { gunzipSync } from 'node:zlib';
import { parsePowerShell } from '../modules/runners/powershell-parser';

const REPO = join(__dirname, '..', '..');
const MODULE = join(REPO, 'dist', 'terraform-module');
const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator' };

jest.setTimeout(360_000);

let moto: Moto | undefined;
let proxy: EmulatorProxy | undefined;
let root: EmulatorRoot | undefined;
let applied = false;
/** The AWS calls each function invocation and runner made over the wire, in order (issue #12 item 3). */
const segments: RecordedSegment[] = [];

beforeAll(async () => {
  if (!existsSync(join(MODULE, 'cdk.tf.json'))) throw new Error(`${MODULE} is missing: run \`npm run synth\` first (npm test does)`);
  moto = await startMoto();
  proxy = await startEmulatorProxy(moto.url, motoShims());
  // The provider asks STS for the account id, so that every ARN it builds names the account as AWS's would (test/iam evaluates them).
  root = consumerRoot(proxy.url, ACCOUNT_ID_OVERRIDE);
  await root.init();
});

afterAll(async () => {
  // Leave nothing behind in any case: destroy what was applied (best effort), stop the server.
  if (applied) await root?.destroy().catch(() => undefined);
  root?.remove();
  await proxy?.close();
  await moto?.stop();
});

describe('the module applied to moto_server', () => {
  it('should apply the HCL consumer example beside a second, multi-type instance of the module', async () => {
    await root!.apply();
    applied = true;
    const modules = new Set((await root!.stateList()).map((a) => a.split('.').slice(0, 2).join('.')).filter((m) => m.startsWith('module.')));
    expect([...modules].sort()).toEqual(['module.multi', 'module.runners']);
  });

  it('should re-plan with no changes: every difference was an emulator gap, shimmed by name', async () => {
    const changes: PlannedChange[] = await root!.replan();
    expect(changes).toEqual([]);
    // Each shim did work (a shim that never fires documents a gap that is not there).
    expect(Object.fromEntries(proxy!.shimmed)).toEqual({
      'lambda-kms-key-and-logging-config': expect.any(Number),
      'sqs-redrive-policy-json': expect.any(Number),
      'ec2-launch-template-data-tag-specifications': expect.any(Number),
      's3-bucket-policy-conditions': expect.any(Number),
    });
  });

  it('should render a Windows type\'s user data at apply as one plain <powershell> block under 16 KB that parses, a Linux type\'s as gzipped bash (issue #16)', async () => {
    const ec2 = new EC2Client({ region: REGION, endpoint: moto!.url, credentials });
    const userData = async (name: string) => {
      const versions = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: name, Versions: ['$Latest'] }));
      return Buffer.from(versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.UserData ?? '', 'base64');
    };
    const windows = await userData('multi-runner_windows');
    const text = windows.toString('utf8');
    expect(windows.length).toBeLessThanOrEqual(16 * 1024);
    expect(text).toMatch(/^<powershell>\n[\s\S]*<\/powershell>\n$/);
    // Terraform filled in every value: the type, and the syncer's zip in this instance's bucket.
    expect(text).toContain("$RunnerType = 'windows'");
    expect(text).toMatch(/\$RunnerS3Location = 's3:\/\/multi-runner-binaries-[a-z0-9-]+\/actions-runner\/actions-runner-win-x64\.zip'/);
    expect(text).not.toMatch(/\$\{|%\{/);
    expect(await parsePowerShell(text.replace(/^<powershell>\n/, '').replace(/<\/powershell>\n$/, ''))).toEqual([]);
    const linux = await userData('multi-runner_linux-x64');
    expect(gunzipSync(linux).toString('utf8')).toMatch(/^#!\/bin\/bash\n/);
    // The syncer of the instance with a Windows type keeps the win-x64 zip too; the other does not.
    expect(JSON.parse((await appliedEnvironment('multi-syncer')).ARCHITECTURES)).toEqual(['x64', 'arm64', 'win-x64']);
    expect(JSON.parse((await appliedEnvironment('gh-ci-syncer')).ARCHITECTURES)).toEqual(['x64', 'arm64']);
  });

  it('should give every applied function an environment its own config loader accepts', async () => {
    const listed = (await rawJson(moto!.url, 'lambda', 'GET', '/2015-03-31/functions/')) as { Functions?: { FunctionName: string }[] };
    const names = (listed.Functions ?? []).map((f) => f.FunctionName).sort();
    const loaderOf = (name: string): ((env: NodeJS.ProcessEnv) => unknown) => {
      const role = name.replace(/^(gh-ci|multi)-/, '');
      if (role === 'webhook') return loadWebhookConfig;
      if (role.startsWith('scale-up_')) return loadScaleUpConfig;
      if (role === 'scale-down') return loadScaleDownConfig;
      if (role === 'termination-watcher') return loadTerminationWatcherConfig;
      if (role === 'syncer') return loadSyncerConfig;
      if (role === 'pool') return loadPoolConfig;
      if (role === 'webhook-redelivery') return loadRedeliveryConfig;
      if (role === 'runner-api') return loadRunnerApiConfig;
      throw new Error(`no config loader known for the applied function ${name}`);
    };
    const problems: Record<string, string> = {};
    for (const name of names) {
      try {
        loaderOf(name)(await appliedEnvironment(name));
      } catch (error) {
        problems[name] = (error as Error).message;
      }
    }
    expect(problems).toEqual({});
    // Both instances, every function: one scale-up per runner type.
    expect(names).toEqual(
      expect.arrayContaining(['gh-ci-webhook', 'gh-ci-scale-up_default', 'gh-ci-scale-down', 'gh-ci-termination-watcher', 'gh-ci-syncer', 'multi-scale-up_linux-x64', 'multi-scale-up_linux-arm64', 'multi-pool']),
    );
  });

  it('should carry a queued job from the webhook to a registered runner, every function configured as applied', async () => {
    await runJobOverTheWire();
  });

  it('should top up the applied warm pool from its schedule, and deregister a pool runner on a spot interruption', async () => {
    await runPoolOverTheWire();
  });

  it('should sync the pinned runner release into the applied bucket, and find it up to date on the next run', async () => {
    await runSyncerOverTheWire();
  });

  // --- every recorded call checked against IAM (issue #12 item 3) ---
  let allowed: { check: Check; evaluation: Evaluation }[] = [];

  it('should allow every AWS call the scenarios made over the wire, and what AWS checks on the callers\' behalf', async () => {
    const world = readApplied(await root!.show());
    const reservations = await new EC2Client({ region: REGION, endpoint: moto!.url, credentials }).send(new DescribeInstancesCommand({}));
    const instanceTags = new Map((reservations.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => [i.InstanceId!, Object.fromEntries((i.Tags ?? []).map((t) => [t.Key!, t.Value!]))]));
    // IAM_RECORDING=<file> keeps what was recorded, to replay the check without an apply (.e2e/ is git-ignored).
    if (process.env.IAM_RECORDING) writeFileSync(process.env.IAM_RECORDING, JSON.stringify({ show: await root!.show(), segments, instanceTags: [...instanceTags] }));
    const checks = new RecordedTranslator(world, { instanceTags }).checks(segments);
    // Every caller of the scenarios was recorded, and the calls the brief names are among them.
    expect([...new Set(segments.map((s) => s.who.replace(/^runner:.*/, 'runner')))].sort()).toEqual(
      ['gh-ci-scale-down', 'gh-ci-scale-up_default', 'gh-ci-syncer', 'gh-ci-webhook', 'gh-ci-webhook-redelivery', 'multi-pool', 'multi-scale-up_linux-arm64', 'multi-termination-watcher', 'runner'].sort(),
    );
    const seen = new Set(checks.map((c) => `${c.who.replace(/^runner:.*/, 'runner')} ${c.request.action} ${c.request.resource.split(':').slice(5).join(':').replace(/[0-9a-f]{8,}/g, '*').replace(/key\/.*/, 'key/*')}`));
    expect([...seen]).toEqual(
      expect.arrayContaining([
        'gh-ci-webhook dynamodb:UpdateItem table/gh-ci-job-launches',
        'gh-ci-scale-up_default dynamodb:UpdateItem table/gh-ci-job-launches',
        'gh-ci-scale-down dynamodb:Query table/gh-ci-job-launches/index/awaiting',
        'gh-ci-scale-up_default ec2:RunInstances launch-template/lt-*',
        'gh-ci-scale-up_default ec2:CreateTags instance/i-*',
        'gh-ci-scale-up_default iam:PassRole role/gh-ci-runner',
        'gh-ci-scale-up_default ssm:GetParameter parameter/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
        'multi-pool sqs:SendMessage multi-jobs_linux-arm64',
        'multi-scale-up_linux-arm64 ec2:CreateFleet launch-template/lt-*',
        'gh-ci-scale-up_default kms:Encrypt key/*',
        'gh-ci-webhook-redelivery ssm:GetParameters parameter/ops/github/runner/dev/private-key',
        'runner ssm:GetParameter parameter/gh-ci/runners/config/i-*',
        'runner ssm:DeleteParameter parameter/gh-ci/runners/config/i-*',
        'gh-ci-syncer s3:GetObject gh-ci-runner-binaries-*/actions-runner/actions-runner-linux-x64.tar.gz',
        'gh-ci-syncer s3:PutObject gh-ci-runner-binaries-*/actions-runner/actions-runner-linux-x64.tar.gz',
        'gh-ci-syncer s3:PutObject gh-ci-runner-binaries-*/actions-runner/actions-runner-linux-arm64.tar.gz',
        'gh-ci-syncer kms:GenerateDataKey key/*',
        'gh-ci-syncer s3:PutObjectVersionTagging gh-ci-runner-binaries-*/actions-runner/actions-runner-linux-arm64.tar.gz',
      ]),
    );
    const evaluations = await Promise.all(checks.map(async (check) => ({ check, evaluation: await evaluate(check.role, check.session, check.request, check.resourcePolicy) })));
    const refused = evaluations
      .filter(({ evaluation }) => evaluation.decision !== 'Allowed' || evaluation.ignoredContextKeys.length > 0)
      .map(({ check, evaluation }) => `${check.who}: ${check.request.action} ${check.request.resource} (${check.request.why}) -> ${evaluation.decision}${evaluation.error ? `: ${evaluation.error}` : ''}${evaluation.ignoredContextKeys.length ? ` ignoring ${evaluation.ignoredContextKeys.join(', ')}` : ''}`);
    expect(refused).toEqual([]);
    allowed = evaluations;
    expect(allowed.length).toBeGreaterThan(100);
  });

  it('should let only the Windows type\'s scale-up read the Windows Server AMI parameter that EC2 resolves with its permissions at launch (issue #16)', async () => {
    const multi = readApplied(await root!.show()).modules.get('module.multi')!;
    const windowsAmi = `arn:aws:ssm:${REGION}::parameter/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base`;
    const decision = async (fn: string) => {
      const f = multi.functions.get(fn)!;
      return (await evaluate(f.role, fn, { action: 'ssm:GetParameter', resource: windowsAmi, why: 'EC2 resolves the resolve:ssm: image with the caller\'s permissions' })).decision;
    };
    expect(await decision('multi-scale-up_windows')).toBe('Allowed');
    // Each scale-up reads only its own type's parameter.
    expect(await decision('multi-scale-up_linux-x64')).toBe('ImplicitlyDenied');
  });

  it('should deny the calls no role may make', async () => {
    const world = readApplied(await root!.show());
    const ci = world.modules.get('module.runners')!;
    const multi = world.modules.get('module.multi')!;
    const checks = [...forbiddenChecks(ci, multi), ...forbiddenChecks(multi, ci)];
    // The redelivery function reads the App key and nothing else of the module.
    const redelivery = ci.functions.get('gh-ci-webhook-redelivery')!;
    const webhookSecret = ci.functions.get('gh-ci-webhook')!.env.WEBHOOK_SECRET_SSM_PARAMETER_NAME;
    for (const request of [
      { action: 'ssm:GetParameters', resource: `arn:aws:ssm:${ci.region}:${ci.accountId}:parameter/${webhookSecret.replace(/^\//, '')}`, why: 'the redelivery function reads the webhook secret' },
      { action: 'ec2:TerminateInstances', resource: `arn:aws:ec2:${ci.region}:${ci.accountId}:instance/i-0123456789abcdef0`, context: { 'ec2:ResourceTag/ghr:prefix': 'gh-ci', 'ec2:ResourceTag/ghr:runner-type': 'default' }, why: 'the redelivery function terminates a runner' },
      { action: 'sqs:SendMessage', resource: `arn:aws:sqs:${ci.region}:${ci.accountId}:gh-ci-jobs_default`, why: 'the redelivery function queues a job itself' },
    ]) {
      checks.push({ who: redelivery.name, role: redelivery.role, session: redelivery.name, request: request as Check['request'] });
    }
    expect(checks.map((c) => c.request.why)).toEqual(
      expect.arrayContaining(['terminate an instance without the module\'s tags', 'a runner reads another instance\'s config', 'the webhook reads the App key']),
    );
    const evaluations = await Promise.all(checks.map(async (check) => ({ check, evaluation: await evaluate(check.role, check.session, check.request, check.resourcePolicy) })));
    const let_through = evaluations
      // A key the simulator drops would make a condition fail for the wrong reason: refused as well.
      .filter(({ evaluation }) => (evaluation.decision !== 'ImplicitlyDenied' && evaluation.decision !== 'ExplicitlyDenied') || evaluation.ignoredContextKeys.length > 0)
      .map(({ check, evaluation }) => `${check.who}: ${check.request.action} ${check.request.resource} (${check.request.why}) -> ${evaluation.decision}${evaluation.error ? `: ${evaluation.error}` : ''}${evaluation.ignoredContextKeys.length ? ` ignoring ${evaluation.ignoredContextKeys.join(', ')}` : ''}`);
    expect(let_through).toEqual([]);
  });

  it.each([
    ['gh-ci-scale-up_default', 'LaunchIdempotency', 'dynamodb:UpdateItem'],
    ['gh-ci-scale-up_default', 'RunInstancesFromOwnTemplate', 'ec2:RunInstances'],
    ['gh-ci-scale-up_default', 'PassRunnerRole', 'iam:PassRole'],
    ['gh-ci-scale-up_default', 'WriteRunnerConfigs', 'ssm:PutParameter'],
    ['gh-ci-scale-down', 'ReadAwaitingJobs', 'dynamodb:Query'],
    ['gh-ci-webhook', 'RecordJobProgress', 'dynamodb:UpdateItem'],
    ['gh-ci-webhook', 'SendJobs', 'sqs:SendMessage'],
    ['gh-ci-webhook-redelivery', 'ReadGitHubApp', 'ssm:GetParameters'],
    ['runner', 'ReadAndDeleteOwnRunnerConfig', 'ssm:GetParameter'],
    ['gh-ci-syncer', 'SyncRunnerBinaries', 's3:PutObject'],
    ['gh-ci-syncer', 'EncryptRunnerBinaries', 'kms:GenerateDataKey'],
  ])('should refuse %s, without its statement %s, the recorded %s calls', async (who, sid, action) => {
    const mine = allowed.filter(({ check }) => check.who.replace(/^runner:.*/, 'runner') === who && check.request.action === action);
    expect(mine.length).toBeGreaterThan(0);
    // Allowed as applied (the test above), refused without the statement.
    expect(mine.map(({ evaluation }) => evaluation.decision)).toEqual(mine.map(() => 'Allowed'));
    const without = await Promise.all(mine.map(({ check }) => evaluate(withoutStatement(check.role, sid), check.session, check.request, check.resourcePolicy)));
    expect(without.map((e) => e.decision)).toEqual(mine.map(() => 'ImplicitlyDenied'));
  });

  it('should destroy everything it created', async () => {
    await root!.destroy();
    applied = false;
    expect(await root!.stateList()).toEqual([]);
    const client = <T>(C: new (c: object) => T) => new C({ region: REGION, endpoint: moto!.url, credentials, forcePathStyle: true });
    const queues = await client(SQSClient).send(new ListQueuesCommand({}));
    const tables = await client(DynamoDBClient).send(new ListTablesCommand({}));
    const templates = await client(EC2Client).send(new DescribeLaunchTemplatesCommand({}));
    const groups = await client(EC2Client).send(new DescribeSecurityGroupsCommand({}));
    const buckets = await client(S3Client).send(new ListBucketsCommand({}));
    const instances = await client(EC2Client).send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] }));
    const parameters = await client(SSMClient).send(new DescribeParametersCommand({}));
    const functions = await rawJson(moto!.url, 'lambda', 'GET', '/2015-03-31/functions/');
    const roles = await rawQuery(moto!.url, 'iam', 'Action=ListRoles&Version=2010-05-08');
    expect({
      queues: queues.QueueUrls ?? [],
      tables: tables.TableNames ?? [],
      launchTemplates: templates.LaunchTemplates ?? [],
      securityGroups: (groups.SecurityGroups ?? []).filter((g) => g.GroupName !== 'default'),
      buckets: buckets.Buckets ?? [],
      parameters: parameters.Parameters ?? [],
      instances: (instances.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId),
      functions: (functions as { Functions?: unknown[] }).Functions ?? [],
      roles: [...roles.matchAll(/<RoleName>([^<]+)<\/RoleName>/g)].map((m) => m[1]).filter((r) => /^(gh-ci|multi)-/.test(r)),
    }).toEqual({ queues: [], tables: [], launchTemplates: [], securityGroups: [], buckets: [], parameters: [], instances: [], functions: [], roles: [] });
  });
});

/** A SigV4-shaped header: moto routes on the credential scope and checks no signature. */
function authorization(service: string): string {
  return `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/20260101/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

async function rawJson(url: string, service: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: authorization(service), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}

async function rawQuery(url: string, service: string, body: string): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: authorization(service), 'content-type': 'application/x-www-form-urlencoded' }, body });
  return res.text();
}

// --- the shipped bundles against the applied resources (issue #12 item 2) ---

const APP_ID = 4242;
const INSTALLATION_ID = 77;
const WEBHOOK_SECRET = 'emulator-webhook-secret';

/** The environment Terraform gave an applied function, as Lambda would set it. */
async function appliedEnvironment(functionName: string): Promise<Record<string, string>> {
  const answer = (await rawJson(moto!.url, 'lambda', 'GET', `/2015-03-31/functions/${functionName}`)) as { Configuration?: { Environment?: { Variables?: Record<string, string> } } };
  const variables = answer.Configuration?.Environment?.Variables;
  if (!variables) throw new Error(`${functionName} has no environment in the emulator: ${JSON.stringify(answer).slice(0, 300)}`);
  return {
    ...variables,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
}

/** `fetch` inside a bundle: api.github.com is the fake; nothing else leaves 127.0.0.1. */
function githubFetch(gh: FakeGitHub): typeof fetch {
  const fake = new URL(gh.url);
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if (url.hostname === 'api.github.com') {
      url.protocol = fake.protocol;
      url.host = fake.host;
    } else if (url.hostname !== '127.0.0.1') {
      throw new TypeError(`fetch failed: no network here (${url.hostname})`);
    }
    return fetch(url, init);
  }) as typeof fetch;
}


/** What a scenario over the applied resources gets. */
interface Sandbox {
  readonly gh: FakeGitHub;
  readonly privateKeyPem: string;
  readonly publicKey: ReturnType<typeof generateAppKey>['publicKey'];
  /** Run `calls` as the runner on `instanceId`, with an SDK pointed at the proxy, recording what it sends. */
  asRunner<T>(instanceId: string, calls: (ssm: SSMClient) => Promise<T>): Promise<T>;
  client<T>(C: new (c: object) => T): T;
  /** A fresh container of `bundle`, with the environment Terraform gave `functionName`. */
  container(bundle: string, functionName: string, fetchOverride?: typeof fetch): Promise<(event: unknown, context: unknown) => Promise<unknown>>;
}

/**
 * Run `scenario` with a fake GitHub, and with the host's SDK pointed at the
 * proxy. The shipped bundles carry their own SDK, which reads the
 * container's environment (see `container`).
 */
async function inSandbox(scenario: (sandbox: Sandbox) => Promise<void>): Promise<void> {
  const key = generateAppKey();
  const gh = await startFakeGitHub({ appId: APP_ID, publicKey: key.publicKey });
  gh.installations.push({ id: INSTALLATION_ID, account: 'octo-org' });
  const names = ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
  const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  Object.assign(process.env, { AWS_ENDPOINT_URL: proxy!.url, AWS_REGION: REGION, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey });
  // The shipped zips, AWS SDK bundled: loadBundle refuses them any require but Node's built-ins.
  const bundlesDir = await prepareShippedBundles();
  try {
    await scenario({
      gh,
      privateKeyPem: key.privateKeyPem,
      publicKey: key.publicKey,
      asRunner: (instanceId, calls) => recorded(`runner:${instanceId}`, () => calls(new SSMClient({ region: REGION, endpoint: proxy!.url, credentials }))),
      client: <T>(C: new (c: object) => T) => new C({ region: REGION, endpoint: moto!.url, credentials }),
      container: async (bundle, functionName, fetchOverride) => {
        // The bundled SDK reads the container's environment: the applied one, plus the emulator's endpoint.
        const exports = loadBundle(extractBundle(bundlesDir, bundle), {
          env: { ...(await appliedEnvironment(functionName)), AWS_ENDPOINT_URL: proxy!.url },
          fetch: fetchOverride ?? githubFetch(gh),
        });
        const handler = exports.handler as (event: unknown, context: unknown) => Promise<unknown>;
        return (event, context) => recorded(functionName, () => handler(event, context));
      },
    });
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await gh.close();
  }
}

/** Run `body` as `who`, recording the calls it sends through the proxy (nothing else calls the proxy while a scenario runs). */
async function recorded<T>(who: string, body: () => Promise<T>): Promise<T> {
  const from = proxy!.calls.length;
  try {
    return await body();
  } finally {
    segments.push({ who, calls: proxy!.calls.slice(from) });
  }
}

async function runJobOverTheWire(): Promise<void> {
  await inSandbox(async ({ gh, privateKeyPem, publicKey, client, container, asRunner }) => {
    try {
      const ssm = client(SSMClient);
      // What the user keeps in SSM (the example's github_app_ssm_parameters).
      await ssm.send(new PutParameterCommand({ Name: '/ops/github/runner/dev/app-id', Type: 'String', Value: String(APP_ID), Overwrite: true }));
      await ssm.send(new PutParameterCommand({ Name: '/ops/github/runner/dev/private-key', Type: 'SecureString', Value: privateKeyPem, Overwrite: true }));
      await ssm.send(new PutParameterCommand({ Name: '/ops/github/runner/dev/webhook-secret', Type: 'SecureString', Value: WEBHOOK_SECRET, Overwrite: true }));
      // moto runs an enabled event source mapping's function in Docker, which is
      // not here: turn the mappings off and be the trigger instead.
      const mappings = (await rawJson(moto!.url, 'lambda', 'GET', '/2015-03-31/event-source-mappings/')) as { EventSourceMappings?: { UUID: string }[] };
      for (const m of mappings.EventSourceMappings ?? []) await rawJson(moto!.url, 'lambda', 'PUT', `/2015-03-31/event-source-mappings/${m.UUID}`, { Enabled: false });

      // 1. GitHub delivers workflow_job queued to the webhook.
      const jobId = 987_654;
      const job = { id: jobId, runId: 55, labels: ['self-hosted', 'linux', 'x64'], owner: 'octo-org', repo: 'app', ownerType: 'Organization' as const, installationId: INSTALLATION_ID, createdAt: new Date().toISOString(), status: 'queued' as const, takenBy: [] };
      const webhook = await container('webhook', 'gh-ci-webhook');
      const answer = (await webhook(signedDelivery('workflow_job', workflowJobPayload(job as never, 'queued'), WEBHOOK_SECRET), lambdaContext('gh-ci-webhook', 10_000))) as { statusCode: number; body: string };
      expect({ status: answer.statusCode, body: answer.body }).toEqual({ status: 202, body: expect.any(String) });

      // 2. The job waits in the applied queue of its runner type.
      const sqs = client(SQSClient);
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'gh-ci-jobs_default' }));
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      expect(received.Messages ?? []).toHaveLength(1);
      const event = sqsEvent(received.Messages ?? [], 'gh-ci-jobs_default');

      // 3. Scale-up launches from the applied launch template and registers a JIT runner.
      const scaleUp = await container('scale-up', 'gh-ci-scale-up_default');
      const result = (await scaleUp(event, lambdaContext('gh-ci-scale-up_default', 30_000))) as SQSBatchResponse;
      expect(result.batchItemFailures).toEqual([]);
      const reservations = await client(EC2Client).send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:ghr:prefix', Values: ['gh-ci'] }] }));
      const instances = (reservations.Reservations ?? []).flatMap((r) => r.Instances ?? []);
      expect(instances).toHaveLength(1);
      const instanceId = instances[0].InstanceId!;
      expect(Object.fromEntries((instances[0].Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual(expect.objectContaining({ 'ghr:prefix': 'gh-ci', 'ghr:runner-type': 'default' }));
      expect(gh.count('POST', /\/orgs\/octo-org\/actions\/runners\/generate-jitconfig$/)).toBe(1);

      // 4. The runner's config is in SSM where the instance looks for it, encrypted, and holds the JIT config GitHub issued.
      const scaleUpEnv = await appliedEnvironment('gh-ci-scale-up_default');
      const params = await ssm.send(new GetParametersByPathCommand({ Path: scaleUpEnv.SSM_CONFIG_PATH, Recursive: true, WithDecryption: true }));
      const mine = (params.Parameters ?? []).filter((p) => p.Name!.endsWith(instanceId));
      expect(mine.map((p) => p.Type)).toEqual(['SecureString']);
      expect(gh.issuedJitConfigs.some((c) => mine[0].Value!.includes(c))).toBe(true);
      // The runner reads its config once and deletes it (modules/runners/templates/user-data.sh).
      // Over the proxy, as the instance's role, so that test/iam checks these calls too.
      const read = await asRunner(instanceId, async (own) => {
        const value = await own.send(new GetParameterCommand({ Name: mine[0].Name!, WithDecryption: true }));
        await own.send(new DeleteParameterCommand({ Name: mine[0].Name! }));
        return value;
      });
      expect(read.Parameter?.Value).toBe(mine[0].Value);

      // 4b. GitHub reports the job in progress on that runner: the webhook records it in the job ledger.
      const started = (await webhook(
        signedDelivery('workflow_job', workflowJobPayload({ ...job, status: 'in_progress' } as never, 'in_progress'), WEBHOOK_SECRET),
        lambdaContext('gh-ci-webhook', 10_000),
      )) as { statusCode: number };
      expect(started.statusCode).toBeLessThan(300);
      expect(proxy!.calls.some((c) => c.service === 'dynamodb' && c.action === 'UpdateItem' && segments.at(-1)?.calls.includes(c))).toBe(true);

      // 5. Scale-down, configured as applied, runs over the same account and keeps the fresh runner.
      const scaleDown = await container('scale-down', 'gh-ci-scale-down');
      await scaleDown({}, lambdaContext('gh-ci-scale-down', 60_000));
      const after = await client(EC2Client).send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      expect(after.Reservations?.[0].Instances?.[0].State?.Name).toMatch(/^(pending|running)$/);
      // 6. The scheduled redelivery run, as applied, reads the App's key and an empty delivery log.
      const log = await startFakeDeliveryLog({ appId: APP_ID, publicKey });
      try {
        const logUrl = new URL(log.url);
        const toLog = (async (input: string | URL | Request, init?: RequestInit) => {
          const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
          if (url.hostname !== 'api.github.com' && url.hostname !== '127.0.0.1') throw new TypeError(`fetch failed: no network here (${url.hostname})`);
          url.protocol = logUrl.protocol;
          url.host = logUrl.host;
          return fetch(url, init);
        }) as typeof fetch;
        const redelivery = await container('redelivery', 'gh-ci-webhook-redelivery', toLog);
        await redelivery({ scheduledTime: new Date().toISOString() }, lambdaContext('gh-ci-webhook-redelivery', 60_000));
        expect(log.calls.length).toBeGreaterThan(0);
      } finally {
        await log.close();
      }
      // The job is done and the runner's instance shuts down.
      await client(EC2Client).send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    } finally {
      // The App's parameters are the user's, not the module's: remove them so that destroy can be checked for leftovers.
      await new SSMClient({ region: REGION, endpoint: moto!.url, credentials })
        .send(new DeleteParametersCommand({ Names: ['/ops/github/runner/dev/app-id', '/ops/github/runner/dev/private-key', '/ops/github/runner/dev/webhook-secret'] }))
        .catch(() => undefined);
    }
  });
}

/** The event Lambda's SQS poller hands a function for `messages` received from `queueName`. */
function sqsEvent(messages: readonly Message[], queueName: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body!,
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'sender', ApproximateFirstReceiveTimestamp: '0' },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${REGION}:123456789012:${queueName}`,
      awsRegion: REGION,
    })),
  };
}

async function runPoolOverTheWire(): Promise<void> {
  await inSandbox(async ({ gh, privateKeyPem, client, container }) => {
    const appParameters = ['/multi/github/app-id', '/multi/github/private-key', '/multi/github/webhook-secret'];
    const launched: string[] = [];
    try {
      const ssm = client(SSMClient);
      await ssm.send(new PutParameterCommand({ Name: appParameters[0], Type: 'String', Value: String(APP_ID), Overwrite: true }));
      await ssm.send(new PutParameterCommand({ Name: appParameters[1], Type: 'SecureString', Value: privateKeyPem, Overwrite: true }));

      // 1. The applied schedule's input, as EventBridge Scheduler sends it (its placeholder filled in).
      const schedule = (await rawJson(moto!.url, 'scheduler', 'GET', '/schedules/multi-pool_linux-arm64-0')) as { Target?: { Input?: string; Arn?: string } };
      expect(schedule.Target?.Arn).toMatch(/:function:multi-pool$/);
      const input = JSON.parse(schedule.Target!.Input!.replace('<aws.scheduler.scheduled-time>', new Date().toISOString())) as unknown;
      expect(input).toEqual({ runnerType: 'linux-arm64', size: 2, scheduledTime: expect.any(String) });

      // 2. The pool's tick is a top-up message on the type's queue (#11 item 5: scale-up is the one launcher per type).
      const pool = await container('pool', 'multi-pool');
      await pool(input, lambdaContext('multi-pool', 60_000));
      const sqs = client(SQSClient);
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'multi-jobs_linux-arm64' }));
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      expect(received.Messages ?? []).toHaveLength(1);

      // 3. The type's scale-up, as applied, launches the two idle runners and registers them with the pool owner.
      const scaleUp = await container('scale-up', 'multi-scale-up_linux-arm64');
      const result = (await scaleUp(sqsEvent(received.Messages ?? [], 'multi-jobs_linux-arm64'), lambdaContext('multi-scale-up_linux-arm64', 30_000))) as SQSBatchResponse;
      expect(result.batchItemFailures).toEqual([]);
      const reservations = await client(EC2Client).send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'tag:ghr:prefix', Values: ['multi'] }, { Name: 'tag:ghr:runner-type', Values: ['linux-arm64'] }, { Name: 'instance-state-name', Values: ['pending', 'running'] }] }),
      );
      launched.push(...(reservations.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId!));
      expect(launched).toHaveLength(2);
      expect(gh.count('POST', /\/orgs\/octo-org\/actions\/runners\/generate-jitconfig$/)).toBe(2);

      // 4. EC2 warns that one of them is reclaimed: the watcher, as applied, removes its runner from GitHub.
      const watcher = await container('termination-watcher', 'multi-termination-watcher');
      const runnersBefore = gh.runners.get('octo-org')?.length ?? 0;
      await watcher(
        { version: '0', id: 'e1', 'detail-type': 'EC2 Spot Instance Interruption Warning', source: 'aws.ec2', account: '123456789012', time: new Date().toISOString(), region: REGION, resources: [`arn:aws:ec2:${REGION}:123456789012:instance/${launched[0]}`], detail: { 'instance-id': launched[0], 'instance-action': 'terminate' } },
        lambdaContext('multi-termination-watcher', 30_000),
      );
      expect(gh.count('DELETE', /\/orgs\/octo-org\/actions\/runners\/\d+$/)).toBe(1);
      expect(gh.runners.get('octo-org')?.length ?? 0).toBe(runnersBefore - 1);
    } finally {
      if (launched.length > 0) await client(EC2Client).send(new TerminateInstancesCommand({ InstanceIds: launched })).catch(() => undefined);
      // Runner configs the instances never read, and the user's App parameters: not the module's to destroy.
      const configs = await client(SSMClient).send(new GetParametersByPathCommand({ Path: '/multi/', Recursive: true })).catch(() => ({ Parameters: [] }));
      const names = [...appParameters, ...(configs.Parameters ?? []).map((p) => p.Name!)];
      for (let i = 0; i < names.length; i += 10) await client(SSMClient).send(new DeleteParametersCommand({ Names: names.slice(i, i + 10) })).catch(() => undefined);
    }
  });
}

async function runSyncerOverTheWire(): Promise<void> {
  await inSandbox(async ({ container }) => {
    const env = await appliedEnvironment('gh-ci-syncer');
    // The applied environment pins the example's runner_version (the module default) and both architectures.
    expect({ version: env.RUNNER_VERSION, architectures: JSON.parse(env.ARCHITECTURES) as unknown, bucket: env.BUCKET_NAME, apiUrl: env.GITHUB_API_URL }).toEqual({
      version: '2.329.0',
      architectures: ['x64', 'arm64'],
      bucket: expect.stringMatching(/^gh-ci-runner-binaries-/),
      apiUrl: undefined,
    });
    // actions/runner's release on a local GitHub: api.github.com serves the release, github.com the
    // download (a redirect to the CDN, as github.com answers), with the digests GitHub publishes.
    const releases = new FakeReleases();
    await releases.start();
    try {
      const tarballs = { x64: randomBytes(1024 * 1024 + 17), arm64: randomBytes(300 * 1024) };
      releases.downloadOrigin = 'https://github.com';
      releases.addRelease('v2.329.0', [
        { id: 9001, name: 'actions-runner-linux-x64-2.329.0.tar.gz', body: tarballs.x64 },
        // Without a digest (a release mirrored to GHES from before GitHub published digests): the syncer
        // hashes it and tags the new object version, which S3 authorises as s3:PutObjectVersionTagging.
        { id: 9002, name: 'actions-runner-linux-arm64-2.329.0.tar.gz', body: tarballs.arm64, digest: null },
      ]);
      const local = new URL(releases.url);
      const toReleases = (async (input: string | URL | Request, init?: RequestInit) => {
        const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
        if (url.hostname === 'api.github.com' || url.hostname === 'github.com') {
          url.protocol = local.protocol;
          url.host = local.host;
        } else if (url.hostname !== '127.0.0.1') {
          throw new TypeError(`fetch failed: no network here (${url.hostname})`);
        }
        return fetch(url, init);
      }) as typeof fetch;

      // 1. The scheduled run, as applied, writes each tarball into the applied bucket.
      const syncer = await container('syncer', 'gh-ci-syncer', toReleases);
      expect(await syncer({}, lambdaContext('gh-ci-syncer', 300_000))).toEqual({ version: '2.329.0', uploaded: 2, upToDate: 0 });
      const s3 = new S3Client({ region: REGION, endpoint: moto!.url, credentials, forcePathStyle: true });
      for (const [arch, body] of Object.entries(tarballs)) {
        const object = await s3.send(new GetObjectCommand({ Bucket: env.BUCKET_NAME, Key: `actions-runner/actions-runner-linux-${arch}.tar.gz` }));
        expect(Buffer.from(await object.Body!.transformToByteArray()).equals(body)).toBe(true);
        expect({ sse: object.ServerSideEncryption, metadata: object.Metadata }).toEqual({ sse: 'aws:kms', metadata: expect.objectContaining({ 'runner-version': '2.329.0' }) });
      }
      expect(releases.assetRequests().filter((r) => r.path.startsWith('/cdn/'))).toHaveLength(2);
      const arm64 = await s3.send(new GetObjectTaggingCommand({ Bucket: env.BUCKET_NAME, Key: 'actions-runner/actions-runner-linux-arm64.tar.gz' }));
      expect(arm64.TagSet).toEqual([{ Key: 'sha256', Value: createHash('sha256').update(tarballs.arm64).digest('hex') }]);

      // 2. The next run finds the bucket up to date: nothing downloaded, nothing written.
      const before = proxy!.calls.length;
      const again = await container('syncer', 'gh-ci-syncer', toReleases);
      expect(await again({}, lambdaContext('gh-ci-syncer', 300_000))).toEqual({ version: '2.329.0', uploaded: 0, upToDate: 2 });
      expect(proxy!.calls.slice(before).map((c) => `${c.service} ${c.method}`)).toEqual(['s3 HEAD', 's3 HEAD']);
      expect(releases.assetRequests().filter((r) => r.path.startsWith('/cdn/'))).toHaveLength(2);
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: env.BUCKET_NAME }));
      expect((versions.Versions ?? []).map((v) => v.Key).sort()).toEqual(['actions-runner/actions-runner-linux-arm64.tar.gz', 'actions-runner/actions-runner-linux-x64.tar.gz']);
    } finally {
      await releases.stop();
    }
  });
}
