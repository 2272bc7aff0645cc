/**
 * The parts of a `workflow_job` payload the webhook uses, checked field by
 * field, and the JobMessage built from a queued job. Pure.
 *
 * Problems name the field, never its value: they are logged.
 */
import { JobMessage } from '../../modules/contract/job-message';
import { InvalidPayloadError } from './errors';

type Json = Record<string, unknown>;

/** What every workflow_job delivery must carry. */
export interface WorkflowJobEnvelope {
  readonly action: string;
  readonly jobId: number;
}

/** A queued job: everything a JobMessage needs except the routing result and delivery id. */
export interface QueuedJob {
  readonly jobId: number;
  readonly runId: number;
  readonly labels: string[];
  readonly createdAt: string;
  readonly repositoryOwner: string;
  readonly repositoryName: string;
  readonly ownerType: string;
  readonly installationId: number;
}

/**
 * An in_progress or completed job, for metrics. Timestamps are optional: older
 * payloads (and GHES) may lack created_at, and a metric is skipped then.
 */
export interface JobProgress {
  readonly jobId: number;
  readonly labels: string[];
  readonly createdAt?: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
  /** success, failure, cancelled, ...; undefined when GitHub sent null. */
  readonly conclusion?: string;
  /** workflow_job.runner_name: the runner that took the job; undefined when GitHub sent null. */
  readonly runnerName?: string;
}

/** Read the action and job id; throws InvalidPayloadError when the payload is not a workflow_job delivery. */
export function parseEnvelope(payload: unknown): WorkflowJobEnvelope {
  const problems: string[] = [];
  const root = asObject(payload);
  const job = asObject(root?.workflow_job);
  if (!root) problems.push('payload must be an object');
  else if (!job) problems.push('workflow_job must be an object');
  const action = root?.action;
  if (root && !isNonEmptyString(action)) problems.push('action must be a non-empty string');
  const jobId = job?.id;
  if (job && !isPositiveInt(jobId)) problems.push('workflow_job.id must be a positive integer');
  if (problems.length > 0) throw new InvalidPayloadError(problems);
  return { action: action as string, jobId: jobId as number };
}

/** The fields of a queued job a JobMessage needs; throws InvalidPayloadError listing every missing or invalid one. */
export function parseQueuedJob(payload: unknown): QueuedJob {
  const f = new FieldReader(asObject(payload) ?? {});
  const job = {
    jobId: f.positiveInt('workflow_job.id'),
    runId: f.positiveInt('workflow_job.run_id'),
    labels: f.labels('workflow_job.labels'),
    createdAt: f.timestamp('workflow_job.created_at'),
    repositoryOwner: f.string('repository.owner.login'),
    repositoryName: f.string('repository.name'),
    ownerType: f.string('repository.owner.type'),
    installationId: f.positiveInt('installation.id'),
  };
  f.done();
  return job;
}

/** The fields of an in_progress or completed job that metrics use; throws InvalidPayloadError when id or labels are unusable. */
export function parseJobProgress(payload: unknown): JobProgress {
  const f = new FieldReader(asObject(payload) ?? {});
  const progress: JobProgress = {
    jobId: f.positiveInt('workflow_job.id'),
    labels: f.labels('workflow_job.labels'),
    createdAt: f.optionalTimestamp('workflow_job.created_at'),
    startedAt: f.optionalTimestamp('workflow_job.started_at'),
    completedAt: f.optionalTimestamp('workflow_job.completed_at'),
    conclusion: f.optionalString('workflow_job.conclusion'),
    runnerName: f.optionalString('workflow_job.runner_name'),
  };
  f.done();
  return progress;
}

/** The message for the runner type's queue. */
export function toJobMessage(job: QueuedJob, runnerType: string, deliveryId: string): JobMessage {
  return {
    version: 1,
    jobId: job.jobId,
    runId: job.runId,
    repositoryOwner: job.repositoryOwner,
    repositoryName: job.repositoryName,
    ownerType: job.ownerType,
    installationId: job.installationId,
    labels: [...job.labels],
    runnerType,
    deliveryId,
    createdAt: job.createdAt,
  };
}

/** Reads dotted paths from a payload and collects the problems. */
class FieldReader {
  private readonly problems: string[] = [];

  constructor(private readonly root: Json) {}

  positiveInt(path: string): number {
    const v = this.at(path);
    if (isPositiveInt(v)) return v;
    return this.fail(path, 'must be a positive integer', 0);
  }

  string(path: string): string {
    const v = this.at(path);
    if (isNonEmptyString(v)) return v;
    return this.fail(path, 'must be a non-empty string', '');
  }

  optionalString(path: string): string | undefined {
    const v = this.at(path);
    if (v === undefined || v === null) return undefined;
    if (isNonEmptyString(v)) return v;
    return this.fail(path, 'must be a non-empty string or null', undefined);
  }

  timestamp(path: string): string {
    const v = this.at(path);
    if (isTimestamp(v)) return v;
    return this.fail(path, 'must be an ISO 8601 timestamp', '');
  }

  optionalTimestamp(path: string): string | undefined {
    const v = this.at(path);
    if (v === undefined || v === null) return undefined;
    if (isTimestamp(v)) return v;
    return this.fail(path, 'must be an ISO 8601 timestamp or null', undefined);
  }

  labels(path: string): string[] {
    const v = this.at(path);
    if (Array.isArray(v) && v.every(isNonEmptyString)) return [...v];
    return this.fail(path, 'must be a list of non-empty strings', []);
  }

  done(): void {
    if (this.problems.length > 0) throw new InvalidPayloadError([...this.problems]);
  }

  private at(path: string): unknown {
    let v: unknown = this.root;
    for (const key of path.split('.')) {
      const o = asObject(v);
      if (!o) return undefined;
      v = o[key];
    }
    return v;
  }

  private fail<T>(path: string, problem: string, placeholder: T): T {
    this.problems.push(`${path} ${problem}`);
    return placeholder;
  }
}

function asObject(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

/** GitHub sends ISO 8601 with a zone, e.g. 2021-09-13T02:21:13Z or 2023-06-26T03:31:29.000-07:00. */
function isTimestamp(v: unknown): v is string {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && Number.isFinite(Date.parse(v));
}
