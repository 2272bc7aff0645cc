/**
 * Webhook deliveries as GitHub sends them and API Gateway (HTTP API, payload
 * format 2.0) hands them to the webhook Lambda: real example payloads from
 * @octokit/webhooks-examples, rewritten to describe a simulated job, then
 * serialised and signed with HMAC-SHA256 like GitHub does.
 */
import githubComExamples from '@octokit/webhooks-examples';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createHmac, randomUUID } from 'node:crypto';
import type { SimJob } from './github-world';

type Json = Record<string, unknown>;
type Examples = { name: string; examples: Json[] }[];

/** Which GitHub sends the delivery. */
export type GitHubLayout = 'github.com' | 'ghes';

// A require, not an import: typing this large JSON file would slow the type check down.
const ghesExamples = require('@octokit/webhooks-examples/ghes-35/index.json') as Examples;

/** A deep copy of the first workflow_job example for `action` (GHES's when it has one). */
export function exampleWorkflowJob(action: 'queued' | 'in_progress' | 'completed', layout: GitHubLayout = 'github.com'): Json {
  const pick = (examples: Examples) => examples.find((d) => d.name === 'workflow_job')?.examples.find((e) => e.action === action);
  const found = (layout === 'ghes' ? pick(ghesExamples) : undefined) ?? pick(githubComExamples as unknown as Examples);
  if (!found) throw new Error(`no workflow_job ${action} example`);
  return structuredClone(found);
}

/** The workflow_job payload GitHub would send for `job` in its current state. */
export function workflowJobPayload(job: SimJob, action: 'queued' | 'in_progress' | 'completed', layout: GitHubLayout = 'github.com'): Json {
  const p = exampleWorkflowJob(action, layout);
  const wj = p.workflow_job as Json;
  Object.assign(wj, {
    id: job.id,
    run_id: job.runId,
    labels: [...job.labels],
    status: action,
    conclusion: action === 'completed' ? (job.conclusion ?? 'success') : null,
    started_at: action === 'queued' ? job.createdAt : (job.startedAt ?? job.createdAt),
    completed_at: action === 'completed' ? (job.completedAt ?? null) : null,
    runner_id: action === 'queued' ? null : (job.runnerId ?? null),
    runner_name: action === 'queued' ? null : (job.runnerName ?? null),
    runner_group_id: action === 'queued' ? null : 1,
    runner_group_name: action === 'queued' ? null : 'Default',
  });
  // GHES 3.5 payloads have no created_at; keep the example's shape there.
  if (layout !== 'ghes' || 'created_at' in wj) wj.created_at = job.createdAt;
  const repository = p.repository as Json;
  const owner = repository.owner as Json;
  Object.assign(owner, { login: job.owner, type: job.ownerType });
  Object.assign(repository, { name: job.repo, full_name: `${job.owner}/${job.repo}` });
  p.installation = { ...((p.installation as Json | undefined) ?? {}), id: job.installationId, node_id: `MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u${job.installationId}` };
  return p;
}

/** `sha256=<hex>` as GitHub signs a body. */
export function signature(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** An HTTP API v2 event with exactly these headers and body. */
export function httpApiEvent(headers: Record<string, string>, body: string | undefined, isBase64Encoded = false): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'e2eapi',
      domainName: 'e2eapi.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'e2eapi',
      http: { method: 'POST', path: '/webhook', protocol: 'HTTP/1.1', sourceIp: '192.0.2.10', userAgent: 'GitHub-Hookshot/e2e' },
      requestId: randomUUID(),
      routeKey: 'POST /webhook',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    body,
    isBase64Encoded,
  };
}

/** Options of {@link signedDelivery}. */
export interface DeliveryOptions {
  /** X-GitHub-Delivery. @default a new GUID */
  readonly deliveryId?: string;
  /** Send the body base64-encoded, as API Gateway does for binary media types. */
  readonly base64?: boolean;
  /** Extra or replacing headers. */
  readonly headers?: Record<string, string>;
}

/** A delivery of `payload` (an object, or the exact body text), signed with `secret`. */
export function signedDelivery(event: string, payload: unknown, secret: string, options: DeliveryOptions = {}): APIGatewayProxyEventV2 {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/e2e',
    'x-github-event': event,
    'x-github-delivery': options.deliveryId ?? randomUUID(),
    'x-github-hook-id': '424242',
    'x-github-hook-installation-target-type': 'integration',
    'x-hub-signature-256': signature(body, secret),
    ...options.headers,
  };
  return httpApiEvent(headers, options.base64 ? Buffer.from(body).toString('base64') : body, options.base64 ?? false);
}
