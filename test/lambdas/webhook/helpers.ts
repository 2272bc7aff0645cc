import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
/**
 * Shared fixtures for the webhook tests: real GitHub example payloads, a
 * signer, API Gateway v2 events, and a handler wired to mocked AWS clients.
 */
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import definitions from '@octokit/webhooks-examples';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { createHmac } from 'node:crypto';
import { ParameterCache } from '../../../lambdas/shared/ssm-parameters';
import type { RunnerTypeRoutes } from '../../../modules/contract/runner-types';
import { WebhookHandler, createHandler } from '../../../lambdas/webhook';

export const TEST_SECRET = 'test-webhook-secret-5f1c0a7e';
export const SECRET_PARAMETER = '/test/github/webhook-secret';
export const DELIVERY_ID = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

export const RUNNER_TYPES: RunnerTypeRoutes = {
  'linux-x64': { labels: ['linux', 'x64'], exact_match: false, priority: 0, queue_url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/test-linux-x64' },
  'linux-x64-large': { labels: ['Linux', 'X64', 'large'], exact_match: false, priority: 1, queue_url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/test-linux-x64-large' },
  k8s: { labels: ['k8s'], exact_match: true, priority: 2, queue_url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/test-k8s' },
};

/** A complete, valid environment for the webhook; override or delete keys per test. */
export function testEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PREFIX: 'test',
    WEBHOOK_SECRET_SSM_PARAMETER_NAME: SECRET_PARAMETER,
    RUNNER_TYPES_CONFIG: JSON.stringify(RUNNER_TYPES),
    ...overrides,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

export type Payload = Record<string, unknown> & {
  workflow_job: Record<string, unknown>;
  repository: Record<string, unknown> & { owner: Record<string, unknown> };
};

/** A deep copy of a GitHub example payload of `event`, the first one satisfying `pick`. */
export function example(event: string, pick: (p: Payload) => boolean = () => true): Payload {
  const found = definitions.find((d) => d.name === event)?.examples.map((e) => e as unknown as Payload).find(pick);
  if (!found) throw new Error(`no ${event} example matches`);
  return structuredClone(found);
}

/** A workflow_job example for `action`, optionally the one whose labels include `label`. */
export function workflowJob(action: string, label?: string): Payload {
  return example('workflow_job', (p) => p.action === action && (label === undefined || (p.workflow_job.labels as string[]).includes(label)));
}

/** The queued example (installation included) with labels replaced so it routes to linux-x64. */
export function queuedLinuxJob(): Payload {
  const p = workflowJob('queued', 'ubuntu-latest');
  p.workflow_job.labels = ['self-hosted', 'linux', 'x64'];
  return p;
}

/** `sha256=<hex>` of `body` under `secret`, computed independently of the code under test. */
export function sign(body: string | Buffer, secret = TEST_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** An HTTP API v2 event with the given raw parts. */
export function httpEvent(parts: { headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean }): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    rawQueryString: '',
    headers: parts.headers ?? {},
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'api',
      http: { method: 'POST', path: '/webhook', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'GitHub-Hookshot/test' },
      requestId: 'req',
      routeKey: 'POST /webhook',
      stage: '$default',
      time: '01/Jan/2025:00:00:00 +0000',
      timeEpoch: 0,
    },
    body: parts.body,
    isBase64Encoded: parts.isBase64Encoded ?? false,
  };
}

/** A correctly signed delivery of `payload` as GitHub would send it. */
export function delivery(
  event: string,
  payload: unknown,
  options: { secret?: string; base64?: boolean; deliveryId?: string; headers?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return httpEvent({
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': event,
      'x-github-delivery': options.deliveryId ?? DELIVERY_ID,
      'x-hub-signature-256': sign(body, options.secret),
      ...options.headers,
    },
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 ?? false,
  });
}

/** A handler (one fresh "container") with mocked SQS and SSM, a manual clock and captured logs. */
export interface TestContainer {
  readonly handler: WebhookHandler;
  readonly sqs: AwsClientStub<SQSClient>;
  readonly ssm: AwsClientStub<SSMClient>;
  /** The job ledger's client (used when JOB_LEDGER_TABLE_NAME is set); UpdateItem resolves by default. */
  readonly dynamodb: AwsClientStub<DynamoDBClient>;
  readonly logs: string[];
  /** Advance the clock the handler sees. */
  advance(ms: number): void;
  /** SendMessage inputs the handler made. */
  sent(): { QueueUrl?: string; MessageBody?: string }[];
  /** How many GetParameters calls SSM received. */
  ssmCalls(): number;
}

export function testContainer(options: { env?: NodeJS.ProcessEnv; secret?: string } = {}): TestContainer {
  const sqsClient = new SQSClient({});
  const ssmClient = new SSMClient({});
  const sqs = mockClient(sqsClient);
  const ssm = mockClient(ssmClient);
  const dynamodbClient = new DynamoDBClient({});
  const dynamodb = mockClient(dynamodbClient);
  dynamodb.on(UpdateItemCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: SECRET_PARAMETER, Value: options.secret ?? TEST_SECRET }], InvalidParameters: [] });
  const logs: string[] = [];
  let now = 1_700_000_000_000;
  const handler = createHandler({
    env: options.env ?? testEnv(),
    sqs: sqsClient,
    dynamodb: dynamodbClient,
    parameters: new ParameterCache(ssmClient),
    sink: (line) => logs.push(line),
    now: () => now,
  });
  return {
    handler,
    sqs,
    ssm,
    dynamodb,
    logs,
    advance: (ms) => {
      now += ms;
    },
    sent: () => sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input),
    ssmCalls: () => ssm.commandCalls(GetParametersCommand).length,
  };
}

/** Parsed JSON log lines. */
export function parsedLogs(logs: readonly string[]): Record<string, unknown>[] {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>);
}
