/**
 * The re-run of spot-interrupted jobs (issue #11 item 4, opt-in:
 * `enable_spot_interruption_rerun`). The termination watcher records in the
 * job ledger that a busy runner's job was interrupted
 * (lambdas/shared/aws/rerun-ledger.ts). GitHub re-runs a job only once its
 * workflow run has completed (POST /repos/{owner}/{repo}/actions/jobs/{job_id}/rerun
 * answers 403 before; the App needs Actions: write), so each scale-down run:
 *
 * 1. reads the interrupted jobs (oldest first, at most {@link RERUN_READ_LIMIT});
 * 2. for each, while the deadline allows, decides ({@link decideRerun}):
 *    interrupted longer than {@link RERUN_MAX_AGE_MS} ago, or refused
 *    {@link RERUN_MAX_TRIES} times: give up (logged as an error, JobRerunsGivenUp);
 *    else claims it in the ledger (a conditional write, so two runs re-run it
 *    once only) and asks GitHub to re-run it;
 * 3. maps GitHub's answer ({@link afterAnswer}): 201 is done (JobsRerun, and
 *    the job leaves the index for good), 403 goes back for a later run with
 *    one more try counted, 404 or 422 gives up.
 *
 * A job is re-run at most once: the claim takes it out of the index before
 * GitHub is asked, and nothing puts it back except a 403 or an error that
 * says GitHub did not re-run it.
 */
import { parseJobMessage } from '../../modules/contract/job-message';
import type { InterruptedJob, RerunLedger } from '../shared/aws/rerun-ledger';
import type { JobRerun } from '../shared/github/runners';
import type { Logger } from '../shared/logger';

/** Interrupted jobs read per run. */
export const RERUN_READ_LIMIT = 25;
/**
 * A job interrupted this long ago is given up: GitHub's default job timeout is
 * 360 minutes, so the other jobs of a run normally end within it.
 */
export const RERUN_MAX_AGE_MS = 6 * 60 * 60_000;
/** Refusals (403) before giving up: 6 hours of 5-minute scale-down runs. */
export const RERUN_MAX_TRIES = 72;
/** No re-run request starts with less than this left before the deadline. */
export const RERUN_DEADLINE_MARGIN_MS = 10_000;

/** What to do with one interrupted job. */
export type RerunDecision = 'rerun' | 'give-up';

/** The pure rule of step 2. */
export function decideRerun(job: Pick<InterruptedJob, 'interruptedAt' | 'rerunTries'>, nowMs: number, limits = { maxAgeMs: RERUN_MAX_AGE_MS, maxTries: RERUN_MAX_TRIES }): RerunDecision {
  if (job.rerunTries >= limits.maxTries) return 'give-up';
  if (nowMs - job.interruptedAt * 1000 > limits.maxAgeMs) return 'give-up';
  return 'rerun';
}

/** The pure rule of step 3: what a claimed job becomes after GitHub's answer. */
export function afterAnswer(answer: JobRerun): 'done' | 'later' | 'give-up' {
  if (answer === 'requested') return 'done';
  if (answer === 'refused') return 'later';
  return 'give-up';
}

/** What the step drives. */
export interface RerunDependencies {
  readonly ledger: RerunLedger;
  /** Asks GitHub to re-run the job; throws when it cannot tell. */
  readonly rerunJob: (owner: string, repo: string, jobId: number, installationId: number) => Promise<JobRerun>;
  readonly logger: Logger;
  readonly now: () => number;
  /** Epoch ms when the invocation times out. @default none */
  readonly deadline?: number;
}

/** What one pass did. */
export interface RerunSummary {
  readonly interrupted: number;
  /** Re-runs GitHub accepted. */
  readonly rerun: number;
  /** Re-runs GitHub refused for now (run not completed). */
  readonly refused: number;
  readonly givenUp: number;
  /** Not looked at: the deadline was near. */
  readonly deferred: number;
  readonly errors: number;
}

/** One pass over the interrupted jobs. Never throws: failures are logged and counted, the next run retries. */
export async function rerunInterruptedJobs(deps: RerunDependencies): Promise<RerunSummary> {
  const counts = { interrupted: 0, rerun: 0, refused: 0, givenUp: 0, deferred: 0, errors: 0 };
  const timeLeft = () => (deps.deadline === undefined ? Infinity : deps.deadline - deps.now());
  let jobs: InterruptedJob[];
  try {
    jobs = await deps.ledger.listInterrupted(RERUN_READ_LIMIT);
  } catch (error) {
    counts.errors++;
    deps.logger.error('could not read the interrupted jobs from the job ledger; no re-run this run', { error });
    return counts;
  }
  counts.interrupted = jobs.length;
  for (const [i, job] of jobs.entries()) {
    if (timeLeft() < RERUN_DEADLINE_MARGIN_MS) {
      counts.deferred += jobs.length - i;
      break;
    }
    const log = deps.logger.withKeys({ jobId: job.jobId, rerunTries: job.rerunTries });
    try {
      let target;
      try {
        target = parseJobMessage(job.message ?? '');
      } catch (error) {
        if (await deps.ledger.giveUpRerun(job)) counts.givenUp++;
        log.error('interrupted job has no valid job message in the ledger; its re-run is given up (JobRerunsGivenUp)', { error });
        continue;
      }
      if (decideRerun(job, deps.now()) === 'give-up') {
        if (await deps.ledger.giveUpRerun(job)) {
          counts.givenUp++;
          log.error('interrupted job still not re-run (its workflow run never completed in time, or the App lacks Actions: write); given up (JobRerunsGivenUp)', {
            interruptedAt: new Date(job.interruptedAt * 1000).toISOString(),
            maxTries: RERUN_MAX_TRIES,
          });
        }
        continue;
      }
      if (!(await deps.ledger.claimRerun(job))) {
        log.info('interrupted job taken or changed by another run; skipped');
        continue;
      }
      let answer: JobRerun;
      try {
        answer = await deps.rerunJob(target.repositoryOwner, target.repositoryName, job.jobId, target.installationId);
      } catch (error) {
        // GitHub did not say it re-ran the job: put it back for a later run.
        counts.errors++;
        await deps.ledger.deferRerun(job);
        log.warn('re-run request failed; tried again next run', { error });
        continue;
      }
      const next = afterAnswer(answer);
      if (next === 'done') {
        counts.rerun++;
        log.warn('job interrupted with its spot runner re-run (JobsRerun)', { runnerType: target.runnerType });
      } else if (next === 'later') {
        counts.refused++;
        await deps.ledger.deferRerun(job);
        log.info('GitHub refused the re-run for now (403: its workflow run has not completed); tried again next run');
      } else {
        if (await deps.ledger.giveUpRerun(job)) counts.givenUp++;
        log.error('GitHub can no longer re-run the interrupted job (404 or 422); given up (JobRerunsGivenUp)');
      }
    } catch (error) {
      counts.errors++;
      log.error('re-run step failed; retried next run', { error });
    }
  }
  return counts;
}
