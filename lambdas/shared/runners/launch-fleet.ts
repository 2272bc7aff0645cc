/**
 * Launch runner instances of one runner type for one owner: one CreateFleet,
 * and, when a spot fleet comes up short for a reason listed in
 * `enable_on_demand_failover_for_errors`, a second on-demand one for the
 * shortfall. Knows nothing of jobs: scale-up and the warm pool both use it,
 * each naming its fleets (ClientToken) its own way.
 */
import type { Ec2Runners, FleetError, LaunchedInstance, LaunchRunnersRequest } from '../aws/ec2-runners';
import type { CapacityType } from './identity';
import type { Logger } from '../logger';

/** What a runner type says about launching (RUNNER_TYPE_CONFIG, parsed). */
export interface FleetSettings {
  readonly launchTemplateId: string;
  readonly launchTemplateVersion: string;
  readonly instanceTypes: readonly string[];
  readonly subnetIds: readonly string[];
  readonly capacityType: CapacityType;
  /** Spot allocation strategy. */
  readonly allocationStrategy: string;
  /** CreateFleet error codes after which a spot shortfall is launched on demand. */
  readonly onDemandFailoverErrors: readonly string[];
}

/** One launch of `count` runners. */
export interface LaunchFleetRequest {
  readonly prefix: string;
  readonly runnerType: string;
  /** `ghr:owner` of every instance. */
  readonly owner: string;
  readonly count: number;
  readonly settings: FleetSettings;
  /**
   * ClientToken of a CreateFleet call that asks for `count` instances of
   * `capacityType`, standing for the requested runners `offset` to
   * `offset + count - 1` (the first call: 0 to count - 1; the on-demand
   * failover: the shortfall after the launched ones). At most 64 characters.
   */
  readonly clientToken: (capacityType: CapacityType, offset: number, count: number) => string;
  readonly dryRun: boolean;
  /** `ghr:created-by`. @default "scale-up" */
  readonly createdBy?: string;
  /** More instance tags. @default none */
  readonly extraTags?: Readonly<Record<string, string>>;
}

/** What a launch did. */
export interface LaunchFleetResult {
  /** Every instance started, first fleet first. */
  readonly instances: LaunchedInstance[];
  /** Instances launched on demand after a spot shortfall. */
  readonly onDemandFallbacks: number;
  /** Capacity errors EC2 reported, from both calls. */
  readonly errors: FleetError[];
  /** True when this was a dry run EC2 would have accepted (no instances). */
  readonly dryRun: boolean;
}

/**
 * Launch `request.count` runners. Throws what the first CreateFleet throws
 * (nothing was launched then; throttling arrives here after the SDK's own
 * retries). A failed on-demand failover is logged, not thrown: the first
 * fleet's instances exist and must still be registered or terminated.
 */
export async function launchFleet(ec2: Ec2Runners, request: LaunchFleetRequest, log: Logger): Promise<LaunchFleetResult> {
  const { settings } = request;
  const call = (count: number, capacityType: CapacityType, offset: number): LaunchRunnersRequest => ({
    prefix: request.prefix,
    runnerType: request.runnerType,
    owner: request.owner,
    count,
    launchTemplateId: settings.launchTemplateId,
    launchTemplateVersion: settings.launchTemplateVersion,
    subnetIds: settings.subnetIds,
    instanceTypes: settings.instanceTypes,
    capacityType,
    spotAllocationStrategy: settings.allocationStrategy,
    clientToken: request.clientToken(capacityType, offset, count),
    dryRun: request.dryRun,
    ...(request.createdBy === undefined ? {} : { createdBy: request.createdBy }),
    ...(request.extraTags === undefined ? {} : { extraTags: request.extraTags }),
  });

  const first = await ec2.launchRunners(call(request.count, settings.capacityType, 0));
  if (first.dryRun) return { instances: [], onDemandFallbacks: 0, errors: [], dryRun: true };

  const instances = [...first.instances];
  const errors = [...first.errors];
  let onDemandFallbacks = 0;
  const shortfall = onDemandShortfall({
    capacityType: settings.capacityType,
    requested: request.count,
    launched: instances.length,
    errors: first.errors,
    failoverErrorCodes: settings.onDemandFailoverErrors,
  });
  if (shortfall > 0) {
    log.warn('spot fleet came up short; launching the rest on demand', { shortfall, errorCodes: unique(first.errors.map((e) => e.code)) });
    try {
      const second = await ec2.launchRunners(call(shortfall, 'on-demand', instances.length));
      instances.push(...second.instances);
      errors.push(...second.errors);
      onDemandFallbacks = second.instances.length;
      if (second.instances.length < shortfall) log.warn('on-demand fallback came up short', { errorCodes: unique(second.errors.map((e) => e.code)) });
    } catch (error) {
      log.error('on-demand fallback failed', { error, shortfall });
    }
  } else if (instances.length < request.count) {
    log.warn('fleet came up short', { requested: request.count, launched: instances.length, errorCodes: unique(first.errors.map((e) => e.code)) });
  }
  return { instances, onDemandFallbacks, errors, dryRun: false };
}

/** Inputs of {@link onDemandShortfall}. */
export interface ShortfallInput {
  readonly capacityType: CapacityType;
  readonly requested: number;
  readonly launched: number;
  readonly errors: readonly FleetError[];
  /** enable_on_demand_failover_for_errors. */
  readonly failoverErrorCodes: readonly string[];
}

/** Instances to launch on demand after a spot fleet came up short for a listed reason; 0 otherwise. */
export function onDemandShortfall(input: ShortfallInput): number {
  if (input.capacityType !== 'spot' || input.launched >= input.requested) return 0;
  const listed = new Set(input.failoverErrorCodes);
  return input.errors.some((e) => listed.has(e.code)) ? input.requested - input.launched : 0;
}

/** Instance ids to terminate because they will never run a registered runner; a failure is logged (scale-down reaps them as orphans). */
export async function terminateUnregistered(ec2: Ec2Runners, instanceIds: readonly string[], log: Logger): Promise<void> {
  if (instanceIds.length === 0) return;
  try {
    await ec2.terminateRunners(instanceIds);
  } catch (error) {
    // Tagged and unregistered, they are what scale-down reaps as orphans.
    log.error('could not terminate unregistered instances', { error, instanceIds });
  }
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
