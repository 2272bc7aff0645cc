/**
 * The runner-type configs the constructs hand to the Lambdas as JSON: the
 * webhook's routing table and the launch settings of scale-up (one type) and
 * the warm pool (every pooled type), with one validator each. The constructs
 * build them with `jsonencode` from the same map that drives the per-type
 * resources, typed against these shapes (`satisfies`).
 *
 * No imports: lambdas/ bundles this file, and the npm package compiles it
 * with modules/.
 */

/** Operating systems a runner type may run (`runner_os`); "linux" is the default. */
export const RUNNER_OS = ['linux', 'windows'] as const;
export type RunnerOs = (typeof RUNNER_OS)[number];

/** The architectures each operating system runs on here: Windows Server AMIs are x64 (AWS publishes no arm64 Windows Server AMI). */
export const RUNNER_OS_ARCHITECTURES: Readonly<Record<RunnerOs, readonly string[]>> = { linux: ['x64', 'arm64'], windows: ['x64'] };

/** Operating systems that are recognised but not built yet, with why (macOS needs EC2 Mac dedicated hosts, issue #16). */
export const UNSUPPORTED_RUNNER_OS: Readonly<Record<string, string>> = {
  osx: 'macOS runners (runner_os = "osx") are not supported yet: they need EC2 Mac dedicated hosts, which this module does not manage; use "linux" or "windows"',
};

/** Capacity types of a runner type. */
export const CAPACITY_TYPES = ['spot', 'on-demand'] as const;
export type CapacityType = (typeof CAPACITY_TYPES)[number];

/** Spot allocation strategies CreateFleet accepts. */
export const SPOT_ALLOCATION_STRATEGIES = ['price-capacity-optimized', 'capacity-optimized', 'capacity-optimized-prioritized', 'diversified', 'lowest-price'] as const;

/** One runner type's routing entry (the webhook's RUNNER_TYPES_CONFIG, by runner-type name). */
export interface RunnerTypeRoute {
  /** Labels the runner type offers (self-hosted is implied). */
  readonly labels: string[];
  /** Job labels must equal the type's labels instead of being a subset. */
  readonly exact_match: boolean;
  /** Lower wins when several types match; ties go to the name in sort order. */
  readonly priority: number;
  /** The runner type's SQS queue URL. */
  readonly queue_url: string;
}

/** The webhook's routing table: runner-type name → route. */
export type RunnerTypeRoutes = Record<string, RunnerTypeRoute>;

/** How one runner type launches (scale-up's RUNNER_TYPE_CONFIG; snake_case JSON). */
export interface RunnerTypeLaunchConfig {
  readonly labels: string[];
  readonly launch_template_id: string;
  /** @default "$Latest" */
  readonly launch_template_version?: string;
  readonly instance_types: string[];
  readonly subnet_ids: string[];
  readonly instance_target_capacity_type: CapacityType;
  /** @default "price-capacity-optimized" */
  readonly instance_allocation_strategy?: string;
  /** Most runners alive at once; -1 for no limit. */
  readonly runners_maximum_count: number;
  /** @default [] */
  readonly enable_on_demand_failover_for_errors?: string[];
}

/** The pool's launch map (its RUNNER_TYPES_CONFIG): pooled runner-type name → launch config. */
export type RunnerTypeLaunchConfigs = Record<string, RunnerTypeLaunchConfig>;

/** Scale-down's JOB_QUEUE_URLS: runner-type name → job queue URL. */
export type JobQueueUrls = Record<string, string>;

/** The field names of a launch config, in the order the constructs write them. */
export const RUNNER_TYPE_LAUNCH_FIELDS = [
  'labels',
  'launch_template_id',
  'launch_template_version',
  'instance_types',
  'subnet_ids',
  'instance_target_capacity_type',
  'instance_allocation_strategy',
  'runners_maximum_count',
  'enable_on_demand_failover_for_errors',
] as const satisfies readonly (keyof RunnerTypeLaunchConfig)[];

/** Problems with a parsed routing table, empty when it is well formed. */
export function validateRunnerTypeRoutes(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['must be a JSON object keyed by runner-type name'];
  const problems: string[] = [];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) problems.push('must declare at least one runner type');
  for (const [name, raw] of entries) {
    const t = raw as Partial<RunnerTypeRoute> | null;
    if (typeof t !== 'object' || t === null) {
      problems.push(`runner type "${name}" must be an object`);
      continue;
    }
    if (!Array.isArray(t.labels) || t.labels.length === 0 || !t.labels.every((l) => typeof l === 'string' && l !== '')) {
      problems.push(`runner type "${name}" needs a non-empty list of labels`);
    }
    if (typeof t.exact_match !== 'boolean') problems.push(`runner type "${name}" needs a boolean exact_match`);
    if (typeof t.priority !== 'number') problems.push(`runner type "${name}" needs a numeric priority`);
    if (typeof t.queue_url !== 'string' || t.queue_url === '') problems.push(`runner type "${name}" needs a queue_url`);
  }
  return problems;
}

/** Problems with a parsed launch config, empty when it is well formed. */
export function validateRunnerTypeLaunchConfig(value: unknown): string[] {
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
  if (!(CAPACITY_TYPES as readonly unknown[]).includes(v.instance_target_capacity_type)) {
    problems.push(`instance_target_capacity_type must be "spot" or "on-demand", got ${JSON.stringify(v.instance_target_capacity_type)}`);
  }
  if (v.instance_allocation_strategy !== undefined && !(SPOT_ALLOCATION_STRATEGIES as readonly unknown[]).includes(v.instance_allocation_strategy)) {
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
 * Problems with a parsed launch map, empty when it is well formed. It holds
 * only the types that have a pool, so it may be empty (the HCL module creates
 * the pool function whether or not any type has a pool).
 */
export function validateRunnerTypeLaunchConfigs(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['must be a JSON object keyed by runner-type name'];
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.flatMap(([name, config]) => validateRunnerTypeLaunchConfig(config).map((p) => `runner type "${name}": ${p}`));
}

/** Problems with a parsed JOB_QUEUE_URLS, empty when it is well formed. */
export function validateJobQueueUrls(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['must be a JSON object of runner type to queue URL'];
  return Object.entries(value).flatMap(([type, url]) =>
    typeof url === 'string' && /^https?:\/\//.test(url) ? [] : [`["${type}"] must be a queue URL`],
  );
}
