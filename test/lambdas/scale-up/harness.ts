/**
 * Wiring for scale-up tests: real adapters over mocked AWS clients (a
 * stateful fake EC2 and DynamoDB table, a recording SSM) and a fake GitHub
 * over real HTTP.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { PutParameterCommand, PutParameterCommandInput, SSMClient } from '@aws-sdk/client-ssm';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { AwsClientStub } from 'aws-sdk-client-mock';
import { createEc2Runners } from '../../../lambdas/shared/aws/ec2-runners';
import { createJobLocks } from '../../../lambdas/shared/aws/idempotency';
import { createRunnerConfigStore } from '../../../lambdas/shared/aws/jit-config-store';
import { createGitHubApp } from '../../../lambdas/shared/github/runners';
import { InstallationTokenCache } from '../../../lambdas/shared/github/token-cache';
import { JobMessage } from '../../../modules/contract/job-message';
import { Logger } from '../../../lambdas/shared/logger';
import { loadScaleUpConfig } from '../../../lambdas/scale-up/config';
import { ScaleUpContext, createHandler } from '../../../lambdas/scale-up/index';
import { FakeGitHub } from '../shared/fake-github';
import { createApiRunnerRecords } from '../../../lambdas/shared/aws/api-runner-records';

export const APP_ID = 4242;
export const INSTALLATION_ID = 77;
export const RUNNER_TYPE = 'linux-x64';

/** RUNNER_TYPE_CONFIG of the tests' runner type. */
export function runnerTypeConfig(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    labels: ['linux', 'x64'],
    launch_template_id: 'lt-0123456789abcdef0',
    instance_types: ['m7i.large', 'm6i.large'],
    subnet_ids: ['subnet-a', 'subnet-b'],
    instance_target_capacity_type: 'spot',
    runners_maximum_count: 10,
    enable_on_demand_failover_for_errors: ['InsufficientInstanceCapacity'],
    ...overrides,
  });
}

/** The environment the construct sets. */
export function baseEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PREFIX: 'gh-ci',
    RUNNER_TYPE,
    RUNNER_TYPE_CONFIG: runnerTypeConfig(),
    GITHUB_APP_ID_SSM_PARAMETER_NAME: '/gh-ci/github-app/id',
    GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/gh-ci/github-app/key',
    ENABLE_ORGANIZATION_RUNNERS: 'true',
    SSM_CONFIG_PATH: '/gh-ci/runners/config',
    KMS_KEY_ID: 'alias/gh-ci',
    INSTANCE_ARN_PREFIX: 'arn:aws:ec2:eu-west-1:123456789012:instance/',
    IDEMPOTENCY_TABLE_NAME: 'gh-ci-jobs',
    ...overrides,
  };
}

/** A queued-job message. */
export function job(jobId: number, overrides: Partial<JobMessage> = {}): JobMessage {
  return {
    version: 1,
    jobId,
    runId: 5000 + jobId,
    repositoryOwner: 'octo',
    repositoryName: 'hello',
    ownerType: 'Organization',
    installationId: INSTALLATION_ID,
    labels: ['self-hosted', 'linux', 'x64'],
    runnerType: RUNNER_TYPE,
    deliveryId: `delivery-${jobId}`,
    createdAt: new Date(Date.UTC(2026, 0, 1) + jobId * 1000).toISOString(),
    ...overrides,
  };
}

/** An SQS event with one record per body; message ids are `m-<index>` unless given. */
export function sqsEvent(bodies: (string | JobMessage | { messageId: string; body: string | JobMessage })[]): SQSEvent {
  return {
    Records: bodies.map((b, i) => {
      const { messageId, body } = typeof b === 'object' && 'messageId' in b ? b : { messageId: `m-${i}`, body: b };
      const record: SQSRecord = {
        messageId,
        receiptHandle: `rh-${messageId}`,
        body: typeof body === 'string' ? body : JSON.stringify(body),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: '0',
          SenderId: 'webhook',
          ApproximateFirstReceiveTimestamp: '0',
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:gh-ci-linux-x64',
        awsRegion: 'eu-west-1',
      };
      return record;
    }),
  };
}

/** Message ids in a batch response. */
export function failedIds(response: SQSBatchResponse): string[] {
  return response.batchItemFailures.map((f) => f.itemIdentifier).sort();
}

/** Options of {@link makeHandler}. */
export interface HandlerOptions {
  readonly env?: Record<string, string>;
  /** Share between handlers to simulate warm invocations; fresh by default. */
  readonly tokenCache?: InstallationTokenCache;
  /** Reach GitHub through GHES_URL (the env must set it) instead of the fake's root. */
  readonly viaGhesUrl?: boolean;
}

/** What a test needs around the handler. */
export interface TestBed {
  readonly gh: FakeGitHub;
  readonly ssm: AwsClientStub<SSMClient>;
  readonly privateKeyPem: string;
  readonly logs: string[];
}

/** A handler over real adapters, built once (one "container"). */
export function makeHandler(bed: TestBed, options: HandlerOptions = {}): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const config = loadScaleUpConfig(baseEnv(options.env));
  const logger = new Logger('scale-up', {}, (line) => bed.logs.push(line), 'debug');
  const context: ScaleUpContext = {
    config,
    deps: {
      ec2: createEc2Runners(new EC2Client({})),
      github: createGitHubApp({
        appId: APP_ID,
        privateKey: bed.privateKeyPem,
        ...(options.viaGhesUrl ? { ghesUrl: config.ghesUrl } : { baseUrl: bed.gh.url }),
        logger,
        tokenCache: options.tokenCache ?? new InstallationTokenCache(),
        retries: { retryAfterBaseMs: 1 },
      }),
      configStore: createRunnerConfigStore(new SSMClient({}), { ssmConfigPath: config.ssmConfigPath, kmsKeyId: config.kmsKeyId, instanceArnPrefix: config.instanceArnPrefix }),
      locks: createJobLocks(new DynamoDBClient({}), { tableName: config.idempotencyTableName }),
      apiRunners: createApiRunnerRecords(new DynamoDBClient({}), config.idempotencyTableName),
      logger,
    },
  };
  return createHandler(async () => context);
}

/** PutParameter inputs so far. */
export function puts(ssm: AwsClientStub<SSMClient>): PutParameterCommandInput[] {
  return ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
}

/** Parsed log lines. */
export function parsedLogs(logs: readonly string[]): Record<string, unknown>[] {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The last EMF metrics line. */
export function lastMetrics(logs: readonly string[]): Record<string, unknown> {
  const lines = parsedLogs(logs).filter((l) => l._aws !== undefined);
  return lines[lines.length - 1];
}
