/**
 * The syncer's configuration, read once per container from the environment.
 * Every problem is reported in one ConfigError.
 */
import type { SyncerEnvironment } from '../../modules/contract/environment';
import { EnvReader } from '../shared/config';
import { LogLevel } from '../shared/logger';
import { DEFAULT_RUNNER_ARCHITECTURES, RUNNER_ARCHITECTURES, RunnerArchitecture, isRunnerVersion } from './plan';

/** Default object key prefix. */
export const DEFAULT_KEY_PREFIX = 'actions-runner/';
/** Releases of actions/runner live on github.com, also for GHES users. */
export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
// Bucket names as S3 accepts them for new buckets (no uppercase, no underscores).
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Settings of the syncer Lambda. */
export interface SyncerConfig {
  /** BUCKET_NAME: the versioned bucket that holds the tarballs. */
  readonly bucketName: string;
  /** KEY_PREFIX: prepended to each object name; include the trailing `/`. @default "actions-runner/" */
  readonly keyPrefix: string;
  /** ARCHITECTURES: JSON list of `x64` / `arm64` (Linux tarballs) / `win-x64` (Windows zip), no repeats. @default ["x64","arm64"] */
  readonly architectures: readonly RunnerArchitecture[];
  /** RUNNER_VERSION: pin such as `2.329.0`; absent or empty means the latest release. */
  readonly runnerVersion?: string;
  /** GITHUB_API_URL: REST API root, no trailing `/`; plain http only for loopback hosts (tests). @default "https://api.github.com" */
  readonly githubApiUrl: string;
  /** GITHUB_TOKEN_SSM_PARAMETER_NAME: SecureString with a token for the API calls; unauthenticated when absent. */
  readonly githubTokenParameterName?: string;
  /** METRICS_NAMESPACE. @default "GitHubRunners" */
  readonly metricsNamespace: string;
  /** LOG_LEVEL. @default "info" */
  readonly logLevel: LogLevel;
}

/** Read and check the syncer's environment; throws ConfigError listing every problem. */
export function loadSyncerConfig(env: NodeJS.ProcessEnv): SyncerConfig {
  const reader = new EnvReader<SyncerEnvironment>(env);

  const bucketName = reader.string('BUCKET_NAME');
  if (bucketName !== '' && (!BUCKET_NAME.test(bucketName) || bucketName.includes('..'))) {
    reader.problem(`BUCKET_NAME must be an S3 bucket name, got "${bucketName}"`);
  }

  const keyPrefix = reader.string('KEY_PREFIX', DEFAULT_KEY_PREFIX);
  if (keyPrefix.startsWith('/') || keyPrefix.length > 512 || /[\u0000-\u001f\u007f]/.test(keyPrefix)) {
    reader.problem(`KEY_PREFIX must not start with "/", contain control characters or exceed 512 characters, got ${JSON.stringify(keyPrefix)}`);
  }

  const architectures = reader.json<RunnerArchitecture[]>('ARCHITECTURES', validateArchitectures, [...DEFAULT_RUNNER_ARCHITECTURES]);

  const runnerVersion = reader.optionalString('RUNNER_VERSION');
  if (runnerVersion !== undefined && !isRunnerVersion(runnerVersion)) {
    reader.problem(`RUNNER_VERSION must be empty or a version like 2.329.0 (no "v"), got "${runnerVersion}"`);
  }

  const rawApiUrl = reader.string('GITHUB_API_URL', DEFAULT_GITHUB_API_URL);
  const apiUrlProblem = checkApiUrl(rawApiUrl);
  if (apiUrlProblem) reader.problem(apiUrlProblem);

  const githubTokenParameterName = reader.optionalString('GITHUB_TOKEN_SSM_PARAMETER_NAME');
  const metricsNamespace = reader.metricsNamespace();
  const logLevel = reader.logLevel();

  reader.done();
  return {
    bucketName,
    keyPrefix,
    architectures,
    runnerVersion,
    githubApiUrl: rawApiUrl.replace(/\/+$/, ''),
    githubTokenParameterName,
    metricsNamespace,
    logLevel,
  };
}

/** Problems with a parsed ARCHITECTURES value, empty when it is well formed. */
export function validateArchitectures(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) return [`must be a non-empty JSON list, got ${JSON.stringify(value)}`];
  const problems: string[] = [];
  const unknown = value.filter((a) => !(RUNNER_ARCHITECTURES as readonly unknown[]).includes(a));
  if (unknown.length > 0) problems.push(`each entry must be one of ${RUNNER_ARCHITECTURES.join(', ')}, got ${JSON.stringify(unknown)}`);
  if (new Set(value).size !== value.length) problems.push(`must not repeat an architecture, got ${JSON.stringify(value)}`);
  return problems;
}

function checkApiUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `GITHUB_API_URL must be an http(s) URL, got "${raw}"`;
  }
  if (url.protocol === 'https:') return undefined;
  // A token may travel to this host: plain http only where it cannot leave the machine.
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return `GITHUB_API_URL must be an https URL (http only for loopback hosts), got "${raw}"`;
}
