/**
 * Scale-up: one function per runner type, triggered by that type's job queue
 * with ReportBatchItemFailures, plus the DynamoDB table that makes launches
 * idempotent per job id. One function per type keeps each function's
 * configuration small, isolates a burst on one type from the others, and lets
 * reserved concurrency serialise the cap check per type.
 */
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping';
import { Fn, IResolvable, Op, Token } from 'cdktf';
import { Construct } from 'constructs';
import { eachRef } from '../shared/iteration';
import { LambdaCode } from '../shared/lambda-code';
import { ModuleFunction } from '../shared/lambda-function';
import { LambdaSettings, envFlag } from '../shared/lambda-settings';
import { ModuleKey } from '../shared/module-key';
import { perTypeName, PER_TYPE_FUNCTION_KINDS } from '../shared/naming';
import { validate, whenKnown } from '../shared/validation';
import { Statement } from '../shared/iam';
import { JobQueues } from './job-queues';
import { launchStatements, readAmiParameterStatement } from './launch-permissions';
import { RUNNER_TAGS as TAGS } from '../contract/tags';
import { RunnerInstances } from './runner-instances';
import { BoundRunnerTypes, DEFAULT_INSTANCE_TYPES } from './runner-types';
import type { ScaleUpEnvironment } from '../contract/environment';
import type { RunnerTypeLaunchConfig } from '../contract/runner-types';
import { JOB_LEDGER_INDEXES } from '../contract/job-ledger';

export interface ScaleUpProps {
  readonly prefix: string;
  readonly key: ModuleKey;
  readonly runnerTypes: BoundRunnerTypes;
  readonly queues: JobQueues;
  readonly instances: RunnerInstances;
  /** Subnets for types that name none. */
  readonly subnetIds: string[];
  /** SSM parameter names of the GitHub App id and private key. */
  readonly appIdParameterName: string;
  readonly privateKeyParameterName: string;
  /** Where JIT configs are written: `<path>/<instance-id>`. */
  readonly ssmConfigPath: string;
  /** The scale-up Lambda's code. */
  readonly code: LambdaCode;
  readonly lambda: LambdaSettings;
  /** GitHub Enterprise Server or ghe.com URL. @default github.com */
  readonly ghesUrl?: string;
  /** Verify the GitHub server's TLS certificate (GHES_SSL_VERIFY; terraform-aws-github-runner `ghes_ssl_verify`). @default true */
  readonly ghesSslVerify?: boolean | IResolvable;
  /** Organisation-level runners (else repository-level). @default false */
  readonly enableOrganizationRunners?: boolean | IResolvable;
  /** Runner group for organisation runners. @default "Default" */
  readonly runnerGroupName?: string;
  /** Register with JIT configs (else registration tokens). @default true */
  readonly enableJitConfig?: boolean | IResolvable;
  /** Ask GitHub whether a job is still queued before launching. @default false */
  readonly enableJobQueuedCheck?: boolean | IResolvable;
  /** Rehearse: EC2 DryRun, no GitHub or SSM writes. @default false */
  readonly dryRun?: boolean | IResolvable;
  /**
   * Messages per invocation, 1 to 25. Each runner launched in a batch carries
   * one `ghr:job-id:<instance>` tag per sibling, and EC2 allows 50 tags per
   * instance. @default 10
   */
  readonly batchSize?: number;
  /** Seconds to gather a batch, 0 to 300. @default 0 */
  readonly maximumBatchingWindowInSeconds?: number;
  /**
   * Function timeout in seconds, {@link SCALE_UP_MIN_TIMEOUT_SECONDS} to 60 (below the queue's visibility timeout).
   * Scale-up launches for no job with less than 8 s left, so a shorter timeout would launch nothing.
   * @default 30
   */
  readonly timeoutSeconds?: number;
  /**
   * Minutes a pool runner that is not online yet counts as ready, for the
   * pool top-ups scale-up runs (issue #11 item 5). 1 to 1440. @default 5
   */
  readonly runnerBootTimeInMinutes?: number;
  /** Reserved concurrency per type; 1 serialises the cap check (of jobs and pool top-ups alike). @default 1 */
  readonly reservedConcurrentExecutions?: number;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

/**
 * The shortest scale-up timeout that can launch: the function takes no lock
 * and requests no fleet with less than 8 s left (LAUNCH_MIN_MS in
 * lambdas/scale-up/scale-up.ts, tied to this by a test), and needs a second
 * or two before that to load its config and list the runners.
 */
export const SCALE_UP_MIN_TIMEOUT_SECONDS = 10;

/**
 * The job ledger on the idempotency table (lambdas/shared/aws/job-ledger.ts):
 * its name and the grants of the functions that read or write it.
 */
export interface JobLedgerTable {
  readonly tableName: string;
  /** The webhook records in_progress and completed on items scale-up created. */
  readonly recordProgressStatements: Statement[];
  /** Scale-down's reconcile reads the awaiting index and releases or settles entries. */
  readonly reconcileStatements: Statement[];
  /** The termination watcher records a busy spot runner's interrupted job on its item (issue #11 item 4). */
  readonly recordInterruptionStatements: Statement[];
  /** Scale-down reads the interrupted index and claims, defers or gives up each re-run. */
  readonly rerunStatements: Statement[];
}

/** The sparse index of launched jobs not yet seen running (AWAITING_INDEX in lambdas/shared/aws/idempotency.ts). */
export const JOB_LEDGER_AWAITING_INDEX = 'awaiting';

export class ScaleUp extends Construct {
  readonly function: ModuleFunction;
  readonly idempotencyTable: DynamodbTable;
  readonly ledger: JobLedgerTable;

  constructor(scope: Construct, id: string, props: ScaleUpProps) {
    super(scope, id);
    const batchSize = props.batchSize ?? 10;
    const window = props.maximumBatchingWindowInSeconds ?? 0;
    const timeout = props.timeoutSeconds ?? 30;
    validate('ScaleUp', [
      whenKnown(batchSize, () => batchSize >= 1 && batchSize <= 25, `batchSize must be 1 to 25, got ${batchSize}`),
      whenKnown(window, () => window >= 0 && window <= 300, `maximumBatchingWindowInSeconds must be 0 to 300, got ${window}`),
      whenKnown(
        timeout,
        () => timeout >= SCALE_UP_MIN_TIMEOUT_SECONDS && timeout <= 60,
        `timeoutSeconds must be ${SCALE_UP_MIN_TIMEOUT_SECONDS} to 60 (time to launch and register; below the queue visibility timeout), got ${timeout}`,
      ),
    ]);
    const { partition, region, accountId } = props.key;
    const tags = props.tags;

    this.idempotencyTable = new DynamodbTable(this, 'idempotency', {
      name: `${props.prefix}-job-launches`,
      billingMode: 'PAY_PER_REQUEST',
      hashKey: 'pk',
      attribute: [
        { name: 'pk', type: 'S' },
        { name: 'awaiting_type', type: 'S' },
        { name: 'launched_at', type: 'N' },
        { name: JOB_LEDGER_INDEXES.interrupted.hashKey, type: 'S' },
        { name: JOB_LEDGER_INDEXES.interrupted.rangeKey, type: 'N' },
      ],
      // Sparse: only launched jobs no runner has been seen taking carry awaiting_type.
      globalSecondaryIndex: [
        { name: JOB_LEDGER_AWAITING_INDEX, hashKey: 'awaiting_type', rangeKey: 'launched_at', projectionType: 'ALL' },
        // Sparse as well: only jobs interrupted on a busy spot runner, until their re-run is requested or given up.
        { name: JOB_LEDGER_INDEXES.interrupted.name, hashKey: JOB_LEDGER_INDEXES.interrupted.hashKey, rangeKey: JOB_LEDGER_INDEXES.interrupted.rangeKey, projectionType: 'ALL' },
      ],
      ttl: { attributeName: 'expires_at', enabled: true },
      serverSideEncryption: { enabled: true, kmsKeyArn: props.key.arn },
      pointInTimeRecovery: { enabled: true },
      tags,
    });

    const table = this.idempotencyTable;
    this.ledger = {
      tableName: table.name,
      recordProgressStatements: [{ sid: 'RecordJobProgress', actions: ['dynamodb:UpdateItem'], resources: [table.arn] }],
      reconcileStatements: [
        { sid: 'ReadAwaitingJobs', actions: ['dynamodb:Query'], resources: [`${table.arn}/index/${JOB_LEDGER_AWAITING_INDEX}`] },
        { sid: 'SettleAwaitingJobs', actions: ['dynamodb:UpdateItem'], resources: [table.arn] },
      ],
      recordInterruptionStatements: [{ sid: 'RecordInterruptedJobs', actions: ['dynamodb:UpdateItem'], resources: [table.arn] }],
      rerunStatements: [
        { sid: 'ReadInterruptedJobs', actions: ['dynamodb:Query'], resources: [`${table.arn}/index/${JOB_LEDGER_INDEXES.interrupted.name}`] },
        { sid: 'SettleInterruptedJobs', actions: ['dynamodb:UpdateItem'], resources: [table.arn] },
      ],
    };

    const it = props.runnerTypes.iterator();
    const launchTemplate = props.instances.launchTemplate;
    const queue = props.queues.queues.queue;
    const nullable = (value: string, fallback: unknown) => Fn.conditional(Op.neq(value, Token.nullValue()), value, fallback);
    const typeConfig = Fn.jsonencode({
      labels: it.getList('labels'),
      launch_template_id: eachRef(launchTemplate, 'id'),
      launch_template_version: Fn.tostring(eachRef(launchTemplate, 'latest_version')),
      instance_types: nullable(it.getString('instance_types'), Fn.lookup(DEFAULT_INSTANCE_TYPES, it.getString('runner_architecture'))),
      subnet_ids: nullable(it.getString('subnet_ids'), props.subnetIds),
      instance_target_capacity_type: it.getString('instance_target_capacity_type'),
      instance_allocation_strategy: it.getString('instance_allocation_strategy'),
      runners_maximum_count: it.getNumber('runners_maximum_count'),
      enable_on_demand_failover_for_errors: it.getList('enable_on_demand_failover_for_errors'),
    } satisfies Record<keyof RunnerTypeLaunchConfig, unknown>);
    const instanceArns = `arn:${partition}:ec2:${region}:${accountId}:instance/*`;

    this.function = new ModuleFunction(this, 'lambda', {
      functionName: perTypeName(props.prefix, PER_TYPE_FUNCTION_KINDS.scaleUp, it.key),
      description: 'Launches one ephemeral JIT runner per queued job for one runner type',
      code: props.code,
      key: props.key,
      forEach: it,
      timeoutSeconds: timeout,
      memorySizeMb: 512,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? 1,
      environment: {
        PREFIX: props.prefix,
        RUNNER_TYPE: it.key,
        RUNNER_TYPE_CONFIG: typeConfig,
        GITHUB_APP_ID_SSM_PARAMETER_NAME: props.appIdParameterName,
        GITHUB_APP_KEY_SSM_PARAMETER_NAME: props.privateKeyParameterName,
        GHES_URL: props.ghesUrl ?? '',
        GHES_SSL_VERIFY: envFlag(props.ghesSslVerify, true),
        ENABLE_ORGANIZATION_RUNNERS: envFlag(props.enableOrganizationRunners, false),
        RUNNER_GROUP_NAME: props.runnerGroupName ?? 'Default',
        ENABLE_JIT_CONFIG: envFlag(props.enableJitConfig, true),
        ENABLE_JOB_QUEUED_CHECK: envFlag(props.enableJobQueuedCheck, false),
        DRY_RUN: envFlag(props.dryRun, false),
        SSM_CONFIG_PATH: props.ssmConfigPath,
        INSTANCE_ARN_PREFIX: `arn:${partition}:ec2:${region}:${accountId}:instance/`,
        KMS_KEY_ID: props.key.arn,
        IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.name,
        RUNNER_BOOT_TIME_IN_MINUTES: Token.asString(props.runnerBootTimeInMinutes ?? 5),
        LOG_LEVEL: props.lambda.logLevel,
        METRICS_NAMESPACE: props.lambda.metricsNamespace,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      } satisfies ScaleUpEnvironment,
      statements: [
        ...launchStatements(props, { templateArns: [eachRef(launchTemplate, 'arn')], runnerTypes: [it.key], runInstancesSid: 'RunInstancesFromOwnTemplate' }),
        readAmiParameterStatement([Token.asString(Fn.lookup(props.instances.amiParameterArns.asAnyMap, it.key))]),
        {
          // Only the job-id tags (ghr:job-id:<instance-id>) on this type's own instances.
          sid: 'TagOwnInstancesWithJobIds',
          actions: ['ec2:CreateTags'],
          resources: [instanceArns],
          conditions: [
            { test: 'StringEquals', variable: `ec2:ResourceTag/${TAGS.prefix}`, values: [props.prefix] },
            { test: 'StringEquals', variable: `ec2:ResourceTag/${TAGS.runnerType}`, values: [it.key] },
            { test: 'ForAllValues:StringLike', variable: 'aws:TagKeys', values: [`${TAGS.jobId}:*`] },
          ],
        },
        {
          sid: 'TerminateOwnInstances',
          actions: ['ec2:TerminateInstances'],
          resources: [instanceArns],
          conditions: [
            { test: 'StringEquals', variable: `ec2:ResourceTag/${TAGS.prefix}`, values: [props.prefix] },
            { test: 'StringEquals', variable: `ec2:ResourceTag/${TAGS.runnerType}`, values: [it.key] },
          ],
        },
        ...props.queues.grantConsumeOwnTypeMessages('ConsumeOwnQueue', 'DecryptOwnQueue'),
        {
          // Locks are taken, released and marked launched with conditional updates only.
          sid: 'LaunchIdempotency',
          actions: ['dynamodb:UpdateItem'],
          resources: [this.idempotencyTable.arn],
        },
        {
          // The runner API's records (`pk = api#<name>`, issue #15): read before launching, marked launched by UpdateItem above.
          sid: 'ReadApiRunnerRecords',
          actions: ['dynamodb:GetItem'],
          resources: [this.idempotencyTable.arn],
        },
      ],
      ...props.lambda.functionSettings,
      tags,
    });

    new LambdaEventSourceMapping(this, 'trigger', {
      forEach: it,
      eventSourceArn: eachRef(queue, 'arn'),
      functionName: eachRef(this.function.function, 'arn'),
      batchSize,
      maximumBatchingWindowInSeconds: window,
      functionResponseTypes: ['ReportBatchItemFailures'],
      tags,
    });
  }
}
