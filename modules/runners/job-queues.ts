/**
 * One job queue (with its DLQ) per runner type. The webhook sends each queued
 * job to its type's queue; that type's scale-up function consumes it.
 */
import { Construct } from 'constructs';
import { EncryptedQueue } from '../shared/encrypted-queue';
import { Statement } from '../shared/iam';
import { allRefs, eachRef } from '../shared/iteration';
import { ModuleKey } from '../shared/module-key';
import { perTypeName } from '../shared/naming';
import { BoundRunnerTypes } from './runner-types';

export interface JobQueuesProps {
  readonly prefix: string;
  readonly runnerTypes: BoundRunnerTypes;
  readonly key: ModuleKey;
  /**
   * Seconds a new job waits before scale-up sees it (philips: delay_webhook_event).
   * 0 to 900. @default 0: every runner is single-use, so no idle runner could
   * take the job in the meantime, and a delay would only add latency.
   */
  readonly delaySeconds?: number;
  /** Visibility timeout; also the backoff for jobs deferred by the cap. Must exceed the scale-up timeout. @default 60 */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * Receives before a job moves to its DLQ. Every deferral by the cap is a
   * receive, one per visibility timeout, so this bounds how long a job may wait
   * at the cap. @default 1000 (about 16 h at 60 s; GitHub gives up on a job after 24 h)
   */
  readonly maxReceiveCount?: number;
  /** Seconds a job message is kept. @default 86400: GitHub cancels a job queued for 24 h */
  readonly messageRetentionSeconds?: number;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class JobQueues extends Construct {
  /** Per-type queue pair; its resources use for_each over the runner types. */
  readonly queues: EncryptedQueue;
  private readonly key: ModuleKey;

  constructor(scope: Construct, id: string, props: JobQueuesProps) {
    super(scope, id);
    this.key = props.key;
    const it = props.runnerTypes.iterator();
    this.queues = new EncryptedQueue(this, 'jobs', {
      name: perTypeName(props.prefix, 'jobs', it.key),
      key: props.key,
      delaySeconds: props.delaySeconds ?? 0,
      visibilityTimeoutSeconds: props.visibilityTimeoutSeconds ?? 60,
      maxReceiveCount: props.maxReceiveCount ?? 1000,
      messageRetentionSeconds: props.messageRetentionSeconds ?? 86400,
      forEach: it,
      tags: props.tags,
    });
  }

  /**
   * What a producer needs to put jobs on any runner type's queue (aws-cdk
   * `queue.grantSendMessages`): `sqs:SendMessage` on every type's queue, and
   * the module key, as the queues are SSE-KMS. The SQS Developer Guide (Key
   * management, "Configuring AWS KMS permissions") asks of a producer
   * `kms:GenerateDataKey` and `kms:Decrypt`. Spread the result into the
   * producer's `ModuleFunction` statements.
   * @param sid names the queue statement (the policy tests read it)
   * @param keySid names the key statement
   */
  grantSendMessages(sid: string, keySid: string): Statement[] {
    return [
      { sid, actions: ['sqs:SendMessage'], resources: allRefs(this.queues.queue, 'arn') },
      { sid: keySid, actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.key.arn] },
    ];
  }

  /**
   * What a runner type's consumer needs from its own type's queue (aws-cdk
   * `queue.grantConsumeMessages`): receive, delete, change visibility (the cap
   * defers a job by it) and the attributes the event source mapping reads,
   * on `each.key`'s queue, so the consumer must iterate the same runner types;
   * and `kms:Decrypt` on the module key to read SSE-KMS messages.
   * @param sid names the queue statement
   * @param keySid names the key statement
   */
  grantConsumeOwnTypeMessages(sid: string, keySid: string): Statement[] {
    return [
      {
        sid,
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
        resources: [eachRef(this.queues.queue, 'arn')],
      },
      { sid: keySid, actions: ['kms:Decrypt'], resources: [this.key.arn] },
    ];
  }
}
