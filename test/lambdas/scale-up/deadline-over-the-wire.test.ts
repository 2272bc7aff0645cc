/**
 * Scale-up finishes inside its timeout when AWS or GitHub throttle (issue #10
 * item 12), shown over the wire: the shipped scale-up bundle, loaded as the
 * Lambda runtime loads it, talks to moto_server (an independent AWS emulator)
 * through a proxy that throttles chosen calls the way AWS does, and to a fake
 * GitHub over HTTP. Nothing replaces the SDK's retry path.
 *
 * In every scenario: the invocation returns before its timeout, every message
 * is either acknowledged with a registered runner or returned to the queue,
 * every launched instance is either registered or terminated, and the lock of
 * every returned job is released (not left to expire).
 */
import { CreateTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateLaunchTemplateCommand, CreateSubnetCommand, CreateVpcCommand, DescribeImagesCommand, DescribeInstancesCommand, EC2Client, Instance, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { extractBundle, lambdaContext, loadBundle, prepareShippedBundles } from '../../e2e/lib/bundles';
import { Moto, startMoto } from '../../cloud/moto';
import { EmulatorProxy, startEmulatorProxy } from '../../cloud/emulator-proxy';
import { FakeGitHub, generateAppKey, startFakeGitHub } from '../shared/fake-github';
import { APP_ID, baseEnv, job, runnerTypeConfig, sqsEvent } from './harness';

const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDMOTO', secretAccessKey: 'moto' };
const PREFIX = 'gh-ci';
const TABLE = 'gh-ci-jobs';
const CONFIG_PATH = '/gh-ci/runners/config';

jest.setTimeout(90_000);

let moto: Moto;
let proxy: EmulatorProxy;
let gh: FakeGitHub;
let bundlesDir: string;
let env: Record<string, string>;
const key = generateAppKey();

const direct = <T>(Client: new (c: object) => T): T => new Client({ region: REGION, endpoint: moto.url, credentials });

beforeAll(async () => {
  [moto, bundlesDir] = await Promise.all([startMoto(), prepareShippedBundles()]);
  proxy = await startEmulatorProxy(moto.url);
  gh = await startFakeGitHub({ appId: APP_ID, publicKey: key.publicKey });

  const ec2 = direct(EC2Client);
  const ssm = direct(SSMClient);
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.0.1.0/24' }));
  const images = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
  const template = await ec2.send(
    new CreateLaunchTemplateCommand({ LaunchTemplateName: `${PREFIX}-linux-x64`, LaunchTemplateData: { ImageId: images.Images![0].ImageId!, InstanceType: 'm5.large' } }),
  );
  await direct(DynamoDBClient).send(
    new CreateTableCommand({ TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }),
  );
  await ssm.send(new PutParameterCommand({ Name: '/gh-ci/github-app/id', Type: 'String', Value: String(APP_ID) }));
  await ssm.send(new PutParameterCommand({ Name: '/gh-ci/github-app/key', Type: 'SecureString', Value: key.privateKeyPem }));

  env = {
    ...baseEnv({
      RUNNER_TYPE_CONFIG: runnerTypeConfig({ launch_template_id: template.LaunchTemplate!.LaunchTemplateId!, launch_template_version: '$Latest', subnet_ids: [subnet.Subnet!.SubnetId!], instance_types: ['m5.large'] }),
      KMS_KEY_ID: 'alias/aws/ssm',
      GHES_URL: gh.url,
      IDEMPOTENCY_TABLE_NAME: TABLE,
      SSM_CONFIG_PATH: CONFIG_PATH,
    }),
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL: proxy.url,
    AWS_LAMBDA_FUNCTION_NAME: 'gh-ci-scale-up-linux-x64',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LOG_LEVEL: 'debug',
  };
  // The shipped bundle carries its SDK, which reads the bundle's own
  // process.env (`env`). The host's SDK (the `direct` clients) gets the
  // same settings, for any client built without an explicit endpoint.
  for (const name of SDK_ENV) {
    hostEnvBefore[name] = process.env[name];
    process.env[name] = env[name];
  }
});

const SDK_ENV = ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
const hostEnvBefore: Record<string, string | undefined> = {};

afterAll(async () => {
  for (const [name, value] of Object.entries(hostEnvBefore)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.all([proxy?.close(), gh?.close(), moto?.stop()]);
});

interface Outcome {
  readonly response: SQSBatchResponse;
  readonly ms: number;
  readonly logs: string[];
  /** Instances scale-up launched in this scenario, by id, with their state. */
  readonly instances: Map<string, string>;
  /** Instance ids that have a runner config parameter. */
  readonly registered: Set<string>;
  /** Lock records by job id: status and instance id. */
  readonly locks: Map<number, { status: string; instanceId?: string }>;
}

let jobSeq = 1_000;

/** One invocation of a fresh container with `jobs` messages and `timeoutMs` on the clock. */
async function invoke(jobCount: number, timeoutMs: number): Promise<Outcome & { jobIds: number[] }> {
  const before = new Set((await allInstances()).map((i) => i.InstanceId!));
  const jobIds = Array.from({ length: jobCount }, () => ++jobSeq);
  const logs: string[] = [];
  const exports = loadBundle(extractBundle(bundlesDir, 'scale-up'), { env, stdout: (t) => logs.push(...t.split('\n').filter(Boolean)) });
  const handler = exports.handler as (e: SQSEvent, c: unknown) => Promise<SQSBatchResponse>;
  const event = sqsEvent(jobIds.map((id) => ({ messageId: `m-${id}`, body: job(id) })));
  const t0 = Date.now();
  const response = await handler(event, lambdaContext('gh-ci-scale-up-linux-x64', timeoutMs));
  const ms = Date.now() - t0;

  const instances = new Map((await allInstances()).filter((i) => !before.has(i.InstanceId!)).map((i) => [i.InstanceId!, i.State!.Name!]));
  const params = await direct(SSMClient).send(new GetParametersByPathCommand({ Path: CONFIG_PATH, Recursive: true }));
  const registered = new Set((params.Parameters ?? []).map((p) => p.Name!.split('/').pop()!).filter((id) => instances.has(id)));
  const scan = await direct(DynamoDBClient).send(new ScanCommand({ TableName: TABLE }));
  const locks = new Map(
    (scan.Items ?? [])
      .map((item) => [Number(/(\d+)$/.exec(item.pk.S!)?.[1]), { status: item.status?.S ?? '', instanceId: item.instance_id?.S }] as const)
      .filter(([id]) => jobIds.includes(id)),
  );
  // Leave the account clean for the next scenario's cap check.
  const live = [...instances].filter(([, s]) => s === 'pending' || s === 'running').map(([id]) => id);
  if (live.length > 0) await direct(EC2Client).send(new TerminateInstancesCommand({ InstanceIds: live }));
  return { response, ms, logs, instances, registered, locks, jobIds };
}

async function allInstances(): Promise<Instance[]> {
  const out = await direct(EC2Client).send(new DescribeInstancesCommand({}));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

/** The properties every scenario must keep. */
function expectNothingStranded(outcome: Outcome & { jobIds: number[] }, timeoutMs: number): void {
  const { response, ms, instances, registered, locks, jobIds } = outcome;
  expect(ms).toBeLessThan(timeoutMs);
  const returned = new Set(response.batchItemFailures.map((f) => Number(f.itemIdentifier.slice(2))));
  for (const id of jobIds) {
    const lock = locks.get(id);
    if (returned.has(id)) {
      // Returned: its lock is released or was never taken.
      expect({ id, status: lock?.status ?? 'never taken' }).toEqual({ id, status: expect.stringMatching(/^(released|never taken)$/) });
    } else {
      // Acknowledged: a registered runner holds it.
      expect({ id, status: lock?.status }).toEqual({ id, status: 'launched' });
      expect(registered.has(lock!.instanceId!)).toBe(true);
      expect(instances.get(lock!.instanceId!)).toMatch(/^(pending|running)$/);
    }
  }
  // Every instance launched is registered (and holds an acknowledged job) or terminated.
  for (const [id, state] of instances) {
    if (registered.has(id) && [...locks.values()].some((l) => l.status === 'launched' && l.instanceId === id)) continue;
    expect({ id, state }).toEqual({ id, state: expect.stringMatching(/^(shutting-down|terminated)$/) });
  }
  expect(instances.size).toBeLessThanOrEqual(jobIds.length);
}

describe('scale-up deadline over the wire (moto_server, the shipped bundle)', () => {
  beforeEach(() => gh.resetCalls());

  it('should register every runner when AWS is not throttling (the baseline the others are measured against)', async () => {
    const outcome = await invoke(3, 12_000);
    expectNothingStranded(outcome, 12_000);
    expect(outcome.response.batchItemFailures).toEqual([]);
    expect(outcome.registered.size).toBe(3);
  });

  it('should return in time when GitHub answers every JIT-config request 403 with retry-after, terminating the instances and releasing the locks', async () => {
    // GIVEN GitHub's secondary rate limit on every JIT config, retry-after 5 s, and a 12 s timeout
    gh.failNext({ method: 'POST', route: /generate-jitconfig$/, status: 403, headers: { 'retry-after': '5' }, body: { message: 'You have exceeded a secondary rate limit.' }, times: 1_000 });
    const outcome = await invoke(3, 12_000);
    // THEN one wait of 5 s fits, the second does not: all three jobs go back, nothing is stranded
    expectNothingStranded(outcome, 12_000);
    expect(outcome.response.batchItemFailures).toHaveLength(3);
    expect(outcome.instances.size).toBe(3);
    expect(gh.count('POST', /generate-jitconfig$/)).toBe(6);
    expect(outcome.ms).toBeGreaterThanOrEqual(5_000);
  });

  it('should register all five runners through 15 throttled PutParameter answers, well inside a 30 s timeout', async () => {
    // GIVEN SSM throttles 15 PutParameter calls in all (each within the SDK's 5 attempts)
    proxy.throttle({ service: 'ssm', action: 'PutParameter', times: 15 });
    const throttledBefore = proxy.count('ssm', 'PutParameter', true);
    const outcome = await invoke(5, 30_000);
    expectNothingStranded(outcome, 30_000);
    expect(proxy.count('ssm', 'PutParameter', true) - throttledBefore).toBe(15);
    expect(outcome.response.batchItemFailures).toEqual([]);
    expect(outcome.registered.size).toBe(5);
    // Not one instance more than jobs: no relaunch for a slow registration.
    expect(outcome.instances.size).toBe(5);
  });

  it('should stop retrying a PutParameter that SSM never stops throttling before the timeout, and terminate what it launched', async () => {
    proxy.throttle({ service: 'ssm', action: 'PutParameter' });
    try {
      const outcome = await invoke(5, 12_000);
      expectNothingStranded(outcome, 12_000);
      expect(outcome.response.batchItemFailures).toHaveLength(5);
      expect(outcome.registered.size).toBe(0);
      expect([...outcome.instances.values()].every((s) => s === 'shutting-down' || s === 'terminated')).toBe(true);
    } finally {
      proxy.clearRules();
    }
  });

  it('should retry CreateFleet through RequestLimitExceeded (503) and launch once', async () => {
    proxy.throttle({ service: 'ec2', action: 'CreateFleet', times: 2 });
    const forwardedBefore = proxy.count('ec2', 'CreateFleet', false);
    const outcome = await invoke(2, 12_000);
    expectNothingStranded(outcome, 12_000);
    expect(outcome.registered.size).toBe(2);
    expect(proxy.count('ec2', 'CreateFleet', false) - forwardedBefore).toBe(1);
  });

  it('should launch nothing and return every job when CreateFleet is throttled past the time left', async () => {
    proxy.throttle({ service: 'ec2', action: 'CreateFleet' });
    try {
      const outcome = await invoke(2, 12_000);
      expectNothingStranded(outcome, 12_000);
      expect(outcome.instances.size).toBe(0);
      expect(outcome.response.batchItemFailures).toHaveLength(2);
    } finally {
      proxy.clearRules();
    }
  });

  it('should write no token, JIT config or private key to its logs', async () => {
    const outcome = await invoke(1, 12_000);
    const text = outcome.logs.join('\n');
    for (const secret of [...gh.issuedTokens, ...gh.issuedJitConfigs]) expect(text).not.toContain(secret);
    expect(text).not.toContain('PRIVATE KEY');
  });
});
