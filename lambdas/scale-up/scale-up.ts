/**
 * Scale-up for one runner type: turn a batch of queued-job messages into
 * registered runner instances, and say which messages go back to the queue.
 *
 * Per batch:
 * 0. Parse; acknowledge poison messages; collapse repeated job ids.
 * a. List this type's live runners (one DescribeInstances); acknowledge jobs a
 *    live runner was already launched for.
 * b. Within the cap, oldest first, take each job's idempotency lock (a job
 *    already launched is acknowledged; one being launched elsewhere is
 *    retried), and, if enabled, check that the job is still queued (failing
 *    open). Jobs beyond the cap go back to the queue untouched.
 * c. Per owner (usually one): one CreateFleet, a second on-demand one for a
 *    spot shortfall with a listed error, then per instance a JIT config (or
 *    registration token) stored in SSM for the instance to read.
 * d. Terminate every instance whose registration failed and retry its job;
 *    tag the registered instances with their jobs (one CreateTags); mark
 *    their jobs launched.
 *
 * e. Pool top-ups (issue #11 item 5): the warm pool's tick puts a top-up
 *    message on this queue, so this function is the one launcher of the type.
 *    After the batch's jobs, the newest top-up of the batch counts the pool
 *    and launches the gap within the cap left (pool/pool.ts `topUpPool`,
 *    with the instances just launched counted whether or not EC2 lists them
 *    yet). Jobs come first: a pool is a convenience, a queued job is demand.
 *    Top-ups are acknowledged whatever happens: the next tick asks again.
 *
 * f. Runner API requests (issue #15 item 1, runner-request.ts): after the
 *    jobs and before a pool top-up, the runners the API recorded and asked
 *    for, each registered with its `ghr-api-…` name as a label, within the cap
 *    left. What does not fit goes back to the queue.
 *
 * A run-bound job (a `ghr-run-<run id>` label naming its own run,
 * contract/run-label.ts) gets a runner registered with the type's labels and
 * that run label (step c), so GitHub gives it to jobs of that run only. A
 * message whose run label names another run is poison (step 0). Pool runners
 * never carry a run label, so a run-bound job is always launched for here.
 *
 * Every job that does not end with a registered runner, an acknowledged
 * duplicate, or a job GitHub says is no longer queued goes back to the queue
 * with its lock released.
 *
 * Deadline (issue #10 item 12). With `deps.budget`, every AWS and GitHub call
 * and retry wait is bounded by the cutoff in force (see shared/deadline.ts):
 * - no lock is taken and no fleet is requested with less than
 *   {@link LAUNCH_MIN_MS} left; those jobs go back to the queue untouched or
 *   with their locks released;
 * - registration stops {@link TERMINATE_RESERVE_MS} before the end, so every
 *   launched instance is either registered or terminated, and its job either
 *   acknowledged or returned, before the invocation returns.
 */
import type { ActiveRunner, Ec2Runners, LaunchedInstance } from '../shared/aws/ec2-runners';
import type { CapacityType } from '../shared/runners/identity';
import type { JobLock, JobLocks } from '../shared/aws/idempotency';
import type { RunnerConfigStore } from '../shared/aws/jit-config-store';
import type { GitHubAppApi } from '../shared/github/runners';
import type { InvocationBudget } from '../shared/deadline';
import { isPoolTopUpBody, parseJobMessage, parsePoolTopUpMessage, type JobMessage, type PoolTopUpMessage } from '../../modules/contract/job-message';
import { runBindingOf } from '../../modules/contract/run-label';
import { isRunnerRequestBody, parseRunnerRequestMessage } from '../../modules/contract/api-runner';
import type { ApiRunnerRecords } from '../shared/aws/api-runner-records';
import { type QueuedRunnerRequest, serveRunnerRequests } from './runner-request';
import { runnerTargetFromOwnerTag } from '../shared/runners/identity';
import { topUpPool, type PoolResult } from '../pool/pool';
import { Logger } from '../shared/logger';
import { launchFleet, terminateUnregistered, type LaunchFleetResult } from '../shared/runners/launch-fleet';
import { mapLimited } from '../shared/concurrency';
import { createRunnerRegistrar, registrationSettings, resolveRunnerGroupId } from '../shared/runners/register-runner';
import type { ScaleUpConfig } from './config';
import { OwnerGroup, QueuedJob, assignInstances, collapseDuplicateJobs, fleetClientToken, groupByOwner, planScaleUp } from './plan';

/** The parts of an SQS record scale-up reads. */
export interface ScaleUpRecord {
  readonly messageId: string;
  readonly body: string;
}

/** The adapters scale-up drives. */
export interface ScaleUpDependencies {
  readonly ec2: Ec2Runners;
  readonly github: GitHubAppApi;
  readonly configStore: RunnerConfigStore;
  readonly locks: JobLocks;
  readonly logger: Logger;
  /** The invocation's time budget, started by the handler. @default none: no deadline */
  readonly budget?: InvocationBudget;
  /** The runner API's records (runner-request messages, step f). @default none: such messages are acknowledged unserved */
  readonly apiRunners?: ApiRunnerRecords;
}

/** A runner that was launched and registered. */
export interface LaunchedRunner {
  readonly instanceId: string;
  readonly jobId: number;
  readonly lifecycle: LaunchedInstance['lifecycle'];
}

/** What happened to a batch. */
export interface ScaleUpResult {
  /** Message ids to return to the queue (`batchItemFailures`). */
  readonly retry: string[];
  readonly launched: LaunchedRunner[];
  /** Instances launched on demand after a spot shortfall. */
  readonly onDemandFallbacks: number;
  /** Jobs returned to the queue because of runners_maximum_count. */
  readonly jobsDeferredByCap: number;
  /** Jobs returned to the queue because the invocation's time ran short. */
  readonly jobsDeferredByDeadline: number;
  /** What the batch's pool top-up did; undefined when the batch held none. */
  readonly pool?: PoolResult;
  /** Runners launched for the runner API's requests (step f). */
  readonly apiRunnersLaunched: number;
}

/** A message whose runner type is not this function's. */
export class WrongRunnerTypeError extends Error {
  constructor(readonly expected: string) {
    super(`message is not for runner type "${expected}"`);
    this.name = 'WrongRunnerTypeError';
  }
}

/** A job message whose run label names another run (contract/run-label.ts). */
export class ForeignRunLabelError extends Error {
  constructor(reason: string) {
    super(`job message refused: ${reason}`);
    this.name = 'ForeignRunLabelError';
  }
}

/**
 * The labels a job's runner gets beyond its type's: the job's own run label
 * when it is run-bound, so GitHub hands that runner to jobs of the run only.
 */
function runLabelsOf(job: JobMessage): string[] {
  const binding = runBindingOf(job.labels, job.runId);
  return binding.kind === 'bound' ? [binding.label] : [];
}

/** A job holding its lock, waiting for an instance. */
interface LockedJob extends QueuedJob {
  readonly lock: JobLock;
  readonly log: Logger;
}

/** In a dry run nothing is written, locks included. */
const DRY_RUN_LOCKS: JobLocks = {
  acquire: async (context) => ({ status: 'acquired', lock: { jobId: context.jobId, lockId: 'dry-run', attempt: 0 } }),
  markLaunched: async () => undefined,
  release: async () => undefined,
};

/** In-flight calls per fan-out (DynamoDB, GitHub, SSM). GitHub writes are paced separately. */
const CONCURRENCY = 10;

/**
 * No lock is taken and no fleet requested with less than this left: time for
 * CreateFleet (about 1-3 s), the registrations (a JIT config and a
 * PutParameter each, about 1 s) and {@link TERMINATE_RESERVE_MS}.
 */
export const LAUNCH_MIN_MS = 8_000;
/** Registrations stop this long before the end: time to terminate what did not register, tag, record and release. */
export const TERMINATE_RESERVE_MS = 3_000;

/** Process one batch. Never throws for a single job's failure; the job is retried instead. */
export async function scaleUp(records: readonly ScaleUpRecord[], config: ScaleUpConfig, deps: ScaleUpDependencies): Promise<ScaleUpResult> {
  return new BatchRun(config, deps).run(records);
}

class BatchRun {
  private readonly log: Logger;
  private readonly locks: JobLocks;
  private readonly retry = new Set<string>();
  private readonly launched: LaunchedRunner[] = [];
  private onDemandFallbacks = 0;
  private jobsDeferredByCap = 0;
  private jobsDeferredByDeadline = 0;
  /** Runners left without their job-id tag (CreateTags failed). */
  private jobIdTagFailures = 0;
  /** The batch's pool top-ups (step e). */
  private readonly topUps: PoolTopUpMessage[] = [];
  private poolResult?: PoolResult;
  /** The batch's runner API requests (step f). */
  private readonly runnerRequests: QueuedRunnerRequest[] = [];
  /** Instances launched for them. */
  private readonly apiLaunched: LaunchedRunner[] = [];

  constructor(
    private readonly config: ScaleUpConfig,
    private readonly deps: ScaleUpDependencies,
  ) {
    this.log = deps.logger.withKeys({ runnerType: config.runnerType });
    this.locks = config.dryRun ? DRY_RUN_LOCKS : deps.locks;
  }

  async run(records: readonly ScaleUpRecord[]): Promise<ScaleUpResult> {
    const jobs = this.parse(records);
    if (jobs.length > 0) await this.launchFor(jobs);
    if (this.runnerRequests.length > 0) await this.serveRunnerRequests();
    if (this.topUps.length > 0) await this.topUpPool();
    this.log.metrics(
      this.config.metricsNamespace,
      { RunnerType: this.config.runnerType },
      {
        // Jobs' runners and the runner API's (step f).
        RunnersLaunched: { value: this.launched.length + this.apiLaunched.length, unit: 'Count' },
        OnDemandFallbacks: { value: this.onDemandFallbacks, unit: 'Count' },
        JobsDeferredByCap: { value: this.jobsDeferredByCap, unit: 'Count' },
        JobIdTagFailures: { value: this.jobIdTagFailures, unit: 'Count' },
        JobsDeferredByDeadline: { value: this.jobsDeferredByDeadline, unit: 'Count' },
      },
    );
    let retry = [...this.retry];
    if (this.config.dryRun && retry.length > 0) {
      // A dry run changes nothing, so a retry would only repeat the same decisions.
      this.log.info('dry run: acknowledging messages a real run would return to the queue', { messages: retry.length });
      retry = [];
    }
    return {
      retry,
      launched: this.launched,
      onDemandFallbacks: this.onDemandFallbacks,
      jobsDeferredByCap: this.jobsDeferredByCap,
      jobsDeferredByDeadline: this.jobsDeferredByDeadline,
      ...(this.poolResult && { pool: this.poolResult }),
      apiRunnersLaunched: this.apiLaunched.length,
    };
  }

  /** Step f: the runner API's requests, within the cap the jobs left (runner-request.ts). */
  private async serveRunnerRequests(): Promise<void> {
    const ids = this.runnerRequests.map((r) => r.messageId);
    if (!this.deps.apiRunners) {
      // Acknowledged on purpose: without the API's table (the runner API is off) the request can never be served.
      this.log.error('runner request acknowledged: the runner API is not configured here', { messages: ids.length });
      return;
    }
    if (!this.hasTime(LAUNCH_MIN_MS)) {
      this.log.warn('deadline near: runner requests returned to the queue', { messages: ids.length, remainingMs: this.deps.budget?.untilEnd() });
      for (const id of ids) this.retry.add(id);
      return;
    }
    try {
      const result = await this.within(TERMINATE_RESERVE_MS, () =>
        serveRunnerRequests(
          this.runnerRequests,
          this.config,
          { ec2: this.deps.ec2, github: this.deps.github, configStore: this.deps.configStore, records: this.deps.apiRunners!, logger: this.deps.logger },
          this.launched.map((r) => r.instanceId),
        ),
      );
      for (const id of result.retry) this.retry.add(id);
      this.jobsDeferredByCap += result.deferredByCap;
      for (const r of result.launched) this.apiLaunched.push({ instanceId: r.instanceId, jobId: 0, lifecycle: r.lifecycle });
    } catch (error) {
      this.log.error('serving runner requests failed; returning them to the queue', { error });
      for (const id of ids) this.retry.add(id);
    }
  }

  /** Step e: the newest pool top-up of the batch, within the cap the jobs left. */
  private async topUpPool(): Promise<void> {
    const newest = [...this.topUps].sort((a, b) => Date.parse(b.scheduledTime) - Date.parse(a.scheduledTime))[0];
    const log = this.log.withKeys({ scheduledTime: newest.scheduledTime, owner: newest.owner });
    if (this.topUps.length > 1) log.info('pool top-ups collapsed to the newest', { topUps: this.topUps.length });
    if (!this.hasTime(LAUNCH_MIN_MS)) {
      log.warn('deadline near: pool top-up acknowledged without launching; the next tick asks again', { remainingMs: this.deps.budget?.untilEnd() });
      return;
    }
    const owner = runnerTargetFromOwnerTag(newest.owner);
    if (!owner) {
      log.error('pool top-up names an owner that is neither an organization nor owner/repo; acknowledged');
      return;
    }
    const c = this.config;
    try {
      this.poolResult = await this.within(TERMINATE_RESERVE_MS, () =>
        topUpPool(
          { runnerType: c.runnerType, size: newest.size, scheduledTime: new Date(Date.parse(newest.scheduledTime)).toISOString() },
          {
            prefix: c.prefix,
            appIdParameterName: c.appIdParameterName,
            appKeyParameterName: c.appKeyParameterName,
            ghesUrl: c.ghesUrl,
            tlsVerify: c.tlsVerify,
            organizationRunners: c.organizationRunners,
            target: { ...owner, ownerTag: newest.owner },
            runnerTypes: { [c.runnerType]: c.runnerTypeSettings },
            runnerGroupName: c.runnerGroupName,
            jitConfig: c.jitConfig,
            runnerBootTimeMinutes: c.runnerBootTimeMinutes,
            dryRun: c.dryRun,
            ssmConfigPath: c.ssmConfigPath,
            kmsKeyId: c.kmsKeyId,
            instanceArnPrefix: c.instanceArnPrefix,
            metricsNamespace: c.metricsNamespace,
            logLevel: c.logLevel,
            queueUrls: {},
          },
          { ec2: this.deps.ec2, github: this.deps.github, configStore: this.deps.configStore, logger: this.deps.logger },
          {
            alsoActive: [
              ...this.launched.map((r) => ({ instanceId: r.instanceId, state: 'pending', jobId: r.jobId, lifecycle: r.lifecycle })),
              ...this.apiLaunched.map((r) => ({ instanceId: r.instanceId, state: 'pending', lifecycle: r.lifecycle })),
            ],
          },
        ),
      );
    } catch (error) {
      // Acknowledged on purpose: the next tick recounts and asks again, and no job waits on a pool.
      log.error('pool top-up failed; the next tick asks again', { error });
    }
  }

  /** Step 0: parse, drop poison, collapse repeats. */
  private parse(records: readonly ScaleUpRecord[]): QueuedJob[] {
    const parsed: QueuedJob[] = [];
    for (const record of records) {
      try {
        if (isPoolTopUpBody(record.body)) {
          const topUp = parsePoolTopUpMessage(record.body);
          if (topUp.runnerType !== this.config.runnerType) throw new WrongRunnerTypeError(this.config.runnerType);
          this.topUps.push(topUp);
          continue;
        }
        if (isRunnerRequestBody(record.body)) {
          const request = parseRunnerRequestMessage(record.body);
          if (request.runnerType !== this.config.runnerType) throw new WrongRunnerTypeError(this.config.runnerType);
          this.runnerRequests.push({ messageId: record.messageId, request });
          continue;
        }
        const job = parseJobMessage(record.body);
        if (job.runnerType !== this.config.runnerType) throw new WrongRunnerTypeError(this.config.runnerType);
        // The webhook refuses these; one here did not come from it, and gets no runner bound to another run.
        const binding = runBindingOf(job.labels, job.runId);
        if (binding.kind === 'refused') throw new ForeignRunLabelError(binding.reason);
        parsed.push({ messageId: record.messageId, job });
      } catch (error) {
        // Acknowledged on purpose: a message we cannot read, or one meant for
        // another runner type, fails the same way on every delivery. Retrying
        // it would only park it in the DLQ, which is there for transient
        // failures. This line (message id and reason, never the body) is its record.
        this.log.error('poison message acknowledged', { messageId: record.messageId, error });
      }
    }
    const { unique, duplicates } = collapseDuplicateJobs(parsed);
    for (const d of duplicates) {
      this.jobLog(d).info('duplicate job in batch acknowledged');
    }
    return unique;
  }

  /** Steps a to d. */
  private async launchFor(jobs: QueuedJob[]): Promise<void> {
    const settings = this.config.runnerTypeSettings;
    let activeRunners: ActiveRunner[];
    try {
      activeRunners = await this.deps.ec2.listActiveRunners({ prefix: this.config.prefix, runnerType: this.config.runnerType });
    } catch (error) {
      this.log.error('could not list active runners; returning the batch to the queue', { error });
      for (const j of jobs) this.retry.add(j.messageId);
      return;
    }
    const plan = planScaleUp({ jobs, activeRunners, maximumCount: settings.maximumCount });
    for (const j of plan.alreadyServed) this.jobLog(j).info('job already has a live runner; acknowledged');

    const { selected, deferred, outOfTime } = await this.within(LAUNCH_MIN_MS, () => this.select(plan.candidates, plan.capacity));
    if (outOfTime.length > 0) this.deferForDeadline(outOfTime, 'before taking their locks');
    if (deferred.length > 0) {
      this.jobsDeferredByCap = deferred.length;
      for (const j of deferred) this.retry.add(j.messageId);
      this.log.info('jobs deferred by runners_maximum_count', {
        deferred: deferred.length,
        active: activeRunners.length,
        maximum: settings.maximumCount,
        jobIds: deferred.map((j) => j.job.jobId),
      });
    }
    const groups = groupByOwner(selected, (s) => s.job, this.config.organizationRunners);
    await Promise.all(groups.map((g) => this.launchGroup(g)));
  }

  /**
   * Lock candidates in order until the cap is filled. A candidate that turns
   * out to be launched already, locked elsewhere, or no longer queued frees
   * its slot for the next one.
   */
  private async select(candidates: QueuedJob[], capacity: number): Promise<{ selected: LockedJob[]; deferred: QueuedJob[]; outOfTime: QueuedJob[] }> {
    const selected: LockedJob[] = [];
    let rest = candidates;
    while (selected.length < capacity && rest.length > 0) {
      if (!this.hasTime(LAUNCH_MIN_MS)) {
        // Not enough time to launch for more jobs: the rest wait in the queue, their locks untaken.
        const outOfTime = rest.slice(0, capacity - selected.length);
        return { selected, deferred: rest.slice(outOfTime.length), outOfTime };
      }
      const round = rest.slice(0, capacity - selected.length);
      rest = rest.slice(round.length);
      const locked = await mapLimited(round, CONCURRENCY, (j) => this.lockAndCheck(j));
      for (const l of locked) if (l) selected.push(l);
    }
    return { selected, deferred: rest, outOfTime: [] };
  }

  private async lockAndCheck(item: QueuedJob): Promise<LockedJob | undefined> {
    const log = this.jobLog(item);
    const { jobId, deliveryId, repositoryOwner, repositoryName, installationId } = item.job;
    let result;
    try {
      result = await this.locks.acquire({ jobId, deliveryId, runnerType: this.config.runnerType });
    } catch (error) {
      log.error('could not take the idempotency lock; retrying the job', { error });
      this.retry.add(item.messageId);
      return undefined;
    }
    if (result.status === 'launched') {
      log.info('job already launched; duplicate acknowledged', { instanceId: result.instanceId });
      return undefined;
    }
    if (result.status === 'in-progress') {
      log.info('job is being launched by another invocation; retrying later');
      this.retry.add(item.messageId);
      return undefined;
    }
    const locked: LockedJob = { ...item, lock: result.lock, log };
    if (this.config.jobQueuedCheck) {
      let queued = true;
      try {
        queued = await this.deps.github.forInstallation(installationId).isJobQueued(repositoryOwner, repositoryName, jobId);
      } catch (error) {
        log.warn('could not check whether the job is queued; launching anyway', { error });
      }
      if (!queued) {
        log.info('job is no longer queued; acknowledged without a runner');
        await this.release(locked);
        return undefined;
      }
    }
    return locked;
  }

  /** Launch and register the runners of one owner. */
  private async launchGroup(group: OwnerGroup<LockedJob>): Promise<void> {
    const { target, installationId, items } = group;
    const settings = this.config.runnerTypeSettings;
    const glog = this.log.withKeys({ owner: target.ownerTag });
    const github = this.deps.github.forInstallation(installationId);

    let runnerGroupId: number | undefined;
    if (!this.config.dryRun) {
      try {
        runnerGroupId = await resolveRunnerGroupId(github, target, this.config);
      } catch (error) {
        glog.error('could not resolve the runner group; returning the jobs to the queue', { error, runnerGroup: this.config.runnerGroupName });
        await this.giveBack(items);
        return;
      }
    }

    if (!this.hasTime(LAUNCH_MIN_MS)) {
      this.deferForDeadline(items, 'before launching');
      await this.giveBack(items);
      return;
    }
    let launch: LaunchFleetResult;
    try {
      // Ends in time to register what it launched and terminate what does not register.
      launch = await this.within(TERMINATE_RESERVE_MS + 2_000, () => launchFleet(
        this.deps.ec2,
        {
          prefix: this.config.prefix,
          runnerType: this.config.runnerType,
          owner: target.ownerTag,
          count: items.length,
          settings,
          clientToken: (capacityType: CapacityType, offset: number, count: number) =>
            fleetClientToken({
              prefix: this.config.prefix,
              runnerType: this.config.runnerType,
              capacityType,
              jobs: items.slice(offset, offset + count).map((j) => j.lock),
            }),
          dryRun: this.config.dryRun,
        },
        glog,
      ));
    } catch (error) {
      // Throttling (RequestLimitExceeded) arrives here after the SDK's own retries.
      glog.error('CreateFleet failed; returning the jobs to the queue', { error, requested: items.length });
      await this.giveBack(items);
      return;
    }
    if (launch.dryRun) {
      glog.info('dry run: EC2 accepted the fleet request; nothing launched', {
        requested: items.length,
        capacityType: settings.capacityType,
        jobIds: items.map((i) => i.job.jobId),
      });
      return;
    }
    this.onDemandFallbacks += launch.onDemandFallbacks;

    const { assigned, unassigned, surplus } = assignInstances(items, launch.instances);
    if (unassigned.length > 0) await this.giveBack(unassigned);

    const registered: { item: LockedJob; instance: LaunchedInstance }[] = [];
    const failedIds = surplus.map((s) => s.instanceId);
    const registrar = createRunnerRegistrar({
      github,
      configStore: this.deps.configStore,
      target,
      settings: registrationSettings(this.config, settings.labels),
      runnerGroupId,
      // This invocation holds the jobs' locks: a 409 is a crashed attempt's registration of the same instance.
      takeOverEarlierRegistration: true,
    });
    await mapLimited(assigned, CONCURRENCY, async ({ item, instance }) => {
      const ilog = item.log.withKeys({ instanceId: instance.instanceId });
      try {
        await this.within(TERMINATE_RESERVE_MS, () => registrar.register(instance.instanceId, ilog, runLabelsOf(item.job)));
        registered.push({ item, instance });
      } catch (error) {
        ilog.error('registration failed; terminating the instance and retrying the job', { error });
        failedIds.push(instance.instanceId);
        await this.giveBack([item]);
      }
    });

    await terminateUnregistered(this.deps.ec2, failedIds, glog);
    if (registered.length === 0) return;
    try {
      await this.deps.ec2.tagJobIds(registered.map((r) => ({ instanceId: r.instance.instanceId, jobId: r.item.job.jobId })));
    } catch (error) {
      // The idempotency record below is the authority; the tags are the second
      // double-launch guard, which is off for these runners: an error, counted.
      this.jobIdTagFailures += registered.length;
      glog.error('could not tag runners with their job ids; the second double-launch guard is off for them', {
        error,
        instanceIds: registered.map((r) => r.instance.instanceId),
      });
    }
    await mapLimited(registered, CONCURRENCY, async ({ item, instance }) => {
      const ilog = item.log.withKeys({ instanceId: instance.instanceId });
      this.launched.push({ instanceId: instance.instanceId, jobId: item.job.jobId, lifecycle: instance.lifecycle });
      ilog.info('runner launched', { lifecycle: instance.lifecycle, instanceType: instance.instanceType });
      try {
        await this.locks.markLaunched(item.lock, instance.instanceId, { runnerType: item.job.runnerType, message: JSON.stringify(item.job) });
      } catch (error) {
        // The runner exists, so the message is acknowledged either way; a
        // redelivery is still caught by the instance's job-id tag. The job is
        // then missing from the ledger's awaiting index: if this runner never
        // takes it, reconcile cannot relaunch it: an error, not a warning.
        ilog.error('could not record the launch in the job ledger; reconcile cannot relaunch this job', { error });
      }
    });
  }

  /** Run `fn` leaving `reserveMs` of the invocation for what follows (no budget: just run it). */
  private within<T>(reserveMs: number, fn: () => Promise<T>): Promise<T> {
    return this.deps.budget ? this.deps.budget.within(reserveMs, fn) : fn();
  }

  /** Whether at least `ms` of the invocation is left (always, without a budget). */
  private hasTime(ms: number): boolean {
    return this.deps.budget === undefined || this.deps.budget.untilEnd() >= ms;
  }

  private deferForDeadline(items: readonly QueuedJob[], when: string): void {
    this.jobsDeferredByDeadline += items.length;
    for (const i of items) this.retry.add(i.messageId);
    this.log.warn(`deadline near: jobs returned to the queue ${when}`, {
      jobs: items.length,
      remainingMs: this.deps.budget?.untilEnd(),
      jobIds: items.map((i) => i.job.jobId),
    });
  }

  /** Return jobs to the queue and release their locks. */
  private async giveBack(items: readonly LockedJob[]): Promise<void> {
    for (const i of items) this.retry.add(i.messageId);
    await mapLimited(items, CONCURRENCY, (i) => this.release(i));
  }

  private async release(item: LockedJob): Promise<void> {
    try {
      await this.locks.release(item.lock);
    } catch (error) {
      // The lock expires on its own; the retry just waits for it.
      item.log.warn('could not release the idempotency lock', { error });
    }
  }

  private jobLog(item: QueuedJob): Logger {
    return this.log.withKeys({ jobId: item.job.jobId, deliveryId: item.job.deliveryId, messageId: item.messageId });
  }
}
