/**
 * Webhook handler throughput and latency, in process: the webhook bundle's
 * handler (the SDK-external test build of the shipped sources) called back to back with signed `workflow_job`
 * deliveries (a real example payload, about 7 KB). Signature verification, JSON
 * parsing, routing and the SQS send through the SDK client are included;
 * SQS and SSM answer in process (aws-sdk-client-mock), so no network time is.
 *
 * With `ledger`, the function gets JOB_LEDGER_TABLE_NAME as the construct
 * sets it with job_retry on (issue #11 item 1), and DynamoDB is the stateful
 * fake table of test/lambdas/shared/fake-dynamodb.ts (it evaluates the
 * UpdateItem the webhook sends), seeded with a launched entry per job, so an
 * `in_progress` or `completed` delivery costs its ledger write. `queued`
 * writes no ledger entry (docs/ARCHITECTURE.md, "Every job gets a runner").
 *
 * `cold`: the first call of fresh containers (the bundle evaluated anew, then
 * one delivery timed): the handler's init (SSM secret read, clients) and its
 * first request, not the module load (the cold-load rows measure that).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { performance } from 'node:perf_hooks';
import { extractBundle, lambdaContext, loadBundle } from '../../../test/e2e/lib/bundles';
import { signedDelivery, workflowJobPayload } from '../../../test/e2e/lib/deliveries';
import { installFakeTable } from '../../../test/lambdas/shared/fake-dynamodb';
import { median, quantile } from './stats';

export interface WebhookThroughputResult {
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly bodyBytes: number;
  /** The workflow_job action timed. */
  readonly action: WebhookAction;
  /** Whether JOB_LEDGER_TABLE_NAME was set. */
  readonly ledger: boolean;
  /** Ledger UpdateItems per timed call (0 without the ledger or for `queued`). */
  readonly ledgerWritesPerCall: number;
  /** First call of a fresh container: median and max over `coldSamples` containers. */
  readonly coldMedianMs: number;
  readonly coldMaxMs: number;
  readonly coldSamples: number;
}

export type WebhookAction = 'queued' | 'in_progress' | 'completed';

/** What to measure. */
export interface WebhookBenchOptions {
  /** @default "queued" */
  readonly action?: WebhookAction;
  /** Set JOB_LEDGER_TABLE_NAME (DynamoDB: the fake table). @default false */
  readonly ledger?: boolean;
  /** Fresh containers for the cold numbers. @default 20 */
  readonly coldSamples?: number;
}

const SECRET = 'bench-webhook-secret';
const SECRET_PARAMETER = '/bench/webhook-secret';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/bench-linux-x64';
const LEDGER_TABLE = 'bench-job-launches';

type Handler = (event: APIGatewayProxyEventV2, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;

/** `warmup` untimed calls, then `events` timed ones, one at a time; then the cold samples. */
export async function measureWebhook(bundlesDir: string, events = 10_000, warmup = 1_000, options: WebhookBenchOptions = {}): Promise<WebhookThroughputResult> {
  const action = options.action ?? 'queued';
  const ledger = options.ledger ?? false;
  const coldSamples = options.coldSamples ?? 20;
  const sqs = mockClient(SQSClient);
  const ssm = mockClient(SSMClient);
  const ddb = mockClient(DynamoDBClient);
  try {
    sqs.on(SendMessageCommand).resolves({ MessageId: '00000000-0000-4000-8000-000000000000' });
    ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: SECRET_PARAMETER, Value: SECRET }], InvalidParameters: [] });
    const table = installFakeTable(ddb);
    const container = () => {
      const exports = loadBundle(extractBundle(bundlesDir, 'webhook'), {
        env: {
          PREFIX: 'bench',
          WEBHOOK_SECRET_SSM_PARAMETER_NAME: SECRET_PARAMETER,
          RUNNER_TYPES_CONFIG: JSON.stringify({ 'linux-x64': { labels: ['self-hosted', 'linux', 'x64'], exact_match: false, priority: 0, queue_url: QUEUE_URL } }),
          LOG_LEVEL: 'info',
          AWS_REGION: 'eu-west-1',
          ...(ledger ? { JOB_LEDGER_TABLE_NAME: LEDGER_TABLE } : {}),
        },
        // Log lines are built as in production and then dropped: stdout is not what is measured.
        stdout: () => undefined,
        // The SDK-external build of the same sources, so that the mocks above patch its clients.
        sdk: 'external',
      });
      return exports.handler as Handler;
    };
    const handler = container();
    const context = lambdaContext('bench-webhook', 10_000);

    // Distinct jobs and delivery ids, prepared before timing; with the ledger, each job has its launched entry.
    const pool = Array.from({ length: 500 }, (_, i) => {
      const id = 1_000_000 + i;
      const job = {
        id,
        runId: 2_000_000 + i,
        labels: ['self-hosted', 'linux', 'x64'],
        owner: 'octo-org',
        repo: 'hello-world',
        ownerType: 'Organization' as const,
        installationId: 77,
        createdAt: '2026-01-01T00:00:00Z',
        startedAt: '2026-01-01T00:00:30Z',
        completedAt: '2026-01-01T00:05:00Z',
        runnerName: 'bench-i-0123456789abcdef0',
        status: action,
        takenBy: [],
      };
      table.items.set(`job#${id}`, {
        pk: { S: `job#${id}` },
        status: { S: 'launched' },
        instance_id: { S: 'i-0123456789abcdef0' },
        awaiting_type: { S: 'linux-x64' },
        launched_at: { N: '1767225600' },
      });
      return signedDelivery('workflow_job', workflowJobPayload(job, action), SECRET, { deliveryId: `bench-${action}-${id}` });
    });
    const expected = action === 'queued' ? 'queued' : 'accepted';

    const call = async (h: Handler, i: number) => {
      const answer = await h(pool[i % pool.length], context);
      if (answer.statusCode !== 202 || answer.body !== expected) throw new Error(`webhook answered ${answer.statusCode} ${answer.body}`);
    };
    for (let i = 0; i < warmup; i++) await call(handler, i);

    const updatesBefore = table.updates.length;
    const latencies = new Array<number>(events);
    const started = performance.now();
    for (let i = 0; i < events; i++) {
      const t0 = performance.now();
      await call(handler, i);
      latencies[i] = performance.now() - t0;
      // aws-sdk-client-mock keeps every call; drop them now and then, outside the measured calls.
      if (i % 1000 === 999) {
        sqs.resetHistory();
        ssm.resetHistory();
        ddb.resetHistory();
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const ledgerWritesPerCall = (table.updates.length - updatesBefore) / events;
    if (ledger && action !== 'queued' && ledgerWritesPerCall < 1) throw new Error(`the ledger was not written: ${ledgerWritesPerCall} UpdateItem per ${action} delivery`);

    const cold: number[] = [];
    for (let i = 0; i < coldSamples; i++) {
      const fresh = container();
      const t0 = performance.now();
      await call(fresh, i);
      cold.push(performance.now() - t0);
    }
    return {
      events,
      eventsPerSecond: events / seconds,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      maxMs: Math.max(...latencies),
      bodyBytes: Buffer.byteLength(pool[0].body ?? ''),
      action,
      ledger,
      ledgerWritesPerCall,
      coldMedianMs: median(cold),
      coldMaxMs: Math.max(...cold),
      coldSamples,
    };
  } finally {
    sqs.restore();
    ssm.restore();
    ddb.restore();
  }
}
