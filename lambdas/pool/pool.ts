/**
 * Warm pool for one runner type: keep `size` idle runners of the pool's owner
 * while a schedule window is open. EventBridge Scheduler invokes the pool
 * function on the window's schedule.
 *
 * One launcher per type (issue #11 item 5). The pool function launches
 * nothing itself: {@link requestTopUp} puts a pool top-up message on the
 * type's job queue, and the type's scale-up function (reserved concurrency 1,
 * the only one that launches runners of the type) runs {@link topUpPool}
 * after the jobs of its batch. The pool and a burst of jobs therefore count
 * the same instances one after the other and cannot both fill the same free
 * slots of runners_maximum_count.
 *
 * {@link topUpPool}, per top-up:
 * a. List the type's live instances (one paginated DescribeInstances, plus the
 *    ones the caller launched a moment ago) and the owner's runners at GitHub
 *    (once, paginated).
 * b. Count the ready runners (planPool) and decide how many to launch, within
 *    runners_maximum_count.
 * c. Launch them with the shared fleet launcher (failover to on demand as
 *    configured), named by a ClientToken derived from the scheduled time, so
 *    a second delivery of the same tick gets the same fleet.
 * d. Register each instance (JIT config or registration token in SSM) with
 *    the shared registrar; terminate every instance whose registration failed.
 *
 * Pool runners serve whatever job GitHub gives them: no job ids, no locks, no
 * job-id tags. Scale-down treats them like any other idle runner once they
 * outlive its minimum running time, so a window's schedule has to run often
 * enough (every few minutes) to keep the pool topped up.
 */
import type { ActiveRunner, Ec2Runners } from '../shared/aws/ec2-runners';
import type { RunnerConfigStore } from '../shared/aws/jit-config-store';
import type { GitHubAppApi, GitHubRunner } from '../shared/github/runners';
import type { Logger } from '../shared/logger';
import { launchFleet, terminateUnregistered } from '../shared/runners/launch-fleet';
import { mapLimited } from '../shared/concurrency';
import { createRunnerRegistrar, registrationSettings, resolveRunnerGroupId } from '../shared/runners/register-runner';
import { type PoolTopUpMessage } from '../../modules/contract/job-message';
import type { PoolConfig } from './config';
import { type PoolEvent, planPool, poolClientToken } from './plan';

/** The adapters the pool drives. */
export interface PoolDependencies {
  readonly ec2: Ec2Runners;
  readonly github: GitHubAppApi;
  readonly configStore: RunnerConfigStore;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Options of {@link topUpPool}. */
export interface TopUpOptions {
  /**
   * Instances the caller launched in this invocation (scale-up's runners for
   * the batch's jobs): they count against runners_maximum_count even when
   * DescribeInstances does not list them yet. @default none
   */
  readonly alsoActive?: readonly ActiveRunner[];
}

/** What one invocation did. */
export interface PoolResult {
  readonly runnerType: string;
  /** Ready runners before launching (idle and online, or booting). */
  readonly ready: number;
  /** Runners the plan asked for. */
  readonly requested: number;
  /** Instances launched and registered. */
  readonly launched: number;
  /** Instances launched whose registration failed (terminated). */
  readonly failed: number;
  /** Instances launched on demand after a spot shortfall. */
  readonly onDemandFallbacks: number;
  readonly dryRun: boolean;
}

/** In-flight registrations (GitHub writes are paced separately by the adapter). */
const CONCURRENCY = 10;

/**
 * Top up the pool of `event.runnerType`. Throws when it fails before anything
 * was launched (EC2 or GitHub unreachable, App not installed on the owner,
 * runner group missing, CreateFleet refused): nothing changed, and the error
 * alarm should know. Nothing retries it: the next tick does the same work.
 *
 * Once CreateFleet has answered it does not throw. A retry of the same
 * invocation would send the same ClientToken, get the same (by then
 * terminated) instances back from EC2, and register runners for dead
 * instances: it cannot help. Registration failures are logged as errors and
 * counted (PoolRunnersFailed); the next scheduled invocation, with a fresh
 * token, tops the pool up again.
 */
export async function topUpPool(event: PoolEvent, config: PoolConfig, deps: PoolDependencies, options: TopUpOptions = {}): Promise<PoolResult> {
  const { runnerType, size, scheduledTime } = event;
  const settings = config.runnerTypes[runnerType];
  const { target } = config;
  // loadPoolConfig requires the owner whenever a type has a pool, and events name pooled types only.
  if (!target) throw new Error(`runner type "${runnerType}" has a pool but POOL_RUNNER_OWNER is not set`);
  const log = deps.logger.withKeys({ runnerType, scheduledTime, owner: target.ownerTag });
  const now = (deps.now ?? Date.now)();

  const listed = await deps.ec2.listActiveRunners({ prefix: config.prefix, runnerType });
  // DescribeInstances is eventually consistent: what the caller launched a moment ago counts whether or not EC2 lists it yet.
  const listedIds = new Set(listed.map((r) => r.instanceId));
  const active = [...listed, ...(options.alsoActive ?? []).filter((r) => !listedIds.has(r.instanceId))];
  const github = await deps.github.forAccount(target.owner);
  const runners = new Map<string, GitHubRunner>();
  for (const r of await github.listRunners(target)) runners.set(r.name, r);

  const plan = planPool({
    prefix: config.prefix,
    owner: target.ownerTag,
    size,
    active,
    runners,
    maximumCount: settings.maximumCount,
    bootTimeMs: config.runnerBootTimeMinutes * 60_000,
    now,
  });
  const planLog = { size, active: active.length, maximum: settings.maximumCount, ...plan, capacity: Number.isFinite(plan.capacity) ? plan.capacity : -1 };
  const result = (launched: number, failed: number, onDemandFallbacks: number): PoolResult => {
    log.metrics(
      config.metricsNamespace,
      { RunnerType: runnerType },
      {
        PoolRunnersReady: { value: plan.ready, unit: 'Count' },
        PoolRunnersLaunched: { value: launched, unit: 'Count' },
        PoolRunnersFailed: { value: failed, unit: 'Count' },
      },
    );
    return { runnerType, ready: plan.ready, requested: plan.toLaunch, launched, failed, onDemandFallbacks, dryRun: config.dryRun };
  };

  if (plan.toLaunch <= 0) {
    const reason = plan.ready >= size ? 'the pool is full' : 'runners_maximum_count reached';
    log.info(`nothing to launch: ${reason}`, planLog);
    return result(0, 0, 0);
  }
  log.info(config.dryRun ? 'dry run: would top up the pool' : 'topping up the pool', planLog);

  // A read, so a dry run checks it too; before launching, so a missing group launches nothing.
  const runnerGroupId = await resolveRunnerGroupId(github, target, config);
  const launch = await launchFleet(
    deps.ec2,
    {
      prefix: config.prefix,
      runnerType,
      owner: target.ownerTag,
      count: plan.toLaunch,
      settings,
      clientToken: (capacityType, _offset, count) => poolClientToken({ prefix: config.prefix, runnerType, scheduledTime, capacityType, count }),
      dryRun: config.dryRun,
      createdBy: 'pool',
    },
    log,
  );
  if (launch.dryRun) {
    log.info('dry run: EC2 accepted the fleet request; nothing launched or registered', { requested: plan.toLaunch, capacityType: settings.capacityType });
    return result(0, 0, 0);
  }

  const registrar = createRunnerRegistrar({
    github,
    configStore: deps.configStore,
    target,
    settings: registrationSettings(config, settings.labels),
    runnerGroupId,
  });
  const failedIds: string[] = [];
  let launched = 0;
  await mapLimited(launch.instances, CONCURRENCY, async (instance) => {
    const ilog = log.withKeys({ instanceId: instance.instanceId });
    try {
      await registrar.register(instance.instanceId, ilog);
      launched += 1;
      ilog.info('pool runner launched', { lifecycle: instance.lifecycle, instanceType: instance.instanceType });
    } catch (error) {
      if (isRunnerNameTaken(error)) {
        // A concurrent delivery of this invocation sent the same ClientToken,
        // got the same instances, and registered this one first. It is that
        // delivery's runner: terminating it would empty the pool.
        ilog.info('runner already registered by another delivery of this invocation');
        return;
      }
      ilog.error('registration failed; terminating the instance', { error });
      failedIds.push(instance.instanceId);
    }
  });
  await terminateUnregistered(deps.ec2, failedIds, log);

  if (launch.instances.length === 0) {
    log.error('CreateFleet launched nothing', { requested: plan.toLaunch, errorCodes: [...new Set(launch.errors.map((e) => e.code))] });
  } else if (launched === 0) {
    log.error('no pool runner could be registered; the next scheduled invocation tries again', { failed: failedIds.length });
  }
  return result(launched, failedIds.length, launch.onDemandFallbacks);
}

/**
 * GitHub's 409 to a JIT config request: a runner with this name exists. Runner
 * names carry the instance id, and the instance was launched by this
 * invocation's ClientToken, so only another delivery of it can have registered it.
 */
function isRunnerNameTaken(error: unknown): boolean {
  return (error as { status?: number }).status === 409;
}

/** Sends a message to a runner type's job queue. */
export interface TopUpQueue {
  send(queueUrl: string, body: string): Promise<void>;
}

/** What the pool function drives. */
export interface RequestTopUpDependencies {
  readonly queue: TopUpQueue;
  readonly logger: Logger;
}

/** What one tick did. */
export interface TopUpRequest {
  readonly runnerType: string;
  readonly size: number;
  /** The type's job queue the top-up went to. */
  readonly queueUrl: string;
  readonly dryRun: boolean;
}

/**
 * The pool function's whole job: put the tick's top-up on the type's job
 * queue for scale-up. Throws when the owner is not set or the send fails, so
 * the function's error alarm fires; nothing retries it (the next tick asks again).
 */
export async function requestTopUp(event: PoolEvent, config: PoolConfig, deps: RequestTopUpDependencies): Promise<TopUpRequest> {
  const { runnerType, size, scheduledTime } = event;
  const { target } = config;
  if (!target) throw new Error(`runner type "${runnerType}" has a pool but POOL_RUNNER_OWNER is not set`);
  const queueUrl = config.queueUrls[runnerType];
  // loadPoolConfig requires a queue for every pooled type, and events name pooled types only.
  if (!queueUrl) throw new Error(`runner type "${runnerType}" has a pool but JOB_QUEUE_URLS names no queue for it`);
  const message: PoolTopUpMessage = { version: 1, kind: 'pool-top-up', runnerType, owner: target.ownerTag, size, scheduledTime };
  await deps.queue.send(queueUrl, JSON.stringify(message));
  deps.logger.info('pool top-up sent to the runner type\'s queue', { runnerType, size, scheduledTime, owner: target.ownerTag });
  return { runnerType, size, queueUrl, dryRun: config.dryRun };
}
