/**
 * The environment each Lambda reads, as its construct writes it: one interface
 * per function, keyed by the variable names, each documented with the value
 * it holds. Constructs write their environment `satisfies` the interface,
 * the Lambdas read it through `EnvReader<…Environment>` (which takes only
 * these names), and test/e2e/lib/world.ts builds the same environments. A
 * rename here is a compile error on every side;
 * test/contract/environments.test.ts runs each loader on the environment
 * every synthesized stack holds.
 *
 * Values are strings (Lambda environments hold nothing else): flags are
 * "true" or "false", numbers are decimal integers, JSON values are named by
 * their type in this folder.
 *
 * No imports: lambdas/ bundles this file, and the npm package compiles it
 * with modules/.
 */

/** The levels LOG_LEVEL (and the `log_level` input) accepts, lowest first: the one list the constructs, the HCL validation and the Lambdas' logger share. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What every function of the module holds. */
export interface CommonEnvironment {
  /** debug, info, warn or error, any case. @default "info" */
  readonly LOG_LEVEL: string;
  /** CloudWatch namespace of the EMF metrics (the constructs set `GitHubRunners/<prefix>`). @default DEFAULT_METRICS_NAMESPACE */
  readonly METRICS_NAMESPACE: string;
  /** Always "true": the SDK's Node version warning is noise in Lambda logs. */
  readonly AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: string;
}

/** Where the GitHub App's credentials are (every function that talks to GitHub as the App). */
export interface GitHubAppEnvironment {
  /** SSM parameter name of the App id. */
  readonly GITHUB_APP_ID_SSM_PARAMETER_NAME: string;
  /** SSM parameter name of the App's private key (PEM or base64 of a PEM, SecureString). */
  readonly GITHUB_APP_KEY_SSM_PARAMETER_NAME: string;
  /** GHES or ghe.com http(s) URL; empty for github.com. */
  readonly GHES_URL: string;
  /** "false" skips verification of the GitHub server's TLS certificate (terraform-aws-github-runner `ghes_ssl_verify`). @default "true" */
  readonly GHES_SSL_VERIFY: string;
}

/** Organisation runners (true) or repository runners (false). @default "false" */
export interface OrganizationRunnersEnvironment {
  readonly ENABLE_ORGANIZATION_RUNNERS: string;
}

/** Where runners' JIT configs are kept, one SecureString per instance. */
export interface RunnerConfigEnvironment {
  /** Parent path of the per-instance parameters, starting with "/": `<path>/<instance-id>`. */
  readonly SSM_CONFIG_PATH: string;
  /** Key of the per-instance SecureStrings (id or ARN). */
  readonly KMS_KEY_ID: string;
  /** `arn:<partition>:ec2:<region>:<account>:instance/`, for the parameter's instance-ARN tag. */
  readonly INSTANCE_ARN_PREFIX: string;
}

/** modules/webhook/webhook.ts → lambdas/webhook. */
export interface WebhookEnvironment extends CommonEnvironment {
  /** The module prefix, on every log line. */
  readonly PREFIX: string;
  /** SSM SecureString holding the webhook secret. */
  readonly WEBHOOK_SECRET_SSM_PARAMETER_NAME: string;
  /** JSON {@link RunnerTypeRoutes}: the routing table, at least one type. */
  readonly RUNNER_TYPES_CONFIG: string;
  /** JSON list of "owner/repo"; empty allows every repository. @default "[]" */
  readonly REPOSITORY_ALLOW_LIST: string;
  /** Table where in_progress and completed are recorded. @default absent: not recorded */
  readonly JOB_LEDGER_TABLE_NAME?: string;
}

/** modules/runners/scale-up.ts → lambdas/scale-up, one function per runner type. */
export interface ScaleUpEnvironment extends CommonEnvironment, GitHubAppEnvironment, OrganizationRunnersEnvironment, RunnerConfigEnvironment {
  /** Module prefix; runners are named `<prefix>-<instance-id>`. */
  readonly PREFIX: string;
  /** The runner type's name. */
  readonly RUNNER_TYPE: string;
  /** JSON {@link RunnerTypeLaunchConfig} of this type. */
  readonly RUNNER_TYPE_CONFIG: string;
  /** Group of org-level runners. @default "Default" */
  readonly RUNNER_GROUP_NAME: string;
  /** JIT configs (true), else registration tokens. @default "true" */
  readonly ENABLE_JIT_CONFIG: string;
  /** Ask GitHub whether the job still waits before launching. @default "false" */
  readonly ENABLE_JOB_QUEUED_CHECK: string;
  /** Decide and log; launch, register and store nothing. @default "false" */
  readonly DRY_RUN: string;
  /** DynamoDB table of the per-job launch locks (and the job ledger). */
  readonly IDEMPOTENCY_TABLE_NAME: string;
  /** Minutes a booting instance counts as a pool runner on its way (pool top-ups), {@link LIMITS}.runnerBootTimeMinutes. @default "5" */
  readonly RUNNER_BOOT_TIME_IN_MINUTES: string;
}

/** modules/runners/warm-pool.ts → lambdas/pool. */
export interface PoolEnvironment extends CommonEnvironment, GitHubAppEnvironment, RunnerConfigEnvironment {
  /** Module prefix. */
  readonly PREFIX: string;
  /** Where pool runners register: an organisation login or "owner/repo"; empty when no type has a pool. */
  readonly POOL_RUNNER_OWNER: string;
  /** JSON {@link RunnerTypeLaunchConfigs}: the types that have a pool (may be empty). */
  readonly RUNNER_TYPES_CONFIG: string;
  /** @default "Default" */
  readonly RUNNER_GROUP_NAME: string;
  /** @default "true" */
  readonly ENABLE_JIT_CONFIG: string;
  /** Minutes a booting instance counts as ready, {@link LIMITS}.runnerBootTimeMinutes. @default "5" */
  readonly RUNNER_BOOT_TIME_IN_MINUTES: string;
  /** @default "false" */
  readonly DRY_RUN: string;
  /** JSON {@link JobQueueUrls}: where each tick's top-up message goes, the type's job queue (scale-up is the one launcher). */
  readonly JOB_QUEUE_URLS: string;
}

/** modules/runners/scale-down.ts → lambdas/scale-down. */
export interface ScaleDownEnvironment extends CommonEnvironment, GitHubAppEnvironment, OrganizationRunnersEnvironment {
  /** Module prefix; instances carry `ghr:prefix = <prefix>`. */
  readonly PREFIX: string;
  /** An idle registered runner younger than this is kept, {@link LIMITS}.minimumRunningTimeMinutes. @default "5" */
  readonly MINIMUM_RUNNING_TIME_IN_MINUTES: string;
  /** An unregistered instance younger than this is booting, {@link LIMITS}.runnerBootTimeMinutes. @default "5" */
  readonly RUNNER_BOOT_TIME_IN_MINUTES: string;
  /** Parent path of the per-instance runner configs. */
  readonly SSM_CONFIG_PATH: string;
  /** Instances with this tag key are left alone. @default RUNNER_TAGS.scaleDownBypass */
  readonly BYPASS_TAG: string;
  /** @default "false" */
  readonly DRY_RUN: string;
  /** Relaunches per waiting job, 0 (off) to {@link LIMITS}.jobRetryMaxAttempts. @default absent: off */
  readonly JOB_RETRY_MAX_ATTEMPTS?: string;
  /** The job ledger's table; required when JOB_RETRY_MAX_ATTEMPTS > 0. */
  readonly JOB_LEDGER_TABLE_NAME?: string;
  /** JSON {@link JobQueueUrls}; required when JOB_RETRY_MAX_ATTEMPTS > 0. */
  readonly JOB_QUEUE_URLS?: string;
  /** Minutes a job may be queued at GitHub with no runner coming before it counts as stranded, {@link LIMITS}.jobStrandedMinutes. @default "30" */
  readonly JOB_STRANDED_MINUTES?: string;
  /** Re-run, once, the jobs the termination watcher recorded as interrupted (issue #11 item 4); needs JOB_LEDGER_TABLE_NAME. @default "false" */
  readonly ENABLE_SPOT_INTERRUPTION_RERUN?: string;
}

/** modules/runners/termination-watcher.ts → lambdas/termination-watcher. */
export interface TerminationWatcherEnvironment extends CommonEnvironment, GitHubAppEnvironment, OrganizationRunnersEnvironment {
  /** Module prefix. */
  readonly PREFIX: string;
  /** The watcher's own retry queue URL. */
  readonly RETRY_QUEUE_URL: string;
  /** SQS DelaySeconds of a retry, {@link LIMITS}.retryDelaySeconds. @default "60" */
  readonly RETRY_DELAY_SECONDS: string;
  /** Deletes tried for a busy runner, {@link LIMITS}.maxAttempts. @default "10" */
  readonly MAX_ATTEMPTS: string;
  /** Record the interruption of a busy spot runner's job in the ledger, for its re-run (issue #11 item 4). @default "false" */
  readonly ENABLE_SPOT_INTERRUPTION_RERUN?: string;
  /** The job ledger's table; required when ENABLE_SPOT_INTERRUPTION_RERUN is "true". */
  readonly JOB_LEDGER_TABLE_NAME?: string;
}

/** modules/webhook/redelivery.ts → lambdas/redelivery. */
export interface RedeliveryEnvironment extends CommonEnvironment, GitHubAppEnvironment {
  /** Minutes of deliveries read back, {@link REDELIVERY_LIMITS}.lookbackMinutes. */
  readonly REDELIVERY_LOOKBACK_MINUTES: string;
  /** Pages of the delivery log read per run, {@link REDELIVERY_LIMITS}.maxPages. */
  readonly REDELIVERY_MAX_PAGES: string;
  /** Redeliveries per run, {@link REDELIVERY_LIMITS}.maxRedeliveries. */
  readonly REDELIVERY_MAX_PER_RUN: string;
}

/** modules/webhook/runner-api.ts → lambdas/runner-api (issue #15): `POST /runners`, `GET /runners/{name}`. */
export interface RunnerApiEnvironment extends CommonEnvironment, GitHubAppEnvironment, OrganizationRunnersEnvironment {
  /** Module prefix; runners are named `<prefix>-<instance-id>` at GitHub. */
  readonly PREFIX: string;
  /** OIDC issuer whose tokens are accepted. @default "": `https://token.actions.githubusercontent.com`, or `<GHES_URL origin>/_services/token` when GHES_URL is set */
  readonly OIDC_ISSUER: string;
  /** The `aud` a token must carry (runner_api_audience). Empty (the HCL module with enable_runner_api false, which has no routes): every request is refused with 503. */
  readonly OIDC_AUDIENCE: string;
  /** JSON list of "owner/repo"; empty allows every repository. @default "[]" */
  readonly REPOSITORY_ALLOW_LIST: string;
  /** JSON {@link JobQueueUrls}: the job queue of every runner type the API may start. */
  readonly JOB_QUEUE_URLS: string;
  /** JSON object runner type → runners_maximum_count (-1: no limit), for the 409 at the cap. */
  readonly RUNNER_MAXIMUM_COUNTS: string;
  /** Table of the API runners' records (the launch-lock table, `pk = api#<name>`). */
  readonly IDEMPOTENCY_TABLE_NAME: string;
  /** Minutes a runner waits for a job when the request names none, {@link RUNNER_API_LIMITS}.timeoutMinutes. @default "15" */
  readonly DEFAULT_TIMEOUT_MINUTES: string;
}

/** modules/syncer/syncer.ts → lambdas/syncer. */
export interface SyncerEnvironment extends CommonEnvironment {
  /** The versioned bucket of the runner tarballs. */
  readonly BUCKET_NAME: string;
  /** Object key prefix, with its trailing "/". @default "actions-runner/" */
  readonly KEY_PREFIX: string;
  /** JSON list of "x64" / "arm64" (Linux tarballs) / "win-x64" (the Windows zip). @default ["x64","arm64"] */
  readonly ARCHITECTURES: string;
  /** A pin such as 2.329.0; empty for the latest release. */
  readonly RUNNER_VERSION: string;
  /** REST API root of the releases. @default "https://api.github.com" */
  readonly GITHUB_API_URL?: string;
  /** SecureString with a token for the release API calls. @default absent: unauthenticated */
  readonly GITHUB_TOKEN_SSM_PARAMETER_NAME?: string;
}

/** CloudWatch namespace of the EMF metrics when METRICS_NAMESPACE is unset. */
export const DEFAULT_METRICS_NAMESPACE = 'GitHubRunners';

/** Ranges both sides check: the construct at synth or plan, the Lambda when it loads. */
export const LIMITS = {
  /** Minutes an instance may boot before scale-down calls it an orphan (and the pool stops counting it). */
  runnerBootTimeMinutes: { min: 1, max: 24 * 60, default: 5 },
  /** Minutes an idle runner is kept. */
  minimumRunningTimeMinutes: { min: 0, max: 24 * 60, default: 5 },
  /** Relaunches per waiting job (job_retry.max_attempts; GitHub's job_retry allows at most 10). */
  jobRetryMaxAttempts: { min: 1, max: 10 },
  /** Minutes queued at GitHub after which a job with no runner coming is stranded (job_stranded_alarm_minutes); one day at most. */
  jobStrandedMinutes: { min: 1, max: 24 * 60, default: 30 },
  /** SQS allows DelaySeconds 0 to 900. */
  retryDelaySeconds: { min: 0, max: 900, default: 60 },
  /** Deregistration attempts of the termination watcher. */
  maxAttempts: { min: 1, max: 100, default: 10 },
} as const;

/** The redelivery function's ranges (REDELIVERY_*), checked by modules/webhook/redelivery.ts and lambdas/redelivery. */
export const REDELIVERY_LIMITS = {
  /** GitHub keeps (and redelivers) deliveries of the past 3 days. */
  lookbackMinutes: { min: 5, max: 3 * 24 * 60, default: 60 },
  maxPages: { min: 1, max: 100, default: 10 },
  /** 180 writes per minute per endpoint is GitHub's secondary limit; one run stays well under it. */
  maxRedeliveries: { min: 1, max: 500, default: 100 },
} as const;
