/**
 * The runner API's configuration (RunnerApiEnvironment), read once per
 * container; every problem is reported in one ConfigError.
 */
import type { RunnerApiEnvironment } from '../../modules/contract/environment';
import { RUNNER_API_LIMITS } from '../../modules/contract/api-runner';
import { type JobQueueUrls, validateJobQueueUrls } from '../../modules/contract/runner-types';
import { EnvReader, isHttpUrl } from '../shared/config';
import { type GitHubAppSettings, readGitHubAppSettings } from '../shared/github/app-settings';
import type { LogLevel } from '../shared/logger';
import { validateAllowList } from '../webhook/config';
import { defaultIssuer } from './oidc';

export interface RunnerApiConfig extends GitHubAppSettings {
  readonly prefix: string;
  /** OIDC_ISSUER, without a trailing "/"; empty: github.com's, or `<GHES_URL>/_services/token`. */
  readonly issuer: string;
  /** OIDC_AUDIENCE; undefined: the API is not configured and refuses every request. */
  readonly audience: string | undefined;
  /** REPOSITORY_ALLOW_LIST, lower case; undefined allows every repository. */
  readonly repositoryAllowList: ReadonlySet<string> | undefined;
  /** JOB_QUEUE_URLS: the types the API may start, and their queues. */
  readonly queueUrls: JobQueueUrls;
  /** RUNNER_MAXIMUM_COUNTS: runners_maximum_count per type (-1: no limit). */
  readonly maximumCounts: Readonly<Record<string, number>>;
  readonly idempotencyTableName: string;
  /** DEFAULT_TIMEOUT_MINUTES. @default 15 */
  readonly defaultTimeoutMinutes: number;
  readonly metricsNamespace: string;
  readonly logLevel: LogLevel;
}

export function loadRunnerApiConfig(env: NodeJS.ProcessEnv): RunnerApiConfig {
  const reader = new EnvReader<RunnerApiEnvironment>(env);
  const prefix = reader.string('PREFIX');
  const app = readGitHubAppSettings(reader);
  // Empty: github.com's issuer, or the GHES instance's when GHES_URL is set.
  const issuer = (reader.optionalString('OIDC_ISSUER') ?? (app.ghesUrl === undefined || isHttpUrl(app.ghesUrl) ? defaultIssuer(app.ghesUrl) : '')).replace(/\/+$/, '');
  if (env.OIDC_ISSUER && !isHttpUrl(issuer)) reader.problem(`OIDC_ISSUER must be an http(s) URL, got "${env.OIDC_ISSUER}"`);
  const audience = reader.optionalString('OIDC_AUDIENCE');
  const allowList = reader.json<string[]>('REPOSITORY_ALLOW_LIST', validateAllowList, []);
  const queueUrls = reader.json<JobQueueUrls>('JOB_QUEUE_URLS', validateJobQueueUrls);
  const maximumCounts = reader.json<Record<string, number>>('RUNNER_MAXIMUM_COUNTS', (v) =>
    typeof v !== 'object' || v === null || Array.isArray(v)
      ? ['must be a JSON object of runner type to integer']
      : Object.entries(v).flatMap(([k, n]) => (Number.isInteger(n) && (n as number) >= -1 ? [] : [`${k} must be an integer ≥ -1`])),
  );
  const idempotencyTableName = reader.string('IDEMPOTENCY_TABLE_NAME');
  const t = RUNNER_API_LIMITS.timeoutMinutes;
  const defaultTimeoutMinutes = reader.int('DEFAULT_TIMEOUT_MINUTES', t.default, t.min, t.max);
  const metricsNamespace = reader.metricsNamespace();
  const logLevel = reader.logLevel();
  reader.done();
  return {
    prefix,
    issuer,
    audience,
    repositoryAllowList: allowList.length === 0 ? undefined : new Set(allowList.map((r) => r.toLowerCase())),
    queueUrls,
    maximumCounts,
    ...app,
    idempotencyTableName,
    defaultTimeoutMinutes,
    metricsNamespace,
    logLevel,
  };
}
