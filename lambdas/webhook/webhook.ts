/**
 * One webhook delivery, from raw request to answer:
 *
 *   size (413) → signature (401) → JSON (400) → event type
 *     ping → 200; anything but workflow_job → 202 ignored
 *     workflow_job queued → route → allow list (403) → run label (202 refused) → one SQS message → 202
 *     workflow_job in_progress / completed → EMF metrics, job ledger → 202
 *     other actions → 202 ignored
 *
 * Errors are thrown typed (errors.ts) and mapped by the handler. I/O goes
 * through the deps, so tests pass fakes instead of patching modules.
 */
import { isRepositoryAllowed } from './allow-list';
import { WebhookConfig } from './config';
import { InvalidPayloadError, RepositoryNotAllowedError } from './errors';
import { LogScope } from './log-scope';
import { emitCompletion, emitQueueWait } from './metrics';
import { JobQueue } from './queue';
import type { JobProgressRecorder } from '../shared/aws/job-ledger';
import { HeaderMap, WebhookRequest, deliveryIdOf, rawBody } from './request';
import { RESPONSES, WebhookResponse } from './responses';
import { distinctLabels, labelsForLog, routeJob, unroutableBySize } from './routing';
import { WebhookSecretVerifier } from './webhook-secret';
import { runBindingOf } from '../../modules/contract/run-label';
import { parseEnvelope, parseJobProgress, parseQueuedJob, toJobMessage } from './workflow-job';

/** What handling a delivery needs. */
export interface WebhookDeps {
  readonly config: WebhookConfig;
  readonly verifier: Pick<WebhookSecretVerifier, 'verify'>;
  readonly queue: JobQueue;
  /** Records in_progress and completed for launched jobs (job-ledger.ts). @default none: not recorded */
  readonly ledger?: JobProgressRecorder;
  /** The request's logger; gains jobId and runnerType as they become known. */
  readonly log: LogScope;
}

/** Handle one delivery; throws the typed errors of errors.ts. */
export async function handleWebhook(request: WebhookRequest, deps: WebhookDeps): Promise<WebhookResponse> {
  const body = rawBody(request);
  await deps.verifier.verify(request.headers, body, deps.log.logger);
  const payload = parseJson(body);
  const event = eventName(request.headers);
  if (event === 'ping') {
    deps.log.logger.info('ping received');
    return RESPONSES.pong;
  }
  if (event !== 'workflow_job') {
    deps.log.logger.info('event ignored', { event });
    return RESPONSES.ignored;
  }
  return handleWorkflowJob(payload, request.headers, deps);
}

async function handleWorkflowJob(payload: unknown, headers: HeaderMap, deps: WebhookDeps): Promise<WebhookResponse> {
  const { action, jobId } = parseEnvelope(payload);
  const log = deps.log.add({ jobId, action });
  switch (action) {
    case 'queued':
      return enqueueJob(payload, headers, deps);
    case 'in_progress':
    case 'completed':
      return recordProgress(payload, action, deps);
    default:
      log.info('workflow_job action ignored');
      return RESPONSES.ignored;
  }
}

async function enqueueJob(payload: unknown, headers: HeaderMap, deps: WebhookDeps): Promise<WebhookResponse> {
  const job = parseQueuedJob(payload);
  const deliveryId = deliveryIdOf(headers);
  if (deliveryId === undefined) throw new InvalidPayloadError(['X-GitHub-Delivery header is missing or malformed']);
  const match = routeJob(job.labels, deps.config.runnerTypes);
  if (match === undefined) {
    // Not ours: GitHub-hosted jobs and GHES permanent runners rely on this being a quiet 202.
    // The log line is bounded: a signed delivery may carry 100,000 labels.
    const reason = unroutableBySize(job.labels, deps.config.runnerTypes);
    deps.log.logger.info('no runner type matches the job labels; ignored', { ...labelsForLog(job.labels), ...(reason && { reason }) });
    return RESPONSES.ignored;
  }
  const log = deps.log.add({ runnerType: match.runnerType });
  if (!isRepositoryAllowed(job.repositoryOwner, job.repositoryName, deps.config.repositoryAllowList)) {
    throw new RepositoryNotAllowedError(`${job.repositoryOwner}/${job.repositoryName}`);
  }
  const binding = runBindingOf(job.labels, job.runId);
  if (binding.kind === 'refused') {
    // Acknowledged on purpose (202, no message): the job asks for a runner bound to another
    // run, which would let one run place a runner where another run's jobs are sent. The
    // payload is signed and final, so a redelivery would be refused the same way; GitHub
    // leaves the job queued, and it gets no runner from us. This line is its record.
    log.warn('job refused: its run label does not name its own run; no runner launched', { runId: job.runId, reason: binding.reason });
    return RESPONSES.refused;
  }
  const labels = distinctLabels(job.labels);
  await deps.queue.enqueue(match.route.queue_url, toJobMessage({ ...job, labels }, match.runnerType, deliveryId));
  log.info('job queued', { labels, ...(binding.kind === 'bound' && { runLabel: binding.label }) });
  return RESPONSES.queued;
}

async function recordProgress(payload: unknown, action: 'in_progress' | 'completed', deps: WebhookDeps): Promise<WebhookResponse> {
  const job = parseJobProgress(payload);
  const match = routeJob(job.labels, deps.config.runnerTypes);
  if (match === undefined) {
    deps.log.logger.debug('no runner type matches the job labels; no metrics');
    return RESPONSES.ignored;
  }
  const log = deps.log.add({ runnerType: match.runnerType });
  const namespace = deps.config.metricsNamespace;
  if (action === 'completed') emitCompletion(log, namespace, match.runnerType, job);
  else if (!emitQueueWait(log, namespace, match.runnerType, job)) log.debug('queue wait not computable; metric skipped');
  if (deps.ledger) {
    try {
      const progress = action === 'completed' ? { state: action, runnerName: job.runnerName, conclusion: job.conclusion } : { state: action, runnerName: job.runnerName };
      const held = await deps.ledger.recordProgress(job.jobId, progress);
      if (!held) log.debug('job not in the ledger (not launched by scale-up); nothing recorded');
    } catch (error) {
      // The ledger is advisory: reconcile asks GitHub before it relaunches, so
      // a lost record costs one GitHub read, never a second runner. Still 202.
      log.error('could not record job progress in the job ledger', { error });
    }
  }
  return RESPONSES.recorded;
}

/** The body as JSON; InvalidPayloadError otherwise. The parser's message quotes the body, so it is dropped. */
function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new InvalidPayloadError(['body is not UTF-8 JSON']);
  }
}

/**
 * X-GitHub-Event; InvalidPayloadError when absent, repeated with different values, or not an event name.
 * GitHub's event names are lower case letters, digits and underscores (`projects_v2_item`,
 * https://docs.github.com/en/webhooks/webhook-events-and-payloads), so any such name is well formed.
 */
function eventName(headers: HeaderMap): string {
  const event = headers.get('x-github-event')?.trim();
  if (event === undefined || !/^[a-z][a-z0-9_]{0,63}$/.test(event)) {
    throw new InvalidPayloadError(['X-GitHub-Event header is missing or malformed']);
  }
  return event;
}
