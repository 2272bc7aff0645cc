/**
 * GitHubRunners: the whole module. It owns nothing itself; each AWS resource
 * belongs to exactly one of the constructs it composes, which get what they
 * need from each other through typed attributes.
 */
import { Fn, IResolvable, ref, Token } from 'cdktf';
import { Construct } from 'constructs';
import { JobQueues } from './runners/job-queues';
import { DEFAULT_RUNNER_VERSION, EgressRule, RunnerInstances } from './runners/runner-instances';
import { ScaleDown } from './runners/scale-down';
import { TerminationWatcher } from './runners/termination-watcher';
import { Observability, ObservabilitySettings } from './observability/observability';
import { RunnerBinariesSyncer } from './syncer/syncer';
import { RunnerTypes } from './runners/runner-types';
import { ScaleUp } from './runners/scale-up';
import { WarmPool } from './runners/warm-pool';
import { LambdaCode } from './shared/lambda-code';
import { SharedFunctionSettings } from './shared/lambda-settings';
import { IAM_PATH_PATTERN, POLICY_ARN_PATTERN, RoleSettings } from './shared/iam';
import { ModuleKey } from './shared/module-key';
import { PREFIX_PATTERN } from './shared/naming';
import { LOG_LEVELS } from './contract/environment';
import { isRunLabel } from './contract/run-label';
import { isApiLabel } from './contract/api-runner';
import { validate, whenKnown } from './shared/validation';
import { WebhookRedelivery } from './webhook/redelivery';
import { RunnerApi } from './webhook/runner-api';
import { Webhook } from './webhook/webhook';

/** Names (not values) of the SSM parameters that hold the GitHub App's secrets. */
export interface GitHubAppParameters {
  /** SSM parameter name of the App id, e.g. "/ops/github/runner/dev/app-id". */
  readonly appId: string;
  /** SSM parameter name of the App private key (PEM, or base64 of the PEM). */
  readonly privateKey: string;
  /** SSM parameter name of the webhook secret. */
  readonly webhookSecret: string;
}

/** Where each Lambda's code comes from. @default the local bundles from `npm run build` */
export interface LambdaCodes {
  /** The webhook function (bundle `webhook`). @default LambdaCode.fromBundle('webhook') */
  readonly webhook?: LambdaCode;
  /** The scale-up functions, one per runner type (bundle `scale-up`). @default LambdaCode.fromBundle('scale-up') */
  readonly scaleUp?: LambdaCode;
  /** The scale-down function (bundle `scale-down`). @default LambdaCode.fromBundle('scale-down') */
  readonly scaleDown?: LambdaCode;
  /** The spot termination watcher (bundle `termination-watcher`). @default LambdaCode.fromBundle('termination-watcher') */
  readonly terminationWatcher?: LambdaCode;
  /** The runner binary syncer (bundle `syncer`); unused when the syncer is disabled. @default LambdaCode.fromBundle('syncer') */
  readonly syncer?: LambdaCode;
  /** The warm pool function (bundle `pool`); unused without a pool. @default LambdaCode.fromBundle('pool') */
  readonly pool?: LambdaCode;
  /** The webhook redelivery function (bundle `redelivery`); unused when redelivery is disabled. @default LambdaCode.fromBundle('redelivery') */
  readonly redelivery?: LambdaCode;
  /** The runner API function (bundle `runner-api`); unused without `runnerApi`. @default LambdaCode.fromBundle('runner-api') */
  readonly runnerApi?: LambdaCode;
}

/**
 * Runners on request (issue #15, modules/webhook/runner-api.ts): `POST /runners`
 * and `GET /runners/{name}` on the webhook's API, authenticated with the
 * calling job's GitHub Actions OIDC token.
 */
export interface RunnerApiSettings {
  /** Create the routes. `false` leaves the API out; a Terraform boolean keeps the function and switches the routes. @default true */
  readonly enabled?: boolean | IResolvable;
  /** The `aud` tokens must carry (`runner_api_audience`), e.g. the API's URL. Required, not empty. */
  readonly audience: string;
  /** The accepted issuer (`runner_api_oidc_issuer`). @default "https://token.actions.githubusercontent.com", or `<ghesUrl>/_services/token` */
  readonly oidcIssuer?: string;
  /** Minutes a runner started by the API waits for a job before scale-down removes it, 1 to 1440 (`runner_api_default_timeout_minutes`). @default 15 */
  readonly defaultTimeoutMinutes?: number;
}

/** When and how runners are removed (philips names on the module variables). */
export interface ScaleDownSettings {
  /** When scale-down runs. @default "cron(*\/5 * * * ? *)" */
  readonly scheduleExpression?: string;
  /** Idle registered runners younger than this are kept, in minutes. @default 5 */
  readonly minimumRunningTimeInMinutes?: number;
  /** Minutes an instance has to bring its runner online; after that it is removed (terminated when it never registered). @default 5 */
  readonly runnerBootTimeInMinutes?: number;
  /**
   * Relaunch for a job still waiting (terraform-aws-github-runner `job_retry`):
   * a job still queued at GitHub `runnerBootTimeInMinutes` after its runner was
   * launched, with no idle runner of its type, is queued again, up to
   * `maxAttempts` times; then it is given up (logged, JobsGivenUp, alarmed).
   * @default { enable: true, maxAttempts: 2 }
   */
  readonly jobRetry?: { readonly enable?: boolean | IResolvable; readonly maxAttempts?: number };
  /**
   * Minutes a job may wait at GitHub (since workflow_job.created_at) with no
   * runner of its type coming (no idle runner; its relaunch not yet served)
   * before scale-down counts it as stranded: the JobsStranded gauge, graphed
   * and alarmed above 0. Counted by the job retry's reconcile, so only while
   * job retry is enabled; jobs are read once their runner's boot time has
   * passed. 1 to 1440. @default 30
   */
  readonly jobStrandedAlarmMinutes?: number;
}

/** Redelivery of failed webhook deliveries from the App's delivery log (modules/webhook/redelivery.ts). */
export interface WebhookRedeliverySettings {
  /**
   * Redeliver failed workflow_job deliveries once. `false` leaves the function
   * out; a Terraform boolean keeps it and switches its schedule. @default true
   */
  readonly enabled?: boolean | IResolvable;
  /** When a run starts. @default "cron(*\/5 * * * ? *)" */
  readonly scheduleExpression?: string;
  /** Minutes of the delivery log each run reads, 5 to 4320. @default 60 */
  readonly lookbackMinutes?: number;
  /** Pages of 100 deliveries per run, 1 to 100. @default 10 */
  readonly maxPages?: number;
  /** Redeliveries per run, 1 to 500. @default 100 */
  readonly maxRedeliveriesPerRun?: number;
}

/** The runner binary syncer. */
export interface SyncerSettings {
  /** Keep the runner release in an S3 bucket and install from there. @default true */
  readonly enabled?: boolean;
  /** When the syncer runs. @default "cron(27 * * * ? *)" */
  readonly scheduleExpression?: string;
}

/** How scale-up launches and registers runners (philips names on the module variables). */
export interface ScaleUpSettings {
  /** GitHub Enterprise Server or ghe.com URL, e.g. "https://github.example.com". @default github.com */
  readonly ghesUrl?: string;
  /**
   * Verify the TLS certificate of the GitHub server (terraform-aws-github-runner
   * `ghes_ssl_verify`). `false` is for a GHES whose certificate no trusted CA
   * signed: every function that calls GitHub (scale-up, scale-down, the
   * termination watcher, the pool, webhook redelivery) skips the check for its
   * GitHub client only, and the runners start with
   * `GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY=1`. Anyone on the network path can then
   * impersonate the server and read the App's tokens and the runners' JIT
   * configs; prefer a trusted certificate. Needs `ghesUrl`. @default true
   */
  readonly ghesSslVerify?: boolean | IResolvable;
  /** Runner group for organisation runners. @default "Default" */
  readonly runnerGroupName?: string;
  /** Register with single-use JIT configs; false uses registration tokens and --ephemeral. @default true */
  readonly enableJitConfig?: boolean | IResolvable;
  /** Ask GitHub whether a job is still queued before launching. @default false */
  readonly enableJobQueuedCheck?: boolean | IResolvable;
  /** Rehearsal mode: EC2 calls with DryRun, no GitHub or SSM writes, decisions logged. @default false */
  readonly dryRun?: boolean | IResolvable;
  /** Messages per scale-up invocation. @default 10 */
  readonly batchSize?: number;
  /** Seconds to gather a batch. @default 0 */
  readonly maximumBatchingWindowInSeconds?: number;
  /** Scale-up timeout in seconds, 10 to 60. @default 30 */
  readonly timeoutSeconds?: number;
  /** Reserved concurrency of each type's scale-up function. @default 1 */
  readonly reservedConcurrentExecutions?: number;
}

/** What runner instances look like beyond their runner type. */
export interface RunnerInstanceSettings {
  /** Security groups for the runners. @default [] (the module creates an egress-only group) */
  readonly securityGroupIds?: string[];
  /** actions/runner version to install when the AMI is not pre-baked. @default DEFAULT_RUNNER_VERSION */
  readonly runnerVersion?: string;
  /** Ship user-data and runner logs with the CloudWatch agent. @default false */
  readonly enableCloudwatchAgent?: boolean | string;
  /** Public IPs for runners (public subnets without NAT only). @default false */
  readonly associatePublicIpAddress?: boolean | string;
  /** IAM path of the runner instance profile (philips `instance_profile_path`): starts and ends with "/". @default "/" */
  readonly instanceProfilePath?: string;
  /** Managed policies (by ARN) attached to the runner role, for what jobs need from AWS (philips `runner_iam_role_managed_policy_arns`). @default [] */
  readonly managedPolicyArns?: string[];
  /** Session Manager access to the runners for debugging (philips `enable_ssm_on_runners`): attaches AmazonSSMManagedInstanceCore. @default false */
  readonly enableSsm?: boolean | IResolvable;
  /** Outbound rules of the managed security group (philips `runner_egress_rules`); unused with `securityGroupIds`. @default all outbound */
  readonly egressRules?: EgressRule[] | IResolvable;
}

/** The props of GitHubRunners: where the runners run, the GitHub App, and every setting of the parts. */
export interface GitHubRunnersProps {
  /** Prefix for every resource name (`<prefix>-<kind>`; a runner type's `<prefix>-<kind>_<type>`): lower-case letters, digits and hyphens, 1 to 20 characters. Give each instance in an account and region its own. */
  readonly prefix: string;
  /** The VPC the runners run in. */
  readonly vpcId: string;
  /** Subnets for the runners, at least one. */
  readonly subnetIds: string[];
  /** Organisation-level runners (true) or repository-level runners (false). @default false */
  readonly enableOrganizationRunners?: boolean | IResolvable;
  /**
   * Re-run, once, a job whose busy spot runner was interrupted (issue #11
   * item 4): the termination watcher records the job in the job ledger, and
   * scale-down asks GitHub to re-run it once its workflow run has completed
   * (GitHub refuses before), giving up after 6 hours. The GitHub App then
   * needs the repository permission Actions: write.
   * @default false
   */
  readonly enableSpotInterruptionRerun?: boolean | IResolvable;
  /** SSM parameter names for the GitHub App's secrets; the Lambdas read the values at run time. */
  readonly githubApp: GitHubAppParameters;
  /** The kinds of runner and the jobs they serve. @default RunnerTypes.default() */
  readonly runnerTypes?: RunnerTypes;
  /**
   * Where warm pool runners register (philips `pool_runner_owner`): an
   * organisation login, or "owner/repo". Needed when a runner type has a
   * `poolConfig`. @default none
   */
  readonly poolRunnerOwner?: string;
  /** Accept jobs only from these repositories ("owner/repo"). @default [] (all) */
  readonly repositoryAllowList?: string[];
  /** Seconds a queued job waits before scale-up sees it, 0 to 900. @default 0 */
  readonly delayWebhookEvent?: number;
  /** Requests per second allowed on the webhook route (a 429 above it loses the delivery). @default 1000 */
  readonly webhookThrottlingRateLimit?: number;
  /** Burst allowed on the webhook route. @default 2000 */
  readonly webhookThrottlingBurstLimit?: number;
  /** Reserved concurrency of the webhook function, so a delivery flood cannot starve the others; -1: unreserved. @default 100 */
  readonly webhookReservedConcurrentExecutions?: number;
  /** Lambda log level: debug, info, warn or error. @default "info" */
  readonly logLevel?: string;
  /** Settings shared by every Lambda (architecture, tracing, retention, VPC). @default see SharedFunctionSettings */
  readonly lambda?: SharedFunctionSettings;
  /** Where the Lambdas' code comes from. @default the local bundles */
  readonly lambdaCode?: LambdaCodes;
  /** Scale-up behaviour. @default see ScaleUpSettings */
  readonly scaleUp?: ScaleUpSettings;
  /** Runner instance settings shared by all types. @default see RunnerInstanceSettings */
  readonly instances?: RunnerInstanceSettings;
  /** Scale-down behaviour. @default see ScaleDownSettings */
  readonly scaleDown?: ScaleDownSettings;
  /** The runner binary syncer. @default enabled, hourly */
  readonly syncer?: SyncerSettings;
  /** Redelivery of failed webhook deliveries. @default enabled, every 5 minutes */
  readonly webhookRedelivery?: WebhookRedeliverySettings;
  /** The runner API (start runners from a workflow). @default none: no API */
  readonly runnerApi?: RunnerApiSettings;
  /** Dashboard and alarms: where alarms notify, and how quickly they fire. @default see ObservabilitySettings */
  readonly observability?: ObservabilitySettings;
  /**
   * Path and permissions boundary of every IAM role the module creates
   * (philips `role_path`, `role_permissions_boundary`). @default path "/", no boundary
   */
  readonly roles?: RoleSettings;
  /**
   * Labels every runner type offers in addition to its own (philips
   * `runner_extra_labels`): runners register with them, and the webhook routes
   * jobs on them, as on the type's labels. @default []
   */
  readonly runnerExtraLabels?: string[];
  /**
   * Bring your own KMS key (philips `kms_key_arn`): a symmetric key in the
   * module's account and region whose policy allows what the README's "Bring
   * your own KMS key" lists. The module then creates no key. @default the module creates its key
   */
  readonly kmsKeyArn?: string;
  /** Tags for every resource. @default {} */
  readonly tags?: Record<string, string>;
}


/**
 * Ephemeral, autoscaling, self-hosted GitHub Actions runners on AWS: the
 * webhook, one job queue per runner type, scale-up, scale-down, the spot
 * termination watcher, the runner binary syncer, the warm pool, webhook
 * redelivery, and the dashboard and alarms. The attributes are the parts, for
 * outputs (`webhook.endpoint`) and for wiring more around them.
 */
export class GitHubRunners extends Construct {
  /** The KMS key (`arn`, `keyId`) that encrypts the queues, logs, tables and SSM parameters: the module's, or `kmsKeyArn`. */
  readonly key: ModuleKey;
  /** The job queues (`queues`): one per runner type, and their dead-letter queue. */
  readonly queues: JobQueues;
  /** The webhook: `endpoint` (the URL to give the GitHub App), `function` and `api`. */
  readonly webhook: Webhook;
  /** The runners' launch templates, instance `role` and profile, and security group (`securityGroupId`). */
  readonly instances: RunnerInstances;
  /** Scale-up: `function` (one per runner type), its idempotency table and the job `ledger`. */
  readonly scaleUp: ScaleUp;
  /** Scale-down: `function`. */
  readonly scaleDown: ScaleDown;
  /** The spot interruption watcher: `function` and `retryQueue`. */
  readonly terminationWatcher: TerminationWatcher;
  /** Undefined when the syncer is disabled. */
  readonly syncer?: RunnerBinariesSyncer;
  /** Undefined when no runner type has a warm pool (always there when the types are a Terraform map). */
  readonly pool?: WarmPool;
  /** Undefined when webhook redelivery is disabled (`enabled: false`). */
  readonly webhookRedelivery?: WebhookRedelivery;
  /** Undefined without `runnerApi` (or with `enabled: false`). */
  readonly runnerApi?: RunnerApi;
  /** The `dashboard` and `alarms`. */
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: GitHubRunnersProps) {
    super(scope, id);
    const logLevel = props.logLevel ?? 'info';
    const types = props.runnerTypes ?? RunnerTypes.default();
    validate('GitHubRunners', [
      {
        ok: types.hasPools() !== true || props.poolRunnerOwner !== undefined,
        message: 'a runner type has a poolConfig, so poolRunnerOwner must say where pool runners register (an organisation, or owner/repo)',
      },
      whenKnown(props.prefix, () => PREFIX_PATTERN.test(props.prefix), `prefix must be 1 to 20 lower-case letters, digits or hyphens, starting with a letter or digit (no "_": it separates a runner type in resource names), got "${props.prefix}"`),
      whenKnown(props.subnetIds, () => props.subnetIds.length > 0, 'subnetIds must list at least one subnet, got none'),
      whenKnown(logLevel, () => (LOG_LEVELS as readonly string[]).includes(logLevel), `logLevel must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`),
      whenKnown(props.roles?.path, () => IAM_PATH_PATTERN.test(props.roles?.path ?? '/'), `roles.path must start and end with "/", got "${props.roles?.path}"`),
      whenKnown(
        props.roles?.permissionsBoundary,
        () => props.roles?.permissionsBoundary === undefined || POLICY_ARN_PATTERN.test(props.roles.permissionsBoundary),
        `roles.permissionsBoundary must be an IAM policy ARN, got "${props.roles?.permissionsBoundary}"`,
      ),
      ...(Token.isUnresolved(props.runnerExtraLabels) ? [] : (props.runnerExtraLabels ?? [])).flatMap((l) => [
        whenKnown(l, () => l.trim() !== '' && !l.includes(','), `runnerExtraLabels must hold labels that are not empty and have no comma, got "${l}"`),
        whenKnown(l, () => !isRunLabel(l), `runnerExtraLabels must not hold a label of the run-label form ghr-run-<digits> (run labels are added per job), got "${l}"`),
        whenKnown(l, () => !isApiLabel(l), `runnerExtraLabels must not hold a label of the runner-API form ghr-api-<run id>-<attempt>-<index> (the runner API adds it), got "${l}"`),
      ]),
      whenKnown(
        props.scaleUp?.ghesSslVerify,
        () => props.scaleUp?.ghesSslVerify !== false || props.scaleUp?.ghesUrl !== undefined,
        'scaleUp.ghesSslVerify is false but scaleUp.ghesUrl is not set: certificate checks can be turned off only for a GitHub Enterprise Server; set scaleUp.ghesUrl, or leave scaleUp.ghesSslVerify true',
      ),
      ...(['appId', 'privateKey', 'webhookSecret'] as const).map((k) =>
        whenKnown(props.githubApp[k], () => props.githubApp[k] !== '' && !props.githubApp[k].startsWith('arn:'), `githubApp.${k} must be an SSM parameter name (not empty, not an ARN), got "${props.githubApp[k]}"`),
      ),
    ]);
    const tags = props.tags ?? {};
    const runnerTypes = types.bind(this, props.runnerExtraLabels);
    const roles = props.roles ?? {};
    const lambda = { logLevel, metricsNamespace: `GitHubRunners/${props.prefix}`, functionSettings: { ...props.lambda, role: roles } };

    this.key = new ModuleKey(this, 'key', { prefix: props.prefix, keyArn: props.kmsKeyArn, tags });
    this.queues = new JobQueues(this, 'queues', {
      prefix: props.prefix,
      runnerTypes,
      key: this.key,
      delaySeconds: props.delayWebhookEvent,
      tags,
    });
    // A Fn.format token when the prefix is a variable: a token inside a plain
    // template string would be mangled once it is passed into templatefile().
    const ssmConfigPath = Token.isUnresolved(props.prefix)
      ? Token.asString(Fn.format('/%s/runners/config', [props.prefix]))
      : `/${props.prefix}/runners/config`;
    const runnerVersion = props.instances?.runnerVersion ?? DEFAULT_RUNNER_VERSION;
    if (props.syncer?.enabled ?? true) {
      this.syncer = new RunnerBinariesSyncer(this, 'syncer', {
        prefix: props.prefix,
        key: this.key,
        code: props.lambdaCode?.syncer ?? LambdaCode.fromBundle('syncer'),
        lambda,
        runnerVersion,
        // The Windows zip only when a type needs it (known at plan also for a map variable).
        architectures: Token.asList(
          ref(`concat(["x64", "arm64"], anytrue([for t in values(local.${runnerTypes.local.friendlyUniqueId}) : t.runner_os == "windows"]) ? ["win-x64"] : [])`),
        ),
        scheduleExpression: props.syncer?.scheduleExpression,
        tags,
      });
    }
    this.instances = new RunnerInstances(this, 'instances', {
      prefix: props.prefix,
      key: this.key,
      runnerTypes,
      vpcId: props.vpcId,
      ssmConfigPath,
      logRetentionInDays: lambda.functionSettings.logRetentionInDays,
      binaries: this.syncer,
      ...props.instances,
      runnerVersion,
      ghesSslVerify: props.scaleUp?.ghesSslVerify,
      metricsNamespace: lambda.metricsNamespace,
      role: roles,
      tags,
    });
    this.scaleUp = new ScaleUp(this, 'scale-up', {
      prefix: props.prefix,
      key: this.key,
      runnerTypes,
      queues: this.queues,
      instances: this.instances,
      subnetIds: props.subnetIds,
      appIdParameterName: props.githubApp.appId,
      privateKeyParameterName: props.githubApp.privateKey,
      ssmConfigPath,
      code: props.lambdaCode?.scaleUp ?? LambdaCode.fromBundle('scale-up'),
      lambda,
      enableOrganizationRunners: props.enableOrganizationRunners,
      // Pool top-ups run in scale-up (one launcher per type): a booting pool runner counts as ready this long.
      runnerBootTimeInMinutes: props.scaleDown?.runnerBootTimeInMinutes,
      ...props.scaleUp,
      tags,
    });
    // After scale-up: the webhook records job progress in scale-up's job ledger.
    this.webhook = new Webhook(this, 'webhook', {
      prefix: props.prefix,
      key: this.key,
      runnerTypes,
      queues: this.queues,
      webhookSecretParameterName: props.githubApp.webhookSecret,
      code: props.lambdaCode?.webhook ?? LambdaCode.fromBundle('webhook'),
      repositoryAllowList: props.repositoryAllowList,
      throttlingRateLimit: props.webhookThrottlingRateLimit,
      throttlingBurstLimit: props.webhookThrottlingBurstLimit,
      reservedConcurrentExecutions: props.webhookReservedConcurrentExecutions,
      lambda,
      jobLedger: this.scaleUp.ledger,
      tags,
    });
    const github = {
      appIdParameterName: props.githubApp.appId,
      privateKeyParameterName: props.githubApp.privateKey,
      ghesUrl: props.scaleUp?.ghesUrl,
      ghesSslVerify: props.scaleUp?.ghesSslVerify,
      enableOrganizationRunners: props.enableOrganizationRunners,
    };
    this.scaleDown = new ScaleDown(this, 'scale-down', {
      prefix: props.prefix,
      key: this.key,
      code: props.lambdaCode?.scaleDown ?? LambdaCode.fromBundle('scale-down'),
      lambda,
      runnerConfigs: this.instances.configs,
      dryRun: props.scaleUp?.dryRun,
      ...github,
      ...props.scaleDown,
      jobRetry: { ledger: this.scaleUp.ledger, queues: this.queues, runnerTypes, ...props.scaleDown?.jobRetry },
      spotInterruptionRerun: { ledger: this.scaleUp.ledger, enable: props.enableSpotInterruptionRerun },
      tags,
    });
    this.terminationWatcher = new TerminationWatcher(this, 'termination-watcher', {
      prefix: props.prefix,
      key: this.key,
      code: props.lambdaCode?.terminationWatcher ?? LambdaCode.fromBundle('termination-watcher'),
      lambda,
      ...github,
      spotInterruptionRerun: { ledger: this.scaleUp.ledger, enable: props.enableSpotInterruptionRerun },
      tags,
    });
    if (types.hasPools() !== false) {
      this.pool = new WarmPool(this, 'pool', {
        prefix: props.prefix,
        key: this.key,
        runnerTypes,
        instances: this.instances,
        subnetIds: props.subnetIds,
        queues: this.queues,
        runnerOwner: props.poolRunnerOwner,
        ssmConfigPath,
        code: props.lambdaCode?.pool ?? LambdaCode.fromBundle('pool'),
        lambda,
        runnerGroupName: props.scaleUp?.runnerGroupName,
        enableJitConfig: props.scaleUp?.enableJitConfig,
        dryRun: props.scaleUp?.dryRun,
        runnerBootTimeInMinutes: props.scaleDown?.runnerBootTimeInMinutes,
        ...github,
        tags,
      });
    }
    if (props.webhookRedelivery?.enabled !== false) {
      this.webhookRedelivery = new WebhookRedelivery(this, 'webhook-redelivery', {
        prefix: props.prefix,
        key: this.key,
        code: props.lambdaCode?.redelivery ?? LambdaCode.fromBundle('redelivery'),
        lambda,
        appIdParameterName: github.appIdParameterName,
        privateKeyParameterName: github.privateKeyParameterName,
        ghesUrl: github.ghesUrl,
        ghesSslVerify: github.ghesSslVerify,
        ...props.webhookRedelivery,
        tags,
      });
    }
    if (props.runnerApi && props.runnerApi.enabled !== false) {
      this.runnerApi = new RunnerApi(this, 'runner-api', {
        prefix: props.prefix,
        key: this.key,
        code: props.lambdaCode?.runnerApi ?? LambdaCode.fromBundle('runner-api'),
        lambda,
        runnerTypes,
        queues: this.queues,
        table: this.scaleUp.idempotencyTable,
        api: this.webhook.api,
        ...github,
        repositoryAllowList: props.repositoryAllowList,
        ...props.runnerApi,
        tags,
      });
    }
    this.observability = new Observability(this, 'observability', {
      prefix: props.prefix,
      region: this.key.region,
      metricsNamespace: lambda.metricsNamespace,
      deadLetterQueues: [this.queues.queues.deadLetterQueue, this.terminationWatcher.retryQueue.deadLetterQueue],
      functions: [
        this.webhook.function,
        this.scaleUp.function,
        this.scaleDown.function,
        this.terminationWatcher.function,
        ...(this.syncer ? [this.syncer.function] : []),
        ...(this.pool ? [this.pool.function] : []),
        ...(this.webhookRedelivery ? [this.webhookRedelivery.function] : []),
        ...(this.runnerApi ? [this.runnerApi.function] : []),
      ],
      scaleDownErrorsAlarm: true,
      jobsGivenUpAlarm: true,
      jobsStrandedAlarm: true,
      ...props.observability,
      tags,
    });
  }
}
