/**
 * The warm pool: during the schedule windows of a runner type's `pool_config`,
 * keep that many idle runners ready, so a job starts without waiting for an
 * instance to boot.
 *
 * One EventBridge Scheduler schedule per pool window (for_each over every
 * type's `pool_config`, so an HCL user adds a window without re-synthesizing)
 * invokes one pool function with `{ runnerType, size, scheduledTime }`. The
 * function launches nothing: it puts a pool top-up message on the type's job
 * queue, and the type's scale-up function (the one launcher of the type, reserved
 * concurrency 1) counts the runners that are idle and online, or still
 * booting, and launches the difference after its batch's jobs, within
 * `runners_maximum_count` (issue #11 item 5). The pool's role can send to the
 * job queues and nothing else: no EC2, SSM or GitHub.
 *
 * A failed top-up is not retried: the next tick of the schedule does the same
 * work with fresh counts, and no job depends on it (scale-up still launches a
 * runner for every queued job). Pool runners are ordinary runners: they take
 * any job their labels match, and scale-down removes them once idle past
 * `minimum_running_time_in_minutes`.
 */
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { SchedulerSchedule } from '@cdktf/provider-aws/lib/scheduler-schedule';
import { Fn, IResolvable, Op, TerraformIterator, TerraformLocal, Token } from 'cdktf';
import { Construct } from 'constructs';
import { moduleRole, policyDocument } from '../shared/iam';
import { LambdaCode } from '../shared/lambda-code';
import { ModuleFunction } from '../shared/lambda-function';
import { LambdaSettings, envFlag } from '../shared/lambda-settings';
import { ModuleKey } from '../shared/module-key';
import { perTypeName, FUNCTION_KINDS, functionName } from '../shared/naming';
import { validate, whenKnown } from '../shared/validation';
import { address } from '../shared/iteration';
import { JobQueues } from './job-queues';
import { RunnerInstances } from './runner-instances';
import { BoundRunnerTypes, DEFAULT_INSTANCE_TYPES } from './runner-types';
import type { PoolEnvironment } from '../contract/environment';
import { RUNNER_TYPE_LAUNCH_FIELDS, type RunnerTypeLaunchConfig } from '../contract/runner-types';

export interface WarmPoolProps {
  readonly prefix: string;
  readonly key: ModuleKey;
  readonly runnerTypes: BoundRunnerTypes;
  readonly instances: RunnerInstances;
  /** The module's subnets, for types that name none. */
  readonly subnetIds: string[];
  /** The job queues: each tick's top-up goes to its type's queue, for scale-up. */
  readonly queues: JobQueues;
  /**
   * Where pool runners register: an organisation login, or "owner/repo".
   * A pool has no job to say where, so this does. May be a Terraform
   * expression whose value is null: the function then fails every tick with a
   * message saying so. @default none
   */
  readonly runnerOwner?: string;
  readonly appIdParameterName: string;
  readonly privateKeyParameterName: string;
  readonly ssmConfigPath: string;
  readonly code: LambdaCode;
  readonly lambda: LambdaSettings;
  /** @default github.com */
  readonly ghesUrl?: string;
  /** Verify the GitHub server's TLS certificate (GHES_SSL_VERIFY; terraform-aws-github-runner `ghes_ssl_verify`). @default true */
  readonly ghesSslVerify?: boolean | IResolvable;
  /** @default "Default" */
  readonly runnerGroupName?: string;
  /** @default true */
  readonly enableJitConfig?: boolean | IResolvable;
  /** Minutes a booting instance counts as ready. @default 5 */
  readonly runnerBootTimeInMinutes?: number;
  /** @default false */
  readonly dryRun?: boolean | IResolvable;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/** Owners are an organisation login or "owner/repo". */
const OWNER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]*(\/[A-Za-z0-9_.-]+)?$/;

export class WarmPool extends Construct {
  readonly function: ModuleFunction;
  /** One schedule per pool window, keyed `<type>-<index>`. */
  readonly schedules: SchedulerSchedule;

  constructor(scope: Construct, id: string, props: WarmPoolProps) {
    super(scope, id);
    const boot = props.runnerBootTimeInMinutes ?? 5;
    const owner = props.runnerOwner;
    validate('WarmPool', [
      whenKnown(owner, () => owner === undefined || OWNER_PATTERN.test(owner), `runnerOwner must be an organisation login or owner/repo, got "${owner}"`),
    ]);
    const { partition, region, accountId } = props.key;
    const tags = props.tags;
    const types = `local.${props.runnerTypes.local.friendlyUniqueId}`;
    const launchTemplate = address(props.instances.launchTemplate);
    const queue = props.queues.queues.queue;

    // Every type's launch settings, as scale-up reads them per type: the
    // defaults for instance types and subnets live in locals so the
    // for-expression can name them.
    const defaults = new TerraformLocal(this, 'pool_defaults', {
      instance_types: DEFAULT_INSTANCE_TYPES,
      subnet_ids: props.subnetIds,
    });
    const d = `local.${defaults.friendlyUniqueId}`;
    // Only the types that have a pool: Lambda environments hold 4 KB at most.
    // The pool's RunnerTypeLaunchConfigs, each entry what scale-up reads as its RunnerTypeLaunchConfig.
    const launchConfig = {
      labels: 'val.labels',
      launch_template_id: `${launchTemplate}[key].id`,
      launch_template_version: `tostring(${launchTemplate}[key].latest_version)`,
      instance_types: `val.instance_types != null ? val.instance_types : ${d}.instance_types[val.runner_architecture]`,
      subnet_ids: `val.subnet_ids != null ? val.subnet_ids : ${d}.subnet_ids`,
      instance_target_capacity_type: 'val.instance_target_capacity_type',
      instance_allocation_strategy: 'val.instance_allocation_strategy',
      runners_maximum_count: 'val.runners_maximum_count',
      enable_on_demand_failover_for_errors: 'val.enable_on_demand_failover_for_errors',
    } satisfies Record<keyof RunnerTypeLaunchConfig, string>;
    const typesConfig =
      `\${jsonencode({ for key, val in ${types} : key => { ` +
      RUNNER_TYPE_LAUNCH_FIELDS.map((field) => `${field} = ${launchConfig[field]}`).join(', ') +
      ' } if length(val.pool_config) > 0 })}';

    this.function = new ModuleFunction(this, 'lambda', {
      functionName: functionName(props.prefix, FUNCTION_KINDS.pool),
      description: 'Keeps the warm pools of idle runners topped up during their schedule windows',
      code: props.code,
      key: props.key,
      timeoutSeconds: 60,
      memorySizeMb: 512,
      // One top-up at a time: two overlapping ones would both count the same gap.
      reservedConcurrentExecutions: 1,
      environment: {
        PREFIX: props.prefix,
        POOL_RUNNER_OWNER: owner === undefined ? '' : Token.isUnresolved(owner) ? Token.asString(Fn.conditional(Op.neq(owner, Token.nullValue()), owner, '')) : owner,
        RUNNER_TYPES_CONFIG: typesConfig,
        GITHUB_APP_ID_SSM_PARAMETER_NAME: props.appIdParameterName,
        GITHUB_APP_KEY_SSM_PARAMETER_NAME: props.privateKeyParameterName,
        GHES_URL: props.ghesUrl ?? '',
        GHES_SSL_VERIFY: envFlag(props.ghesSslVerify, true),
        RUNNER_GROUP_NAME: props.runnerGroupName ?? 'Default',
        ENABLE_JIT_CONFIG: envFlag(props.enableJitConfig, true),
        RUNNER_BOOT_TIME_IN_MINUTES: Token.asString(boot),
        DRY_RUN: envFlag(props.dryRun, false),
        SSM_CONFIG_PATH: props.ssmConfigPath,
        INSTANCE_ARN_PREFIX: `arn:${partition}:ec2:${region}:${accountId}:instance/`,
        KMS_KEY_ID: props.key.arn,
        LOG_LEVEL: props.lambda.logLevel,
        METRICS_NAMESPACE: props.lambda.metricsNamespace,
        // Where each tick's top-up goes: the type's job queue, which only scale-up consumes.
        JOB_QUEUE_URLS: Fn.jsonencode(props.runnerTypes.iterator().forExpressionForMap('key', `${address(queue)}[key].url`)),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      } satisfies PoolEnvironment,
      statements: [
        // The tick's top-up goes on the type's job queue (SSE-KMS with the module key); scale-up launches.
        ...props.queues.grantSendMessages('SendPoolTopUps', 'EncryptPoolTopUps'),
      ],
      ...props.lambda.functionSettings,
      tags,
    });
    new LambdaFunctionEventInvokeConfig(this, 'async', {
      functionName: this.function.function.functionName,
      maximumRetryAttempts: 0,
      // A tick held back (throttled behind another) is dropped after 5 minutes, not run late outside its window.
      maximumEventAgeInSeconds: 300,
    });

    const invoker = moduleRole(this, 'scheduler-role', {
      name: `${props.prefix}-pool-scheduler`,
      assumeRolePolicy: policyDocument(this, 'scheduler-trust', [
        {
          sid: 'SchedulerAssumeRole',
          actions: ['sts:AssumeRole'],
          resources: [],
          principals: [{ type: 'Service', identifiers: ['scheduler.amazonaws.com'] }],
          conditions: [
            { test: 'StringEquals', variable: 'aws:SourceAccount', values: [accountId] },
            { test: 'ArnLike', variable: 'aws:SourceArn', values: [`arn:${partition}:scheduler:${region}:${accountId}:schedule/default/${perTypeName(props.prefix, 'pool', '*')}`] },
          ],
        },
      ]).json,
      tags,
    }, props.lambda.functionSettings.role ?? {});
    new IamRolePolicy(this, 'scheduler-policy', {
      role: invoker.name,
      policy: policyDocument(this, 'scheduler-permissions', [
        { sid: 'InvokePoolFunction', actions: ['lambda:InvokeFunction'], resources: [this.function.function.arn] },
      ]).json,
    });

    // Every window of every type: `<type>-<index>` → the window.
    const windows = new TerraformLocal(
      this,
      'pool_windows',
      `\${{ for w in flatten([for name, t in ${types} : [for i, p in t.pool_config : { key = format("%s-%d", name, i), runner_type = name, size = p.size, schedule_expression = p.schedule_expression, timezone = p.schedule_expression_timezone }]]) : w.key => w }}`,
    );
    const it = TerraformIterator.fromMap(windows.asAnyMap);
    this.schedules = new SchedulerSchedule(this, 'schedule', {
      forEach: it,
      name: perTypeName(props.prefix, 'pool', it.key),
      description: 'Tops up a warm pool of idle runners',
      scheduleExpression: it.getString('schedule_expression'),
      scheduleExpressionTimezone: it.getString('timezone'),
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: this.function.function.arn,
        roleArn: invoker.arn,
        // The scheduled time names the top-up: a duplicate delivery of the same
        // tick launches nothing twice (it becomes the CreateFleet ClientToken).
        // format(), not jsonencode(): jsonencode escapes < and >, and the
        // Scheduler substitutes only the literal placeholder. Type names are
        // [a-z0-9-], so nothing needs escaping.
        input: Fn.format(Fn.rawString('{"runnerType":"%s","size":%d,"scheduledTime":"<aws.scheduler.scheduled-time>"}'), [it.getString('runner_type'), it.getNumber('size')]),
        retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 },
      },
    });
  }
}
