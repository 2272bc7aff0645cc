/**
 * Scale-up's step f (issue #15 item 1): serve the runner API's requests
 * (contract/api-runner.ts RunnerRequestMessage) after the batch's jobs and
 * before a pool top-up, within the cap the jobs left.
 *
 * Per requested runner (name `ghr-api-<run id>-<attempt>-<index>`):
 * - its record (shared/aws/api-runner-records.ts) must exist and have no
 *   instance yet, and its idle deadline must not have passed: otherwise it is
 *   launched already, or was given up; nothing is launched;
 * - a live instance tagged with its name also counts as launched (the record
 *   update may have failed after a launch);
 * - within runners_maximum_count, one CreateFleet of one instance tagged
 *   `ghr:api-runner = <name>` and `ghr:idle-deadline = <ISO time>`, then a JIT
 *   registration with the type's labels and the name as one more label, then
 *   the record is marked launched.
 * Runners that do not fit under the cap, or fail, send the message back to
 * the queue (the ones launched are skipped on its next delivery); one whose
 * registration fails is terminated.
 *
 * The fleet's ClientToken names the runner and this delivery (a random
 * nonce): the record is the launch-once guard, and scale-up, reserved
 * concurrency 1, is the only launcher of the type, so no second invocation
 * races it. A token that repeated across deliveries would hand a retry the
 * instance terminated after a failed registration.
 */
import { createHash, randomUUID } from 'node:crypto';
import { apiRunnerName, type RunnerRequestMessage } from '../../modules/contract/api-runner';
import { RUNNER_TAGS } from '../../modules/contract/tags';
import type { ApiRunnerRecords } from '../shared/aws/api-runner-records';
import type { Ec2Runners, LaunchedInstance } from '../shared/aws/ec2-runners';
import type { RunnerConfigStore } from '../shared/aws/jit-config-store';
import type { GitHubAppApi } from '../shared/github/runners';
import type { Logger } from '../shared/logger';
import { type RunnerTarget, isLiveState, ownerTagOf } from '../shared/runners/identity';
import { launchFleet, terminateUnregistered } from '../shared/runners/launch-fleet';
import { mapLimited } from '../shared/concurrency';
import { createRunnerRegistrar, registrationSettings, resolveRunnerGroupId } from '../shared/runners/register-runner';
import type { ScaleUpConfig } from './config';

export interface RunnerRequestDependencies {
  readonly ec2: Ec2Runners;
  readonly github: GitHubAppApi;
  readonly configStore: RunnerConfigStore;
  readonly records: ApiRunnerRecords;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A request and the message that carried it. */
export interface QueuedRunnerRequest {
  readonly messageId: string;
  readonly request: RunnerRequestMessage;
}

export interface RunnerRequestResult {
  /** Messages to return to the queue. */
  readonly retry: string[];
  /** Runners launched and registered. */
  readonly launched: { readonly name: string; readonly instanceId: string; readonly lifecycle: LaunchedInstance['lifecycle'] }[];
  /** Runners waiting for a free slot under runners_maximum_count. */
  readonly deferredByCap: number;
}

/**
 * Serve `requests`. `launchedThisBatch` counts the runners the batch's jobs
 * just launched, which EC2 may not list yet. Never throws for one runner's
 * failure: its message is retried.
 */
export async function serveRunnerRequests(
  requests: readonly QueuedRunnerRequest[],
  config: ScaleUpConfig,
  deps: RunnerRequestDependencies,
  launchedThisBatch: readonly string[],
): Promise<RunnerRequestResult> {
  const log = deps.logger.withKeys({ runnerType: config.runnerType });
  const now = (deps.now ?? Date.now)();
  const retry = new Set<string>();
  const launched: RunnerRequestResult['launched'] = [];
  let deferredByCap = 0;

  let instances;
  try {
    instances = await deps.ec2.listInstancesByPrefix(config.prefix, ['pending', 'running']);
  } catch (error) {
    log.error('could not list instances; runner requests go back to the queue', { error });
    return { retry: requests.map((r) => r.messageId), launched, deferredByCap };
  }
  const ofType = instances.filter((i) => i.runnerType === config.runnerType && isLiveState(i.state));
  const liveNames = new Set(ofType.map((i) => i.tags[RUNNER_TAGS.apiRunner]).filter((n): n is string => !!n));
  const active = new Set([...ofType.map((i) => i.instanceId), ...launchedThisBatch]).size;
  const max = config.runnerTypeSettings.maximumCount;
  let capacity = max < 0 ? Infinity : Math.max(0, max - active);

  for (const { messageId, request } of requests) {
    const rlog = log.withKeys({ messageId, runId: request.runId, runAttempt: request.runAttempt });
    if (Date.parse(request.idleDeadline) <= now) {
      rlog.info('runner request past its idle deadline; acknowledged without launching');
      continue;
    }
    const names = request.indexes.map((i) => apiRunnerName(request.runId, request.runAttempt, i));
    const todo: string[] = [];
    for (const name of names) {
      if (liveNames.has(name)) continue;
      try {
        const record = await deps.records.get(name);
        if (!record) rlog.warn('no record for the requested runner; not launched', { name });
        else if (record.instanceId === undefined) todo.push(name);
      } catch (error) {
        rlog.error('could not read the runner record; retrying the request', { error, name });
        retry.add(messageId);
      }
    }
    const fits = todo.slice(0, Number.isFinite(capacity) ? capacity : todo.length);
    if (fits.length < todo.length) {
      deferredByCap += todo.length - fits.length;
      retry.add(messageId);
      rlog.info('runner request deferred by runners_maximum_count', { deferred: todo.length - fits.length, maximum: max });
    }
    if (fits.length === 0) continue;
    capacity -= fits.length;
    const ok = await launchRequested(request, fits, config, deps, rlog, launched);
    if (!ok) retry.add(messageId);
  }
  return { retry: [...retry], launched, deferredByCap };
}

/** Launch and register `names`; false when any of them failed. */
async function launchRequested(
  request: RunnerRequestMessage,
  names: readonly string[],
  config: ScaleUpConfig,
  deps: RunnerRequestDependencies,
  log: Logger,
  launched: RunnerRequestResult['launched'],
): Promise<boolean> {
  const settings = config.runnerTypeSettings;
  const where: RunnerTarget = config.organizationRunners
    ? { level: 'org', owner: request.repositoryOwner }
    : { level: 'repo', owner: request.repositoryOwner, repo: request.repositoryName };
  const target = { ...where, ownerTag: ownerTagOf(where) };
  const github = deps.github.forInstallation(request.installationId);
  let runnerGroupId: number | undefined;
  try {
    runnerGroupId = await resolveRunnerGroupId(github, target, config);
  } catch (error) {
    log.error('could not resolve the runner group; retrying the request', { error });
    return false;
  }
  const registrar = createRunnerRegistrar({
    github,
    configStore: deps.configStore,
    target,
    settings: registrationSettings(config, settings.labels),
    runnerGroupId,
  });
  const nonce = randomUUID();
  const results = await mapLimited(names, 10, async (name) => {
    const nlog = log.withKeys({ apiRunner: name });
    let instance: LaunchedInstance | undefined;
    try {
      const launch = await launchFleet(
        deps.ec2,
        {
          prefix: config.prefix,
          runnerType: config.runnerType,
          owner: target.ownerTag,
          count: 1,
          settings,
          clientToken: (capacityType) => createHash('sha256').update([config.prefix, config.runnerType, capacityType, name, nonce].join('\n')).digest('hex'),
          dryRun: config.dryRun,
          createdBy: 'runner-api',
          extraTags: { [RUNNER_TAGS.apiRunner]: name, [RUNNER_TAGS.idleDeadline]: new Date(Date.parse(request.idleDeadline)).toISOString() },
        },
        nlog,
      );
      if (launch.dryRun) {
        nlog.info('dry run: EC2 accepted the fleet request; nothing launched');
        return true;
      }
      instance = launch.instances[0];
      if (!instance) {
        nlog.warn('CreateFleet launched nothing for the requested runner; retrying');
        return false;
      }
      await terminateUnregistered(deps.ec2, launch.instances.slice(1).map((i) => i.instanceId), nlog);
      await registrar.register(instance.instanceId, nlog.withKeys({ instanceId: instance.instanceId }), [name]);
    } catch (error) {
      nlog.error('could not launch or register the requested runner; retrying', { error });
      if (instance) await terminateUnregistered(deps.ec2, [instance.instanceId], nlog);
      return false;
    }
    launched.push({ name, instanceId: instance.instanceId, lifecycle: instance.lifecycle });
    nlog.info('API runner launched', { instanceId: instance.instanceId, lifecycle: instance.lifecycle });
    try {
      await deps.records.markLaunched(name, instance.instanceId);
    } catch (error) {
      // The instance's name tag still keeps a redelivery from launching it again while it lives.
      nlog.error('could not record the launch', { error, instanceId: instance.instanceId });
    }
    return true;
  });
  return results.every(Boolean);
}
