/**
 * The termination watcher's configuration, set by the construct
 * (modules/runners/termination-watcher.ts) through the environment. Read once
 * per container; every problem is reported in one ConfigError.
 */
import { DEFAULT_METRICS_NAMESPACE, EnvReader } from '../shared/config';
import { LogLevel } from '../shared/logger';

export { DEFAULT_METRICS_NAMESPACE };

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Settings of the termination-watcher Lambda. */
export interface TerminationWatcherConfig {
  /** PREFIX: module prefix; our instances carry `ghr:prefix = prefix`, runners are named `${prefix}-${instanceId}`. */
  readonly prefix: string;
  /** GITHUB_APP_ID_SSM_PARAMETER_NAME. */
  readonly appIdParameterName: string;
  /** GITHUB_APP_KEY_SSM_PARAMETER_NAME: PEM or base64 of a PEM. */
  readonly appKeyParameterName: string;
  /** GHES_URL: GHES or ghe.com URL; github.com when absent or empty. */
  readonly ghesUrl?: string;
  /**
   * ENABLE_ORGANIZATION_RUNNERS, as scale-up has it. @default false
   *
   * Like scale-down, the watcher does not branch on it: each instance's
   * `ghr:owner` tag says where its runner registered (`org` or `owner/repo`),
   * so runners launched before the setting changed are still found.
   */
  readonly organizationRunners: boolean;
  /** RETRY_QUEUE_URL: the watcher's own retry queue, from the construct (never built by hand). */
  readonly retryQueueUrl: string;
  /** RETRY_DELAY_SECONDS: SQS DelaySeconds of a retry, 0 to 900. @default 60 */
  readonly retryDelaySeconds: number;
  /** MAX_ATTEMPTS: deletes tried for a busy runner before the watcher leaves it to scale-down, 1 to 100. @default 10 */
  readonly maxAttempts: number;
  /** METRICS_NAMESPACE. @default "GitHubRunners" */
  readonly metricsNamespace: string;
  /** LOG_LEVEL. @default "info" */
  readonly logLevel: LogLevel;
}

/** Read and check the watcher's environment; throws ConfigError listing every problem. */
export function loadTerminationWatcherConfig(env: NodeJS.ProcessEnv): TerminationWatcherConfig {
  const reader = new EnvReader(env);
  const prefix = reader.string('PREFIX');
  const appIdParameterName = reader.string('GITHUB_APP_ID_SSM_PARAMETER_NAME');
  const appKeyParameterName = reader.string('GITHUB_APP_KEY_SSM_PARAMETER_NAME');
  const ghesUrl = reader.optionalString('GHES_URL');
  if (ghesUrl !== undefined && !isHttpUrl(ghesUrl)) reader.problem(`GHES_URL must be an http(s) URL, got "${ghesUrl}"`);
  const organizationRunners = reader.bool('ENABLE_ORGANIZATION_RUNNERS', false);
  const retryQueueUrl = reader.string('RETRY_QUEUE_URL');
  if (retryQueueUrl !== '' && !isHttpUrl(retryQueueUrl)) reader.problem(`RETRY_QUEUE_URL must be an http(s) SQS queue URL, got "${retryQueueUrl}"`);
  // SQS allows DelaySeconds 0 to 900; the construct checks the same range.
  const retryDelaySeconds = reader.int('RETRY_DELAY_SECONDS', 60, 0, 900);
  const maxAttempts = reader.int('MAX_ATTEMPTS', 10, 1, 100);
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
    retryQueueUrl,
    retryDelaySeconds,
    maxAttempts,
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
