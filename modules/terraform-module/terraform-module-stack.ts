/**
 * The plain Terraform module for HCL users (`dist/terraform-module`): the same
 * GitHubRunners construct, with every input a Terraform variable. It declares
 * `required_providers` but no provider block and no backend, so an ops repo
 * configures both.
 */
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { DataResource, Fn, Op, ref, TerraformOutput, TerraformStack, TerraformVariable, Token } from 'cdktf';
import { Construct } from 'constructs';
import { GitHubRunners } from '../github-runners';
import { FLEET_FAILOVER_ERROR_CODES, RUNNER_TYPES_BOOT_DESCRIPTION, RUNNER_TYPES_VALIDATIONS, RUNNER_TYPES_VARIABLE_TYPE, RunnerTypes } from '../runners/runner-types';
import { scheduleExpressionCondition } from '../shared/schedule';
import { address } from '../shared/iteration';
import { LambdaCode } from '../shared/lambda-code';
import { LOG_RETENTION_DAYS } from '../shared/log-group';
import { MODULE_VERSION, MODULE_VERSION_TAG } from '../shared/version';
import { DEFAULT_RUNNER_VERSION } from '../runners/runner-instances';
import { DEFAULT_WEBHOOK_RESERVED_CONCURRENCY, DEFAULT_WEBHOOK_THROTTLING } from '../webhook/webhook';
import { SCALE_UP_MIN_TIMEOUT_SECONDS } from '../runners/scale-up';
import { DEFAULT_JOB_RETRY_MAX_ATTEMPTS, JOB_RETRY_MAX_ATTEMPTS_LIMIT } from '../runners/scale-down';
import { PREFIX_PATTERN } from '../shared/naming';
import { LIMITS, LOG_LEVELS } from '../contract/environment';
import { RUN_LABEL_TERRAFORM_REGEX } from '../contract/run-label';
import { API_LABEL_TERRAFORM_REGEX, RUNNER_API_LIMITS } from '../contract/api-runner';

/** Oldest Terraform the module supports: cross-variable validation needs 1.9. */
export const REQUIRED_TERRAFORM_VERSION = '>= 1.9.0';

/**
 * The hashicorp/aws versions the module accepts. Tested with 5.100.0 (the
 * version the @cdktf/provider-aws 20.1.0 bindings target); 6.x is allowed
 * because validate and plan print no deprecation warning (scripts/lib/terraform.ts
 * fails on any), so nothing the module uses was removed in 6.0. An exact pin
 * made every ops repo on another 5.x or on 6.x fail at init.
 */
export const AWS_PROVIDER_CONSTRAINT = '>= 5.100.0, < 7.0.0';

/** The Lambdas whose zips may come from lambda_s3_bucket, as the prefixes of their *_lambda_s3_* variables. */
const S3_LAMBDAS = ['webhook', 'scale_up', 'scale_down', 'termination_watcher', 'syncer', 'pool', 'redelivery', 'runner_api'];
/** Every *_lambda_s3_key and *_lambda_s3_object_version, as a Terraform object of name = var.name. */
const S3_INPUTS = `{ ${S3_LAMBDAS.flatMap((n) => [`${n}_lambda_s3_key`, `${n}_lambda_s3_object_version`])
  .map((v) => `${v} = var.${v}`)
  .join(', ')} }`;

export class TerraformModuleStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // The provider is only declared so required_providers is written; the
    // block itself is removed below, as a child module must not configure one.
    new AwsProvider(this, 'aws', {});
    this.addOverride('provider', undefined);
    this.addOverride('terraform.backend', undefined);
    this.addOverride('terraform.required_version', REQUIRED_TERRAFORM_VERSION);
    this.addOverride('terraform.required_providers.aws.version', AWS_PROVIDER_CONSTRAINT);

    const v = new ModuleVariables(this);
    // Checks across variables that Terraform cannot hold as variable
    // validations (they would form a cycle): preconditions on a resource that
    // does nothing, so plan fails with the message and this resource's name.
    new DataResource(this, 'input_checks', {
      lifecycle: {
        precondition: [
          {
            condition: `\${var.lambda_s3_bucket == null || alltrue([for v in values(${S3_INPUTS}) : v != null])}`,
            errorMessage: `lambda_s3_bucket is set, so every Lambda needs its key and object version; missing: \${join(", ", [for n, v in ${S3_INPUTS} : n if v == null])}.`,
          },
          {
            condition: '${!var.enable_runner_api || length(trimspace(var.runner_api_audience)) > 0}',
            errorMessage: 'enable_runner_api is true, so runner_api_audience must be set: the audience every OIDC token must carry (e.g. the runner_api_endpoint output).',
          },
        ],
      },
    });
    const runners = new GitHubRunners(this, 'runners', {
      prefix: v.prefix.stringValue,
      vpcId: v.vpcId.stringValue,
      subnetIds: v.subnetIds.listValue,
      enableOrganizationRunners: v.enableOrganizationRunners.booleanValue,
      enableSpotInterruptionRerun: v.enableSpotInterruptionRerun.booleanValue,
      githubApp: {
        appId: Token.asString(Fn.lookup(v.githubAppSsmParameters.value, 'app_id')),
        privateKey: Token.asString(Fn.lookup(v.githubAppSsmParameters.value, 'private_key')),
        webhookSecret: Token.asString(Fn.lookup(v.githubAppSsmParameters.value, 'webhook_secret')),
      },
      runnerTypes: RunnerTypes.fromMap(v.runnerTypes.value),
      repositoryAllowList: v.repositoryAllowList.listValue,
      delayWebhookEvent: v.delayWebhookEvent.numberValue,
      webhookThrottlingRateLimit: v.webhookThrottlingRateLimit.numberValue,
      webhookThrottlingBurstLimit: v.webhookThrottlingBurstLimit.numberValue,
      webhookReservedConcurrentExecutions: v.webhookReservedConcurrency.numberValue,
      logLevel: v.logLevel.stringValue,
      lambda: {
        architecture: v.lambdaArchitecture.stringValue,
        tracingMode: v.lambdaTracingMode.stringValue,
        logRetentionInDays: v.loggingRetentionInDays.numberValue,
        vpc: { subnetIds: v.lambdaSubnetIds.listValue, securityGroupIds: v.lambdaSecurityGroupIds.listValue },
        // Op.gt(x, 0) renders the 0 as undefined in cdktf 0.21; gte 1 says the same.
        vpcEnabled: Op.gte(Fn.lengthOf(v.lambdaSubnetIds.listValue), 1),
      },
      lambdaCode: {
        webhook: LambdaCode.fromBundleOrS3('webhook', {
          bucket: v.lambdaS3Bucket.stringValue,
          key: v.webhookLambdaS3Key.stringValue,
          objectVersion: v.webhookLambdaS3ObjectVersion.stringValue,
        }),
        scaleUp: LambdaCode.fromBundleOrS3('scale-up', {
          bucket: v.lambdaS3Bucket.stringValue,
          key: v.scaleUpLambdaS3Key.stringValue,
          objectVersion: v.scaleUpLambdaS3ObjectVersion.stringValue,
        }),
        scaleDown: s3Code('scale-down', v.lambdaS3Bucket, v.lambdaS3.scaleDown),
        terminationWatcher: s3Code('termination-watcher', v.lambdaS3Bucket, v.lambdaS3.terminationWatcher),
        syncer: s3Code('syncer', v.lambdaS3Bucket, v.lambdaS3.syncer),
        pool: s3Code('pool', v.lambdaS3Bucket, v.lambdaS3.pool),
        redelivery: s3Code('redelivery', v.lambdaS3Bucket, v.lambdaS3.redelivery),
        runnerApi: s3Code('runner-api', v.lambdaS3Bucket, v.lambdaS3.runnerApi),
      },
      // The function always exists; enable_runner_api creates its routes.
      runnerApi: {
        enabled: v.enableRunnerApi.booleanValue,
        audience: v.runnerApiAudience.stringValue,
        oidcIssuer: v.runnerApiOidcIssuer.stringValue,
        defaultTimeoutMinutes: v.runnerApiDefaultTimeout.numberValue,
      },
      scaleDown: {
        scheduleExpression: v.scaleDownSchedule.stringValue,
        minimumRunningTimeInMinutes: v.minimumRunningTime.numberValue,
        runnerBootTimeInMinutes: v.runnerBootTime.numberValue,
        jobRetry: {
          enable: Token.asAny(Fn.lookup(v.jobRetry.value, 'enable')),
          maxAttempts: Token.asNumber(Fn.lookup(v.jobRetry.value, 'max_attempts')),
        },
        jobStrandedAlarmMinutes: v.jobStrandedAlarmMinutes.numberValue,
      },
      syncer: { enabled: true, scheduleExpression: v.syncerSchedule.stringValue },
      webhookRedelivery: {
        enabled: v.enableWebhookRedelivery.booleanValue,
        scheduleExpression: v.webhookRedeliverySchedule.stringValue,
        lookbackMinutes: v.webhookRedeliveryLookback.numberValue,
      },
      scaleUp: {
        ghesUrl: v.ghesUrl.stringValue,
        ghesSslVerify: v.ghesSslVerify.booleanValue,
        runnerGroupName: v.runnerGroupName.stringValue,
        enableJitConfig: v.enableJitConfig.booleanValue,
        enableJobQueuedCheck: v.enableJobQueuedCheck.booleanValue,
        dryRun: v.dryRun.booleanValue,
        batchSize: v.batchSize.numberValue,
        maximumBatchingWindowInSeconds: v.batchingWindow.numberValue,
        timeoutSeconds: v.scaleUpTimeout.numberValue,
        reservedConcurrentExecutions: v.scaleUpReservedConcurrency.numberValue,
      },
      instances: {
        securityGroupIds: v.runnerSecurityGroupIds.listValue,
        runnerVersion: v.runnerVersion.stringValue,
        enableCloudwatchAgent: Token.asString(v.enableCloudwatchAgent.booleanValue),
        associatePublicIpAddress: Token.asString(Fn.tostring(v.associatePublicIpv4Address.booleanValue)),
        instanceProfilePath: v.instanceProfilePath.stringValue,
        managedPolicyArns: v.runnerManagedPolicyArns.listValue,
        enableSsm: v.enableSsmOnRunners.booleanValue,
        egressRules: v.runnerEgressRules.value,
      },
      roles: { path: v.rolePath.stringValue, permissionsBoundary: v.rolePermissionsBoundary.stringValue },
      kmsKeyArn: v.kmsKeyArn.stringValue,
      runnerExtraLabels: v.runnerExtraLabels.listValue,
      poolRunnerOwner: v.poolRunnerOwner.stringValue,
      observability: { alarmSnsTopicArn: v.alarmSnsTopicArn.stringValue },
      tags: v.tags.value,
    });

    // Named like the input (Terraform keeps outputs and variables apart); the construct id cannot be.
    new TerraformOutput(this, 'kms_key_arn_output', {
      value: runners.key.arn,
      description: 'ARN of the KMS key that encrypts the queues, logs, SSM parameters and Lambda environments: the module\'s, or var.kms_key_arn.',
    }).overrideLogicalId('kms_key_arn');
    new TerraformOutput(this, 'webhook_endpoint', {
      value: runners.webhook.endpoint,
      description: 'The URL to set as the GitHub App webhook URL.',
    });
    // What consumers grant on and alarm on: the runner role (attach more
    // policies, trust it from other accounts), the group (allow it in), the queues.
    const instances = runners.instances;
    new TerraformOutput(this, 'runner_role_name', { value: instances.role.name, description: 'Name of the IAM role the runner instances use (attach policies for what jobs need).' });
    new TerraformOutput(this, 'runner_role_arn', { value: instances.role.arn, description: 'ARN of the IAM role the runner instances use.' });
    new TerraformOutput(this, 'runner_instance_profile_name', { value: instances.instanceProfile.name, description: 'Name of the runner instance profile.' });
    new TerraformOutput(this, 'runner_instance_profile_arn', { value: instances.instanceProfile.arn, description: 'ARN of the runner instance profile.' });
    new TerraformOutput(this, 'runner_security_group_id', {
      value: instances.securityGroupId,
      description: 'Id of the security group the module created for the runners; null when runner_security_group_ids is set.',
    });
    const queues = runners.queues.queues;
    const queueMap = (q: typeof queues.queue) => ref(`{ for k, q in ${address(q)} : k => { name = q.name, arn = q.arn, url = q.url } }`);
    new TerraformOutput(this, 'job_queues', { value: queueMap(queues.queue), description: 'Per runner type, the job queue (name, arn, url) scale-up consumes.' });
    new TerraformOutput(this, 'job_dead_letter_queues', {
      value: queueMap(queues.deadLetterQueue),
      description: 'Per runner type, the dead-letter queue (name, arn, url) of jobs that could not be served; alarm on its depth.',
    });
    new TerraformOutput(this, 'runner_api_endpoint', {
      value: runners.runnerApi!.endpoint,
      description: 'Base URL of the runner API (POST <url>, GET <url>/<name>); its routes exist only when enable_runner_api is true.',
    });
    new TerraformOutput(this, 'module_version', {
      value: MODULE_VERSION,
      description: `The cdktf-github-runners release this module is (semantic version; the Lambda functions carry it as the ${MODULE_VERSION_TAG} tag).`,
    });
    new TerraformOutput(this, 'dashboard_name', {
      value: runners.observability.dashboard.dashboardName,
      description: 'Name of the CloudWatch dashboard that shows jobs, runners, queues and Lambdas.',
    });
  }
}

function s3Code(name: string, bucket: TerraformVariable, pair: { key: TerraformVariable; version: TerraformVariable }): LambdaCode {
  return LambdaCode.fromBundleOrS3(name, { bucket: bucket.stringValue, key: pair.key.stringValue, objectVersion: pair.version.stringValue });
}

/** The module's inputs. Names follow terraform-aws-github-runner where the concept is the same. */
class ModuleVariables {
  readonly prefix: TerraformVariable;
  readonly vpcId: TerraformVariable;
  readonly subnetIds: TerraformVariable;
  readonly enableOrganizationRunners: TerraformVariable;
  readonly enableSpotInterruptionRerun: TerraformVariable;
  readonly githubAppSsmParameters: TerraformVariable;
  readonly runnerTypes: TerraformVariable;
  readonly repositoryAllowList: TerraformVariable;
  readonly delayWebhookEvent: TerraformVariable;
  readonly webhookThrottlingRateLimit: TerraformVariable;
  readonly webhookThrottlingBurstLimit: TerraformVariable;
  readonly webhookReservedConcurrency: TerraformVariable;
  readonly logLevel: TerraformVariable;
  readonly loggingRetentionInDays: TerraformVariable;
  readonly lambdaArchitecture: TerraformVariable;
  readonly lambdaTracingMode: TerraformVariable;
  readonly lambdaSubnetIds: TerraformVariable;
  readonly lambdaSecurityGroupIds: TerraformVariable;
  readonly lambdaS3Bucket: TerraformVariable;
  readonly webhookLambdaS3Key: TerraformVariable;
  readonly webhookLambdaS3ObjectVersion: TerraformVariable;
  readonly tags: TerraformVariable;
  readonly scaleUpLambdaS3Key: TerraformVariable;
  readonly scaleUpLambdaS3ObjectVersion: TerraformVariable;
  readonly ghesUrl: TerraformVariable;
  readonly ghesSslVerify: TerraformVariable;
  readonly runnerGroupName: TerraformVariable;
  readonly enableJitConfig: TerraformVariable;
  readonly enableJobQueuedCheck: TerraformVariable;
  readonly dryRun: TerraformVariable;
  readonly batchSize: TerraformVariable;
  readonly batchingWindow: TerraformVariable;
  readonly scaleUpTimeout: TerraformVariable;
  readonly scaleUpReservedConcurrency: TerraformVariable;
  readonly runnerSecurityGroupIds: TerraformVariable;
  readonly runnerVersion: TerraformVariable;
  readonly enableCloudwatchAgent: TerraformVariable;
  readonly associatePublicIpv4Address: TerraformVariable;
  readonly lambdaS3: Record<'scaleDown' | 'terminationWatcher' | 'syncer' | 'pool' | 'redelivery' | 'runnerApi', { key: TerraformVariable; version: TerraformVariable }>;
  readonly poolRunnerOwner: TerraformVariable;
  readonly scaleDownSchedule: TerraformVariable;
  readonly minimumRunningTime: TerraformVariable;
  readonly runnerBootTime: TerraformVariable;
  readonly syncerSchedule: TerraformVariable;
  readonly alarmSnsTopicArn: TerraformVariable;
  readonly jobRetry: TerraformVariable;
  readonly jobStrandedAlarmMinutes: TerraformVariable;
  readonly rolePath: TerraformVariable;
  readonly rolePermissionsBoundary: TerraformVariable;
  readonly instanceProfilePath: TerraformVariable;
  readonly runnerManagedPolicyArns: TerraformVariable;
  readonly enableSsmOnRunners: TerraformVariable;
  readonly kmsKeyArn: TerraformVariable;
  readonly runnerExtraLabels: TerraformVariable;
  readonly runnerEgressRules: TerraformVariable;
  readonly enableWebhookRedelivery: TerraformVariable;
  readonly enableRunnerApi: TerraformVariable;
  readonly runnerApiAudience: TerraformVariable;
  readonly runnerApiOidcIssuer: TerraformVariable;
  readonly runnerApiDefaultTimeout: TerraformVariable;
  readonly webhookRedeliverySchedule: TerraformVariable;
  readonly webhookRedeliveryLookback: TerraformVariable;

  constructor(scope: Construct) {
    const variable = (name: string, type: string, defaultValue: unknown, description: string, ...validations: { condition: string; errorMessage: string }[]) =>
      new TerraformVariable(scope, name, {
        type,
        default: defaultValue === null ? Token.nullValue() : defaultValue,
        nullable: defaultValue === null ? true : undefined,
        description,
        validation: validations.length > 0 ? validations : undefined,
      });
    this.prefix = new TerraformVariable(scope, 'prefix', {
      type: 'string',
      description: 'Prefix for every resource name (`<prefix>-<kind>`; a runner type\'s `<prefix>-<kind>_<type>`): 1 to 20 lower-case letters, digits or hyphens. Give each instance in an account and region its own.',
      validation: [
        {
          condition: `\${can(regex("${PREFIX_PATTERN.source}", var.prefix))}`,
          errorMessage: 'prefix must be 1 to 20 lower-case letters, digits or hyphens, starting with a letter or digit (no "_": it separates a runner type in resource names), got "${var.prefix}".',
        },
      ],
    });
    this.vpcId = new TerraformVariable(scope, 'vpc_id', {
      type: 'string',
      description: 'The VPC the runner instances run in.',
      validation: [{ condition: '${can(regex("^vpc-", var.vpc_id))}', errorMessage: 'vpc_id must be a VPC id (vpc-…).' }],
    });
    this.subnetIds = new TerraformVariable(scope, 'subnet_ids', {
      type: 'list(string)',
      description: 'Subnets for the runner instances; scale-up spreads launches across them.',
      validation: [
        {
          condition: '${length(var.subnet_ids) > 0 && alltrue([for s in var.subnet_ids : can(regex("^subnet-", s))])}',
          errorMessage: 'subnet_ids must list at least one subnet id (subnet-…).',
        },
      ],
    });
    this.enableOrganizationRunners = new TerraformVariable(scope, 'enable_organization_runners', {
      type: 'bool',
      default: false,
      description: 'Register runners at organisation level (true) or repository level (false).',
    });
    this.enableSpotInterruptionRerun = new TerraformVariable(scope, 'enable_spot_interruption_rerun', {
      type: 'bool',
      default: false,
      nullable: false,
      description:
        'Re-run, once, a job whose busy spot runner was interrupted: the termination watcher records the job in the job ledger, and scale-down asks GitHub to re-run it (POST /repos/{owner}/{repo}/actions/jobs/{job_id}/rerun) once its workflow run has completed, giving up after 6 hours. The GitHub App then needs the repository permission Actions: write.',
    });
    this.githubAppSsmParameters = new TerraformVariable(scope, 'github_app_ssm_parameters', {
      type: 'object({ app_id = string, private_key = string, webhook_secret = string })',
      description:
        'Names (not values) of the SSM SecureString parameters holding the GitHub App id, private key and webhook secret. The Lambdas read the values at run time, so secrets never enter Terraform state or plans.',
      validation: [
        {
          condition:
            '${alltrue([for n in values(var.github_app_ssm_parameters) : length(n) > 0 && !startswith(n, "arn:")])}',
          errorMessage: 'github_app_ssm_parameters must hold SSM parameter names (not ARNs, not empty).',
        },
      ],
    });
    this.runnerTypes = new TerraformVariable(scope, 'runner_types', {
      type: RUNNER_TYPES_VARIABLE_TYPE,
      default: { default: { labels: ['self-hosted', 'linux', 'x64'] } },
      description:
        'Runner types by name. A queued job goes to the matching type with the lowest priority (ties: name order). A job matches when its labels are a subset of the type\'s labels (self-hosted implied, case-insensitive), or equal with exact_match. ' +
        `Names: 1 to 32 lower-case letters, digits or hyphens (no "_"), not ending in "-dlq". enable_on_demand_failover_for_errors takes EC2 fleet error codes: ${FLEET_FAILOVER_ERROR_CODES.join(', ')}. ` +
        'pool_config: size at most runners_maximum_count; schedule_expression rate(…) or six-field cron(…); schedule_expression_timezone an IANA name (UTC, Area/Location). ' +
        RUNNER_TYPES_BOOT_DESCRIPTION,
      validation: [
        ...RUNNER_TYPES_VALIDATIONS,
        {
          // On runner_types, which the caller sets when adding a pool, so plan points at that line.
          condition: '${var.pool_runner_owner != null || alltrue([for n, t in var.runner_types : length(t.pool_config) == 0])}',
          errorMessage:
            'runner_types: a pool_config needs pool_runner_owner (where pool runners register); set pool_runner_owner, or remove the pools (runner types: ${join(", ", [for n, t in var.runner_types : n if length(t.pool_config) > 0])}).',
        },
      ],
    });
    this.repositoryAllowList = new TerraformVariable(scope, 'repository_allow_list', {
      type: 'list(string)',
      default: [],
      description: 'Accept jobs only from these repositories ("owner/repo"); others get 403. Empty accepts all.',
      validation: [
        {
          condition: '${alltrue([for r in var.repository_allow_list : can(regex("^[^/]+/[^/]+$", r))])}',
          errorMessage: 'repository_allow_list entries must look like "owner/repo".',
        },
      ],
    });
    this.delayWebhookEvent = new TerraformVariable(scope, 'delay_webhook_event', {
      type: 'number',
      default: 0,
      description:
        'Seconds a queued job waits before scale-up sees it, 0 to 900. Default 0: runners are single-use, so no idle runner could take the job meanwhile.',
      validation: [{ condition: '${var.delay_webhook_event >= 0 && var.delay_webhook_event <= 900}', errorMessage: 'delay_webhook_event must be 0 to 900.' }],
    });
    this.webhookThrottlingRateLimit = new TerraformVariable(scope, 'webhook_throttling_rate_limit', {
      type: 'number',
      default: DEFAULT_WEBHOOK_THROTTLING.rateLimit,
      description:
        'Steady-state requests per second accepted on the webhook route. GitHub does not redeliver a delivery answered 429, so keep it well above your peak delivery rate.',
      validation: [{ condition: '${var.webhook_throttling_rate_limit > 0}', errorMessage: 'webhook_throttling_rate_limit must be > 0.' }],
    });
    this.webhookThrottlingBurstLimit = new TerraformVariable(scope, 'webhook_throttling_burst_limit', {
      type: 'number',
      default: DEFAULT_WEBHOOK_THROTTLING.burstLimit,
      description: 'Burst of requests accepted on the webhook route (token bucket size); the default takes a 1,000-job matrix queued at once.',
      validation: [{ condition: '${var.webhook_throttling_burst_limit > 0}', errorMessage: 'webhook_throttling_burst_limit must be > 0.' }],
    });
    this.webhookReservedConcurrency = new TerraformVariable(scope, 'webhook_reserved_concurrent_executions', {
      type: 'number',
      default: DEFAULT_WEBHOOK_RESERVED_CONCURRENCY,
      description:
        'Reserved concurrency of the webhook function: guaranteed to it and its ceiling, so a delivery flood cannot starve scale-up and the other functions. Deliveries beyond it are refused, like a throttle. -1: unreserved (for accounts whose concurrency limit cannot spare it).',
      validation: [
        {
          condition: '${var.webhook_reserved_concurrent_executions == -1 || (var.webhook_reserved_concurrent_executions >= 1 && floor(var.webhook_reserved_concurrent_executions) == var.webhook_reserved_concurrent_executions)}',
          errorMessage: 'webhook_reserved_concurrent_executions must be -1 or a whole number of at least 1.',
        },
      ],
    });
    this.logLevel = new TerraformVariable(scope, 'log_level', {
      type: 'string',
      default: 'info',
      description: `Lambda log level: ${LOG_LEVELS.join(', ')}.`,
      validation: [{ condition: `\${contains(${JSON.stringify(LOG_LEVELS)}, var.log_level)}`, errorMessage: `log_level must be one of ${LOG_LEVELS.join(', ')}.` }],
    });
    this.loggingRetentionInDays = new TerraformVariable(scope, 'logging_retention_in_days', {
      type: 'number',
      default: 180,
      description: 'Days to keep Lambda and access logs.',
      validation: [
        {
          condition: `\${contains([${LOG_RETENTION_DAYS.join(', ')}], var.logging_retention_in_days)}`,
          errorMessage: `logging_retention_in_days must be one of ${LOG_RETENTION_DAYS.join(', ')}.`,
        },
      ],
    });
    this.lambdaArchitecture = new TerraformVariable(scope, 'lambda_architecture', {
      type: 'string',
      default: 'arm64',
      description: 'Architecture of the Lambdas: arm64 or x86_64.',
      validation: [{ condition: '${contains(["arm64", "x86_64"], var.lambda_architecture)}', errorMessage: 'lambda_architecture must be arm64 or x86_64.' }],
    });
    this.lambdaTracingMode = new TerraformVariable(scope, 'lambda_tracing_mode', {
      type: 'string',
      default: 'PassThrough',
      description: 'X-Ray tracing for the Lambdas: PassThrough or Active.',
      validation: [{ condition: '${contains(["PassThrough", "Active"], var.lambda_tracing_mode)}', errorMessage: 'lambda_tracing_mode must be PassThrough or Active.' }],
    });
    this.lambdaSubnetIds = new TerraformVariable(scope, 'lambda_subnet_ids', {
      type: 'list(string)',
      default: [],
      description: 'Run the Lambdas in these subnets. Empty: not in a VPC.',
    });
    this.lambdaSecurityGroupIds = new TerraformVariable(scope, 'lambda_security_group_ids', {
      type: 'list(string)',
      default: [],
      description: 'Security groups for the Lambdas when lambda_subnet_ids is set.',
      validation: [
        {
          condition: '${length(var.lambda_subnet_ids) == 0 || length(var.lambda_security_group_ids) > 0}',
          errorMessage: 'lambda_security_group_ids must not be empty when lambda_subnet_ids is set.',
        },
      ],
    });
    this.lambdaS3Bucket = new TerraformVariable(scope, 'lambda_s3_bucket', {
      type: 'string',
      default: Token.nullValue(),
      nullable: true,
      description:
        'Versioned S3 bucket holding the Lambda zips (`npx cdktf-github-runners-publish-lambdas` uploads a release\'s zips and writes these inputs). Null: use the zips shipped inside this module. Set: every *_lambda_s3_key and *_lambda_s3_object_version is required.',
    });
    // A key or version without the bucket would be silently ignored (the zip inside the module deploys).
    // Each rule sits on the variable the caller set, so plan points at the caller's line, not "line 0".
    const s3Rule = (variableName: string) => ({
      condition: `\${var.lambda_s3_bucket != null || var.${variableName} == null}`,
      errorMessage: `${variableName} is set but lambda_s3_bucket is null: set lambda_s3_bucket too, or unset ${variableName}.`,
    });
    const s3Pair = (name: string) => {
      const key = new TerraformVariable(scope, `${name}_lambda_s3_key`, {
        type: 'string',
        default: Token.nullValue(),
        nullable: true,
        description: `S3 key of the ${name} Lambda zip in lambda_s3_bucket.`,
        validation: [s3Rule(`${name}_lambda_s3_key`)],
      });
      const version = new TerraformVariable(scope, `${name}_lambda_s3_object_version`, {
        type: 'string',
        default: Token.nullValue(),
        nullable: true,
        description: `S3 object version of the ${name} Lambda zip. A new version redeploys the function.`,
        validation: [s3Rule(`${name}_lambda_s3_object_version`)],
      });
      return { key, version };
    };
    const webhook = s3Pair('webhook');
    this.webhookLambdaS3Key = webhook.key;
    this.webhookLambdaS3ObjectVersion = webhook.version;
    const scaleUp = s3Pair('scale_up');
    this.scaleUpLambdaS3Key = scaleUp.key;
    this.scaleUpLambdaS3ObjectVersion = scaleUp.version;

    this.ghesUrl = variable('ghes_url', 'string', null, 'GitHub Enterprise Server URL (https://github.example.com) or a ghe.com URL. Null: github.com.', {
      condition: '${var.ghes_url == null || can(regex("^https://[^/]+/?$", var.ghes_url))}',
      errorMessage: 'ghes_url must be an https URL with no path, e.g. https://github.example.com.',
    });
    // Reads a second variable, so Terraform (>= 1.9) evaluates it at plan.
    this.ghesSslVerify = variable(
      'ghes_ssl_verify',
      'bool',
      true,
      "Verify the TLS certificate of the GitHub Enterprise Server in ghes_url. False (needs ghes_url) skips the check in every function that calls GitHub (their GitHub client only) and on the runners (GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY=1): anyone on the network path can then impersonate the server and read the App's tokens and the runners' JIT configs. Prefer a certificate from a CA the runners trust.",
      {
        condition: '${var.ghes_ssl_verify || var.ghes_url != null}',
        errorMessage: 'ghes_ssl_verify is false but ghes_url is null: certificate checks can be turned off only for a GitHub Enterprise Server. Set ghes_url, or leave ghes_ssl_verify true.',
      },
    );
    this.runnerGroupName = variable('runner_group_name', 'string', 'Default', 'Runner group for organisation runners (ignored for repository runners).', {
      condition: '${length(trimspace(var.runner_group_name)) > 0}',
      errorMessage: 'runner_group_name must not be empty.',
    });
    this.enableJitConfig = variable('enable_jit_config', 'bool', true, 'Register runners with single-use JIT configs. False: registration tokens with --ephemeral.');
    this.enableJobQueuedCheck = variable('enable_job_queued_check', 'bool', false, 'Ask GitHub whether a job is still queued before launching its runner (fails open on API errors).');
    this.dryRun = variable('dry_run', 'bool', false, 'Rehearsal for scale-up and scale-down: EC2 calls use DryRun, no GitHub or SSM writes are made, decisions are logged (the termination watcher and the syncer act as usual).');
    this.batchSize = variable('lambda_event_source_mapping_batch_size', 'number', 10, 'Job messages per scale-up invocation, 1 to 25; one CreateFleet per repository owner serves the batch.', {
      condition: '${var.lambda_event_source_mapping_batch_size >= 1 && var.lambda_event_source_mapping_batch_size <= 25}',
      errorMessage: 'lambda_event_source_mapping_batch_size must be 1 to 25.',
    });
    this.batchingWindow = variable('lambda_event_source_mapping_maximum_batching_window_in_seconds', 'number', 0, 'Seconds scale-up waits to gather a batch; 0 launches at once.', {
      condition: '${var.lambda_event_source_mapping_maximum_batching_window_in_seconds >= 0 && var.lambda_event_source_mapping_maximum_batching_window_in_seconds <= 300}',
      errorMessage: 'lambda_event_source_mapping_maximum_batching_window_in_seconds must be 0 to 300.',
    });
    this.scaleUpTimeout = variable('runners_scale_up_lambda_timeout', 'number', 30, `Scale-up Lambda timeout in seconds, ${SCALE_UP_MIN_TIMEOUT_SECONDS} to 60 (it launches for no job with less than 8 s left; the job queue visibility timeout is 60 s).`, {
      condition: `\${var.runners_scale_up_lambda_timeout >= ${SCALE_UP_MIN_TIMEOUT_SECONDS} && var.runners_scale_up_lambda_timeout <= 60}`,
      errorMessage: `runners_scale_up_lambda_timeout must be ${SCALE_UP_MIN_TIMEOUT_SECONDS} to 60 seconds.`,
    });
    this.scaleUpReservedConcurrency = variable('scale_up_reserved_concurrent_executions', 'number', 1, 'Reserved concurrency of each runner type\'s scale-up function; 1 serialises the cap check per type. -1: unreserved.', {
      condition: '${var.scale_up_reserved_concurrent_executions == -1 || var.scale_up_reserved_concurrent_executions >= 1}',
      errorMessage: 'scale_up_reserved_concurrent_executions must be -1 or at least 1.',
    });
    this.runnerSecurityGroupIds = variable('runner_security_group_ids', 'list(string)', [], 'Security groups for the runners. Empty: the module creates an egress-only group in vpc_id.');
    this.runnerVersion = variable('runner_version', 'string', DEFAULT_RUNNER_VERSION, 'actions/runner version installed at boot (unless the runner type uses a pre-baked AMI).', {
      condition: '${can(regex("^[0-9]+[.][0-9]+[.][0-9]+$", var.runner_version))}',
      errorMessage: 'runner_version must look like 2.329.0.',
    });
    this.enableCloudwatchAgent = variable('enable_cloudwatch_agent', 'bool', false, 'Ship the user-data and runner logs to CloudWatch with the CloudWatch agent (adds boot time).');
    this.lambdaS3 = { scaleDown: s3Pair('scale_down'), terminationWatcher: s3Pair('termination_watcher'), syncer: s3Pair('syncer'), pool: s3Pair('pool'), redelivery: s3Pair('redelivery'), runnerApi: s3Pair('runner_api') };
    this.poolRunnerOwner = variable('pool_runner_owner', 'string', null, 'Where warm pool runners register: an organisation login, or owner/repo. Required when a runner type has a pool_config.', {
      condition: '${var.pool_runner_owner == null || can(regex("^[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9_.-]+)?$", var.pool_runner_owner))}',
      errorMessage: 'pool_runner_owner must be an organisation login or owner/repo.',
    });
    const scheduleRule = (name: string) => ({
      condition: `\${${scheduleExpressionCondition(`var.${name}`)}}`,
      errorMessage: `${name} must be an EventBridge rate(1 minute), rate(N minutes|hours|days) or six-field cron(…) expression with "?" in day-of-month or day-of-week.`,
    });
    this.scaleDownSchedule = variable('scale_down_schedule_expression', 'string', 'cron(*/5 * * * ? *)', 'When scale-down runs (EventBridge rate or cron expression).', scheduleRule('scale_down_schedule_expression'));
    this.minimumRunningTime = variable('minimum_running_time_in_minutes', 'number', 5, 'An idle registered runner younger than this is kept, 0 to 1440 minutes.', {
      condition: '${floor(var.minimum_running_time_in_minutes) == var.minimum_running_time_in_minutes && var.minimum_running_time_in_minutes >= 0 && var.minimum_running_time_in_minutes <= 1440}',
      errorMessage: 'minimum_running_time_in_minutes must be a whole number from 0 to 1440.',
    });
    this.runnerBootTime = variable('runner_boot_time_in_minutes', 'number', 5, 'An instance whose runner has not come online after this many minutes is removed (terminated when it never registered), 1 to 60.', {
      condition: '${floor(var.runner_boot_time_in_minutes) == var.runner_boot_time_in_minutes && var.runner_boot_time_in_minutes >= 1 && var.runner_boot_time_in_minutes <= 60}',
      errorMessage: 'runner_boot_time_in_minutes must be a whole number from 1 to 60.',
    });
    this.jobRetry = new TerraformVariable(scope, 'job_retry', {
      type: `object({ enable = optional(bool, true), max_attempts = optional(number, ${DEFAULT_JOB_RETRY_MAX_ATTEMPTS}) })`,
      default: {},
      nullable: false,
      description:
        `Relaunch for a job still waiting: a job still queued at GitHub runner_boot_time_in_minutes after its runner was launched, with no idle runner of its type, is queued again (a new launch through its type's queue, within the cap), at most max_attempts times (1 to ${JOB_RETRY_MAX_ATTEMPTS_LIMIT}); then it is given up, logged and alarmed (JobsGivenUp). Checked by scale-down on its schedule.`,
      validation: [
        {
          condition: `\${var.job_retry.max_attempts != null && floor(var.job_retry.max_attempts) == var.job_retry.max_attempts && var.job_retry.max_attempts >= 1 && var.job_retry.max_attempts <= ${JOB_RETRY_MAX_ATTEMPTS_LIMIT}}`,
          errorMessage: `job_retry.max_attempts must be a whole number from 1 to ${JOB_RETRY_MAX_ATTEMPTS_LIMIT}.`,
        },
        { condition: '${var.job_retry.enable != null}', errorMessage: 'job_retry.enable must be true or false, not null.' },
      ],
    });
    const stranded = LIMITS.jobStrandedMinutes;
    this.jobStrandedAlarmMinutes = variable(
      'job_stranded_alarm_minutes',
      'number',
      stranded.default,
      `A job queued at GitHub this many minutes (since its created_at) with no runner of its type coming (no idle runner, its relaunch not yet served) counts as stranded: scale-down's JobsStranded gauge, graphed and alarmed above 0 (<prefix>-jobs-stranded). Counted while job_retry is enabled. ${stranded.min} to ${stranded.max}.`,
      {
        condition: `\${floor(var.job_stranded_alarm_minutes) == var.job_stranded_alarm_minutes && var.job_stranded_alarm_minutes >= ${stranded.min} && var.job_stranded_alarm_minutes <= ${stranded.max}}`,
        errorMessage: `job_stranded_alarm_minutes must be a whole number from ${stranded.min} to ${stranded.max}.`,
      },
    );
    this.syncerSchedule = variable('runner_binaries_syncer_schedule_expression', 'string', 'cron(27 * * * ? *)', 'When the runner binary syncer runs (EventBridge rate or cron expression).', scheduleRule('runner_binaries_syncer_schedule_expression'));
    this.enableWebhookRedelivery = variable(
      'enable_webhook_redelivery',
      'bool',
      true,
      "Redeliver failed workflow_job webhook deliveries (answered 429 or 5xx, or timed out) once, from the GitHub App's delivery log; GitHub never redelivers by itself. False: the schedule is disabled.",
    );
    this.enableRunnerApi = variable(
      'enable_runner_api',
      'bool',
      false,
      'Create the runner API routes (POST /runners, GET /runners/{name}) on the webhook API: a workflow job starts runners with its GitHub Actions OIDC token (see actions/start-runner). Needs runner_api_audience.',
    );
    this.runnerApiAudience = variable('runner_api_audience', 'string', '', 'The aud claim every OIDC token sent to the runner API must carry (the job requests it with &audience=); e.g. the runner_api_endpoint output. Required when enable_runner_api is true.', {
      condition: '${!strcontains(var.runner_api_audience, " ")}',
      errorMessage: 'runner_api_audience must not contain spaces.',
    });
    this.runnerApiOidcIssuer = variable('runner_api_oidc_issuer', 'string', null, 'OIDC issuer the runner API accepts. Null: https://token.actions.githubusercontent.com, or <ghes_url>/_services/token when ghes_url is set.', {
      condition: '${var.runner_api_oidc_issuer == null || can(regex("^https://[^/ ]+(/[^ ]*)?$", var.runner_api_oidc_issuer))}',
      errorMessage: 'runner_api_oidc_issuer must be an https URL, e.g. https://token.actions.githubusercontent.com.',
    });
    const apiTimeout = RUNNER_API_LIMITS.timeoutMinutes;
    this.runnerApiDefaultTimeout = variable(
      'runner_api_default_timeout_minutes',
      'number',
      apiTimeout.default,
      `Minutes a runner started through the runner API waits for a job (when the request names no timeout_minutes) before scale-down removes it, ${apiTimeout.min} to ${apiTimeout.max}.`,
      {
        condition: `\${floor(var.runner_api_default_timeout_minutes) == var.runner_api_default_timeout_minutes && var.runner_api_default_timeout_minutes >= ${apiTimeout.min} && var.runner_api_default_timeout_minutes <= ${apiTimeout.max}}`,
        errorMessage: `runner_api_default_timeout_minutes must be a whole number from ${apiTimeout.min} to ${apiTimeout.max}.`,
      },
    );
    this.webhookRedeliverySchedule = variable('webhook_redelivery_schedule_expression', 'string', 'cron(*/5 * * * ? *)', 'When the webhook redelivery runs (EventBridge rate or cron expression).', scheduleRule('webhook_redelivery_schedule_expression'));
    this.webhookRedeliveryLookback = variable('webhook_redelivery_lookback_minutes', 'number', 60, 'Minutes of the delivery log each redelivery run reads, 5 to 4320 (GitHub keeps 3 days); keep it well above the schedule interval.', {
      condition: '${floor(var.webhook_redelivery_lookback_minutes) == var.webhook_redelivery_lookback_minutes && var.webhook_redelivery_lookback_minutes >= 5 && var.webhook_redelivery_lookback_minutes <= 4320}',
      errorMessage: 'webhook_redelivery_lookback_minutes must be a whole number from 5 to 4320.',
    });
    this.associatePublicIpv4Address = variable('associate_public_ipv4_address', 'bool', false, 'Give runners a public IPv4 address; only for public subnets without NAT.');
    this.alarmSnsTopicArn = variable('alarm_sns_topic_arn', 'string', null, 'SNS topic the alarms notify (DLQ messages, Lambda errors, scale-down errors); null for no notifications.', {
      condition: '${var.alarm_sns_topic_arn == null || can(regex("^arn:[^:]+:sns:[^:]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.alarm_sns_topic_arn))}',
      errorMessage: 'alarm_sns_topic_arn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>) or null.',
    });
    // IAM: ARN shapes as IAM documents them (a managed policy ARN is
    // arn:<partition>:iam::<account or "aws">:policy/<path><name>); paths as the IAM API's pattern.
    const policyArn = (x: string) => `can(regex("^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[!-~]+$", ${x}))`;
    // A conditional, not ||: Terraform evaluates both sides of ||, and length(null) fails.
    const iamPath = (x: string) => `${x} == null ? true : (can(regex("^/([!-~]*/)?$", ${x})) && length(${x}) <= 512)`;
    this.rolePath = variable('role_path', 'string', null, 'IAM path of every role the module creates: starts and ends with "/". Null: "/".', {
      condition: `\${${iamPath('var.role_path')}}`,
      errorMessage: 'role_path must start and end with "/" (e.g. /ci/runners/), printable ASCII, at most 512 characters.',
    });
    this.rolePermissionsBoundary = variable('role_permissions_boundary', 'string', null, 'ARN of the managed policy set as the permissions boundary of every role the module creates. Null: none.', {
      condition: `\${var.role_permissions_boundary == null || ${policyArn('var.role_permissions_boundary')}}`,
      errorMessage: 'role_permissions_boundary must be an IAM policy ARN (arn:aws:iam::<account>:policy/<name>) or null.',
    });
    this.instanceProfilePath = variable('instance_profile_path', 'string', null, 'IAM path of the runner instance profile: starts and ends with "/". Null: "/".', {
      condition: `\${${iamPath('var.instance_profile_path')}}`,
      errorMessage: 'instance_profile_path must start and end with "/" (e.g. /ci/runners/), printable ASCII, at most 512 characters.',
    });
    this.runnerManagedPolicyArns = variable('runner_iam_role_managed_policy_arns', 'list(string)', [], 'Managed policies (by ARN) attached to the runner role, for what jobs need from AWS.', {
      condition: `\${alltrue([for a in var.runner_iam_role_managed_policy_arns : ${policyArn('a')}])}`,
      errorMessage: 'runner_iam_role_managed_policy_arns must hold IAM policy ARNs (arn:aws:iam::aws:policy/<name> or arn:aws:iam::<account>:policy/<name>); not: ${join(", ", [for a in var.runner_iam_role_managed_policy_arns : a if !' + policyArn('a') + '])}.',
    });
    this.kmsKeyArn = variable(
      'kms_key_arn',
      'string',
      null,
      'Bring your own KMS key: ARN of a symmetric key in the module\'s account and region for the queues, logs, SSM parameters, Lambda environments and the binaries bucket. Null: the module creates its key. Its key policy must allow what the README ("Bring your own KMS key") lists.',
      {
        condition: '${var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))}',
        errorMessage: 'kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>; not an alias) or null.',
      },
    );
    this.runnerExtraLabels = variable(
      'runner_extra_labels',
      'list(string)',
      [],
      'Labels every runner type offers besides its own: runners register with them and jobs are routed on them, as on the type\'s labels.',
      {
        condition: '${alltrue([for l in var.runner_extra_labels : length(trimspace(l)) > 0 && !strcontains(l, ",")])}',
        errorMessage: 'runner_extra_labels must hold labels that are not empty or only whitespace and have no comma (config.sh takes them comma-separated).',
      },
      {
        condition: `\${alltrue([for l in var.runner_extra_labels : !can(regex("${RUN_LABEL_TERRAFORM_REGEX}", l))])}`,
        errorMessage: 'runner_extra_labels must not hold a label of the run-label form ghr-run-<digits>: the webhook adds it to the runner of a job that asks for it, and every runner offering it would take that run\'s jobs.',
      },
      {
        condition: `\${alltrue([for l in var.runner_extra_labels : !can(regex("${API_LABEL_TERRAFORM_REGEX}", l))])}`,
        errorMessage: 'runner_extra_labels must not hold a label of the runner-API form ghr-api-<run id>-<attempt>-<index>: the runner API registers it on the one runner it starts.',
      },
    );
    this.enableSsmOnRunners = variable('enable_ssm_on_runners', 'bool', false, 'Session Manager access to the runners for debugging: attaches AmazonSSMManagedInstanceCore to the runner role (whoever may ssm:StartSession on them gets a shell).');
    // The provider's egress rules (aws_security_group docs): protocol "-1" needs
    // from_port = to_port = 0; ICMP ports are type and code (-1 for any).
    const rules = 'var.runner_egress_rules';
    const badRules = (cond: string) => `[for i, r in ${rules} : format("#%d%s", i, r.description == null ? "" : " (\${r.description})") if !(${cond})]`;
    const egressCheck = (cond: string, what: string) => ({
      condition: `\${length(${badRules(cond)}) == 0}`,
      errorMessage: `runner_egress_rules: ${what} (rules: \${join(", ", ${badRules(cond)})}).`,
    });
    const tcpUdp = 'contains(["tcp", "udp", "6", "17"], lower(r.protocol))';
    const all = 'contains(["-1", "all"], lower(r.protocol))';
    const icmp = 'contains(["icmp", "icmpv6", "1", "58"], lower(r.protocol))';
    this.runnerEgressRules = new TerraformVariable(scope, 'runner_egress_rules', {
      type: 'list(object({ cidr_blocks = optional(list(string)), ipv6_cidr_blocks = optional(list(string)), prefix_list_ids = optional(list(string)), from_port = number, protocol = string, security_groups = optional(list(string)), self = optional(bool), to_port = number, description = optional(string) }))',
      default: [{ cidr_blocks: ['0.0.0.0/0'], ipv6_cidr_blocks: ['::/0'], from_port: 0, protocol: '-1', to_port: 0 }],
      description: 'Outbound rules of the runners\' security group (as aws_security_group egress). Only for the group the module creates: setting it together with runner_security_group_ids is an error at plan. Default: everything to 0.0.0.0/0 and ::/0.',
      validation: [
        egressCheck(
          `${all} || ${tcpUdp} || ${icmp} || try(floor(tonumber(r.protocol)) == tonumber(r.protocol) && tonumber(r.protocol) >= 0 && tonumber(r.protocol) <= 255, false)`,
          'protocol must be "-1" (all), tcp, udp, icmp, icmpv6 or a protocol number 0 to 255',
        ),
        egressCheck(`!(${all}) || (r.from_port == 0 && r.to_port == 0)`, 'protocol "-1" needs from_port = 0 and to_port = 0'),
        egressCheck(`!(${tcpUdp}) || (r.from_port >= 0 && r.to_port <= 65535 && r.from_port <= r.to_port)`, 'tcp and udp ports must be 0 to 65535 with from_port <= to_port'),
        egressCheck(`!(${icmp}) || (r.from_port >= -1 && r.from_port <= 255 && r.to_port >= -1 && r.to_port <= 255)`, 'icmp from_port (type) and to_port (code) must be -1 to 255'),
        egressCheck(
          ['cidr_blocks', 'ipv6_cidr_blocks', 'prefix_list_ids', 'security_groups'].map((a) => `(r.${a} == null ? 0 : length(r.${a}))`).join(' + ') + ' > 0 || r.self == true',
          'every rule needs a destination: cidr_blocks, ipv6_cidr_blocks, prefix_list_ids, security_groups or self',
        ),
        // The rules only shape the group the module creates; with the caller's
        // groups there is none, so rules given then would be silently unused.
        // An error (not a check warning): the fix is to drop one of the two, and a
        // warning is easy to miss while the runners' egress would not be what was asked.
        // Compares with the default as the variable's type converts it (absent optionals are null).
        // Reads a second variable, so Terraform (>= 1.9) evaluates it at plan.
        {
          condition: `\${length(var.runner_security_group_ids) == 0 || jsonencode(${rules}) == jsonencode([{ cidr_blocks = ["0.0.0.0/0"], description = null, from_port = 0, ipv6_cidr_blocks = ["::/0"], prefix_list_ids = null, protocol = "-1", security_groups = null, self = null, to_port = 0 }])}`,
          errorMessage:
            'runner_egress_rules is set but runner_security_group_ids is too: the rules apply only to the security group the module creates, which it does not when runner_security_group_ids is set. Put the egress rules on your own groups and unset runner_egress_rules, or unset runner_security_group_ids.',
        },
      ],
    });
    this.tags = new TerraformVariable(scope, 'tags', {
      type: 'map(string)',
      default: {},
      description: 'Tags for every resource the module creates.',
    });
  }
}
