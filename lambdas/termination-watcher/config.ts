/**
 * The termination watcher's configuration, set by the construct
 * (modules/runners/termination-watcher.ts) through the environment. Read once
 * per container; every problem is reported in one ConfigError.
 */
import type { TerminationWatcherEnvironment } from '../../modules/contract/environment';
import { EnvReader, isHttpUrl } from '../shared/config';
import { type GitHubAppSettings, readGitHubAppSettings } from '../shared/github/app-settings';
import { LogLevel } from '../shared/logger';


/** Settings of the termination-watcher Lambda. */
export interface TerminationWatcherConfig extends GitHubAppSettings {
  /** PREFIX: module prefix; our instances carry `ghr:prefix = prefix`, runners are named `${prefix}-${instanceId}`. */
  readonly prefix: string;
  /** RETRY_QUEUE_URL: the watcher's own retry queue, from the construct (never built by hand). */
  readonly retryQueueUrl: string;
  /** RETRY_DELAY_SECONDS: SQS DelaySeconds of a retry, 0 to 900. @default 60 */
  readonly retryDelaySeconds: number;
  /** MAX_ATTEMPTS: deletes tried for a busy runner before the watcher leaves it to scale-down, 1 to 100. @default 10 */
  readonly maxAttempts: number;
  /**
   * ENABLE_SPOT_INTERRUPTION_RERUN ("true") with JOB_LEDGER_TABLE_NAME: record
   * the interruption of a busy spot runner's job for its re-run. @default undefined: off
   */
  readonly spotInterruptionRerun?: { readonly tableName: string };
  /** METRICS_NAMESPACE. @default "GitHubRunners" */
  readonly metricsNamespace: string;
  /** LOG_LEVEL. @default "info" */
  readonly logLevel: LogLevel;
}

/** Read and check the watcher's environment; throws ConfigError listing every problem. */
export function loadTerminationWatcherConfig(env: NodeJS.ProcessEnv): TerminationWatcherConfig {
  const reader = new EnvReader<TerminationWatcherEnvironment>(env);
  const prefix = reader.string('PREFIX');
  const app = readGitHubAppSettings(reader);
  const retryQueueUrl = reader.string('RETRY_QUEUE_URL');
  if (retryQueueUrl !== '' && !isHttpUrl(retryQueueUrl)) reader.problem(`RETRY_QUEUE_URL must be an http(s) SQS queue URL, got "${retryQueueUrl}"`);
  // SQS allows DelaySeconds 0 to 900; the construct checks the same range.
  const retryDelaySeconds = reader.int('RETRY_DELAY_SECONDS', 60, 0, 900);
  const maxAttempts = reader.int('MAX_ATTEMPTS', 10, 1, 100);
  // The construct may write the table with the option off (the option is a Terraform variable), so it is read either way.
  const rerunOn = reader.bool('ENABLE_SPOT_INTERRUPTION_RERUN', false);
  const ledgerTable = reader.string('JOB_LEDGER_TABLE_NAME', '');
  if (rerunOn && ledgerTable === '') reader.problem('JOB_LEDGER_TABLE_NAME is required when ENABLE_SPOT_INTERRUPTION_RERUN is "true"');
  const spotInterruptionRerun = rerunOn ? { tableName: ledgerTable } : undefined;
  const metricsNamespace = reader.metricsNamespace();
  const logLevel = reader.logLevel();
  reader.done();
  return {
    prefix,
    ...app,
    retryQueueUrl,
    retryDelaySeconds,
    maxAttempts,
    ...(spotInterruptionRerun && { spotInterruptionRerun }),
    metricsNamespace,
    logLevel,
  };
}
