/**
 * The message the webhook puts on a runner type's queue for each queued job,
 * and scale-up reads. Version it: both sides deploy independently during an
 * apply, so scale-up must recognise what it cannot serve.
 */
export interface JobMessage {
  readonly version: 1;
  /** workflow_job.id: the idempotency key for launching a runner. */
  readonly jobId: number;
  readonly runId: number;
  readonly repositoryOwner: string;
  readonly repositoryName: string;
  /** "Organization" or "User", from repository.owner.type. */
  readonly ownerType: string;
  readonly installationId: number;
  /** The job's labels as GitHub sent them. */
  readonly labels: string[];
  /** The runner type the webhook routed this job to. */
  readonly runnerType: string;
  /** X-GitHub-Delivery of the delivery that enqueued this job. */
  readonly deliveryId: string;
  /** workflow_job.created_at (ISO 8601). */
  readonly createdAt: string;
  /**
   * Set by a relaunch (scale-down's reconcile): instances launched for this
   * job that did not take it. Scale-up does not count them as the job's
   * runner. At most {@link MAX_SUPERSEDED_INSTANCES}. @default none
   */
  readonly supersededInstanceIds?: string[];
}

/** Most superseded instances a job message carries (job_retry.max_attempts is at most 10). */
export const MAX_SUPERSEDED_INSTANCES = 10;

/** The message to queue again for a relaunch: `message` with `instanceId` added to its superseded instances. */
export function relaunchMessage(message: string, instanceId: string | undefined): string {
  const job = parseJobMessage(message);
  const superseded = [...new Set([...(job.supersededInstanceIds ?? []), ...(instanceId ? [instanceId] : [])])].slice(-MAX_SUPERSEDED_INSTANCES);
  return JSON.stringify({ ...job, supersededInstanceIds: superseded });
}

/** Parse and check a queue message body; throws InvalidJobMessageError when it is not a JobMessage. */
export function parseJobMessage(body: string): JobMessage {
  const v = parseObjectBody(body);
  const problems: string[] = [];
  if (v.version !== 1) problems.push(`unsupported version ${JSON.stringify(v.version)}`);
  for (const k of ['jobId', 'runId', 'installationId'] as const) {
    if (!Number.isSafeInteger(v[k]) || (v[k] as number) <= 0) problems.push(`${k} must be a positive integer`);
  }
  for (const k of ['repositoryOwner', 'repositoryName', 'ownerType', 'runnerType', 'deliveryId', 'createdAt'] as const) {
    if (typeof v[k] !== 'string' || v[k] === '') problems.push(`${k} must be a non-empty string`);
  }
  if (!Array.isArray(v.labels) || !v.labels.every((l) => typeof l === 'string')) problems.push('labels must be a list of strings');
  const superseded = v.supersededInstanceIds;
  if (superseded !== undefined && (!Array.isArray(superseded) || superseded.length > MAX_SUPERSEDED_INSTANCES || !superseded.every((i) => typeof i === 'string' && /^i-[0-9a-f]{8,17}$/.test(i)))) {
    problems.push(`supersededInstanceIds must be at most ${MAX_SUPERSEDED_INSTANCES} instance ids`);
  }
  if (problems.length > 0) throw new InvalidJobMessageError(problems.join('; '));
  return v as unknown as JobMessage;
}

/** A queue message body as a JSON object; throws InvalidJobMessageError when it is not JSON or not an object. */
function parseObjectBody(body: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new InvalidJobMessageError('body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidJobMessageError('body is not an object');
  return v as Record<string, unknown>;
}

export class InvalidJobMessageError extends Error {
  constructor(reason: string) {
    super(`invalid job message: ${reason}`);
    this.name = 'InvalidJobMessageError';
  }
}

/**
 * The message the warm pool's tick puts on a runner type's queue (issue #11
 * item 5): "keep `size` idle runners of `owner`". Scale-up, the one launcher
 * per type (reserved concurrency 1), counts the pool and launches the gap
 * within runners_maximum_count after the batch's jobs, so the pool and a
 * burst of jobs can never both launch into the same free slots.
 */
export interface PoolTopUpMessage {
  readonly version: 1;
  readonly kind: 'pool-top-up';
  readonly runnerType: string;
  /** Where pool runners register: an organization login or `owner/repo` (POOL_RUNNER_OWNER). */
  readonly owner: string;
  /** Idle runners to keep, ≥ 1. */
  readonly size: number;
  /** The tick's `<aws.scheduler.scheduled-time>`, normalised ISO 8601: names the pool's CreateFleet (ClientToken). */
  readonly scheduledTime: string;
}

/** Whether a queue message body is a pool top-up (rather than a job), judged by its `kind`; a body that is not JSON is not. */
export function isPoolTopUpBody(body: string): boolean {
  try {
    const v = JSON.parse(body) as { kind?: unknown } | null;
    return typeof v === 'object' && v !== null && v.kind === 'pool-top-up';
  } catch {
    return false;
  }
}

/** Parse and check a pool top-up message; throws InvalidJobMessageError naming every problem. */
export function parsePoolTopUpMessage(body: string): PoolTopUpMessage {
  const v = parseObjectBody(body);
  const problems: string[] = [];
  if (v.version !== 1) problems.push(`unsupported version ${JSON.stringify(v.version)}`);
  if (v.kind !== 'pool-top-up') problems.push('kind must be "pool-top-up"');
  for (const k of ['runnerType', 'owner'] as const) if (typeof v[k] !== 'string' || v[k] === '') problems.push(`${k} must be a non-empty string`);
  if (!Number.isSafeInteger(v.size) || (v.size as number) < 1) problems.push('size must be an integer ≥ 1');
  if (typeof v.scheduledTime !== 'string' || Number.isNaN(Date.parse(v.scheduledTime))) problems.push('scheduledTime must be an ISO 8601 time');
  if (problems.length > 0) throw new InvalidJobMessageError(`pool top-up: ${problems.join('; ')}`);
  return v as unknown as PoolTopUpMessage;
}
