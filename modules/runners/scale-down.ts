/**
 * Scale-down: a scheduled function that removes idle runners (GitHub first,
 * then EC2, only after a 204), orphans that never registered, ghost
 * registrations without an instance, and leftover JIT-config parameters.
 */
import { Fn, IResolvable, Token } from 'cdktf';
import { Construct } from 'constructs';
import { runOnSchedule } from '../shared/event-trigger';
import { ModuleFunction } from '../shared/lambda-function';
import { commonEnvironment, gitHubAppEnvironment, GitHubAppFunctionSettings, grantReadGitHubApp } from '../shared/github-app';
import { envFlag } from '../shared/lambda-settings';
import { validate, whenKnown } from '../shared/validation';
import { RUNNER_TAGS as TAGS } from '../contract/tags';
import { address } from '../shared/iteration';
import { JobQueues } from './job-queues';
import { RunnerConfigs } from './runner-configs';
import { BoundRunnerTypes } from './runner-types';
import type { JobLedgerTable } from './scale-up';
import { LIMITS, type ScaleDownEnvironment } from '../contract/environment';
import { FUNCTION_KINDS, functionName } from '../shared/naming';

/** Relaunches per job before giving up, by default (job_retry.max_attempts). */
export const DEFAULT_JOB_RETRY_MAX_ATTEMPTS = 2;
/** Most relaunches per job (the contract's limit, which lambdas/scale-down/config.ts checks too). */
export const JOB_RETRY_MAX_ATTEMPTS_LIMIT = LIMITS.jobRetryMaxAttempts.max;

/** Instances with this tag are never touched by scale-down (for debugging a runner). */
export const BYPASS_TAG = TAGS.scaleDownBypass;

export interface ScaleDownProps extends GitHubAppFunctionSettings {
  /** The runner config path (RunnerInstances.configs): scale-down deletes the configs no instance will read. */
  readonly runnerConfigs: RunnerConfigs;
  /** @default false */
  readonly enableOrganizationRunners?: boolean | IResolvable;
  /** When scale-down runs. @default "cron(*\/5 * * * ? *)" (every 5 minutes) */
  readonly scheduleExpression?: string;
  /** An idle registered runner younger than this is kept, 0 to 1440. @default 5 */
  readonly minimumRunningTimeInMinutes?: number;
  /** Minutes an instance has to bring its runner online, 1 to 60; after that it is removed (terminated when it never registered). @default 5 */
  readonly runnerBootTimeInMinutes?: number;
  /** @default false */
  readonly dryRun?: boolean | IResolvable;
  /**
   * Relaunch for jobs still waiting: the job ledger, the job queues and the
   * runner types. @default none: scale-down relaunches nothing
   */
  readonly jobRetry?: {
    readonly ledger: JobLedgerTable;
    readonly queues: JobQueues;
    readonly runnerTypes: BoundRunnerTypes;
    /** Whether jobs are relaunched. @default true */
    readonly enable?: boolean | IResolvable;
    /** Relaunches per job before it is given up, 1 to 10. @default 2 */
    readonly maxAttempts?: number;
  };
  /**
   * The re-run of spot-interrupted jobs (issue #11 item 4): jobs the
   * termination watcher recorded as interrupted in the ledger are re-run
   * once their workflow run has completed (POST
   * /repos/{owner}/{repo}/actions/jobs/{job_id}/rerun; the App needs
   * Actions: write), once. @default none: nothing is re-run
   */
  readonly spotInterruptionRerun?: {
    readonly ledger: JobLedgerTable;
    /** Whether interrupted jobs are re-run. @default false */
    readonly enable?: boolean | IResolvable;
  };
  /**
   * Minutes a job may wait at GitHub (since workflow_job.created_at) with no
   * runner of its type coming (no idle runner; its relaunch not yet served)
   * before scale-down counts it as stranded: the JobsStranded gauge, graphed
   * and alarmed above 0. Counted by the job retry's reconcile, so only while
   * job retry is enabled; jobs are read once their runner's boot time has
   * passed. 1 to 1440. @default 30
   */
  readonly jobStrandedAlarmMinutes?: number;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class ScaleDown extends Construct {
  readonly function: ModuleFunction;

  constructor(scope: Construct, id: string, props: ScaleDownProps) {
    super(scope, id);
    const minimum = props.minimumRunningTimeInMinutes ?? 5;
    const retry = props.jobRetry;
    const maxAttempts = retry?.maxAttempts ?? DEFAULT_JOB_RETRY_MAX_ATTEMPTS;
    const boot = props.runnerBootTimeInMinutes ?? 5;
    const stranded = props.jobStrandedAlarmMinutes ?? LIMITS.jobStrandedMinutes.default;
    const strandedRange = LIMITS.jobStrandedMinutes;
    validate('ScaleDown', [
      // Whole numbers: the Lambda reads both as integers and would refuse to start.
      whenKnown(minimum, () => Number.isInteger(minimum) && minimum >= 0 && minimum <= 1440, `minimumRunningTimeInMinutes must be a whole number from 0 to 1440, got ${minimum}`),
      whenKnown(boot, () => Number.isInteger(boot) && boot >= 1 && boot <= 60, `runnerBootTimeInMinutes must be a whole number from 1 to 60, got ${boot}`),
      whenKnown(maxAttempts, () => Number.isInteger(maxAttempts) && maxAttempts >= 1 && maxAttempts <= JOB_RETRY_MAX_ATTEMPTS_LIMIT, `jobRetry.maxAttempts must be an integer from 1 to ${JOB_RETRY_MAX_ATTEMPTS_LIMIT}, got ${maxAttempts}`),
      whenKnown(
        stranded,
        () => Number.isInteger(stranded) && stranded >= strandedRange.min && stranded <= strandedRange.max,
        `jobStrandedAlarmMinutes must be a whole number from ${strandedRange.min} to ${strandedRange.max}, got ${stranded}`,
      ),
    ]);
    const { partition, region, accountId } = props.key;
    const queue = retry?.queues.queues.queue;
    const retryEnvironment: Pick<ScaleDownEnvironment, 'JOB_RETRY_MAX_ATTEMPTS' | 'JOB_LEDGER_TABLE_NAME' | 'JOB_QUEUE_URLS' | 'JOB_STRANDED_MINUTES'> = retry && queue
      ? {
          // 0 turns relaunching off in the Lambda.
          JOB_RETRY_MAX_ATTEMPTS:
            retry.enable === false
              ? '0'
              : retry.enable === undefined || retry.enable === true
                ? Token.isUnresolved(maxAttempts) ? Token.asString(maxAttempts) : String(maxAttempts)
                : Token.asString(Fn.conditional(retry.enable, maxAttempts, 0)),
          JOB_LEDGER_TABLE_NAME: retry.ledger.tableName,
          JOB_STRANDED_MINUTES: Token.isUnresolved(stranded) ? Token.asString(stranded) : String(stranded),
          JOB_QUEUE_URLS: Fn.jsonencode(retry.runnerTypes.iterator().forExpressionForMap('key', `${address(queue)}[key].url`)),
        }
      : {};

    const rerun = props.spotInterruptionRerun;
    const rerunEnvironment: Pick<ScaleDownEnvironment, 'ENABLE_SPOT_INTERRUPTION_RERUN' | 'JOB_LEDGER_TABLE_NAME'> =
      rerun && rerun.enable !== undefined && rerun.enable !== false
        ? { ENABLE_SPOT_INTERRUPTION_RERUN: envFlag(rerun.enable, false), JOB_LEDGER_TABLE_NAME: rerun.ledger.tableName }
        : {};

    this.function = new ModuleFunction(this, 'lambda', {
      functionName: functionName(props.prefix, FUNCTION_KINDS.scaleDown),
      description: 'Removes idle runners, orphan instances, ghost registrations and leftover runner configs',
      code: props.code,
      key: props.key,
      timeoutSeconds: 300,
      memorySizeMb: 512,
      // One run at a time: two overlapping runs would race on the same fleet.
      reservedConcurrentExecutions: 1,
      environment: {
        PREFIX: props.prefix,
        ...gitHubAppEnvironment(props),
        ENABLE_ORGANIZATION_RUNNERS: envFlag(props.enableOrganizationRunners, false),
        MINIMUM_RUNNING_TIME_IN_MINUTES: Token.asString(minimum),
        RUNNER_BOOT_TIME_IN_MINUTES: Token.asString(boot),
        SSM_CONFIG_PATH: props.runnerConfigs.path,
        BYPASS_TAG,
        DRY_RUN: envFlag(props.dryRun, false),
        ...retryEnvironment,
        ...rerunEnvironment,
        ...commonEnvironment(props.lambda),
      } satisfies ScaleDownEnvironment,
      statements: [
        { sid: 'DescribeInstances', actions: ['ec2:DescribeInstances'], resources: ['*'] },
        {
          sid: 'TerminateOwnInstances',
          actions: ['ec2:TerminateInstances'],
          resources: [`arn:${partition}:ec2:${region}:${accountId}:instance/*`],
          // Only what scale-up or the pool launched: the prefix and a runner-type tag.
          conditions: [
            { test: 'StringEquals', variable: `ec2:ResourceTag/${TAGS.prefix}`, values: [props.prefix] },
            { test: 'Null', variable: `ec2:ResourceTag/${TAGS.runnerType}`, values: ['false'] },
          ],
        },
        {
          // The first sighting of an orphan, kept on the instance so a cold start confirms it.
          sid: 'TagOrphanSightings',
          actions: ['ec2:CreateTags'],
          resources: [`arn:${partition}:ec2:${region}:${accountId}:instance/*`],
          conditions: [
            { test: 'StringEquals', variable: `ec2:ResourceTag/${TAGS.prefix}`, values: [props.prefix] },
            { test: 'ForAllValues:StringEquals', variable: 'aws:TagKeys', values: [TAGS.orphanSeenAt] },
          ],
        },
        grantReadGitHubApp(props),
        { sid: 'DecryptSecrets', actions: ['kms:Decrypt'], resources: [props.key.arn] },
        ...props.runnerConfigs.grantHousekeeping(),
        ...(retry && queue
          ? [
              ...retry.ledger.reconcileStatements,
              // A job still waiting goes back on its type's queue (SSE-KMS with the module key).
              ...retry.queues.grantSendMessages('RequeueJobs', 'EncryptRequeuedJobs'),
            ]
          : []),
        ...(rerun && rerun.enable !== undefined && rerun.enable !== false ? rerun.ledger.rerunStatements : []),
      ],
      ...props.lambda.functionSettings,
      tags: props.tags,
    });

    runOnSchedule(this, {
      name: `${props.prefix}-scale-down`,
      description: 'Runs scale-down',
      target: this.function,
      scheduleExpression: props.scheduleExpression ?? 'cron(*/5 * * * ? *)',
      tags: props.tags,
    });
  }
}
