/**
 * How a runner type launches, as the constructs hand it to the Lambdas that
 * launch runners (scale-up: RUNNER_TYPE_CONFIG, one type; the warm pool:
 * RUNNER_TYPES_CONFIG, every type): the JSON shape, its checks, and the
 * settings it becomes.
 */
import type { CapacityType } from '../aws/ec2-runners';

const SPOT_ALLOCATION_STRATEGIES = ['price-capacity-optimized', 'capacity-optimized', 'capacity-optimized-prioritized', 'diversified', 'lowest-price'];

/** RUNNER_TYPE_CONFIG as the construct writes it (snake_case JSON). */
export interface RunnerTypeConfigJson {
  readonly labels: string[];
  readonly launch_template_id: string;
  readonly launch_template_version?: string;
  readonly instance_types: string[];
  readonly subnet_ids: string[];
  readonly instance_target_capacity_type: CapacityType;
  readonly instance_allocation_strategy?: string;
  readonly runners_maximum_count: number;
  readonly enable_on_demand_failover_for_errors?: string[];
}

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

/** Problems with a parsed RUNNER_TYPE_CONFIG, empty when it is well formed. */
export function validateRunnerTypeConfig(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['must be a JSON object'];
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  const nonEmptyStrings = (key: string) => {
    const list = v[key];
    if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s !== '')) {
      problems.push(`${key} must be a non-empty list of strings, got ${JSON.stringify(list)}`);
    }
  };
  nonEmptyStrings('labels');
  nonEmptyStrings('instance_types');
  nonEmptyStrings('subnet_ids');
  if (typeof v.launch_template_id !== 'string' || v.launch_template_id === '') problems.push('launch_template_id must be a non-empty string');
  if (v.launch_template_version !== undefined && (typeof v.launch_template_version !== 'string' || v.launch_template_version === '')) {
    problems.push(`launch_template_version must be a non-empty string, got ${JSON.stringify(v.launch_template_version)}`);
  }
  if (v.instance_target_capacity_type !== 'spot' && v.instance_target_capacity_type !== 'on-demand') {
    problems.push(`instance_target_capacity_type must be "spot" or "on-demand", got ${JSON.stringify(v.instance_target_capacity_type)}`);
  }
  if (v.instance_allocation_strategy !== undefined && !SPOT_ALLOCATION_STRATEGIES.includes(v.instance_allocation_strategy as string)) {
    problems.push(`instance_allocation_strategy must be one of ${SPOT_ALLOCATION_STRATEGIES.join(', ')}, got ${JSON.stringify(v.instance_allocation_strategy)}`);
  }
  if (!Number.isSafeInteger(v.runners_maximum_count) || (v.runners_maximum_count as number) < -1) {
    problems.push(`runners_maximum_count must be an integer ≥ -1 (-1 = unlimited), got ${JSON.stringify(v.runners_maximum_count)}`);
  }
  const failover = v.enable_on_demand_failover_for_errors;
  if (failover !== undefined && (!Array.isArray(failover) || !failover.every((s) => typeof s === 'string'))) {
    problems.push(`enable_on_demand_failover_for_errors must be a list of strings, got ${JSON.stringify(failover)}`);
  }
  return problems;
}

/**
 * The settings of one runner type from its JSON, with the defaults filled in.
 */
export function runnerTypeSettingsOf(raw: RunnerTypeConfigJson): RunnerTypeSettings {
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
