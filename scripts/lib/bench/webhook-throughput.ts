/**
 * Webhook handler throughput and latency, in process: the webhook bundle's
 * handler (the SDK-external test build of the shipped sources) called back to back with signed `workflow_job queued` deliveries
 * (a real example payload, about 7 KB). Signature verification, JSON
 * parsing, routing and the SQS send through the SDK client are included;
 * SQS and SSM answer in process (aws-sdk-client-mock), so no network time is.
 */
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { performance } from 'node:perf_hooks';
import { extractBundle, lambdaContext, loadBundle } from '../../../test/e2e/lib/bundles';
import { signedDelivery, workflowJobPayload } from '../../../test/e2e/lib/deliveries';
import { quantile } from './stats';

export interface WebhookThroughputResult {
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly bodyBytes: number;
}

const SECRET = 'bench-webhook-secret';
const SECRET_PARAMETER = '/bench/webhook-secret';
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/bench-linux-x64';

type Handler = (event: APIGatewayProxyEventV2, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;

/** `warmup` untimed calls, then `events` timed ones, one at a time. */
export async function measureWebhook(bundlesDir: string, events = 10_000, warmup = 1_000): Promise<WebhookThroughputResult> {
  const sqs = mockClient(SQSClient);
  const ssm = mockClient(SSMClient);
  try {
    sqs.on(SendMessageCommand).resolves({ MessageId: '00000000-0000-4000-8000-000000000000' });
    ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: SECRET_PARAMETER, Value: SECRET }], InvalidParameters: [] });
    const exports = loadBundle(extractBundle(bundlesDir, 'webhook'), {
      env: {
        PREFIX: 'bench',
        WEBHOOK_SECRET_SSM_PARAMETER_NAME: SECRET_PARAMETER,
        RUNNER_TYPES_CONFIG: JSON.stringify({ 'linux-x64': { labels: ['self-hosted', 'linux', 'x64'], exact_match: false, priority: 0, queue_url: QUEUE_URL } }),
        LOG_LEVEL: 'info',
        AWS_REGION: 'eu-west-1',
      },
      // Log lines are built as in production and then dropped: stdout is not what is measured.
      stdout: () => undefined,
      // The SDK-external build of the same sources, so that the mocks above patch its clients.
      sdk: 'external',
    });
    const handler = exports.handler as Handler;
    const context = lambdaContext('bench-webhook', 10_000);

    // Distinct jobs and delivery ids, prepared before timing.
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
        status: 'queued' as const,
        takenBy: [],
      };
      return signedDelivery('workflow_job', workflowJobPayload(job, 'queued'), SECRET, { deliveryId: `bench-${id}` });
    });

    const call = async (i: number) => {
      const answer = await handler(pool[i % pool.length], context);
      if (answer.statusCode !== 202) throw new Error(`webhook answered ${answer.statusCode} ${answer.body}`);
    };
    for (let i = 0; i < warmup; i++) await call(i);

    const latencies = new Array<number>(events);
    const started = performance.now();
    for (let i = 0; i < events; i++) {
      const t0 = performance.now();
      await call(i);
      latencies[i] = performance.now() - t0;
      // aws-sdk-client-mock keeps every call; drop them now and then, outside the measured calls.
      if (i % 1000 === 999) {
        sqs.resetHistory();
        ssm.resetHistory();
      }
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      events,
      eventsPerSecond: events / seconds,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      maxMs: Math.max(...latencies),
      bodyBytes: Buffer.byteLength(pool[0].body ?? ''),
    };
  } finally {
    sqs.restore();
    ssm.restore();
  }
}
