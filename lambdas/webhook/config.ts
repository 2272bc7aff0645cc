/**
 * The webhook's configuration, read once per container from the environment
 * the construct sets. Every problem is collected and reported in one
 * ConfigError.
 */
import { DEFAULT_METRICS_NAMESPACE, LOG_LEVELS, type LogLevel, type WebhookEnvironment } from '../../modules/contract/environment';
import { type RunnerTypeRoutes, validateRunnerTypeRoutes } from '../../modules/contract/runner-types';
import { EnvReader } from '../shared/config';


/** Settings of the webhook Lambda. */
export interface WebhookConfig {
  /** PREFIX: the module's name prefix; added to every log line. */
  readonly prefix: string;
  /** WEBHOOK_SECRET_SSM_PARAMETER_NAME: SSM SecureString holding the GitHub webhook secret. */
  readonly webhookSecretParameterName: string;
  /** RUNNER_TYPES_CONFIG: the routing table, keyed by runner-type name. */
  readonly runnerTypes: RunnerTypeRoutes;
  /**
   * REPOSITORY_ALLOW_LIST: lower-cased "owner/repo" names allowed to queue jobs.
   * `undefined` when the list is absent or empty, which allows every repository.
   */
  readonly repositoryAllowList: ReadonlySet<string> | undefined;
  /** METRICS_NAMESPACE: CloudWatch namespace of the EMF metrics. @default "GitHubRunners" */
  readonly metricsNamespace: string;
  /** LOG_LEVEL. @default "info" */
  readonly logLevel: LogLevel;
  /** JOB_LEDGER_TABLE_NAME: where in_progress and completed are recorded (job-ledger.ts). @default none: not recorded */
  readonly jobLedgerTableName?: string;
}

/** Read and check the webhook's environment; throws ConfigError listing every problem. */
export function loadWebhookConfig(env: NodeJS.ProcessEnv): WebhookConfig {
  const reader = new EnvReader<WebhookEnvironment>(env);
  const prefix = reader.string('PREFIX');
  const webhookSecretParameterName = reader.string('WEBHOOK_SECRET_SSM_PARAMETER_NAME');
  const runnerTypes = reader.json<RunnerTypeRoutes>('RUNNER_TYPES_CONFIG', validateRunnerTypeRoutes);
  const allowList = reader.json<string[]>('REPOSITORY_ALLOW_LIST', validateAllowList, []);
  const metricsNamespace = reader.string('METRICS_NAMESPACE', DEFAULT_METRICS_NAMESPACE);
  const rawLevel = reader.optionalString('LOG_LEVEL');
  const jobLedgerTableName = reader.optionalString('JOB_LEDGER_TABLE_NAME');
  if (rawLevel !== undefined && !isLogLevel(rawLevel.toLowerCase())) {
    reader.problem(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${rawLevel}"`);
  }
  reader.done();
  return {
    prefix,
    webhookSecretParameterName,
    runnerTypes,
    repositoryAllowList: allowList.length === 0 ? undefined : new Set(allowList.map((r) => r.toLowerCase())),
    metricsNamespace,
    logLevel: logLevelFrom(rawLevel),
    ...(jobLedgerTableName && { jobLedgerTableName }),
  };
}

/** LOG_LEVEL leniently: unknown or absent means "info". Used before the config is known to be valid. */
export function logLevelFrom(raw: string | undefined): LogLevel {
  const v = (raw ?? '').toLowerCase();
  return isLogLevel(v) ? v : 'info';
}

function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

/** Problems with a parsed REPOSITORY_ALLOW_LIST, empty when it is a list of "owner/repo" strings. */
export function validateAllowList(value: unknown): string[] {
  if (!Array.isArray(value)) return ['must be a JSON array of "owner/repo" strings'];
  const problems: string[] = [];
  value.forEach((entry, i) => {
    if (typeof entry !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(entry)) {
      problems.push(`entry ${i} must be an "owner/repo" string, got ${JSON.stringify(entry)}`);
    }
  });
  return problems;
}
