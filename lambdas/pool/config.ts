/**
 * The warm pool's configuration: one function for every runner type with a
 * pool, configured by the construct through the environment. Read once per
 * container; every problem is reported in one ConfigError.
 */
import type { PoolEnvironment } from '../../modules/contract/environment';
import { type RunnerTypeLaunchConfigs, validateRunnerTypeLaunchConfigs } from '../../modules/contract/runner-types';
import { EnvReader } from '../shared/config';
import { type GitHubAppSettings, readGitHubAppSettings } from '../shared/github/app-settings';
import { LogLevel } from '../shared/logger';
import { type OwnedTarget, ownedTargetFromOwnerTag } from '../shared/runners/identity';
import { type RunnerTypeSettings, runnerTypeSettingsOf } from '../shared/runners/type-config';


/** Settings of the pool Lambda. */
export interface PoolConfig extends GitHubAppSettings {
  /** PREFIX: module name prefix; runners are named `${prefix}-${instanceId}`. */
  readonly prefix: string;
  /**
   * POOL_RUNNER_OWNER: where pool runners register, an organization login
   * (org-level runners) or `owner/repo` (repository runners). Also their
   * `ghr:owner` tag. Undefined only when no runner type has a pool (the HCL
   * module creates the function regardless): then every event names a type
   * that is not configured, and nothing is launched.
   */
  readonly target: OwnedTarget | undefined;
  /** RUNNER_TYPES_CONFIG: runner type name → the settings scale-up reads from RUNNER_TYPE_CONFIG. */
  readonly runnerTypes: Readonly<Record<string, RunnerTypeSettings>>;
  /** RUNNER_GROUP_NAME: group of org-level runners. @default "Default" */
  readonly runnerGroupName: string;
  /** ENABLE_JIT_CONFIG: JIT configs, else registration tokens. @default true */
  readonly jitConfig: boolean;
  /** RUNNER_BOOT_TIME_IN_MINUTES: an instance younger than this whose runner is not online yet counts as ready. 1 to 1440. @default 5 */
  readonly runnerBootTimeMinutes: number;
  /** DRY_RUN: decide and log; EC2 is asked with DryRun, GitHub only read. @default false */
  readonly dryRun: boolean;
  /** SSM_CONFIG_PATH: parent path of the per-instance parameters. */
  readonly ssmConfigPath: string;
  /** KMS_KEY_ID: key of the per-instance SecureStrings. */
  readonly kmsKeyId: string;
  /** INSTANCE_ARN_PREFIX: `arn:<partition>:ec2:<region>:<account>:instance/`. */
  readonly instanceArnPrefix: string;
  /** METRICS_NAMESPACE. @default "GitHubRunners" */
  readonly metricsNamespace: string;
  /** LOG_LEVEL. @default "info" */
  readonly logLevel: LogLevel;
  /**
   * JOB_QUEUE_URLS: runner type → its job queue URL. The pool's tick sends
   * its top-up there, for the type's scale-up to launch within the cap
   * (issue #11 item 5). Required for every pooled type. @default {} (no pool)
   */
  readonly queueUrls: Readonly<Record<string, string>>;
}

/** Read and check the pool's environment; throws ConfigError listing every problem. */
export function loadPoolConfig(env: NodeJS.ProcessEnv): PoolConfig {
  const reader = new EnvReader<PoolEnvironment>(env);
  const prefix = reader.string('PREFIX');
  const app = readGitHubAppSettings(reader);
  const raw = reader.json<RunnerTypeLaunchConfigs>('RUNNER_TYPES_CONFIG', validateRunnerTypeLaunchConfigs);
  const pooled = raw !== undefined && Object.keys(raw).length > 0;
  const target = pooled || (env.POOL_RUNNER_OWNER ?? '').trim() !== '' ? readOwner(reader, env.POOL_RUNNER_OWNER) : undefined;
  const runnerGroupName = reader.string('RUNNER_GROUP_NAME', 'Default');
  const jitConfig = reader.bool('ENABLE_JIT_CONFIG', true);
  const runnerBootTimeMinutes = reader.int('RUNNER_BOOT_TIME_IN_MINUTES', 5, 1, 24 * 60);
  const dryRun = reader.bool('DRY_RUN', false);
  const ssmConfigPath = reader.string('SSM_CONFIG_PATH').replace(/\/+$/, '');
  if (env.SSM_CONFIG_PATH && !env.SSM_CONFIG_PATH.startsWith('/')) reader.problem(`SSM_CONFIG_PATH must start with "/", got "${env.SSM_CONFIG_PATH}"`);
  const kmsKeyId = reader.string('KMS_KEY_ID');
  const instanceArnPrefix = reader.string('INSTANCE_ARN_PREFIX');
  if (instanceArnPrefix !== '' && !/^arn:[a-z-]+:ec2:[a-z0-9-]+:\d{12}:instance\/$/.test(instanceArnPrefix)) {
    reader.problem(`INSTANCE_ARN_PREFIX must look like arn:aws:ec2:<region>:<account>:instance/, got "${instanceArnPrefix}"`);
  }
  const metricsNamespace = reader.metricsNamespace();
  const logLevel = reader.logLevel();
  const queueUrls = pooled ? reader.json<Record<string, string>>('JOB_QUEUE_URLS', queueUrlProblems) ?? {} : {};
  if (pooled && raw && env.JOB_QUEUE_URLS) {
    for (const name of Object.keys(raw)) if (typeof queueUrls[name] !== 'string') reader.problem(`JOB_QUEUE_URLS has no queue for pooled runner type "${name}"`);
  }
  reader.done();
  return {
    prefix,
    ...app,
    target,
    runnerTypes: Object.fromEntries(Object.entries(raw ?? {}).map(([name, json]) => [name, runnerTypeSettingsOf(json)])),
    runnerGroupName,
    jitConfig,
    runnerBootTimeMinutes,
    dryRun,
    ssmConfigPath,
    kmsKeyId,
    instanceArnPrefix,
    metricsNamespace,
    logLevel,
    queueUrls,
  };
}

function queueUrlProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['must be a JSON object of runner type to queue URL'];
  return Object.entries(value).flatMap(([type, url]) => (typeof url === 'string' && /^https?:\/\//.test(url) ? [] : [`["${type}"] must be a queue URL`]));
}

/** POOL_RUNNER_OWNER as a target; problems go to `reader`. */
function readOwner(reader: EnvReader<PoolEnvironment>, raw: string | undefined): OwnedTarget | undefined {
  const owner = (raw ?? '').trim();
  if (owner === '') {
    reader.problem('POOL_RUNNER_OWNER is empty: pool_runner_owner must be set (an organization login, or "owner/repo") to use warm pools');
    return undefined;
  }
  const target = ownedTargetFromOwnerTag(owner);
  if (!target) reader.problem(`POOL_RUNNER_OWNER must be an organization login or "owner/repo", got "${owner}"`);
  return target;
}
