/**
 * The termination watcher: when one of our instances gets a spot interruption
 * warning, or starts shutting down or terminating, deregister its runner at
 * once. A runner still busy (422) is retried later through a delayed queue
 * with a DLQ, so it is never forgotten.
 */
import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { IResolvable, Token } from 'cdktf';
import { Construct } from 'constructs';
import { EncryptedQueue } from '../shared/encrypted-queue';
import { EventTrigger } from '../shared/event-trigger';
import { ModuleFunction } from '../shared/lambda-function';
import { commonEnvironment, gitHubAppEnvironment, GitHubAppFunctionSettings, grantReadGitHubApp } from '../shared/github-app';
import { envFlag } from '../shared/lambda-settings';
import { validate, whenKnown } from '../shared/validation';
import type { TerminationWatcherEnvironment } from '../contract/environment';
import { FUNCTION_KINDS, functionName } from '../shared/naming';
import type { JobLedgerTable } from './scale-up';

export interface TerminationWatcherProps extends GitHubAppFunctionSettings {
  /** @default false */
  readonly enableOrganizationRunners?: boolean | IResolvable;
  /** Seconds before a busy runner is tried again, 0 to 900. @default 60 */
  readonly retryDelaySeconds?: number;
  /** Tries before giving up on a busy runner (scale-down's ghost sweep then removes it). @default 10 */
  readonly maxAttempts?: number;
  /**
   * Record the job of a busy spot runner that is interrupted in the job
   * ledger, for scale-down to re-run it once (issue #11 item 4).
   * @default none: nothing recorded
   */
  readonly spotInterruptionRerun?: {
    readonly ledger: JobLedgerTable;
    /** @default false */
    readonly enable?: boolean | IResolvable;
  };
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class TerminationWatcher extends Construct {
  readonly function: ModuleFunction;
  readonly retryQueue: EncryptedQueue;

  constructor(scope: Construct, id: string, props: TerminationWatcherProps) {
    super(scope, id);
    const delay = props.retryDelaySeconds ?? 60;
    const attempts = props.maxAttempts ?? 10;
    validate('TerminationWatcher', [
      // Whole numbers: the Lambda reads both as integers and would refuse to start.
      whenKnown(delay, () => Number.isInteger(delay) && delay >= 0 && delay <= 900, `retryDelaySeconds must be a whole number from 0 to 900, got ${delay}`),
      whenKnown(attempts, () => Number.isInteger(attempts) && attempts >= 1 && attempts <= 100, `maxAttempts must be a whole number from 1 to 100, got ${attempts}`),
    ]);
    // Room for a cold start's SSM read plus GitHub's rate-limit waits.
    const timeout = 60;

    this.retryQueue = new EncryptedQueue(this, 'retry', {
      name: `${props.prefix}-termination-retry`,
      key: props.key,
      // AWS advises at least six times the function timeout for a queue that triggers it.
      visibilityTimeoutSeconds: timeout * 6,
      maxReceiveCount: 5,
      tags: props.tags,
    });
    const queue = this.retryQueue.queue;
    const failed = this.retryQueue.deadLetterQueue;

    const rerun = props.spotInterruptionRerun;
    const rerunOn = rerun !== undefined && rerun.enable !== undefined && rerun.enable !== false;
    this.function = new ModuleFunction(this, 'lambda', {
      functionName: functionName(props.prefix, FUNCTION_KINDS.terminationWatcher),
      description: 'Deregisters the runner of an instance that is interrupted, shutting down or terminated',
      code: props.code,
      key: props.key,
      timeoutSeconds: timeout,
      memorySizeMb: 256,
      environment: {
        PREFIX: props.prefix,
        ...gitHubAppEnvironment(props),
        ENABLE_ORGANIZATION_RUNNERS: envFlag(props.enableOrganizationRunners, false),
        RETRY_QUEUE_URL: queue.url,
        RETRY_DELAY_SECONDS: Token.asString(delay),
        MAX_ATTEMPTS: Token.asString(attempts),
        ...(rerun && rerunOn && { ENABLE_SPOT_INTERRUPTION_RERUN: envFlag(rerun.enable, false), JOB_LEDGER_TABLE_NAME: rerun.ledger.tableName }),
        ...commonEnvironment(props.lambda),
      } satisfies TerminationWatcherEnvironment,
      statements: [
        { sid: 'DescribeInstances', actions: ['ec2:DescribeInstances'], resources: ['*'] },
        grantReadGitHubApp(props),
        // Busy runners are retried through its own queue; Lambda sends events that
        // failed every retry to the DLQ, with this role.
        ...this.retryQueue.grantSendAndConsumeMessages('RetryBusyRunners', 'UseModuleKey', { deadLetterSid: 'KeepFailedEvents' }),
        ...(rerun && rerunOn ? rerun.ledger.recordInterruptionStatements : []),
      ],
      ...props.lambda.functionSettings,
      tags: props.tags,
    });

    new LambdaFunctionEventInvokeConfig(this, 'async', {
      functionName: this.function.function.functionName,
      maximumRetryAttempts: 2,
      destinationConfig: { onFailure: { destination: failed.arn } },
    });
    new LambdaEventSourceMapping(this, 'retry-trigger', {
      eventSourceArn: queue.arn,
      functionName: this.function.function.arn,
      batchSize: 10,
      functionResponseTypes: ['ReportBatchItemFailures'],
      tags: props.tags,
    });

    // Two rules: the spot warning has no state to match on.
    new EventTrigger(this, 'spot-warning', {
      name: `${props.prefix}-spot-interruption`,
      description: 'Spot interruption warnings; the watcher ignores instances that are not ours',
      target: this.function,
      eventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] },
      tags: props.tags,
    });
    new EventTrigger(this, 'state-change', {
      name: `${props.prefix}-instance-terminating`,
      description: 'Instances shutting down; the watcher ignores instances that are not ours',
      target: this.function,
      // Every terminating instance passes through shutting-down; matching
      // terminated as well would invoke the watcher twice per instance, and
      // start two retry chains for a busy runner. Scale-down's ghost sweep is
      // the backstop for an event that never arrives.
      eventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['shutting-down'] } },
      tags: props.tags,
    });
  }
}
