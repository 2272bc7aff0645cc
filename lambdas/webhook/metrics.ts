/**
 * Job metrics from in_progress and completed deliveries, emitted as CloudWatch
 * EMF through the logger. No GitHub or AWS call is involved.
 *
 * - QueueWaitSeconds (RunnerType): started_at − created_at of an in_progress job.
 * - JobDurationSeconds (RunnerType, Conclusion): completed_at − started_at.
 * - JobsCompleted (RunnerType, Conclusion): 1 per completed job.
 *
 * A duration is skipped when a timestamp is missing or the difference is
 * negative (clock skew on GitHub's side); the count is still emitted.
 */
import { Logger } from '../shared/logger';
import { JobProgress } from './workflow-job';

/** Seconds between two ISO timestamps, or undefined when either is missing or the result is negative. */
export function secondsBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (from === undefined || to === undefined) return undefined;
  const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** Emit QueueWaitSeconds for an in_progress job; returns whether a metric was written. */
export function emitQueueWait(log: Logger, namespace: string, runnerType: string, job: JobProgress): boolean {
  const wait = secondsBetween(job.createdAt, job.startedAt);
  if (wait === undefined) return false;
  log.metrics(namespace, { RunnerType: runnerType }, { QueueWaitSeconds: { value: wait, unit: 'Seconds' } });
  return true;
}

/** Emit JobsCompleted and, when computable, JobDurationSeconds for a completed job. */
export function emitCompletion(log: Logger, namespace: string, runnerType: string, job: JobProgress): void {
  const duration = secondsBetween(job.startedAt, job.completedAt);
  log.metrics(
    namespace,
    { RunnerType: runnerType, Conclusion: job.conclusion ?? 'unknown' },
    {
      JobsCompleted: { value: 1, unit: 'Count' },
      ...(duration === undefined ? {} : { JobDurationSeconds: { value: duration, unit: 'Seconds' as const } }),
    },
  );
}
