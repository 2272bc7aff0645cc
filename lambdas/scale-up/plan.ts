/**
 * Scale-up's decisions, as pure functions of plain data: which jobs are
 * duplicates, which are already served, how many runners the cap allows,
 * where each runner registers, how a fleet request is named, and which
 * instance serves which job. (How much of a spot shortfall to launch on demand
 * and which labels to register are job-agnostic: shared/runners.)
 */
import { createHash } from 'node:crypto';
import type { ActiveRunner, LaunchedInstance } from '../shared/aws/ec2-runners';
import type { JobMessage } from '../../modules/contract/job-message';
import { type CapacityType, type OwnedTarget, type RunnerTarget, ownerTagOf } from '../shared/runners/identity';

/** A parsed job and the SQS message that carried it. */
export interface QueuedJob {
  readonly messageId: string;
  readonly job: JobMessage;
}

/** First message per job id, and the later ones that repeat a job id. */
export interface CollapsedJobs {
  readonly unique: QueuedJob[];
  readonly duplicates: QueuedJob[];
}

/** Collapse messages that carry the same job id; the first one wins. */
export function collapseDuplicateJobs(jobs: readonly QueuedJob[]): CollapsedJobs {
  const seen = new Set<number>();
  const unique: QueuedJob[] = [];
  const duplicates: QueuedJob[] = [];
  for (const item of jobs) {
    if (seen.has(item.job.jobId)) duplicates.push(item);
    else {
      seen.add(item.job.jobId);
      unique.push(item);
    }
  }
  return { unique, duplicates };
}

/** Inputs of {@link planScaleUp}. */
export interface ScaleUpPlanInput {
  /** Distinct jobs of this batch. */
  readonly jobs: readonly QueuedJob[];
  /** Live runners of this runner type. */
  readonly activeRunners: readonly ActiveRunner[];
  /** runners_maximum_count; -1 means no limit. */
  readonly maximumCount: number;
}

/** What to do with a batch before any lock is taken. */
export interface ScaleUpPlan {
  /** Jobs a live instance was already launched for: acknowledge. */
  readonly alreadyServed: QueuedJob[];
  /** The other jobs, oldest first: the order in which they get runners. */
  readonly candidates: QueuedJob[];
  /** New runners the cap allows (`Infinity` without a cap). Candidates beyond it wait in the queue. */
  readonly capacity: number;
}

/** Decide which jobs may get a runner now. */
export function planScaleUp(input: ScaleUpPlanInput): ScaleUpPlan {
  // A relaunch (scale-down's reconcile) names the instances that did not serve
  // the job: they still carry its job-id tag, but do not count as its runner.
  const servedBy = new Map<number, string[]>();
  for (const r of input.activeRunners) if (r.jobId !== undefined) servedBy.set(r.jobId, [...(servedBy.get(r.jobId) ?? []), r.instanceId]);
  const isServed = (j: QueuedJob) => (servedBy.get(j.job.jobId) ?? []).some((id) => !(j.job.supersededInstanceIds ?? []).includes(id));
  const alreadyServed = input.jobs.filter(isServed);
  const candidates = input.jobs.filter((j) => !isServed(j)).sort(oldestFirst);
  const capacity = input.maximumCount < 0 ? Infinity : Math.max(0, input.maximumCount - input.activeRunners.length);
  return { alreadyServed, candidates, capacity };
}

function oldestFirst(a: QueuedJob, b: QueuedJob): number {
  const byTime = (Date.parse(a.job.createdAt) || 0) - (Date.parse(b.job.createdAt) || 0);
  return byTime !== 0 ? byTime : a.job.jobId - b.job.jobId;
}

/** Org-level: the repository's owner. Repo-level: `owner/repo`. */
export function runnerTargetOf(job: JobMessage, organizationRunners: boolean): OwnedTarget {
  const target: RunnerTarget = organizationRunners ? { level: 'org', owner: job.repositoryOwner } : { level: 'repo', owner: job.repositoryOwner, repo: job.repositoryName };
  return { ...target, ownerTag: ownerTagOf(target) };
}

/** Jobs that share an owner and an installation: one fleet, one `ghr:owner` tag. */
export interface OwnerGroup<T> {
  readonly target: OwnedTarget;
  readonly installationId: number;
  readonly items: T[];
}

/** Group jobs by installation and owner, keeping their order. */
export function groupByOwner<T>(items: readonly T[], jobOf: (item: T) => JobMessage, organizationRunners: boolean): OwnerGroup<T>[] {
  const groups = new Map<string, OwnerGroup<T>>();
  for (const item of items) {
    const job = jobOf(item);
    const target = runnerTargetOf(job, organizationRunners);
    const key = `${job.installationId}\n${target.ownerTag.toLowerCase()}`;
    let group = groups.get(key);
    if (!group) {
      group = { target, installationId: job.installationId, items: [] };
      groups.set(key, group);
    }
    group.items.push(item);
  }
  return [...groups.values()];
}

/** What names a CreateFleet request for idempotency. */
export interface FleetTokenParts {
  readonly prefix: string;
  readonly runnerType: string;
  readonly capacityType: CapacityType;
  /** Each job with its lock's attempt number. */
  readonly jobs: readonly { readonly jobId: number; readonly attempt: number }[];
}

/**
 * CreateFleet ClientToken: SHA-256 (64 hex characters, EC2's maximum) of the
 * sorted job ids and their attempt numbers. An identical retry (same jobs,
 * nothing released in between) gets EC2's earlier answer instead of more
 * instances; a retry after a release gets a fresh token.
 */
export function fleetClientToken(parts: FleetTokenParts): string {
  const jobs = [...parts.jobs].sort((a, b) => a.jobId - b.jobId).map((j) => `${j.jobId}:${j.attempt}`);
  return createHash('sha256').update([parts.prefix, parts.runnerType, parts.capacityType, ...jobs].join('\n')).digest('hex');
}

/** Jobs paired with instances in order; what is left over on either side. */
export interface Assignment<T> {
  readonly assigned: { readonly item: T; readonly instance: LaunchedInstance }[];
  /** Jobs with no instance: back to the queue. */
  readonly unassigned: T[];
  /** Instances with no job: terminate. */
  readonly surplus: LaunchedInstance[];
}

/** Give the first jobs the instances, one each. */
export function assignInstances<T>(items: readonly T[], instances: readonly LaunchedInstance[]): Assignment<T> {
  const n = Math.min(items.length, instances.length);
  return {
    assigned: items.slice(0, n).map((item, i) => ({ item, instance: instances[i] })),
    unassigned: items.slice(n),
    surplus: instances.slice(n),
  };
}
