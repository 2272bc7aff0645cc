/**
 * An SQS queue encrypted with the module key, with its dead-letter queue and
 * redrive policy. With `forEach`, one pair per element (per runner type).
 */
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { Fn, ITerraformIterator } from 'cdktf';
import { eachRef } from './iteration';
import { Construct } from 'constructs';
import { Statement } from './iam';
import { ModuleKey } from './module-key';
import { validate, whenKnown } from './validation';

export interface EncryptedQueueProps {
  /** Queue name; the DLQ is `<name>-dlq`. */
  readonly name: string;
  readonly key: ModuleKey;
  /** Seconds a received message stays hidden; must exceed the consumer Lambda's timeout. 0 to 43200. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** Seconds before a new message becomes visible. 0 to 900. @default 0 */
  readonly delaySeconds?: number;
  /** Receives before a message moves to the DLQ. 1 to 1000. @default 5 */
  readonly maxReceiveCount?: number;
  /** Seconds messages are kept. 60 to 1209600. @default 345600 (4 days) */
  readonly messageRetentionSeconds?: number;
  /** One queue pair per element; names should then use the iterator's key. @default one pair */
  readonly forEach?: ITerraformIterator;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class EncryptedQueue extends Construct {
  readonly queue: SqsQueue;
  readonly deadLetterQueue: SqsQueue;
  private readonly key: ModuleKey;
  private readonly perElement: boolean;

  constructor(scope: Construct, id: string, props: EncryptedQueueProps) {
    super(scope, id);
    this.key = props.key;
    this.perElement = props.forEach !== undefined;
    const visibility = props.visibilityTimeoutSeconds ?? 30;
    const delay = props.delaySeconds ?? 0;
    const maxReceive = props.maxReceiveCount ?? 5;
    const retention = props.messageRetentionSeconds ?? 345600;
    validate('EncryptedQueue', [
      whenKnown(visibility, () => visibility >= 0 && visibility <= 43200, `visibilityTimeoutSeconds must be 0 to 43200, got ${visibility}`),
      whenKnown(delay, () => delay >= 0 && delay <= 900, `delaySeconds must be 0 to 900, got ${delay}`),
      whenKnown(maxReceive, () => maxReceive >= 1 && maxReceive <= 1000, `maxReceiveCount must be 1 to 1000, got ${maxReceive}`),
      whenKnown(retention, () => retention >= 60 && retention <= 1209600, `messageRetentionSeconds must be 60 to 1209600, got ${retention}`),
    ]);

    const encryption = { kmsMasterKeyId: props.key.arn, kmsDataKeyReusePeriodSeconds: 300 };
    this.deadLetterQueue = new SqsQueue(this, 'dlq', {
      name: `${props.name}-dlq`,
      // Keep failed messages for the longest time SQS allows, for inspection and redrive.
      messageRetentionSeconds: 1209600,
      forEach: props.forEach,
      tags: props.tags,
      ...encryption,
    });
    // With for_each, index the DLQ by the same key; without, use it directly.
    const dlqArn = props.forEach ? eachRef(this.deadLetterQueue, 'arn') : this.deadLetterQueue.arn;
    this.queue = new SqsQueue(this, 'queue', {
      name: props.name,
      visibilityTimeoutSeconds: visibility,
      delaySeconds: delay,
      messageRetentionSeconds: retention,
      redrivePolicy: Fn.jsonencode({ deadLetterTargetArn: dlqArn, maxReceiveCount: maxReceive }),
      forEach: props.forEach,
      tags: props.tags,
      ...encryption,
    });
  }

  /**
   * What a function that both consumes this queue and sends to it needs (aws-cdk's
   * `grantSendMessages` and `grantConsumeMessages` on one queue): send, receive,
   * delete and the attributes the event source mapping reads; with `deadLetterSid`,
   * send on the DLQ too (a Lambda asynchronous invocation's on-failure destination,
   * which Lambda sends with the function's role); and the module key, as the queues
   * are SSE-KMS: the SQS Developer Guide (Key management, "Configuring AWS KMS
   * permissions") asks `kms:GenerateDataKey` of a producer and `kms:Decrypt` of both.
   * For a single queue pair only: a `forEach` pair's owner grants per element.
   * @param sid names the queue statement (the policy tests read it)
   * @param keySid names the key statement
   */
  grantSendAndConsumeMessages(sid: string, keySid: string, options: { readonly deadLetterSid?: string } = {}): Statement[] {
    if (this.perElement) {
      throw new Error(`EncryptedQueue ${this.node.path}: grantSendAndConsumeMessages is for a single queue pair; this one has one pair per element`);
    }
    return [
      { sid, actions: ['sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], resources: [this.queue.arn] },
      ...(options.deadLetterSid ? [{ sid: options.deadLetterSid, actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.arn] }] : []),
      { sid: keySid, actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [this.key.arn] },
    ];
  }
}
