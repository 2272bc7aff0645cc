/**
 * How a runner type launches: the settings a {@link RunnerTypeLaunchConfig}
 * (modules/contract/runner-types.ts; scale-up's RUNNER_TYPE_CONFIG, one
 * type, and the warm pool's RUNNER_TYPES_CONFIG, every pooled type) becomes.
 */
import type { CapacityType, RunnerTypeLaunchConfig } from '../../../modules/contract/runner-types';

/** The launch settings of one runner type. */
export interface RunnerTypeSettings {
  /** Labels registered on each runner. */
  readonly labels: readonly string[];
  readonly launchTemplateId: string;
  /** @default "$Latest" */
  readonly launchTemplateVersion: string;
  readonly instanceTypes: readonly string[];
  readonly subnetIds: readonly string[];
  readonly capacityType: CapacityType;
  /** Spot allocation strategy. @default "price-capacity-optimized" */
  readonly allocationStrategy: string;
  /** Most runners of this type alive at once; -1 for no limit. */
  readonly maximumCount: number;
  /** CreateFleet error codes after which a spot shortfall is launched on demand. @default [] */
  readonly onDemandFailoverErrors: readonly string[];
}

/**
 * The settings of one runner type from its JSON, with the defaults filled in.
 */
export function runnerTypeSettingsOf(raw: RunnerTypeLaunchConfig): RunnerTypeSettings {
  return {
    labels: raw.labels,
    launchTemplateId: raw.launch_template_id,
    launchTemplateVersion: raw.launch_template_version ?? '$Latest',
    instanceTypes: raw.instance_types,
    subnetIds: raw.subnet_ids,
    capacityType: raw.instance_target_capacity_type,
    allocationStrategy: raw.instance_allocation_strategy ?? 'price-capacity-optimized',
    maximumCount: raw.runners_maximum_count,
    onDemandFailoverErrors: raw.enable_on_demand_failover_for_errors ?? [],
  };
}
