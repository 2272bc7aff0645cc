/**
 * Scale-up's configuration: one function per runner type, configured by the
 * construct through the environment. Read once per container; every problem
 * is reported in one ConfigError.
 */
import { DEFAULT_METRICS_NAMESPACE, EnvReader } from '../shared/config';
import { type GitHubAppSettings, readGitHubAppSettings } from '../shared/github/app-settings';
import { LogLevel } from '../shared/logger';
import type { CapacityType } from '../shared/aws/ec2-runners';

export { DEFAULT_METRICS_NAMESPACE };

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

/** The runner type this function launches. */
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

/** Settings of the scale-up Lambda. */
export interface ScaleUpConfig extends GitHubAppSettings {
  /** PREFIX: module name prefix; runner names are `${prefix}-${instanceId}`. */
  readonly prefix: string;
  /** RUNNER_TYPE: the runner type's name. */
  readonly runnerType: string;
  /** RUNNER_TYPE_CONFIG. */
  readonly runnerTypeSettings: RunnerTypeSettings;
  /** RUNNER_GROUP_NAME: group of org-level runners. @default "Default" */
  readonly runnerGroupName: string;
  /** ENABLE_JIT_CONFIG: JIT configs, else registration tokens. @default true */
  readonly jitConfig: boolean;
  /** ENABLE_JOB_QUEUED_CHECK: ask GitHub whether the job still waits. @default false */
  readonly jobQueuedCheck: boolean;
  /** DRY_RUN: decide and log, but launch, register and store nothing. @default false */
  readonly dryRun: boolean;
  /** SSM_CONFIG_PATH: parent path of the per-instance parameters. */
  readonly ssmConfigPath: string;
  /** KMS_KEY_ID: key of the per-instance SecureStrings. */
  readonly kmsKeyId: string;
  /** INSTANCE_ARN_PREFIX: `arn:<partition>:ec2:<region>:<account>:instance/`, for the parameter's instance-ARN tag. */
  readonly instanceArnPrefix: string;
  /** IDEMPOTENCY_TABLE_NAME. */
  readonly idempotencyTableName: string;
  /** METRICS_NAMESPACE. @default "GitHubRunners" */
  readonly metricsNamespace: string;
  /** LOG_LEVEL. @default "info" */
  readonly logLevel: LogLevel;
}

/** Read and check scale-up's environment; throws ConfigError listing every problem. */
export function loadScaleUpConfig(env: NodeJS.ProcessEnv): ScaleUpConfig {
  const reader = new EnvReader(env);
  const prefix = reader.string('PREFIX');
  const runnerType = reader.string('RUNNER_TYPE');
  const raw = reader.json<RunnerTypeConfigJson>('RUNNER_TYPE_CONFIG', validateRunnerTypeConfig);
  const app = readGitHubAppSettings(reader);
  const runnerGroupName = reader.string('RUNNER_GROUP_NAME', 'Default');
  const jitConfig = reader.bool('ENABLE_JIT_CONFIG', true);
  const jobQueuedCheck = reader.bool('ENABLE_JOB_QUEUED_CHECK', false);
  const dryRun = reader.bool('DRY_RUN', false);
  const ssmConfigPath = reader.string('SSM_CONFIG_PATH').replace(/\/+$/, '');
  if (env.SSM_CONFIG_PATH && !ssmConfigPath.startsWith('/')) reader.problem(`SSM_CONFIG_PATH must start with "/", got "${env.SSM_CONFIG_PATH}"`);
  const kmsKeyId = reader.string('KMS_KEY_ID');
  const instanceArnPrefix = reader.string('INSTANCE_ARN_PREFIX');
  if (instanceArnPrefix !== '' && !/^arn:[a-z-]+:ec2:[a-z0-9-]+:\d{12}:instance\/$/.test(instanceArnPrefix)) {
    reader.problem(`INSTANCE_ARN_PREFIX must look like arn:aws:ec2:<region>:<account>:instance/, got "${instanceArnPrefix}"`);
  }
  const idempotencyTableName = reader.string('IDEMPOTENCY_TABLE_NAME');
  const metricsNamespace = reader.metricsNamespace();
  const logLevel = reader.logLevel();
  reader.done();
  return {
    prefix,
    runnerType,
    runnerTypeSettings: {
      labels: raw.labels,
      launchTemplateId: raw.launch_template_id,
      launchTemplateVersion: raw.launch_template_version ?? '$Latest',
      instanceTypes: raw.instance_types,
      subnetIds: raw.subnet_ids,
      capacityType: raw.instance_target_capacity_type,
      allocationStrategy: raw.instance_allocation_strategy ?? 'price-capacity-optimized',
      maximumCount: raw.runners_maximum_count,
      onDemandFailoverErrors: raw.enable_on_demand_failover_for_errors ?? [],
    },
    ...app,
    runnerGroupName,
    jitConfig,
    jobQueuedCheck,
    dryRun,
    ssmConfigPath,
    kmsKeyId,
    instanceArnPrefix,
    idempotencyTableName,
    metricsNamespace,
    logLevel,
  };
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
