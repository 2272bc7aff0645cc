/**
 * Scale-down's configuration, set by the construct through the environment.
 * Read once per container; every problem is reported in one ConfigError.
 */
import { LIMITS, type ScaleDownEnvironment } from '../../modules/contract/environment';
import { type JobQueueUrls, validateJobQueueUrls } from '../../modules/contract/runner-types';
import { RUNNER_TAGS } from '../../modules/contract/tags';
import { EnvReader } from '../shared/config';
import { type GitHubAppSettings, readGitHubAppSettings } from '../shared/github/app-settings';
import { LogLevel } from '../shared/logger';

/** Default tag key that keeps an instance out of scale-down's hands. */
export const DEFAULT_BYPASS_TAG = RUNNER_TAGS.scaleDownBypass;

/** Settings of the scale-down Lambda. */
export interface ScaleDownConfig extends GitHubAppSettings {
  /** PREFIX: module prefix; instances carry `ghr:prefix = prefix`, runners are named `${prefix}-${instanceId}`. */
  readonly prefix: string;
  /** MINIMUM_RUNNING_TIME_IN_MINUTES: an idle registered runner younger than this is kept. @default 5 */
  readonly minimumRunningTimeMinutes: number;
  /** RUNNER_BOOT_TIME_IN_MINUTES: an unregistered instance younger than this is booting, not orphaned. @default 5 */
  readonly runnerBootTimeMinutes: number;
  /** SSM_CONFIG_PATH: parent path of the per-instance runner configs (no trailing slash). */
  readonly ssmConfigPath: string;
  /** BYPASS_TAG: instances carrying this tag key (any value) are left alone. @default "ghr:scale-down-bypass" */
  readonly bypassTag: string;
  /** DRY_RUN: list and decide, log what would happen, change nothing. @default false */
  readonly dryRun: boolean;
  /** METRICS_NAMESPACE. @default "GitHubRunners" */
  readonly metricsNamespace: string;
  /** LOG_LEVEL. @default "info" */
  readonly logLevel: LogLevel;
  /**
   * Relaunch for jobs still waiting (relaunch.ts); undefined when off.
   * JOB_RETRY_MAX_ATTEMPTS (0 = off, the default), JOB_LEDGER_TABLE_NAME and
   * JOB_QUEUE_URLS (JSON: runner type to queue URL) are required together;
   * JOB_STRANDED_MINUTES is optional.
   */
  readonly jobRetry?: {
    readonly maxAttempts: number;
    /** JOB_STRANDED_MINUTES: a job queued this long at GitHub with no runner coming is stranded. @default 30 */
    readonly strandedMinutes: number;
    readonly tableName: string;
    readonly queueUrls: Readonly<Record<string, string>>;
  };
  /**
   * The re-run of spot-interrupted jobs (rerun.ts); undefined when off.
   * ENABLE_SPOT_INTERRUPTION_RERUN ("true") needs JOB_LEDGER_TABLE_NAME.
   */
  readonly spotInterruptionRerun?: { readonly tableName: string };
}

/** Most relaunches per job the module accepts (job_retry.max_attempts). */
export const JOB_RETRY_MAX_ATTEMPTS_LIMIT = LIMITS.jobRetryMaxAttempts.max;

/** Read and check scale-down's environment; throws ConfigError listing every problem. */
export function loadScaleDownConfig(env: NodeJS.ProcessEnv): ScaleDownConfig {
  const reader = new EnvReader<ScaleDownEnvironment>(env);
  const prefix = reader.string('PREFIX');
  const app = readGitHubAppSettings(reader);
  const minimumRunningTimeMinutes = reader.int('MINIMUM_RUNNING_TIME_IN_MINUTES', 5, 0, 24 * 60);
  const runnerBootTimeMinutes = reader.int('RUNNER_BOOT_TIME_IN_MINUTES', 5, 1, 24 * 60);
  const ssmConfigPath = reader.string('SSM_CONFIG_PATH').replace(/\/+$/, '');
  if (env.SSM_CONFIG_PATH && !env.SSM_CONFIG_PATH.startsWith('/')) reader.problem(`SSM_CONFIG_PATH must start with "/", got "${env.SSM_CONFIG_PATH}"`);
  if (env.SSM_CONFIG_PATH && ssmConfigPath === '') reader.problem('SSM_CONFIG_PATH must not be the root "/"');
  const bypassTag = reader.string('BYPASS_TAG', DEFAULT_BYPASS_TAG);
  const dryRun = reader.bool('DRY_RUN', false);
  const metricsNamespace = reader.metricsNamespace();
  const logLevel = reader.logLevel();
  const maxAttempts = reader.int('JOB_RETRY_MAX_ATTEMPTS', 0, 0, JOB_RETRY_MAX_ATTEMPTS_LIMIT);
  let jobRetry: ScaleDownConfig['jobRetry'];
  if (maxAttempts > 0) {
    const tableName = reader.string('JOB_LEDGER_TABLE_NAME');
    const queueUrls = reader.json<JobQueueUrls>('JOB_QUEUE_URLS', validateJobQueueUrls);
    const { min, max, default: fallback } = LIMITS.jobStrandedMinutes;
    const strandedMinutes = reader.int('JOB_STRANDED_MINUTES', fallback, min, max);
    jobRetry = { maxAttempts, strandedMinutes, tableName, queueUrls };
  }
  let spotInterruptionRerun: ScaleDownConfig['spotInterruptionRerun'];
  if (reader.bool('ENABLE_SPOT_INTERRUPTION_RERUN', false)) {
    spotInterruptionRerun = { tableName: jobRetry?.tableName ?? reader.string('JOB_LEDGER_TABLE_NAME') };
  }
  reader.done();
  return {
    prefix,
    ...app,
    minimumRunningTimeMinutes,
    runnerBootTimeMinutes,
    ssmConfigPath,
    bypassTag,
    dryRun,
    metricsNamespace,
    logLevel,
    ...(jobRetry && { jobRetry }),
    ...(spotInterruptionRerun && { spotInterruptionRerun }),
  };
}
