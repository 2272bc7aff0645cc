/**
 * The termination watcher's domain: deregister the GitHub runner of one of
 * our instances as soon as EC2 says the instance is going away, so GitHub
 * stops offering it jobs and no ghost registration is left behind.
 *
 * | instance / runner                                 | outcome                                          |
 * | ------------------------------------------------- | ------------------------------------------------ |
 * | EC2 does not know the instance                    | ignored (`unknown-instance`)                     |
 * | no `ghr:prefix` tag equal to PREFIX               | ignored (`not-ours`): the rules match every instance of the account |
 * | no `ghr:owner` tag / tag not `org` or `owner/repo`| ignored (`no-owner-tag`, `invalid-owner-tag`), logged as a warning |
 * | no runner named `${prefix}-${instanceId}`         | done (`not-found`): it never registered or is gone |
 * | runner deleted (204) or already gone (404)        | done (`deleted`, `not-found`)                    |
 * | runner busy (422)                                 | a delayed retry message (attempt 1)              |
 *
 * A retry message deletes the runner by id again: 204 or 404 ends it; 422
 * queues attempt + 1 until MAX_ATTEMPTS, after which the watcher gives up and
 * leaves the registration to scale-down's ghost sweep.
 *
 * Errors (GitHub, EC2, SQS, App not installed) are thrown: the handler turns
 * them into a failed invocation (Lambda's async retries, then the DLQ) or a
 * batch item failure (SQS redelivery, then the retry queue's DLQ).
 *
 * Which level a runner lives at (organization or repository) comes from the
 * instance's `ghr:owner` tag, as in scale-down, not from
 * ENABLE_ORGANIZATION_RUNNERS: runners launched before that setting changed
 * are still found.
 */
import { METRIC_FUNCTIONS, type MetricName } from '../../modules/contract/metrics';
import { RUNNER_TAGS } from '../../modules/contract/tags';
import type { Ec2Runners } from '../shared/aws/ec2-runners';
import type { InterruptionRecorder } from '../shared/aws/rerun-ledger';
import type { GitHubAppApi } from '../shared/github/runners';
import { runnerNameOf, runnerTargetFromOwnerTag } from '../shared/runners/identity';
import { Logger } from '../shared/logger';
import type { TerminationWatcherConfig } from './config';
import type { InstanceNotice, RetryMessage } from './events';
import type { RetryQueue } from './retry-queue';


/** The adapters the watcher drives. */
export interface TerminationWatcherDependencies {
  readonly ec2: Pick<Ec2Runners, 'describeInstance'>;
  readonly github: Pick<GitHubAppApi, 'forAccount'>;
  readonly retryQueue: RetryQueue;
  /**
   * Where the interruption of a busy spot runner's job is recorded, for its
   * re-run by scale-down (issue #11 item 4; ENABLE_SPOT_INTERRUPTION_RERUN).
   * @default none: nothing recorded
   */
  readonly interruptions?: InterruptionRecorder;
  /** Logs and EMF metrics (`Logger.metrics`). */
  readonly logger: Logger;
}

/** The settings the domain reads. */
export type WatcherSettings = Pick<TerminationWatcherConfig, 'prefix' | 'maxAttempts' | 'metricsNamespace'>;

/** Why a notice led to no GitHub call. */
export type IgnoreReason = 'unknown-instance' | 'not-ours' | 'no-owner-tag' | 'invalid-owner-tag';

/** What handling one instance notice did. */
export type NoticeOutcome =
  | { readonly status: 'ignored'; readonly reason: IgnoreReason }
  | { readonly status: 'deleted' | 'not-found' | 'retry-scheduled'; readonly owner: string; readonly runnerName: string; readonly runnerId?: number };

/** What handling one retry message did. */
export type RetryOutcome = 'deleted' | 'not-found' | 'retry-scheduled' | 'gave-up';

/** Counters of the watcher's EMF metrics. */
type Counter = Extract<MetricName, 'SpotInterruptions' | 'JobsInterrupted' | 'RunnersDeregistered' | 'RunnersAlreadyGone' | 'DeregistrationRetries' | 'DeregistrationsAbandoned' | 'DeregistrationErrors'>;
type Counts = Partial<Record<Counter, number>>;

/** Deregister the runner of an instance that is interrupted, shutting down or terminated. Throws on GitHub, EC2 and SQS errors. */
export async function handleInstanceNotice(notice: InstanceNotice, settings: WatcherSettings, deps: TerminationWatcherDependencies): Promise<NoticeOutcome> {
  let log = deps.logger.withKeys({ instanceId: notice.instanceId, reason: notice.reason });
  const instance = await deps.ec2.describeInstance(notice.instanceId);
  if (!instance) {
    // Terminated instances stay listed for about an hour, so this is rare: an
    // event replayed late, or an instance of another account's event bus.
    log.info('instance unknown to EC2; nothing to deregister');
    return { status: 'ignored', reason: 'unknown-instance' };
  }
  if (instance.tags[RUNNER_TAGS.prefix] !== settings.prefix) {
    log.debug('instance is not a runner of this module; ignored');
    return { status: 'ignored', reason: 'not-ours' };
  }
  const runnerType = instance.runnerType;
  log = log.withKeys({ runnerType });
  const counts: Counts = notice.reason === 'spot-interruption' ? { SpotInterruptions: 1 } : {};
  try {
    const owner = instance.owner;
    if (owner === undefined || owner === '') {
      log.warn('runner instance has no ghr:owner tag; its runner cannot be found (scale-down leaves it alone as well)');
      return { status: 'ignored', reason: 'no-owner-tag' };
    }
    const target = runnerTargetFromOwnerTag(owner);
    if (!target) {
      log.warn('ghr:owner tag is neither an organization nor owner/repo; its runner cannot be found', { owner });
      return { status: 'ignored', reason: 'invalid-owner-tag' };
    }
    const runnerName = runnerNameOf(settings.prefix, instance.instanceId);
    log = log.withKeys({ owner, runnerName });
    const api = await deps.github.forAccount(target.owner);
    const [runner] = await api.listRunners(target, { name: runnerName });
    if (!runner) {
      counts.RunnersAlreadyGone = 1;
      log.info('no runner registered for the instance; nothing to deregister');
      return { status: 'not-found', owner, runnerName };
    }
    log = log.withKeys({ runnerId: runner.id });
    const spot = notice.reason === 'spot-interruption' || instance.lifecycle === 'spot';
    // Recorded before the delete when GitHub lists the runner busy, so a failed
    // invocation's retry (which may find the runner gone) still records it.
    let recorded = false;
    if (runner.busy && spot && deps.interruptions) {
      recorded = true;
      if (await recordInterruption(deps.interruptions, instance.jobId, instance.instanceId, runnerName, log)) counts.JobsInterrupted = 1;
    }
    const removal = await api.removeRunner(target, runner.id);
    if (removal === 'deleted') {
      counts.RunnersDeregistered = 1;
      log.info('runner deregistered');
    } else if (removal === 'not-found') {
      counts.RunnersAlreadyGone = 1;
      log.info('runner was already gone at GitHub (404)');
    } else {
      await deps.retryQueue.schedule({ instanceId: instance.instanceId, owner, runnerId: runner.id, attempt: 1, reason: notice.reason, ...(runnerType ? { runnerType } : {}) });
      counts.DeregistrationRetries = 1;
      log.info('runner is running a job (422); retry scheduled', { attempt: 1 });
    }
    if (!recorded && removal === 'busy' && spot && deps.interruptions) {
      if (await recordInterruption(deps.interruptions, instance.jobId, instance.instanceId, runnerName, log)) counts.JobsInterrupted = 1;
    }
    return { status: removal === 'busy' ? 'retry-scheduled' : removal, owner, runnerName, runnerId: runner.id };
  } catch (error) {
    counts.DeregistrationErrors = 1;
    throw error;
  } finally {
    emit(log, settings.metricsNamespace, runnerType, counts);
  }
}

/** Try a busy runner's delete again. Throws on GitHub and SQS errors. */
export async function handleRetry(message: RetryMessage, settings: WatcherSettings, deps: TerminationWatcherDependencies): Promise<RetryOutcome> {
  const log = deps.logger.withKeys({
    instanceId: message.instanceId,
    owner: message.owner,
    runnerId: message.runnerId,
    runnerType: message.runnerType,
    reason: message.reason,
    attempt: message.attempt,
  });
  const counts: Counts = {};
  try {
    // parseRetryMessage checked the owner; a message that got past it unparsed is a bug.
    const target = runnerTargetFromOwnerTag(message.owner);
    if (!target) throw new Error('retry message owner is neither an organization nor owner/repo');
    const api = await deps.github.forAccount(target.owner);
    const removal = await api.removeRunner(target, message.runnerId);
    if (removal === 'deleted') {
      counts.RunnersDeregistered = 1;
      log.info('runner deregistered on retry');
      return 'deleted';
    }
    if (removal === 'not-found') {
      counts.RunnersAlreadyGone = 1;
      log.info('runner was already gone at GitHub (404)');
      return 'not-found';
    }
    if (message.attempt < settings.maxAttempts) {
      await deps.retryQueue.schedule({ ...message, attempt: message.attempt + 1 });
      counts.DeregistrationRetries = 1;
      log.info('runner still running a job (422); retry scheduled', { nextAttempt: message.attempt + 1 });
      return 'retry-scheduled';
    }
    // Giving up is safe: once the job ends (or GitHub times the dead runner
    // out), the registration is offline and not busy, and scale-down's ghost
    // sweep deregisters it because its instance is no longer live.
    counts.DeregistrationsAbandoned = 1;
    log.warn('runner still busy after the last attempt; left to scale-down', { maxAttempts: settings.maxAttempts });
    return 'gave-up';
  } catch (error) {
    counts.DeregistrationErrors = 1;
    throw error;
  } finally {
    emit(log, settings.metricsNamespace, message.runnerType, counts);
  }
}

/**
 * A busy spot runner is going away with its job: record the job (from the
 * instance's job-id tag) as interrupted in the ledger, so scale-down re-runs
 * it once its workflow run has completed. The ledger's condition keeps it to
 * the job this runner was running (not one it was launched for and another
 * runner took) and to one record per job, so the warning and the state change
 * that follows it record it once. Throws on DynamoDB errors: the invocation
 * is retried, and the deregistration it repeats is idempotent.
 */
async function recordInterruption(recorder: InterruptionRecorder, jobId: number | undefined, instanceId: string, runnerName: string, log: Logger): Promise<boolean> {
  if (jobId === undefined) {
    log.warn('busy spot runner interrupted, but its instance has no job-id tag; its job cannot be re-run');
    return false;
  }
  const recorded = await recorder.recordInterruption(jobId, instanceId, runnerName);
  if (recorded) log.warn('busy spot runner interrupted; its job is recorded for a re-run (JobsInterrupted)', { jobId });
  else log.info('interrupted job not recorded: already recorded, completed, run by another runner, or unknown to the ledger', { jobId });
  return recorded;
}

/** One EMF line with the non-zero counters; dimensioned by runner type when the instance had one. */
function emit(log: Logger, namespace: string, runnerType: string | undefined, counts: Counts): void {
  const entries = Object.entries(counts).filter(([, v]) => v !== undefined && v > 0);
  if (entries.length === 0) return;
  log.metrics(
    namespace,
    { Function: METRIC_FUNCTIONS.terminationWatcher, ...(runnerType ? { RunnerType: runnerType } : {}) },
    Object.fromEntries(entries.map(([name, value]) => [name, { value: value as number, unit: 'Count' as const }])),
  );
}
