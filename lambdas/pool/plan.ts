/**
 * The warm pool's decisions, as pure functions of plain data: what the
 * scheduler asked for, how many pool runners are ready, how many to launch,
 * and how a pool fleet is named.
 */
import { createHash } from 'node:crypto';
import type { ActiveRunner } from '../shared/aws/ec2-runners';
import { type CapacityType, runnerNameOf } from '../shared/runners/identity';
import type { GitHubRunner } from '../shared/github/runners';
import { isRunLabel } from '../../modules/contract/run-label';

/** The scheduler's input (one EventBridge Scheduler schedule per pool window). */
export interface PoolEvent {
  /** A key of RUNNER_TYPES_CONFIG. */
  readonly runnerType: string;
  /** Idle runners to keep, ≥ 1. */
  readonly size: number;
  /** `<aws.scheduler.scheduled-time>`: the same for every delivery of one scheduled invocation. */
  readonly scheduledTime: string;
}

/** An event the pool cannot act on. Retrying does not help; the message names the fields, never their values beyond the runner type. */
export class PoolEventError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid pool event: ${problems.join('; ')}`);
    this.name = 'PoolEventError';
  }
}

/** Check the scheduler's input against the configured runner types. Throws PoolEventError listing every problem. */
export function parsePoolEvent(event: unknown, runnerTypes: readonly string[]): PoolEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new PoolEventError(['the event must be a JSON object with runnerType, size and scheduledTime']);
  const e = event as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof e.runnerType !== 'string' || e.runnerType === '') problems.push('runnerType must be a non-empty string');
  else if (!runnerTypes.includes(e.runnerType)) {
    // Names are short identifiers from the module's own configuration; a long value is cut.
    problems.push(`runnerType "${e.runnerType.slice(0, 64)}" is not configured (RUNNER_TYPES_CONFIG has ${runnerTypes.map((t) => `"${t}"`).join(', ')})`);
  }
  if (!Number.isSafeInteger(e.size) || (e.size as number) < 1) problems.push(`size must be an integer ≥ 1, got ${typeof e.size === 'number' ? e.size : typeof e.size}`);
  if (typeof e.scheduledTime !== 'string' || Number.isNaN(Date.parse(e.scheduledTime))) problems.push('scheduledTime must be an ISO 8601 time');
  if (problems.length > 0) throw new PoolEventError(problems);
  return { runnerType: e.runnerType as string, size: e.size as number, scheduledTime: new Date(Date.parse(e.scheduledTime as string)).toISOString() };
}

/** Inputs of {@link planPool}. */
export interface PoolPlanInput {
  readonly prefix: string;
  /** `ghr:owner` of pool runners. */
  readonly owner: string;
  /** Idle runners wanted. */
  readonly size: number;
  /** Pending and running instances of the runner type (every owner). */
  readonly active: readonly ActiveRunner[];
  /** The pool owner's runners at GitHub, by name. */
  readonly runners: ReadonlyMap<string, GitHubRunner>;
  /** runners_maximum_count; -1 means no limit. */
  readonly maximumCount: number;
  readonly bootTimeMs: number;
  readonly now: number;
}

/** How the pool stands, and what to do. */
export interface PoolPlan {
  /** Instances of the owner whose runner is online and idle. */
  readonly idle: number;
  /** Instances of the owner whose runner is not online yet, launched within the boot time. */
  readonly booting: number;
  /** idle + booting. */
  readonly ready: number;
  /** Instances of the owner whose runner is busy. */
  readonly busy: number;
  /** Instances of the owner past the boot time whose runner is missing or offline (scale-down's business). */
  readonly stale: number;
  /** Instances of the type registered elsewhere (other owners): they count against the cap only. */
  readonly otherOwners: number;
  /** New runners the cap allows (`Infinity` without a cap). */
  readonly capacity: number;
  /** Runners to launch now: min(size - ready, capacity), never negative. */
  readonly toLaunch: number;
}

/**
 * Count the ready runners and decide how many to launch.
 *
 * Ready: an instance of the pool's owner whose runner `${prefix}-${instanceId}`
 * is online and not busy, or whose runner is missing or not online yet while
 * the instance is younger than the boot time (an instance without a launch
 * time counts as just launched). Instances of other owners cannot take the
 * owner's jobs, so they are not ready for the pool; like every instance of the
 * type, they count against runners_maximum_count.
 */
export function planPool(input: PoolPlanInput): PoolPlan {
  let idle = 0;
  let booting = 0;
  let busy = 0;
  let stale = 0;
  let otherOwners = 0;
  const owner = input.owner.toLowerCase();
  for (const instance of input.active) {
    if ((instance.owner ?? '').toLowerCase() !== owner) {
      otherOwners += 1;
      continue;
    }
    const runner = input.runners.get(runnerNameOf(input.prefix, instance.instanceId));
    // A run-bound runner (scale-up's, for a job with ghr-run-<run id>) serves only jobs of
    // that run: never pool capacity, idle or not. It counts against the cap below.
    if (runner?.labels?.some((l) => isRunLabel(l.name))) continue;
    if (runner?.status === 'online') {
      if (runner.busy) busy += 1;
      else idle += 1;
      continue;
    }
    // An instance scale-up launched for a queued job (it carries the job's
    // tag) will take that job when it comes online: it is not pool capacity.
    if (instance.jobId !== undefined) continue;
    const age = instance.launchTime ? input.now - instance.launchTime.getTime() : 0;
    if (age < input.bootTimeMs) booting += 1;
    else stale += 1;
  }
  const ready = idle + booting;
  const capacity = input.maximumCount < 0 ? Infinity : Math.max(0, input.maximumCount - input.active.length);
  const toLaunch = Math.max(0, Math.min(input.size - ready, capacity));
  return { idle, booting, ready, busy, stale, otherOwners, capacity, toLaunch };
}

/** What names a pool CreateFleet request for idempotency. */
export interface PoolTokenParts {
  readonly prefix: string;
  readonly runnerType: string;
  /** The invocation's scheduled time (normalised ISO 8601). */
  readonly scheduledTime: string;
  readonly capacityType: CapacityType;
  /** Instances this call asks for: the top-up, or the on-demand failover's shortfall. */
  readonly count: number;
}

/**
 * CreateFleet ClientToken of a pool top-up: SHA-256 (64 hex characters, EC2's
 * maximum) of prefix, runner type, scheduled time, capacity type and count.
 * A second delivery of the same scheduled invocation that decides the same
 * top-up gets EC2's earlier answer instead of a second fleet; the next
 * scheduled invocation gets a fresh token.
 */
export function poolClientToken(parts: PoolTokenParts): string {
  return createHash('sha256')
    .update(['pool', parts.prefix, parts.runnerType, parts.scheduledTime, parts.capacityType, String(parts.count)].join('\n'))
    .digest('hex');
}
