/**
 * Relaunch for a job still waiting (issue #11 item 3): a job whose runner was
 * launched but which is still queued at GitHub after the boot time gets a new
 * runner, through its type's queue, so the cap and the single launcher per
 * type still apply. One rule covers a runner that never came online (boot
 * failure, spot reclaim before registration, a bad AMI) and a runner that took
 * another job (JIT runners are not bound to a job) and then failed.
 *
 * Per runner type, each scale-down run:
 * 1. reads the ledger's awaiting jobs launched at least the boot time ago
 *    (oldest first, at most {@link RELAUNCH_READ_LIMIT});
 * 2. asks GitHub whether each is still queued (one read per job, bounded by the
 *    deadline); a job that is not (it ran, or was cancelled) leaves the ledger's
 *    awaiting index;
 * 3. keeps as many of the still-queued jobs as the type has idle online
 *    runners (GitHub will hand them those runners), and for each other one:
 *    - `released` (queued again by an earlier run whose message was lost, or
 *      whose relaunch failed): sends the message again;
 *    - launched, relaunched `maxAttempts` times already: gives up (logged as an
 *      error, counted in JobsGivenUp, alarmed);
 *    - launched: releases it in the ledger (the attempt count gives the next
 *      CreateFleet a new ClientToken) and sends its message to the queue.
 *
 * The message sent names the instance that did not serve the job
 * (`supersededInstanceIds`): it still carries the job's job-id tag, and
 * scale-up would otherwise take it for the job's live runner (it may be
 * booting forever, or busy with another job it took).
 *
 * A still-queued job that no idle runner will take, and that GitHub queued
 * (`createdAt`) at least `strandedMs` ago, is counted as stranded
 * ({@link isStranded}; the JobsStranded gauge, alarmed), whatever this run
 * does with it: a relaunch is a hope, not a runner.
 *
 * The release comes before the send: a send that fails leaves a `released`
 * entry that the next run sends again, and a job message that arrives while
 * the entry is still `launched` would be acknowledged by scale-up as served.
 */
import type { AwaitingJob, JobLedger } from '../shared/aws/job-ledger';
import { parseJobMessage, relaunchMessage } from '../../modules/contract/job-message';
import type { Logger } from '../shared/logger';

/** Awaiting jobs read per runner type and run. */
export const RELAUNCH_READ_LIMIT = 50;
/** No GitHub read or relaunch starts with less than this left before the deadline. */
export const RELAUNCH_DEADLINE_MARGIN_MS = 10_000;

/** What reconcile does with one still-queued job. */
export type RelaunchAction = 'wait-for-idle-runner' | 'resend' | 'relaunch' | 'give-up';

/**
 * The pure rule of step 3: `queued` are one type's still-queued awaiting jobs,
 * oldest first; `idleRunners` the type's idle online runners.
 */
export function planRelaunch(queued: readonly AwaitingJob[], idleRunners: number, maxAttempts: number): { job: AwaitingJob; action: RelaunchAction }[] {
  return queued.map((job, index) => {
    // The newest jobs wait for the idle runners: GitHub assigns queued jobs in
    // its own order, but any of them taking a runner leaves the count right.
    if (index >= queued.length - idleRunners) return { job, action: 'wait-for-idle-runner' };
    if (job.status === 'released') return { job, action: 'resend' };
    if (job.relaunches >= maxAttempts) return { job, action: 'give-up' };
    return { job, action: 'relaunch' };
  });
}

/**
 * Whether a job no runner is coming for is stranded: GitHub queued it
 * (the job message's `createdAt`, workflow_job.created_at) at least
 * `strandedMs` before `nowMs`. A message without a readable time is not
 * (reconcile logs it when it asks GitHub about the job).
 */
export function isStranded(job: Pick<AwaitingJob, 'message'>, nowMs: number, strandedMs: number): boolean {
  let createdAt: number;
  try {
    createdAt = Date.parse(parseJobMessage(job.message).createdAt);
  } catch {
    return false;
  }
  return Number.isFinite(createdAt) && nowMs - createdAt >= strandedMs;
}

/** Sends a job message to a runner type's queue. */
export interface JobRequeue {
  send(runnerType: string, message: string): Promise<void>;
}

/** What reconcile drives. */
export interface RelaunchDependencies {
  readonly ledger: JobLedger;
  /** Whether GitHub still has the job queued; throws when it cannot tell. */
  readonly isJobQueued: (job: AwaitingJob) => Promise<boolean | 'unknown'>;
  readonly requeue: JobRequeue;
  readonly logger: Logger;
  readonly now: () => number;
  /** Epoch ms when the invocation times out. @default none */
  readonly deadline?: number;
}

/** What reconcile is asked to do. */
export interface RelaunchSettings {
  /** The runner types to reconcile and their idle online runners. */
  readonly idleRunnersByType: ReadonlyMap<string, number>;
  /** A job launched this long ago and still queued is relaunched. */
  readonly bootTimeMs: number;
  /** Relaunches per job before giving up; 0 turns relaunching off (jobs are given up at once). */
  readonly maxAttempts: number;
  /** A still-queued job with no idle runner, queued at GitHub this long ago, counts as stranded. @default never */
  readonly strandedMs?: number;
}

/** What one reconcile did. */
export interface RelaunchSummary {
  /** Awaiting jobs read from the ledger. */
  readonly awaiting: number;
  /** Of those, still queued at GitHub. */
  readonly stillQueued: number;
  /** Jobs queued again with a new attempt. */
  readonly relaunched: number;
  /** Jobs whose earlier relaunch message was sent again. */
  readonly resent: number;
  readonly givenUp: number;
  /** Jobs left for the idle runners of their type. */
  readonly waitingForIdleRunners: number;
  /** Jobs that left the awaiting index because GitHub no longer has them queued. */
  readonly noLongerQueued: number;
  /** Jobs not looked at because the deadline was near. */
  readonly deferred: number;
  /** Still-queued jobs with no idle runner, queued at GitHub at least `strandedMs` ago (a gauge). */
  readonly stranded: number;
  readonly errors: number;
}

/** One reconcile pass over every runner type. Never throws: failures are logged and counted, and the next run retries. */
export async function reconcileJobs(settings: RelaunchSettings, deps: RelaunchDependencies): Promise<RelaunchSummary> {
  const counts = { awaiting: 0, stillQueued: 0, relaunched: 0, resent: 0, givenUp: 0, waitingForIdleRunners: 0, noLongerQueued: 0, deferred: 0, stranded: 0, errors: 0 };
  const strandedMs = settings.strandedMs ?? Infinity;
  const timeLeft = () => (deps.deadline === undefined ? Infinity : deps.deadline - deps.now());
  const launchedBefore = Math.floor((deps.now() - settings.bootTimeMs) / 1000);
  for (const [runnerType, idle] of settings.idleRunnersByType) {
    let awaiting: AwaitingJob[];
    try {
      awaiting = await deps.ledger.listAwaiting(runnerType, launchedBefore, RELAUNCH_READ_LIMIT);
    } catch (error) {
      counts.errors++;
      deps.logger.error('could not read the job ledger; no relaunch for this runner type this run', { runnerType, error });
      continue;
    }
    counts.awaiting += awaiting.length;
    const queued: AwaitingJob[] = [];
    for (const [i, job] of awaiting.entries()) {
      if (timeLeft() < RELAUNCH_DEADLINE_MARGIN_MS) {
        counts.deferred += awaiting.length - i;
        break;
      }
      if (job.status !== 'launched' && job.status !== 'released') continue; // `launching`: scale-up is on it
      let state: boolean | 'unknown';
      try {
        state = await deps.isJobQueued(job);
      } catch (error) {
        counts.errors++;
        deps.logger.warn('could not ask GitHub whether the job is queued; asked again next run', { jobId: job.jobId, runnerType, error });
        continue;
      }
      if (state === 'unknown') continue;
      if (state) {
        queued.push(job);
        continue;
      }
      counts.noLongerQueued++;
      await settle(() => deps.ledger.stopAwaiting(job, 'not_queued'), job, 'could not update the job ledger', counts, deps.logger);
    }
    counts.stillQueued += queued.length;
    for (const { job, action } of planRelaunch(queued, idle, settings.maxAttempts)) {
      const log = deps.logger.withKeys({ jobId: job.jobId, runnerType, instanceId: job.instanceId });
      if (action === 'wait-for-idle-runner') {
        counts.waitingForIdleRunners++;
        continue;
      }
      if (isStranded(job, deps.now(), strandedMs)) {
        counts.stranded++;
        log.warn('job stranded: queued at GitHub longer than the threshold with no runner of its type (JobsStranded)', {
          strandedMinutes: strandedMs / 60_000,
          relaunches: job.relaunches,
        });
      }
      if (timeLeft() < RELAUNCH_DEADLINE_MARGIN_MS) {
        counts.deferred++;
        continue;
      }
      try {
        if (action === 'give-up') {
          if (await deps.ledger.stopAwaiting(job, 'given_up')) {
            counts.givenUp++;
            log.error('job still queued after every relaunch; given up (JobsGivenUp)', { relaunches: job.relaunches, maxAttempts: settings.maxAttempts });
          }
        } else if (action === 'resend') {
          await deps.requeue.send(runnerType, relaunchMessage(job.message, job.instanceId));
          counts.resent++;
          log.info('relaunch message sent again', { relaunches: job.relaunches });
        } else if (await deps.ledger.releaseForRelaunch(job)) {
          await deps.requeue.send(runnerType, relaunchMessage(job.message, job.instanceId));
          counts.relaunched++;
          log.warn('job still queued after the boot time with no idle runner of its type; relaunched', { relaunch: job.relaunches + 1 });
        }
      } catch (error) {
        counts.errors++;
        log.error('relaunch failed; retried next run', { action, error });
      }
    }
  }
  return counts;
}

async function settle(fn: () => Promise<boolean>, job: AwaitingJob, message: string, counts: { errors: number }, logger: Logger): Promise<void> {
  try {
    await fn();
  } catch (error) {
    counts.errors++;
    logger.warn(message, { jobId: job.jobId, runnerType: job.runnerType, error });
  }
}
