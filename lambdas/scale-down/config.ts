/**
 * Scale-down's configuration, set by the construct through the environment.
 * Read once per container; every problem is reported in one ConfigError.
 */
import { DEFAULT_METRICS_NAMESPACE, EnvReader } from '../shared/config';
import { LogLevel } from '../shared/logger';

export { DEFAULT_METRICS_NAMESPACE };
/** Default tag key that keeps an instance out of scale-down's hands. */
export const DEFAULT_BYPASS_TAG = 'ghr:scale-down-bypass';

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Settings of the scale-down Lambda. */
export interface ScaleDownConfig {
  /** PREFIX: module prefix; instances carry `ghr:prefix = prefix`, runners are named `${prefix}-${instanceId}`. */
  readonly prefix: string;
  /** GITHUB_APP_ID_SSM_PARAMETER_NAME. */
  readonly appIdParameterName: string;
  /** GITHUB_APP_KEY_SSM_PARAMETER_NAME: PEM or base64 of a PEM. */
  readonly appKeyParameterName: string;
  /** GHES_URL: GHES or ghe.com URL; github.com when absent. */
  readonly ghesUrl?: string;
  /**
   * ENABLE_ORGANIZATION_RUNNERS, as scale-up has it. @default false
   *
   * Scale-down does not branch on it: each instance's `ghr:owner` tag says
   * where its runner registered (`org` or `owner/repo`), so runners launched
   * before the setting changed are still found.
   */
  readonly organizationRunners: boolean;
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
}

/** Read and check scale-down's environment; throws ConfigError listing every problem. */
export function loadScaleDownConfig(env: NodeJS.ProcessEnv): ScaleDownConfig {
  const reader = new EnvReader(env);
  const prefix = reader.string('PREFIX');
  const appIdParameterName = reader.string('GITHUB_APP_ID_SSM_PARAMETER_NAME');
  const appKeyParameterName = reader.string('GITHUB_APP_KEY_SSM_PARAMETER_NAME');
  const ghesUrl = reader.optionalString('GHES_URL');
  if (ghesUrl !== undefined && !isHttpUrl(ghesUrl)) reader.problem(`GHES_URL must be an http(s) URL, got "${ghesUrl}"`);
  const organizationRunners = reader.bool('ENABLE_ORGANIZATION_RUNNERS', false);
  const minimumRunningTimeMinutes = reader.int('MINIMUM_RUNNING_TIME_IN_MINUTES', 5, 0, 24 * 60);
  const runnerBootTimeMinutes = reader.int('RUNNER_BOOT_TIME_IN_MINUTES', 5, 1, 24 * 60);
  const ssmConfigPath = reader.string('SSM_CONFIG_PATH').replace(/\/+$/, '');
  if (env.SSM_CONFIG_PATH && !env.SSM_CONFIG_PATH.startsWith('/')) reader.problem(`SSM_CONFIG_PATH must start with "/", got "${env.SSM_CONFIG_PATH}"`);
  if (env.SSM_CONFIG_PATH && ssmConfigPath === '') reader.problem('SSM_CONFIG_PATH must not be the root "/"');
  const bypassTag = reader.string('BYPASS_TAG', DEFAULT_BYPASS_TAG);
  const dryRun = reader.bool('DRY_RUN', false);
  const metricsNamespace = reader.string('METRICS_NAMESPACE', DEFAULT_METRICS_NAMESPACE);
  const rawLevel = (reader.optionalString('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(rawLevel)) reader.problem(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  reader.done();
  return {
    prefix,
    appIdParameterName,
    appKeyParameterName,
    ghesUrl,
    organizationRunners,
    minimumRunningTimeMinutes,
    runnerBootTimeMinutes,
    ssmConfigPath,
    bypassTag,
    dryRun,
    metricsNamespace,
    logLevel: rawLevel as LogLevel,
  };
}

function isHttpUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
