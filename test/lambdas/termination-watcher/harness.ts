/**
 * Wiring for termination-watcher tests: real adapters over mocked AWS clients
 * (the stateful fake EC2, a recording SQS) and the fake GitHub over real HTTP
 * on 127.0.0.1. Events are shaped like the samples in the EventBridge and EC2
 * documentation.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SQSClient, SendMessageCommand, SendMessageCommandInput } from '@aws-sdk/client-sqs';
import type { EventBridgeEvent, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { AwsClientStub } from 'aws-sdk-client-mock';
import { createEc2Runners } from '../../../lambdas/shared/aws/ec2-runners';
import { createRerunLedger } from '../../../lambdas/shared/aws/rerun-ledger';
import { createGitHubApp } from '../../../lambdas/shared/github/runners';
import { InstallationTokenCache } from '../../../lambdas/shared/github/token-cache';
import { Logger } from '../../../lambdas/shared/logger';
import { loadTerminationWatcherConfig } from '../../../lambdas/termination-watcher/config';
import { SPOT_INTERRUPTION_WARNING, INSTANCE_STATE_CHANGE } from '../../../lambdas/termination-watcher/events';
import { TerminationWatcherContext, TerminationWatcherResult, createHandler } from '../../../lambdas/termination-watcher/index';
import { createRetryQueue } from '../../../lambdas/termination-watcher/retry-queue';
import { FakeGitHub } from '../shared/fake-github';

export const APP_ID = 5151;
export const INSTALLATION_ID = 88;
export const PREFIX = 'gh-ci';
export const RUNNER_TYPE = 'linux-x64';
export const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/gh-ci-termination-retry';

/** The environment the construct sets. */
export function baseEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PREFIX,
    GITHUB_APP_ID_SSM_PARAMETER_NAME: '/gh-ci/github-app/id',
    GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/gh-ci/github-app/key',
    GHES_URL: '',
    ENABLE_ORGANIZATION_RUNNERS: 'true',
    RETRY_QUEUE_URL: QUEUE_URL,
    RETRY_DELAY_SECONDS: '45',
    MAX_ATTEMPTS: '3',
    LOG_LEVEL: 'debug',
    METRICS_NAMESPACE: 'Test/GitHubRunners',
    ...overrides,
  };
}

/** Tags scale-up puts on a runner instance. */
export function runnerTags(owner: string, overrides: Record<string, string> = {}): Record<string, string> {
  return { 'ghr:prefix': PREFIX, 'ghr:runner-type': RUNNER_TYPE, 'ghr:owner': owner, 'ghr:created-by': 'scale-up', ...overrides };
}

/** The runner name scale-up registers for an instance. */
export function runnerName(instanceId: string): string {
  return `${PREFIX}-${instanceId}`;
}

const envelope = (instanceId: string) => ({
  version: '0',
  id: `evt-${instanceId}-${Math.random().toString(36).slice(2)}`,
  source: 'aws.ec2',
  account: '123456789012',
  time: '2026-11-22T10:00:00Z',
  region: 'eu-west-1',
  resources: [`arn:aws:ec2:eu-west-1:123456789012:instance/${instanceId}`],
});

/** An `EC2 Spot Instance Interruption Warning`. */
export function spotWarning(instanceId: string): EventBridgeEvent<typeof SPOT_INTERRUPTION_WARNING, { 'instance-id': string; 'instance-action': string }> {
  return { ...envelope(instanceId), 'detail-type': SPOT_INTERRUPTION_WARNING, detail: { 'instance-id': instanceId, 'instance-action': 'terminate' } };
}

/** An `EC2 Instance State-change Notification`. */
export function stateChange(instanceId: string, state: string): EventBridgeEvent<typeof INSTANCE_STATE_CHANGE, { 'instance-id': string; state: string }> {
  return { ...envelope(instanceId), 'detail-type': INSTANCE_STATE_CHANGE, detail: { 'instance-id': instanceId, state } };
}

/** An SQS event from the retry queue; message ids are `m-<index>`. Objects are JSON-encoded, strings sent as they are. */
export function sqsEvent(bodies: (string | object)[]): SQSEvent {
  return {
    Records: bodies.map((body, i) => {
      const record: SQSRecord = {
        messageId: `m-${i}`,
        receiptHandle: `rh-${i}`,
        body: typeof body === 'string' ? body : JSON.stringify(body),
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'watcher', ApproximateFirstReceiveTimestamp: '0' },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:gh-ci-termination-retry',
        awsRegion: 'eu-west-1',
      };
      return record;
    }),
  };
}

/** What a test needs around the handler. */
export interface TestBed {
  readonly gh: FakeGitHub;
  readonly privateKeyPem: string;
  readonly logs: string[];
}

/** A handler over real adapters (one "container"), GitHub at the fake's root, 5xx retried after 1 ms. */
export function makeHandler(bed: TestBed, env: Record<string, string> = {}): (event: unknown) => Promise<TerminationWatcherResult> {
  const config = loadTerminationWatcherConfig(baseEnv(env));
  const logger = new Logger('termination-watcher', { prefix: config.prefix }, (line) => bed.logs.push(line), 'debug');
  const context: TerminationWatcherContext = {
    config,
    deps: {
      ec2: createEc2Runners(new EC2Client({})),
      github: createGitHubApp({
        appId: APP_ID,
        privateKey: bed.privateKeyPem,
        baseUrl: bed.gh.url,
        logger,
        tokenCache: new InstallationTokenCache(),
        retries: { retryAfterBaseMs: 1 },
      }),
      retryQueue: createRetryQueue(new SQSClient({}), { queueUrl: config.retryQueueUrl, delaySeconds: config.retryDelaySeconds }),
      ...(config.spotInterruptionRerun && { interruptions: createRerunLedger(new DynamoDBClient({ region: 'eu-west-1' }), { tableName: config.spotInterruptionRerun.tableName }) }),
      logger,
    },
  };
  return createHandler(async () => context);
}

/** SendMessage inputs so far. */
export function sent(sqs: AwsClientStub<SQSClient>): SendMessageCommandInput[] {
  return sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
}

/** Parsed log lines. */
export function parsedLogs(logs: readonly string[]): Record<string, unknown>[] {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** EMF metric lines. */
export function metricLines(logs: readonly string[]): Record<string, unknown>[] {
  return parsedLogs(logs).filter((l) => l._aws !== undefined);
}

/** Message ids in a batch response. */
export function failedIds(response: TerminationWatcherResult): string[] {
  return (response as SQSBatchResponse).batchItemFailures.map((f) => f.itemIdentifier).sort();
}
