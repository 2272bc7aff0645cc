/**
 * Scale-up's configuration: one function per runner type, configured by the
 * construct through the environment. Read once per container; every problem
 * is reported in one ConfigError.
 */
import type { ScaleUpEnvironment } from '../../modules/contract/environment';
import { type RunnerTypeLaunchConfig, validateRunnerTypeLaunchConfig } from '../../modules/contract/runner-types';
import { EnvReader } from '../shared/config';
import { type GitHubAppSettings, readGitHubAppSettings } from '../shared/github/app-settings';
import { LogLevel } from '../shared/logger';
import { type RunnerTypeSettings, runnerTypeSettingsOf } from '../shared/runners/type-config';


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
  /**
   * RUNNER_BOOT_TIME_IN_MINUTES: for pool top-ups, an instance younger than
   * this whose runner is not online yet counts as ready. 1 to 1440. @default 5
   */
  readonly runnerBootTimeMinutes: number;
  /** IDEMPOTENCY_TABLE_NAME. */
  readonly idempotencyTableName: string;
  /** METRICS_NAMESPACE. @default "GitHubRunners" */
  readonly metricsNamespace: string;
  /** LOG_LEVEL. @default "info" */
  readonly logLevel: LogLevel;
}

/** Read and check scale-up's environment; throws ConfigError listing every problem. */
export function loadScaleUpConfig(env: NodeJS.ProcessEnv): ScaleUpConfig {
  const reader = new EnvReader<ScaleUpEnvironment>(env);
  const prefix = reader.string('PREFIX');
  const runnerType = reader.string('RUNNER_TYPE');
  const raw = reader.json<RunnerTypeLaunchConfig>('RUNNER_TYPE_CONFIG', validateRunnerTypeLaunchConfig);
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
  const runnerBootTimeMinutes = reader.int('RUNNER_BOOT_TIME_IN_MINUTES', 5, 1, 24 * 60);
  const idempotencyTableName = reader.string('IDEMPOTENCY_TABLE_NAME');
  const metricsNamespace = reader.metricsNamespace();
  const logLevel = reader.logLevel();
  reader.done();
  return {
    prefix,
    runnerType,
    runnerTypeSettings: runnerTypeSettingsOf(raw),
    ...app,
    runnerGroupName,
    jitConfig,
    jobQueuedCheck,
    dryRun,
    ssmConfigPath,
    kmsKeyId,
    instanceArnPrefix,
    runnerBootTimeMinutes,
    idempotencyTableName,
    metricsNamespace,
    logLevel,
  };
}
