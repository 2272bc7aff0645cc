/**
 * The whole system in one process, for the end-to-end tests and the bench.
 *
 * - The Lambdas are the shipped bundles (dist/lambdas/*.zip), each loaded as
 *   its own container with the environment its construct sets
 *   (modules/webhook/webhook.ts, modules/runners/scale-up.ts,
 *   modules/runners/scale-down.ts).
 * - AWS is aws-sdk-client-mock on the SDK client classes, backed by stateful
 *   fakes: EC2 and DynamoDB from test/lambdas/shared, SQS and SSM from here.
 *   No local AWS endpoint exists on this machine, and the mocks act on the
 *   very clients the bundles construct.
 * - GitHub is a real HTTP server on 127.0.0.1 (GitHubWorld), reached either as
 *   GHES (GHES_URL → /api/v3) or as github.com (no GHES_URL; the bundle's
 *   fetch routes api.github.com to the fake).
 * - The Lambda event source mapping and the runner instances are simulated
 *   here, step by step: `drain` feeds each queue to its scale-up function in
 *   batches, `boot` lets launched instances read and delete their config and
 *   connect, `dispatch` lets GitHub hand out jobs, `finish` completes them
 *   (webhook deliveries included) and shuts the instances down.
 *
 * Nothing here depends on jest, so scripts/bench.ts drives the same world.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client, Instance } from '@aws-sdk/client-ec2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DeleteParameterCommand, GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { randomBytes } from 'node:crypto';
import {
  DEFAULT_METRICS_NAMESPACE,
  type RedeliveryEnvironment,
  type RunnerApiEnvironment,
  type ScaleDownEnvironment,
  type ScaleUpEnvironment,
  type TerminationWatcherEnvironment,
  type WebhookEnvironment,
} from '../../../modules/contract/environment';
import type { RunnerTypeLaunchConfig, RunnerTypeRoutes } from '../../../modules/contract/runner-types';
import { RUNNER_TAGS } from '../../../modules/contract/tags';
import { FakeTable, installFakeTable } from '../../lambdas/shared/fake-dynamodb';
import { FakeEc2 } from '../../lambdas/shared/fake-ec2';
import { extractBundle, lambdaContext, loadBundle } from './bundles';
import { WarpClock } from './clock';
import { GitHubLayout, signedDelivery, workflowJobPayload } from './deliveries';
import { FakeSqs } from './fake-sqs';
import { FakeSsm } from './fake-ssm';
import { APP_ID, DEFAULT_OWNER, GitHubWorld, JobSpec, SimJob } from './github-world';

export const PREFIX = 'gh-ci';
export const ACCOUNT_ID = '123456789012';
export const REGION = 'eu-west-1';
export const SSM_CONFIG_PATH = `/${PREFIX}/runners/config`;
export const KMS_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/0b5e2e2e-0000-4000-8000-000000000000`;
export const IDEMPOTENCY_TABLE = `${PREFIX}-launch-locks`;
export const TERMINATION_RETRY_QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/${PREFIX}-termination-retry`;
/** The operator's SSM parameters (names only reach the Lambdas). */
export const PARAMETERS = {
  appId: '/ops/github/runner/e2e/app-id',
  privateKey: '/ops/github/runner/e2e/private-key',
  webhookSecret: '/ops/github/runner/e2e/webhook-secret',
} as const;

/** The job queue's visibility timeout (modules/runners/job-queues.ts). */
export const VISIBILITY_TIMEOUT_MS = 60_000;
/** Attempts user data makes to find its config before it gives up and shuts down. */
export const CONFIG_POLL_ATTEMPTS = 3;

/** A runner type, as a module user declares it. */
export interface RunnerTypeSpec {
  readonly name: string;
  readonly labels: readonly string[];
  /** runners_maximum_count. */
  readonly maximumCount: number;
  /** @default "spot" */
  readonly capacityType?: 'spot' | 'on-demand';
  /** enable_on_demand_failover_for_errors. @default ["InsufficientInstanceCapacity"] */
  readonly failoverErrors?: readonly string[];
  /** @default list index */
  readonly priority?: number;
  /** The launch config's instance_types. @default m7i/m6i/m5 large */
  readonly instanceTypes?: readonly string[];
}

/** The launch template id the world gives a runner type (scale-up's launch_template_id). */
export function launchTemplateIdOf(runnerType: string): string {
  return `lt-${Buffer.from(runnerType).toString('hex').padEnd(17, '0').slice(0, 17)}`;
}

/** Options of {@link World.create}. */
export interface WorldOptions {
  /** Where the zips are (see prepareBundles). */
  readonly bundlesDir: string;
  /** @default "github.com" */
  readonly layout?: GitHubLayout;
  /** @default one type "linux-x64" (self-hosted, linux, x64), maximum 10 */
  readonly runnerTypes?: readonly RunnerTypeSpec[];
  /** @default true */
  readonly organizationRunners?: boolean;
  /**
   * Simulated ms per real ms (see WarpClock). The bundles' budgets run on this
   * clock: at 50 a 30 s scale-up had 0.6 s of real time, which a busy machine
   * overran (a cold start returned its batch, "time budget spent"); at 10 it
   * has 3 s. @default 10
   */
  readonly timeWarp?: number;
  /** Messages per scale-up invocation (lambda_event_source_mapping_batch_size). @default 10 */
  readonly batchSize?: number;
  /** "warm": one scale-up container per type, reused; "cold": a new container per invocation. @default "warm" */
  readonly scaleUpContainers?: 'warm' | 'cold';
  /** LOG_LEVEL of every function. @default "info" */
  readonly logLevel?: string;
  /**
   * job_retry.max_attempts: the webhook records job progress in the job
   * ledger and scale-down relaunches jobs still waiting (the construct's
   * JOB_LEDGER_TABLE_NAME, JOB_RETRY_MAX_ATTEMPTS, JOB_QUEUE_URLS). @default off
   */
  readonly jobRetryMaxAttempts?: number;
  /**
   * enable_spot_interruption_rerun: the termination watcher records a busy
   * spot runner's interrupted job in the ledger and scale-down re-runs it
   * (ENABLE_SPOT_INTERRUPTION_RERUN, JOB_LEDGER_TABLE_NAME). @default false
   */
  readonly spotInterruptionRerun?: boolean;
}

/** What one scale-up invocation did and cost. */
export interface ScaleUpInvocation {
  readonly runnerType: string;
  readonly records: number;
  /** batchItemFailures (all records when the invocation threw). */
  readonly returned: number;
  readonly threw: boolean;
  /** RunnersLaunched from the function's EMF line. */
  readonly launched: number;
  readonly ec2Calls: Record<string, number>;
  readonly githubCalls: number;
  readonly cold: boolean;
}

/** A Lambda handler as the runtime calls it. */
type Handler<E, R> = (event: E, context: Record<string, unknown>) => Promise<R>;

interface Container<E, R> {
  readonly handler: Handler<E, R>;
}

/** What a launched instance is doing, as far as the simulation is concerned. */
interface InstanceLife {
  configMisses: number;
  runnerName?: string;
}

export class World {
  readonly clock: WarpClock;
  readonly ec2: FakeEc2;
  readonly ssm: FakeSsm;
  readonly sqs: FakeSqs;
  readonly table: FakeTable;
  /** Captured stdout lines per function name. */
  readonly logs = new Map<string, string[]>();
  readonly invocations: ScaleUpInvocation[] = [];
  /** Instances that boot but whose runner never comes online (a bad AMI, a hung boot): boot() leaves them alone. */
  readonly neverOnline = new Set<string>();
  /** Most live runner instances seen after any scale-up invocation. */
  peakLiveInstances = 0;
  /** Status codes the webhook answered, in order. */
  readonly webhookAnswers: number[] = [];
  readonly webhookSecret = `whsec-${randomBytes(12).toString('hex')}`;
  readonly runnerTypes: readonly RunnerTypeSpec[];
  readonly layout: GitHubLayout;
  private readonly mocks: { restore(): void }[];
  private readonly instanceLives = new Map<string, InstanceLife>();
  private readonly scaleUpWarm = new Map<string, Container<SQSEvent, SQSBatchResponse>>();
  private webhookContainer?: Container<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
  private scaleDownContainer?: Container<unknown, unknown>;
  private redeliveryContainer?: Container<unknown, unknown>;
  private poolContainer?: Container<unknown, unknown>;
  private watcherContainer?: Container<unknown, unknown>;
  /** Re-runs GitHub accepted that became a new job attempt (see {@link serveReruns}). */
  private rerunsServed = 0;
  private runnerApiContainer?: Container<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
  /** The runner's own AWS CLI calls (GetParameter, DeleteParameter). */
  private readonly runnerSsm = new SSMClient({ region: REGION });

  private constructor(
    readonly options: WorldOptions,
    readonly github: GitHubWorld,
    clock: WarpClock,
  ) {
    this.clock = clock;
    this.layout = options.layout ?? 'github.com';
    this.runnerTypes = options.runnerTypes ?? [{ name: 'linux-x64', labels: ['self-hosted', 'linux', 'x64'], maximumCount: 10 }];
    const ec2Mock = mockClient(EC2Client);
    const ssmMock = mockClient(SSMClient);
    const sqsMock = mockClient(SQSClient);
    const ddbMock = mockClient(DynamoDBClient);
    this.mocks = [ec2Mock, ssmMock, sqsMock, ddbMock];
    const now = () => this.clock.now();
    this.ec2 = new FakeEc2(ec2Mock);
    this.ssm = new FakeSsm(ssmMock, now);
    this.sqs = new FakeSqs(sqsMock, now);
    this.table = installFakeTable(ddbMock);
    for (const t of this.runnerTypes) this.sqs.createQueue(this.queueUrl(t.name));
    this.sqs.createQueue(TERMINATION_RETRY_QUEUE_URL);
    this.ssm.seed(PARAMETERS.appId, String(APP_ID));
    // Stored base64-encoded, one of the encodings operators use (lambdas/shared/github/private-key.ts).
    this.ssm.seed(PARAMETERS.privateKey, Buffer.from(github.appKey.privateKeyPem).toString('base64'));
    this.ssm.seed(PARAMETERS.webhookSecret, this.webhookSecret);
  }

  static async create(options: WorldOptions): Promise<World> {
    const clock = new WarpClock(options.timeWarp ?? 10);
    const github = await GitHubWorld.start(() => clock.now());
    return new World(options, github, clock);
  }

  /** Restore the SDK clients and stop the fake GitHub. */
  async close(): Promise<void> {
    for (const m of this.mocks) m.restore();
    await this.github.close();
  }

  // --- configuration, as the constructs write it ------------------------------

  queueUrl(runnerType: string): string {
    return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/${PREFIX}-${runnerType}`;
  }

  private get ghesUrl(): string {
    return this.layout === 'ghes' ? this.github.api.url : '';
  }

  private get logLevel(): string {
    return this.options.logLevel ?? 'info';
  }

  webhookEnv(): Record<string, string> {
    const routes: RunnerTypeRoutes = Object.fromEntries(
      this.runnerTypes.map((t, i) => [t.name, { labels: [...t.labels], exact_match: false, priority: t.priority ?? i, queue_url: this.queueUrl(t.name) }]),
    );
    const env = {
      PREFIX,
      WEBHOOK_SECRET_SSM_PARAMETER_NAME: PARAMETERS.webhookSecret,
      RUNNER_TYPES_CONFIG: JSON.stringify(routes),
      REPOSITORY_ALLOW_LIST: '[]',
      LOG_LEVEL: this.logLevel,
      ...(this.options.jobRetryMaxAttempts ? { JOB_LEDGER_TABLE_NAME: IDEMPOTENCY_TABLE } : {}),
      METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    } satisfies WebhookEnvironment;
    return { ...env, ...lambdaRuntimeEnv(`${PREFIX}-webhook`) };
  }

  scaleUpEnv(runnerType: string): Record<string, string> {
    const t = this.runnerType(runnerType);
    const env = {
      PREFIX,
      RUNNER_TYPE: t.name,
      RUNNER_TYPE_CONFIG: JSON.stringify({
        labels: [...t.labels],
        launch_template_id: launchTemplateIdOf(t.name),
        launch_template_version: '$Latest',
        instance_types: [...(t.instanceTypes ?? ['m7i.large', 'm6i.large', 'm5.large'])],
        subnet_ids: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
        instance_target_capacity_type: t.capacityType ?? 'spot',
        instance_allocation_strategy: 'price-capacity-optimized',
        runners_maximum_count: t.maximumCount,
        enable_on_demand_failover_for_errors: [...(t.failoverErrors ?? ['InsufficientInstanceCapacity'])],
      } satisfies RunnerTypeLaunchConfig),
      GITHUB_APP_ID_SSM_PARAMETER_NAME: PARAMETERS.appId,
      GITHUB_APP_KEY_SSM_PARAMETER_NAME: PARAMETERS.privateKey,
      GHES_URL: this.ghesUrl,
      GHES_SSL_VERIFY: 'true',
      ENABLE_ORGANIZATION_RUNNERS: String(this.options.organizationRunners ?? true),
      RUNNER_GROUP_NAME: 'Default',
      ENABLE_JIT_CONFIG: 'true',
      ENABLE_JOB_QUEUED_CHECK: 'false',
      DRY_RUN: 'false',
      SSM_CONFIG_PATH,
      INSTANCE_ARN_PREFIX: `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:instance/`,
      KMS_KEY_ID: KMS_KEY_ARN,
      IDEMPOTENCY_TABLE_NAME: IDEMPOTENCY_TABLE,
      RUNNER_BOOT_TIME_IN_MINUTES: '5',
      LOG_LEVEL: this.logLevel,
      METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    } satisfies ScaleUpEnvironment;
    return { ...env, ...lambdaRuntimeEnv(`${PREFIX}-scale-up_${t.name}`) };
  }

  /** The environment modules/runners/scale-down.ts sets. */
  scaleDownEnv(): Record<string, string> {
    const env = {
      PREFIX,
      GITHUB_APP_ID_SSM_PARAMETER_NAME: PARAMETERS.appId,
      GITHUB_APP_KEY_SSM_PARAMETER_NAME: PARAMETERS.privateKey,
      GHES_URL: this.ghesUrl,
      GHES_SSL_VERIFY: 'true',
      ENABLE_ORGANIZATION_RUNNERS: String(this.options.organizationRunners ?? true),
      MINIMUM_RUNNING_TIME_IN_MINUTES: '5',
      RUNNER_BOOT_TIME_IN_MINUTES: '5',
      SSM_CONFIG_PATH,
      BYPASS_TAG: RUNNER_TAGS.scaleDownBypass,
      DRY_RUN: 'false',
      LOG_LEVEL: this.logLevel,
      ...(this.options.jobRetryMaxAttempts
        ? {
            JOB_RETRY_MAX_ATTEMPTS: String(this.options.jobRetryMaxAttempts),
            JOB_LEDGER_TABLE_NAME: IDEMPOTENCY_TABLE,
            JOB_QUEUE_URLS: JSON.stringify(Object.fromEntries(this.runnerTypes.map((t) => [t.name, this.queueUrl(t.name)]))),
          }
        : {}),
      ...(this.options.spotInterruptionRerun ? { ENABLE_SPOT_INTERRUPTION_RERUN: 'true', JOB_LEDGER_TABLE_NAME: IDEMPOTENCY_TABLE } : {}),
      METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    } satisfies ScaleDownEnvironment;
    return { ...env, ...lambdaRuntimeEnv(`${PREFIX}-scale-down`) };
  }

  /** The environment modules/runners/warm-pool.ts sets (every type has a pool; the owner is the default job owner). */
  poolEnv(owner = DEFAULT_OWNER): Record<string, string> {
    const types = Object.fromEntries(this.runnerTypes.map((t) => [t.name, JSON.parse(this.scaleUpEnv(t.name).RUNNER_TYPE_CONFIG) as unknown]));
    return {
      PREFIX,
      POOL_RUNNER_OWNER: owner,
      RUNNER_TYPES_CONFIG: JSON.stringify(types),
      GITHUB_APP_ID_SSM_PARAMETER_NAME: PARAMETERS.appId,
      GITHUB_APP_KEY_SSM_PARAMETER_NAME: PARAMETERS.privateKey,
      GHES_URL: this.ghesUrl,
      GHES_SSL_VERIFY: 'true',
      RUNNER_GROUP_NAME: 'Default',
      ENABLE_JIT_CONFIG: 'true',
      RUNNER_BOOT_TIME_IN_MINUTES: '5',
      DRY_RUN: 'false',
      SSM_CONFIG_PATH,
      INSTANCE_ARN_PREFIX: `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:instance/`,
      KMS_KEY_ID: KMS_KEY_ARN,
      LOG_LEVEL: this.logLevel,
      JOB_QUEUE_URLS: JSON.stringify(Object.fromEntries(this.runnerTypes.map((t) => [t.name, this.queueUrl(t.name)]))),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...lambdaRuntimeEnv(`${PREFIX}-pool`),
    };
  }

  /** The environment modules/webhook/redelivery.ts sets; the delivery log is reached as GHES at `deliveryLogUrl`. */
  redeliveryEnv(deliveryLogUrl: string): Record<string, string> {
    const env = {
      GITHUB_APP_ID_SSM_PARAMETER_NAME: PARAMETERS.appId,
      GITHUB_APP_KEY_SSM_PARAMETER_NAME: PARAMETERS.privateKey,
      GHES_URL: deliveryLogUrl,
      GHES_SSL_VERIFY: 'true',
      REDELIVERY_LOOKBACK_MINUTES: '60',
      REDELIVERY_MAX_PAGES: '10',
      REDELIVERY_MAX_PER_RUN: '100',
      LOG_LEVEL: this.logLevel,
      METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    } satisfies RedeliveryEnvironment;
    return { ...env, ...lambdaRuntimeEnv(`${PREFIX}-webhook-redelivery`) };
  }

  /** The environment modules/webhook/runner-api.ts sets (issue #15), trusting the OIDC issuer at `issuer`. */
  runnerApiEnv(issuer: string, audience: string): Record<string, string> {
    const env = {
      PREFIX,
      OIDC_ISSUER: issuer,
      OIDC_AUDIENCE: audience,
      REPOSITORY_ALLOW_LIST: '[]',
      JOB_QUEUE_URLS: JSON.stringify(Object.fromEntries(this.runnerTypes.map((t) => [t.name, this.queueUrl(t.name)]))),
      RUNNER_MAXIMUM_COUNTS: JSON.stringify(Object.fromEntries(this.runnerTypes.map((t) => [t.name, t.maximumCount]))),
      IDEMPOTENCY_TABLE_NAME: IDEMPOTENCY_TABLE,
      DEFAULT_TIMEOUT_MINUTES: '15',
      GITHUB_APP_ID_SSM_PARAMETER_NAME: PARAMETERS.appId,
      GITHUB_APP_KEY_SSM_PARAMETER_NAME: PARAMETERS.privateKey,
      GHES_URL: this.ghesUrl,
      GHES_SSL_VERIFY: 'true',
      ENABLE_ORGANIZATION_RUNNERS: String(this.options.organizationRunners ?? true),
      LOG_LEVEL: this.logLevel,
      METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    } satisfies RunnerApiEnvironment;
    return { ...env, ...lambdaRuntimeEnv(`${PREFIX}-runner-api`) };
  }

  /** One HTTP API request to the runner API function (one container, built on first use with `issuer` and `audience`). */
  async runnerApi(request: { method: 'GET' | 'POST'; path: string; token?: string; body?: unknown }, issuer: string, audience: string): Promise<APIGatewayProxyStructuredResultV2> {
    this.runnerApiContainer ??= this.container('runner-api', `${PREFIX}-runner-api`, this.runnerApiEnv(issuer, audience));
    const event = {
      version: '2.0',
      routeKey: request.method === 'POST' ? 'POST /runners' : 'GET /runners/{name}',
      rawPath: request.path,
      rawQueryString: '',
      headers: { 'content-type': 'application/json', ...(request.token !== undefined && { authorization: `Bearer ${request.token}` }) },
      requestContext: { http: { method: request.method, path: request.path } },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    return this.runnerApiContainer.handler(event, lambdaContext(`${PREFIX}-runner-api`, 10_000, () => this.clock.now()));
  }

  runnerType(name: string): RunnerTypeSpec {
    const t = this.runnerTypes.find((x) => x.name === name);
    if (!t) throw new Error(`no runner type ${name}`);
    return t;
  }

  // --- containers -------------------------------------------------------------

  private container<E, R>(bundle: string, functionName: string, env: Record<string, string>): Container<E, R> {
    const dir = extractBundle(this.options.bundlesDir, bundle);
    const lines = this.logLines(functionName);
    let pending = '';
    const exports = loadBundle(dir, {
      env,
      // The world runs the SDK-external test build (prepareBundles): the mocks patch the SDK it requires.
      sdk: 'external',
      clock: this.clock.globals(),
      fetch: this.github.bundleFetch(),
      stdout: (text) => {
        pending += text;
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        lines.push(...parts.filter((l) => l !== ''));
      },
    });
    const handler = exports.handler;
    if (typeof handler !== 'function') throw new Error(`${bundle} bundle exports no handler function`);
    return { handler: handler as Handler<E, R> };
  }

  /** Captured log lines of a function (created empty). */
  logLines(functionName: string): string[] {
    let lines = this.logs.get(functionName);
    if (!lines) {
      lines = [];
      this.logs.set(functionName, lines);
    }
    return lines;
  }

  // --- the webhook ------------------------------------------------------------

  /** POST one delivery to the webhook function; returns its answer. */
  async post(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    this.webhookContainer ??= this.container('webhook', `${PREFIX}-webhook`, this.webhookEnv());
    const answer = await this.webhookContainer.handler(event, lambdaContext(`${PREFIX}-webhook`, 10_000, () => this.clock.now()));
    this.webhookAnswers.push(answer.statusCode ?? 0);
    return answer;
  }

  /** A signed workflow_job delivery of `job` in state `action`. */
  delivery(job: SimJob, action: 'queued' | 'in_progress' | 'completed', deliveryId?: string): APIGatewayProxyEventV2 {
    return signedDelivery('workflow_job', workflowJobPayload(job, action, this.layout), this.webhookSecret, { deliveryId });
  }

  /** Send a workflow_job delivery and insist on the answer GitHub should get. */
  async deliver(job: SimJob, action: 'queued' | 'in_progress' | 'completed', deliveryId?: string): Promise<void> {
    const answer = await this.post(this.delivery(job, action, deliveryId));
    const expected = action === 'queued' ? 'queued' : 'accepted';
    if (answer.statusCode !== 202 || answer.body !== expected) {
      throw new Error(`webhook answered ${answer.statusCode} "${answer.body}" to the ${action} delivery of job ${job.id}`);
    }
  }

  /** GitHub queues a job and delivers `workflow_job queued`. */
  async queueJob(spec: JobSpec = {}): Promise<SimJob> {
    const job = this.github.queueJob(spec);
    await this.deliver(job, 'queued');
    return job;
  }

  // --- the event source mapping and scale-up ------------------------------------

  /**
   * Feed every visible message of each runner type's queue to its scale-up
   * function, one batch at a time (reserved concurrency 1). Messages the
   * function returns stay invisible until {@link expireVisibility}.
   */
  async drain(): Promise<ScaleUpInvocation[]> {
    const done: ScaleUpInvocation[] = [];
    for (const t of this.runnerTypes) {
      const url = this.queueUrl(t.name);
      for (;;) {
        const records = this.sqs.receive(url, this.options.batchSize ?? 10, `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${PREFIX}-${t.name}`);
        if (records.length === 0) break;
        done.push(await this.invokeScaleUp(t.name, { Records: records }));
      }
    }
    return done;
  }

  /** One scale-up invocation with `event`, settled on the queue like the event source mapping does. */
  async invokeScaleUp(runnerType: string, event: SQSEvent): Promise<ScaleUpInvocation> {
    const functionName = `${PREFIX}-scale-up_${runnerType}`;
    const cold = this.options.scaleUpContainers === 'cold' || !this.scaleUpWarm.has(runnerType);
    const container = cold ? this.container<SQSEvent, SQSBatchResponse>('scale-up', functionName, this.scaleUpEnv(runnerType)) : this.scaleUpWarm.get(runnerType)!;
    if (this.options.scaleUpContainers !== 'cold') this.scaleUpWarm.set(runnerType, container);
    const lines = this.logLines(functionName);
    const linesBefore = lines.length;
    const ec2Before = this.ec2.calls.length;
    const githubBefore = this.github.api.calls.length;
    let response: SQSBatchResponse | undefined;
    try {
      response = await container.handler(event, lambdaContext(functionName, 30_000, () => this.clock.now()));
    } catch {
      response = undefined; // The invocation failed: Lambda returns the whole batch.
    }
    this.stampLaunchTimes();
    this.peakLiveInstances = Math.max(this.peakLiveInstances, this.liveInstances().length);
    const ec2Calls: Record<string, number> = {};
    for (const c of this.ec2.calls.slice(ec2Before)) ec2Calls[c.command] = (ec2Calls[c.command] ?? 0) + 1;
    const settled = this.sqs.settle(this.queueUrl(runnerType), event.Records, response);
    const invocation: ScaleUpInvocation = {
      runnerType,
      records: event.Records.length,
      returned: settled.returned,
      threw: response === undefined,
      launched: launchedFromMetrics(lines.slice(linesBefore)),
      ec2Calls,
      githubCalls: this.github.api.calls.length - githubBefore,
      cold,
    };
    this.invocations.push(invocation);
    return invocation;
  }

  /** The next invocation of `runnerType`'s scale-up starts a new container (a cold start). */
  recycleScaleUp(runnerType: string): void {
    this.scaleUpWarm.delete(runnerType);
  }

  /** The queues' visibility timeout passes. */
  expireVisibility(): void {
    this.clock.advance(VISIBILITY_TIMEOUT_MS);
    this.sqs.expireVisibility();
  }

  /** The fake EC2 records no launch time; stamp new instances with the simulated clock. */
  private stampLaunchTimes(): void {
    for (const i of this.ec2.instances.values()) i.LaunchTime ??= new Date(this.clock.now());
  }

  // --- the runner instances -----------------------------------------------------

  /** Instances of this module that are pending or running. */
  liveInstances(): Instance[] {
    return this.ec2.live().filter((i) => i.Tags?.some((t) => t.Key === RUNNER_TAGS.prefix && t.Value === PREFIX));
  }

  /**
   * Every pending instance boots and runs its user data (the parts that talk
   * to AWS and GitHub): find `<path>/<instance-id>` in SSM (a bounded number
   * of tries across calls), delete it, start the runner with the JIT config.
   * Any failure shuts the instance down, which terminates it.
   */
  async boot(): Promise<{ connected: number; gaveUp: number }> {
    let connected = 0;
    let gaveUp = 0;
    for (const instance of this.liveInstances()) {
      const id = instance.InstanceId!;
      const life = this.instanceLives.get(id) ?? { configMisses: 0 };
      this.instanceLives.set(id, life);
      if (life.runnerName) continue;
      instance.State = { Name: 'running' };
      if (this.neverOnline.has(id)) continue;
      const name = `${SSM_CONFIG_PATH}/${id}`;
      let value: string | undefined;
      try {
        value = (await this.runnerSsm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value;
      } catch {
        value = undefined;
      }
      if (value === undefined) {
        life.configMisses += 1;
        if (life.configMisses >= CONFIG_POLL_ATTEMPTS) {
          this.shutDown(id);
          gaveUp += 1;
        }
        continue;
      }
      try {
        await this.runnerSsm.send(new DeleteParameterCommand({ Name: name }));
        const config = JSON.parse(value) as { mode?: string; jit_config?: string };
        if (config.mode !== 'jit' || typeof config.jit_config !== 'string') throw new Error(`unsupported runner config mode ${config.mode}`);
        const session = this.github.connect(config.jit_config);
        if (session.runner.name !== `${PREFIX}-${id}`) throw new Error(`instance ${id} got the JIT config of ${session.runner.name}`);
        life.runnerName = session.runner.name;
        connected += 1;
      } catch (error) {
        this.shutDown(id);
        throw error;
      }
    }
    return { connected, gaveUp };
  }

  /** GitHub hands queued jobs to idle runners; each start is delivered as `in_progress`. */
  async dispatch(): Promise<SimJob[]> {
    const started = this.github.dispatch();
    for (const job of started) await this.deliver(job, 'in_progress');
    return started;
  }

  /** Every busy runner's job completes: `completed` is delivered, the runner is removed, its instance shuts down. */
  async finish(): Promise<SimJob[]> {
    const finished: SimJob[] = [];
    for (const session of this.github.busy()) {
      const job = this.github.complete(session.runner.name);
      await this.deliver(job, 'completed');
      const instanceId = session.runner.name.slice(PREFIX.length + 1);
      this.shutDown(instanceId);
      finished.push(job);
    }
    return finished;
  }

  /**
   * The instance of a connected runner dies (a crash, a lost host): it is
   * terminated, GitHub loses the runner (its registration stays, offline),
   * and a job it was running fails and is delivered as `completed`
   * (conclusion failure). Returns that job, if any.
   */
  async crashRunner(instanceId: string): Promise<SimJob | undefined> {
    const life = this.instanceLives.get(instanceId);
    if (!life?.runnerName) throw new Error(`instance ${instanceId} has no connected runner`);
    const instance = this.ec2.instances.get(instanceId);
    if (instance) instance.State = { Name: 'terminated' };
    const job = this.github.crash(life.runnerName);
    if (job) await this.deliver(job, 'completed');
    return job;
  }

  /** The connected runner of a live instance, if any. */
  runnerOf(instanceId: string): string | undefined {
    return this.instanceLives.get(instanceId)?.runnerName;
  }

  /** `shutdown -h now`; the launch template turns it into termination. */
  shutDown(instanceId: string): void {
    const instance = this.ec2.instances.get(instanceId);
    if (instance) instance.State = { Name: 'terminated' };
    const life = this.instanceLives.get(instanceId);
    if (life?.runnerName) this.github.disconnect(life.runnerName);
  }

  /**
   * Round after round (one visibility timeout each) until every job GitHub
   * queued has completed and the queues are empty: drain, boot, dispatch,
   * finish. Returns the number of rounds; throws after `maxRounds`. What a
   * fault left behind (an orphan instance, a ghost registration) may still
   * be there: see {@link leftovers}.
   */
  async serveAll(maxRounds = 100): Promise<number> {
    for (let round = 1; round <= maxRounds; round++) {
      await this.drain();
      await this.boot();
      await this.dispatch();
      await this.finish();
      const open = [...this.github.jobs.values()].filter((j) => j.status !== 'completed').length;
      const queued = this.runnerTypes.reduce((n, t) => n + this.sqs.messages(this.queueUrl(t.name)).length, 0);
      if (open === 0 && queued === 0) return round;
      this.expireVisibility();
    }
    const open = [...this.github.jobs.values()].filter((j) => j.status !== 'completed').map((j) => j.id);
    throw new Error(`not every job was served after ${maxRounds} rounds; open: ${open.slice(0, 20).join(', ')}`);
  }

  // --- scale-down -----------------------------------------------------------------

  /** One scheduled scale-down run. */
  async scaleDown(): Promise<unknown> {
    this.scaleDownContainer ??= this.container('scale-down', `${PREFIX}-scale-down`, this.scaleDownEnv());
    const event = {
      version: '0',
      id: `sched-${this.clock.now()}`,
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: ACCOUNT_ID,
      time: new Date(this.clock.now()).toISOString(),
      region: REGION,
      resources: [`arn:aws:events:${REGION}:${ACCOUNT_ID}:rule/${PREFIX}-scale-down`],
      detail: {},
    };
    const result = await this.scaleDownContainer.handler(event, lambdaContext(`${PREFIX}-scale-down`, 300_000, () => this.clock.now()));
    this.stampLaunchTimes();
    return result;
  }

  // --- the warm pool ---------------------------------------------------------------

  /** One tick of a pool window's schedule: `{ runnerType, size, scheduledTime }`, as EventBridge Scheduler sends it. */
  async poolTick(runnerType: string, size: number): Promise<unknown> {
    this.poolContainer ??= this.container('pool', `${PREFIX}-pool`, this.poolEnv());
    const event = { runnerType, size, scheduledTime: new Date(this.clock.now()).toISOString() };
    const result = await this.poolContainer.handler(event, lambdaContext(`${PREFIX}-pool`, 60_000, () => this.clock.now()));
    this.stampLaunchTimes();
    this.peakLiveInstances = Math.max(this.peakLiveInstances, this.liveInstances().length);
    return result;
  }

  // --- webhook redelivery --------------------------------------------------------

  /** One scheduled webhook-redelivery run against the delivery log at `deliveryLogUrl` (see test/lambdas/redelivery/fake-delivery-log.ts). */
  async redeliveryRun(deliveryLogUrl: string): Promise<unknown> {
    this.redeliveryContainer ??= this.container('redelivery', `${PREFIX}-webhook-redelivery`, this.redeliveryEnv(deliveryLogUrl));
    const event = { version: '0', id: `sched-${this.clock.now()}`, 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };
    return this.redeliveryContainer.handler(event, lambdaContext(`${PREFIX}-webhook-redelivery`, 120_000, () => this.clock.now()));
  }

  // --- the termination watcher and spot interruptions ---------------------------------

  /** The environment modules/runners/termination-watcher.ts sets. */
  terminationWatcherEnv(): Record<string, string> {
    const env = {
      PREFIX,
      GITHUB_APP_ID_SSM_PARAMETER_NAME: PARAMETERS.appId,
      GITHUB_APP_KEY_SSM_PARAMETER_NAME: PARAMETERS.privateKey,
      GHES_URL: this.ghesUrl,
      GHES_SSL_VERIFY: 'true',
      ENABLE_ORGANIZATION_RUNNERS: String(this.options.organizationRunners ?? true),
      RETRY_QUEUE_URL: TERMINATION_RETRY_QUEUE_URL,
      // The fake SQS does not model DelaySeconds; drainTerminationRetries stands in for the delay.
      RETRY_DELAY_SECONDS: '0',
      MAX_ATTEMPTS: '10',
      ...(this.options.spotInterruptionRerun ? { ENABLE_SPOT_INTERRUPTION_RERUN: 'true', JOB_LEDGER_TABLE_NAME: IDEMPOTENCY_TABLE } : {}),
      LOG_LEVEL: this.logLevel,
      METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    } satisfies TerminationWatcherEnvironment;
    return { ...env, ...lambdaRuntimeEnv(`${PREFIX}-termination-watcher`) };
  }

  /** One invocation of the termination watcher with `event` (EventBridge, or a batch of its retry queue). */
  async terminationWatcher(event: unknown): Promise<unknown> {
    this.watcherContainer ??= this.container('termination-watcher', `${PREFIX}-termination-watcher`, this.terminationWatcherEnv());
    return this.watcherContainer.handler(event, lambdaContext(`${PREFIX}-termination-watcher`, 60_000, () => this.clock.now()));
  }

  /**
   * EC2 reclaims a spot instance: the interruption warning reaches the
   * watcher (EventBridge) while its runner is still busy, then the instance
   * is terminated, GitHub loses the runner and fails its job (`completed`,
   * conclusion failure), and the shutting-down state change reaches the
   * watcher too. Returns the job the runner was running.
   */
  async interruptSpot(instanceId: string): Promise<SimJob | undefined> {
    const ec2Event = (detailType: string, detail: Record<string, string>) => ({
      version: '0',
      id: `evt-${instanceId}-${this.clock.now()}`,
      'detail-type': detailType,
      source: 'aws.ec2',
      account: ACCOUNT_ID,
      time: new Date(this.clock.now()).toISOString(),
      region: REGION,
      resources: [`arn:aws:ec2:${REGION}:${ACCOUNT_ID}:instance/${instanceId}`],
      detail,
    });
    await this.terminationWatcher(ec2Event('EC2 Spot Instance Interruption Warning', { 'instance-id': instanceId, 'instance-action': 'terminate' }));
    this.clock.advance(120_000); // the two-minute warning
    const job = await this.crashRunner(instanceId);
    await this.terminationWatcher(ec2Event('EC2 Instance State-change Notification', { 'instance-id': instanceId, state: 'shutting-down' }));
    return job;
  }

  /** Feed the watcher's retry queue to it until it is empty (bounded). */
  async drainTerminationRetries(maxBatches = 20): Promise<void> {
    for (let i = 0; i < maxBatches; i++) {
      this.sqs.expireVisibility();
      const records = this.sqs.receive(TERMINATION_RETRY_QUEUE_URL, 10, `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${PREFIX}-termination-retry`);
      if (records.length === 0) return;
      const response = (await this.terminationWatcher({ Records: records })) as SQSBatchResponse;
      this.sqs.settle(TERMINATION_RETRY_QUEUE_URL, records, response);
    }
  }

  /**
   * GitHub's side of an accepted job re-run (POST .../actions/jobs/{id}/rerun):
   * a new attempt of the workflow run, whose re-run job is a new job, queued
   * and delivered as `workflow_job queued`. Returns the new jobs.
   */
  async serveReruns(): Promise<SimJob[]> {
    const fresh = this.github.api.reruns.slice(this.rerunsServed);
    this.rerunsServed = this.github.api.reruns.length;
    const jobs: SimJob[] = [];
    for (const id of fresh) {
      const old = this.github.jobs.get(id);
      if (!old) throw new Error(`GitHub re-ran job ${id}, which it never had`);
      jobs.push(await this.queueJob({ runId: old.runId, labels: old.labels, owner: old.owner, repo: old.repo, ownerType: old.ownerType, installationId: old.installationId }));
    }
    return jobs;
  }

  // --- what is left, and what leaked -------------------------------------------------

  /** Everything that should be gone once all jobs are done. */
  leftovers(): { instances: string[]; parameters: string[]; registrations: string[]; messages: number; deadLetters: number } {
    return {
      instances: this.liveInstances().map((i) => i.InstanceId!),
      parameters: this.ssm.namesUnder(SSM_CONFIG_PATH),
      registrations: this.github.registeredRunners().map((r) => `${r.target}:${r.runner.name}`),
      messages: this.runnerTypes.reduce((n, t) => n + this.sqs.messages(this.queueUrl(t.name)).length, 0),
      deadLetters: this.runnerTypes.reduce((n, t) => n + this.sqs.deadLetters(this.queueUrl(t.name)).length, 0),
    };
  }

  /** Names of the secrets that appear in any captured log line (should be none). */
  leakedSecrets(): string[] {
    const secrets: [string, string][] = [
      ['webhook secret', this.webhookSecret],
      ['private key', this.github.appKey.privateKeyPem.split('\n')[1]],
      ...this.github.api.issuedTokens.map((t, i): [string, string] => [`installation token ${i + 1}`, t]),
      ...this.github.api.issuedJitConfigs.map((c, i): [string, string] => [`JIT config ${i + 1}`, c]),
    ];
    const all = [...this.logs.values()].flat().join('\n');
    return secrets.filter(([, value]) => value && all.includes(value)).map(([name]) => name);
  }

  /** Jobs that ended served by other than exactly one runner, or not completed. */
  badlyServedJobs(): SimJob[] {
    return [...this.github.jobs.values()].filter((j) => j.status !== 'completed' || j.takenBy.length !== 1);
  }

  /** Runners that took more than one job (must be none: they are single use). */
  reusedRunners(): string[] {
    const counts = new Map<string, number>();
    for (const j of this.github.jobs.values()) for (const r of j.takenBy) counts.set(r, (counts.get(r) ?? 0) + 1);
    return [...counts].filter(([, n]) => n > 1).map(([r]) => r);
  }
}

/** The variables the Lambda runtime itself sets. */
function lambdaRuntimeEnv(functionName: string): Record<string, string> {
  return {
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_ACCESS_KEY_ID: 'ASIAE2EFAKEFAKEFAKE0',
    AWS_SECRET_ACCESS_KEY: 'e2e-fake-secret',
    AWS_SESSION_TOKEN: 'e2e-fake-session',
    TZ: ':UTC',
  };
}

/** RunnersLaunched from scale-up's EMF line(s). */
function launchedFromMetrics(lines: readonly string[]): number {
  let launched = 0;
  for (const line of lines) {
    if (!line.includes('"RunnersLaunched"')) continue;
    const parsed = JSON.parse(line) as { RunnersLaunched?: number };
    launched += parsed.RunnersLaunched ?? 0;
  }
  return launched;
}
