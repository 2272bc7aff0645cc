/**
 * One scale-down run: find this prefix's instances and their GitHub runners,
 * decide (see decide.ts), act, clean up runner configs, and report.
 *
 * 1. List the runner configs under SSM_CONFIG_PATH (names and dates only).
 *    Listed before the instances, so every config seen belongs to an instance
 *    that already existed when EC2 is asked.
 * 2. List every instance tagged with the prefix: one paginated
 *    DescribeInstances. Owners come from their `ghr:owner` tags (dead
 *    instances included, so the runners of an owner whose last instance just
 *    died are still checked for ghosts), and from memory: an owner whose last
 *    listing still held runners named `${prefix}-<instance id>` is listed
 *    again even when EC2 shows none of its instances any more (terminated
 *    instances drop out of DescribeInstances after about an hour, and their
 *    ghosts would otherwise never be seen). It is forgotten once its list
 *    holds none of ours. Memory lives as long as the container.
 * 3. Per owner: its installation (from the App's installation list, cached
 *    per container) and one paginated list of its runners. An owner that
 *    fails is logged and skipped; the others go on.
 * 4. `decide`, then act, in this order:
 *    - idle runners: deleted at GitHub; only those GitHub answered 204 for
 *      have their instances terminated. 422 (busy: it took a job meanwhile)
 *      keeps the instance; 404 (gone meanwhile) and any error keep it too,
 *      and the next run sees it again;
 *    - terminations: the idle runners' instances and the orphans (seen by
 *      two runs), in one TerminateInstances call; if EC2 refuses the batch,
 *      each instance is tried alone;
 *    - ghosts: deregistered.
 * 5. Relaunch for jobs still waiting (relaunch.ts), when `deps.relaunch` is
 *    set: per runner type, launched jobs still queued at GitHub after the boot
 *    time, beyond the type's idle online runners, go back on the type's queue;
 *    those queued at GitHub longer than `strandedMinutes` are counted (JobsStranded).
 * 5b. The re-run of spot-interrupted jobs (rerun.ts), when `deps.rerun` is
 *    set and not in a dry run: jobs the termination watcher recorded as
 *    interrupted are re-run once their workflow run has completed, once.
 * 6. Delete stale runner configs in DeleteParameters batches of 10, paced.
 * 7. One summary line and one EMF metrics line.
 *
 * Deadline. With `deps.deadline`, no GitHub delete or DeleteParameters call
 * starts once less than {@link DEADLINE_MARGIN_MS} remain; what is left is
 * logged and counted in `deferred`, and the next run picks it up. Instances
 * whose runner GitHub already deleted (204) are terminated regardless: the
 * order above puts their termination before the ghosts and the configs.
 *
 * Nothing here throws: a failure is logged, counted in `errors`, and retried
 * by the next scheduled run. The handler turns a run that could see nothing
 * (`instancesListed` false, or every owner failed) into an error.
 */
import { METRIC_FUNCTIONS } from '../../modules/contract/metrics';
import { RUNNER_TAGS } from '../../modules/contract/tags';
import type { Ec2Runners, RunnerInstance } from '../shared/aws/ec2-runners';
import { DELETE_PARAMETERS_MAX, RunnerConfigHousekeeping, StoredRunnerConfig } from '../shared/aws/jit-config-store';
import type { GitHubAppApi, RunnerRemoval } from '../shared/github/runners';
import { type RunnerTarget, instanceIdOfRunner, runnerTargetFromOwnerTag } from '../shared/runners/identity';
import { mapLimited } from '../shared/concurrency';
import { Logger } from '../shared/logger';
import type { ScaleDownConfig } from './config';
import { KEEP_REASONS, KeepReason, OwnerRunners, ScaleDownPlan, decide, isLive, staleRunnerConfigs } from './decide';
import { type AwaitingJob, type JobLedger } from '../shared/aws/job-ledger';
import { parseJobMessage } from '../../modules/contract/job-message';
import { type JobRequeue, type RelaunchSummary, reconcileJobs } from './relaunch';
import type { RerunLedger } from '../shared/aws/rerun-ledger';
import { type RerunSummary, rerunInterruptedJobs } from './rerun';

/** Something that lets one more call start when it resolves (a token bucket). */
export interface Pacer {
  take(): Promise<void>;
}

/** What a container remembers between runs. */
export interface ScaleDownMemory {
  /** First sightings of ghost candidates; see decide.ts. */
  ghostSightings: Map<string, number>;
  /** First sightings of orphans (key: instance id); see decide.ts. */
  orphanSightings: Map<string, number>;
  /** Owners (`ghr:owner` values) whose last listing held runners of this prefix: listed again even without instances. */
  ownersWithRunners: Set<string>;
}

/** A memory with nothing in it. */
export function emptyMemory(): ScaleDownMemory {
  return { ghostSightings: new Map(), orphanSightings: new Map(), ownersWithRunners: new Set() };
}

/** The adapters scale-down drives. */
export interface ScaleDownDependencies {
  readonly ec2: Pick<Ec2Runners, 'listInstancesByPrefix' | 'terminateRunners' | 'markOrphanSightings'>;
  readonly github: GitHubAppApi;
  readonly configs: RunnerConfigHousekeeping;
  readonly logger: Logger;
  /** Paces DeleteParameters calls (SSM_DELETE_PER_SECOND). */
  readonly ssmPacer: Pacer;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** What earlier runs of this container learnt; updated by each run. @default a fresh memory (nothing remembered) */
  readonly memory?: ScaleDownMemory;
  /** When the invocation times out (epoch ms, same clock as `now`). @default none: no deadline */
  readonly deadline?: number;
  /** Relaunch for jobs still waiting (relaunch.ts). @default none: off */
  readonly relaunch?: {
    readonly ledger: JobLedger;
    readonly requeue: JobRequeue;
    /** The runner types to reconcile (those with a job queue). */
    readonly runnerTypes: readonly string[];
    /** Relaunches per job before giving up. */
    readonly maxAttempts: number;
    /** Minutes queued at GitHub after which a job no runner is coming for counts as stranded (JobsStranded). @default never */
    readonly strandedMinutes?: number;
  };
  /** The re-run of spot-interrupted jobs (rerun.ts; ENABLE_SPOT_INTERRUPTION_RERUN). @default none: off */
  readonly rerun?: {
    readonly ledger: RerunLedger;
  };
}

/** No GitHub delete or DeleteParameters call starts with less than this left before the deadline. */
export const DEADLINE_MARGIN_MS = 30_000;

/** What one run found and did. Counts of actions are what was done, not planned (see `planned`). */
export interface ScaleDownSummary {
  readonly dryRun: boolean;
  /** Whether DescribeInstances answered; when false nothing was decided. */
  readonly instancesListed: boolean;
  /** Pending and running instances of the prefix. */
  readonly liveInstances: number;
  readonly owners: number;
  /** Owners whose runners could not be listed this run. */
  readonly ownersFailed: number;
  /** Idle runners deleted at GitHub whose instances were then terminated. */
  readonly runnersTerminated: number;
  readonly orphansTerminated: number;
  readonly ghostsDeregistered: number;
  /** Instances kept because their runner was busy (when listed, or when the delete answered 422). */
  readonly busyRunnersKept: number;
  /** Instances kept, by reason (busy included). */
  readonly kept: Readonly<Record<KeepReason, number>>;
  readonly configsDeleted: number;
  /** Failures logged this run (each is retried by the next run). */
  readonly errors: number;
  /** Requests sent to GitHub this run (token mints and installation listing included). */
  readonly gitHubApiCalls: number;
  /** What the plan asked for. */
  readonly planned: {
    readonly removeIdle: number;
    readonly terminateOrphans: number;
    readonly deregisterGhosts: number;
    readonly deleteConfigs: number;
  };
  /** What was not started because the deadline was near (left for the next run). */
  readonly deferred: {
    readonly removeIdle: number;
    readonly deregisterGhosts: number;
    readonly deleteConfigs: number;
  };
  /** Relaunch for jobs still waiting; undefined when off, in a dry run, or when the instances could not be listed. */
  readonly relaunch?: RelaunchSummary;
  /** The re-run of spot-interrupted jobs; undefined when off or in a dry run. */
  readonly rerun?: RerunSummary;
}

/** In-flight GitHub calls per fan-out; writes are paced by the adapter as well. */
const CONCURRENCY = 5;

/** Run scale-down once. Never throws. */
export async function scaleDown(config: ScaleDownConfig, deps: ScaleDownDependencies): Promise<ScaleDownSummary> {
  return new Run(config, deps).run();
}

class Run {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly memory: ScaleDownMemory;
  private errors = 0;
  private runnersTerminated = 0;
  private orphansTerminated = 0;
  private ghostsDeregistered = 0;
  private busyAtDelete = 0;
  private configsDeleted = 0;
  private ownersFailed = 0;
  private readonly deferred = { removeIdle: 0, deregisterGhosts: 0, deleteConfigs: 0 };
  private rerun: RerunSummary | undefined;

  constructor(
    private readonly config: ScaleDownConfig,
    private readonly deps: ScaleDownDependencies,
  ) {
    this.log = deps.logger;
    this.now = deps.now ?? Date.now;
    this.memory = deps.memory ?? emptyMemory();
  }

  async run(): Promise<ScaleDownSummary> {
    const callsBefore = this.deps.github.requestCount();
    const configs = await this.listConfigs();
    let instances: RunnerInstance[] = [];
    let runnersByOwner = new Map<string, OwnerRunners>();
    let plan: ScaleDownPlan | undefined;
    let listed = false;
    let relaunch: RelaunchSummary | undefined;
    try {
      instances = await this.deps.ec2.listInstancesByPrefix(this.config.prefix);
      listed = true;
    } catch (error) {
      this.fail('could not list instances; nothing is decided this run', { error });
    }
    if (listed) {
      runnersByOwner = await this.listRunnersByOwner(instances);
      const remembered = orphanSightingsFromTags(instances, this.memory.orphanSightings);
      plan = decide(instances, runnersByOwner, this.now(), this.limits(), { ghosts: this.memory.ghostSightings, orphans: remembered });
      this.memory.ghostSightings = plan.ghostSightings;
      this.memory.orphanSightings = plan.orphanSightings;
      this.memory.ownersWithRunners = this.ownersToRemember(runnersByOwner);
      this.report(plan);
      if (!this.config.dryRun) {
        await this.recordOrphanSightings(plan, instances);
        await this.act(plan);
        relaunch = await this.relaunch(instances, runnersByOwner, plan);
      }
    }
    if (this.deps.rerun && !this.config.dryRun) await this.rerunInterrupted(this.deps.rerun.ledger);
    const stale = plan && configs ? staleRunnerConfigs(configs, instances, this.now(), this.config.runnerBootTimeMinutes * 60_000) : [];
    if (stale.length > 0) {
      if (this.config.dryRun) this.log.info('dry run: would delete runner configs', { count: stale.length, instanceIds: stale.map((s) => s.instanceId) });
      else await this.deleteConfigs(stale.map((s) => s.name));
    }
    const { removeIdle, deregisterGhosts, deleteConfigs } = this.deferred;
    if (removeIdle + deregisterGhosts + deleteConfigs > 0) {
      this.log.warn('deadline near: actions left for the next run', { removeIdle, deregisterGhosts, deleteConfigs, remainingMs: this.remainingMs() });
    }
    return this.summarise(listed, instances, runnersByOwner, plan, stale.length, this.deps.github.requestCount() - callsBefore, relaunch);
  }

  /** Step 5: jobs still queued at GitHub after the boot time get a new launch through their type's queue. */
  private async relaunch(
    instances: readonly RunnerInstance[],
    runnersByOwner: ReadonlyMap<string, OwnerRunners>,
    plan: ScaleDownPlan,
  ): Promise<RelaunchSummary | undefined> {
    const settings = this.deps.relaunch;
    if (!settings) return undefined;
    const removed = new Set(plan.removeIdle.map((r) => r.instanceId));
    const idleRunnersByType = idleOnlineRunnersByType(this.config.prefix, settings.runnerTypes, instances, runnersByOwner, removed);
    const summary = await reconcileJobs(
      {
        idleRunnersByType,
        bootTimeMs: this.config.runnerBootTimeMinutes * 60_000,
        maxAttempts: settings.maxAttempts,
        ...(settings.strandedMinutes !== undefined && { strandedMs: settings.strandedMinutes * 60_000 }),
      },
      {
        ledger: settings.ledger,
        requeue: settings.requeue,
        logger: this.log,
        now: this.now,
        deadline: this.deps.deadline,
        isJobQueued: (job) => this.isJobQueued(job),
      },
    );
    this.errors += summary.errors;
    return summary;
  }

  /** Step 5b: interrupted jobs whose workflow run has completed are re-run, once. */
  private async rerunInterrupted(ledger: RerunLedger): Promise<void> {
    this.rerun = await rerunInterruptedJobs({
      ledger,
      rerunJob: (owner, repo, jobId, installationId) => this.deps.github.forInstallation(installationId).rerunJob(owner, repo, jobId),
      logger: this.log,
      now: this.now,
      deadline: this.deps.deadline,
    });
    this.errors += this.rerun.errors;
  }

  private async isJobQueued(job: AwaitingJob): Promise<boolean | 'unknown'> {
    let message;
    try {
      message = parseJobMessage(job.message);
    } catch (error) {
      this.log.error('job ledger entry holds no valid job message; it cannot be relaunched', { jobId: job.jobId, error });
      return 'unknown';
    }
    return this.deps.github.forInstallation(message.installationId).isJobQueued(message.repositoryOwner, message.repositoryName, message.jobId);
  }

  /**
   * Tags each orphan seen for the first time with the time it was seen, so the
   * next run confirms it even in a fresh container. A failure is logged and
   * counted: the sighting stays in this container's memory.
   */
  private async recordOrphanSightings(plan: ScaleDownPlan, instances: readonly RunnerInstance[]): Promise<void> {
    const live = instances.filter((i) => isLive(i));
    const tagged = new Set(live.filter((i) => (i.tags[RUNNER_TAGS.orphanSeenAt] ?? '') !== '').map((i) => i.instanceId));
    const confirmed = new Set(plan.terminateOrphans.map((o) => o.instanceId));
    const fresh = new Map<string, number | undefined>([...plan.orphanSightings].filter(([id]) => !tagged.has(id) && !confirmed.has(id)));
    // A tagged instance that is no orphan any more (its runner showed up): clear the
    // sighting, or a later listing that skips its runner would count as a second one.
    for (const id of tagged) if (!plan.orphanSightings.has(id)) fresh.set(id, undefined);
    if (fresh.size === 0) return;
    try {
      await this.deps.ec2.markOrphanSightings(fresh);
    } catch (error) {
      this.fail('could not tag first orphan sightings; a cold start will see them again as new', { error, instanceIds: [...fresh.keys()] });
    }
  }

  /** Milliseconds before the deadline; undefined without one. */
  private remainingMs(): number | undefined {
    return this.deps.deadline === undefined ? undefined : this.deps.deadline - this.now();
  }

  /** Whether a GitHub delete or a DeleteParameters call may still start. */
  private mayStart(): boolean {
    const remaining = this.remainingMs();
    return remaining === undefined || remaining >= DEADLINE_MARGIN_MS;
  }

  private limits() {
    return {
      prefix: this.config.prefix,
      minimumRunningTimeMs: this.config.minimumRunningTimeMinutes * 60_000,
      bootTimeMs: this.config.runnerBootTimeMinutes * 60_000,
      bypassTag: this.config.bypassTag,
    };
  }

  private async listConfigs(): Promise<StoredRunnerConfig[] | undefined> {
    try {
      return await this.deps.configs.listRunnerConfigs();
    } catch (error) {
      this.fail('could not list runner configs; housekeeping skipped this run', { error, path: this.config.ssmConfigPath });
      return undefined;
    }
  }

  /** One paginated list per owner; an owner that fails is marked so and does not stop the others. */
  private async listRunnersByOwner(instances: readonly RunnerInstance[]): Promise<Map<string, OwnerRunners>> {
    const owners = [...new Set([...instances.flatMap((i) => (i.owner ? [i.owner] : [])), ...this.memory.ownersWithRunners])].sort();
    const result = new Map<string, OwnerRunners>();
    await mapLimited(owners, CONCURRENCY, async (owner) => {
      const olog = this.log.withKeys({ owner });
      const target = runnerTargetFromOwnerTag(owner);
      if (!target) {
        this.ownersFailed += 1;
        this.fail('instance owner tag is neither an organization nor owner/repo; its instances are left alone', { owner }, olog);
        result.set(owner, { ok: false });
        return;
      }
      try {
        const runners = await (await this.deps.github.forAccount(target.owner)).listRunners(target);
        result.set(owner, { ok: true, target, runners });
      } catch (error) {
        this.ownersFailed += 1;
        this.fail('could not list runners; this owner is skipped this run', { error }, olog);
        result.set(owner, { ok: false });
      }
    });
    return result;
  }

  /** Owners listed fine whose list holds runners of ours, and remembered owners whose listing failed this run. */
  private ownersToRemember(runnersByOwner: ReadonlyMap<string, OwnerRunners>): Set<string> {
    const keep = new Set<string>();
    for (const [owner, listed] of runnersByOwner) {
      if (listed.ok ? listed.runners.some((r) => instanceIdOfRunner(this.config.prefix, r.name) !== undefined) : this.memory.ownersWithRunners.has(owner)) {
        keep.add(owner);
      }
    }
    return keep;
  }

  private report(plan: ScaleDownPlan): void {
    const bypassed = plan.kept.filter((k) => k.reason === 'bypass').map((k) => k.instanceId);
    if (bypassed.length > 0) this.log.info('instances with the bypass tag left alone', { bypassTag: this.config.bypassTag, instanceIds: bypassed });
    const unowned = plan.kept.filter((k) => k.reason === 'no-owner-tag').map((k) => k.instanceId);
    if (unowned.length > 0) this.log.warn('instances without a ghr:owner tag left alone', { instanceIds: unowned });
    const busy = plan.kept.filter((k) => k.reason === 'busy');
    for (const k of busy) this.log.debug('runner busy; kept', { instanceId: k.instanceId, owner: k.owner });
    if (this.config.dryRun) {
      this.log.info('dry run: would act as follows', {
        removeIdle: plan.removeIdle.map((r) => r.instanceId),
        terminateOrphans: plan.terminateOrphans.map((o) => o.instanceId),
        deregisterGhosts: plan.deregisterGhosts.map((g) => g.runnerName),
      });
    }
  }

  private async act(plan: ScaleDownPlan): Promise<void> {
    const toTerminate: { instanceId: string; kind: 'orphan' | 'idle'; owner: string }[] = plan.terminateOrphans.map((o) => {
      this.log.info('orphan instance: no runner registered after boot time, in two runs; terminating', {
        instanceId: o.instanceId,
        owner: o.owner,
        ageSeconds: Math.round(o.ageMs / 1000),
        firstSeenSecondsAgo: Math.round((this.now() - o.firstSeen) / 1000),
      });
      return { instanceId: o.instanceId, kind: 'orphan' as const, owner: o.owner };
    });

    // Idle runners first, and their terminations before any ghost: when time
    // runs short, what GitHub already deleted must still be terminated.
    await mapLimited(plan.removeIdle, CONCURRENCY, async (idle) => {
      if (!this.mayStart()) {
        this.deferred.removeIdle += 1;
        return;
      }
      const ilog = this.log.withKeys({ instanceId: idle.instanceId, owner: idle.owner, runnerId: idle.runnerId });
      const outcome = await this.remove(idle.target, idle.runnerId, ilog);
      if (outcome === 'deleted') {
        ilog.info('idle runner deleted at GitHub; terminating its instance', { ageSeconds: Math.round(idle.ageMs / 1000) });
        toTerminate.push({ instanceId: idle.instanceId, kind: 'idle', owner: idle.owner });
      } else if (outcome === 'busy') {
        this.busyAtDelete += 1;
        ilog.info('runner took a job before it could be deleted (422); instance kept');
      } else if (outcome === 'not-found') {
        ilog.info('runner was already gone at GitHub (404); instance kept until a run sees it unregistered');
      }
    });

    await this.terminate(toTerminate);

    await mapLimited(plan.deregisterGhosts, CONCURRENCY, async (ghost) => {
      if (!this.mayStart()) {
        this.deferred.deregisterGhosts += 1;
        return;
      }
      const glog = this.log.withKeys({ instanceId: ghost.instanceId, owner: ghost.owner, runnerId: ghost.runnerId });
      const outcome = await this.remove(ghost.target, ghost.runnerId, glog);
      if (outcome === 'deleted' || outcome === 'not-found') {
        this.ghostsDeregistered += 1;
        glog.info('ghost runner deregistered', { reason: ghost.reason, runnerName: ghost.runnerName });
      } else if (outcome === 'busy') {
        glog.info('ghost runner reported busy (422); left for a later run');
      }
    });
  }

  /** Delete one runner; undefined when it failed (logged). */
  private async remove(target: RunnerTarget, runnerId: number, log: Logger): Promise<RunnerRemoval | undefined> {
    try {
      return await (await this.deps.github.forAccount(target.owner)).removeRunner(target, runnerId);
    } catch (error) {
      this.fail('could not delete runner at GitHub; retried next run', { error }, log);
      return undefined;
    }
  }

  private async terminate(items: readonly { instanceId: string; kind: 'orphan' | 'idle'; owner: string }[]): Promise<void> {
    if (items.length === 0) return;
    const count = (item: { kind: 'orphan' | 'idle' }) => {
      if (item.kind === 'orphan') this.orphansTerminated += 1;
      else this.runnersTerminated += 1;
    };
    try {
      await this.deps.ec2.terminateRunners(items.map((i) => i.instanceId));
      items.forEach(count);
      return;
    } catch (error) {
      // One instance EC2 refuses (termination protection, say) fails the whole
      // call; try each alone so the others still go.
      this.log.warn('TerminateInstances failed for the batch; terminating one by one', { error, count: items.length });
    }
    for (const item of items) {
      try {
        await this.deps.ec2.terminateRunners([item.instanceId]);
        count(item);
      } catch (error) {
        // An idle runner's registration is already gone (GitHub said 204), so
        // the instance is an orphan for certain: recorded as seen, the next
        // run terminates it without waiting for a second sighting.
        if (item.kind === 'idle' && !this.memory.orphanSightings.has(item.instanceId)) this.memory.orphanSightings.set(item.instanceId, this.now());
        this.fail('could not terminate instance; retried next run', { error, instanceId: item.instanceId, owner: item.owner, kind: item.kind });
      }
    }
  }

  private async deleteConfigs(names: readonly string[]): Promise<void> {
    for (let i = 0; i < names.length; i += DELETE_PARAMETERS_MAX) {
      const batch = names.slice(i, i + DELETE_PARAMETERS_MAX);
      if (this.mayStart()) await this.deps.ssmPacer.take();
      // Checked again after the pacer's wait: that is when the call would start.
      if (!this.mayStart()) {
        this.deferred.deleteConfigs = names.length - i;
        break;
      }
      try {
        const out = await this.deps.configs.deleteRunnerConfigs(batch);
        this.configsDeleted += out.deleted.length;
      } catch (error) {
        this.fail('could not delete runner configs; retried next run', { error, count: batch.length });
      }
    }
    if (this.configsDeleted > 0) this.log.info('stale runner configs deleted', { count: this.configsDeleted });
  }

  private fail(message: string, fields: Record<string, unknown>, log: Logger = this.log): void {
    this.errors += 1;
    log.error(message, fields);
  }

  private summarise(
    instancesListed: boolean,
    instances: readonly RunnerInstance[],
    runnersByOwner: ReadonlyMap<string, OwnerRunners>,
    plan: ScaleDownPlan | undefined,
    staleConfigs: number,
    gitHubApiCalls: number,
    relaunch: RelaunchSummary | undefined,
  ): ScaleDownSummary {
    const kept = Object.fromEntries(KEEP_REASONS.map((r) => [r, 0])) as Record<KeepReason, number>;
    for (const k of plan?.kept ?? []) kept[k.reason] += 1;
    const summary: ScaleDownSummary = {
      dryRun: this.config.dryRun,
      instancesListed,
      liveInstances: instances.filter(isLive).length,
      owners: runnersByOwner.size,
      ownersFailed: this.ownersFailed,
      runnersTerminated: this.runnersTerminated,
      orphansTerminated: this.orphansTerminated,
      ghostsDeregistered: this.ghostsDeregistered,
      busyRunnersKept: kept.busy + this.busyAtDelete,
      kept,
      configsDeleted: this.configsDeleted,
      errors: this.errors,
      gitHubApiCalls,
      planned: {
        removeIdle: plan?.removeIdle.length ?? 0,
        terminateOrphans: plan?.terminateOrphans.length ?? 0,
        deregisterGhosts: plan?.deregisterGhosts.length ?? 0,
        deleteConfigs: staleConfigs,
      },
      deferred: { ...this.deferred },
      ...(relaunch && { relaunch }),
      ...(this.rerun && { rerun: this.rerun }),
    };
    this.log.info('scale-down summary', { ...summary });
    this.log.metrics(
      this.config.metricsNamespace,
      { Function: METRIC_FUNCTIONS.scaleDown },
      {
        RunnersTerminated: { value: summary.runnersTerminated, unit: 'Count' },
        OrphansTerminated: { value: summary.orphansTerminated, unit: 'Count' },
        GhostsDeregistered: { value: summary.ghostsDeregistered, unit: 'Count' },
        BusyRunnersKept: { value: summary.busyRunnersKept, unit: 'Count' },
        GitHubApiCalls: { value: summary.gitHubApiCalls, unit: 'Count' },
        RunnerConfigsDeleted: { value: summary.configsDeleted, unit: 'Count' },
        ScaleDownErrors: { value: summary.errors, unit: 'Count' },
        ActionsDeferred: { value: summary.deferred.removeIdle + summary.deferred.deregisterGhosts + summary.deferred.deleteConfigs, unit: 'Count' },
        ...(relaunch && {
          JobsRelaunched: { value: relaunch.relaunched + relaunch.resent, unit: 'Count' as const },
          JobsGivenUp: { value: relaunch.givenUp, unit: 'Count' as const },
          JobsWaitingForRunner: { value: relaunch.stillQueued, unit: 'Count' as const },
          JobsStranded: { value: relaunch.stranded, unit: 'Count' as const },
        }),
        ...(this.rerun && {
          JobsRerun: { value: this.rerun.rerun, unit: 'Count' as const },
          JobRerunsGivenUp: { value: this.rerun.givenUp, unit: 'Count' as const },
        }),
      },
    );
    return summary;
  }
}


/**
 * The orphan sightings to judge by: this container's memory, plus the
 * `ghr:orphan-seen-at` tags earlier runs (in any container) put on the
 * instances; the earlier of the two wins. An unparsable tag is ignored.
 */
export function orphanSightingsFromTags(instances: readonly RunnerInstance[], memory: ReadonlyMap<string, number>): Map<string, number> {
  const sightings = new Map(memory);
  for (const instance of instances) {
    const at = Date.parse(instance.tags[RUNNER_TAGS.orphanSeenAt] ?? '');
    if (Number.isNaN(at)) continue;
    const known = sightings.get(instance.instanceId);
    sightings.set(instance.instanceId, known === undefined ? at : Math.min(known, at));
  }
  return sightings;
}

/**
 * Per runner type, the live instances whose runner is online and not busy,
 * leaving out those this run removes: the runners GitHub can hand a queued job to.
 */
export function idleOnlineRunnersByType(
  prefix: string,
  runnerTypes: readonly string[],
  instances: readonly RunnerInstance[],
  runnersByOwner: ReadonlyMap<string, OwnerRunners>,
  removed: ReadonlySet<string>,
): Map<string, number> {
  const counts = new Map(runnerTypes.map((t) => [t, 0]));
  for (const instance of instances) {
    if (!isLive(instance) || removed.has(instance.instanceId) || !instance.runnerType || !counts.has(instance.runnerType) || !instance.owner) continue;
    const listed = runnersByOwner.get(instance.owner);
    if (!listed?.ok) continue;
    const name = `${prefix}-${instance.instanceId}`;
    if (listed.runners.some((r) => r.name === name && r.status === 'online' && !r.busy)) counts.set(instance.runnerType, (counts.get(instance.runnerType) ?? 0) + 1);
  }
  return counts;
}
