/**
 * The retry-queue adapter: puts a {@link RetryMessage} on the watcher's own
 * queue, delayed by RETRY_DELAY_SECONDS, so a busy runner is tried again
 * later. The queue has a dead-letter queue (maxReceiveCount 5), so a message
 * the watcher keeps failing on is kept, not lost.
 */
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { RetryMessage } from './events';

/** Where retries go. */
export interface RetryQueue {
  /** Send one delayed message; throws RetryQueueError. */
  schedule(message: RetryMessage): Promise<void>;
}

/** Options of {@link createRetryQueue}. */
export interface RetryQueueOptions {
  /** RETRY_QUEUE_URL, from the construct (the SQS client sends to the host in it). */
  readonly queueUrl: string;
  /** DelaySeconds of every message, 0 to 900. */
  readonly delaySeconds: number;
}

/** SendMessage failed; the message names the instance, never the body. */
export class RetryQueueError extends Error {
  constructor(
    readonly instanceId: string,
    cause: unknown,
  ) {
    super(`could not queue a retry for instance ${instanceId}: ${(cause as { name?: string } | undefined)?.name ?? 'unknown error'}`, { cause });
    this.name = 'RetryQueueError';
  }
}

/** A RetryQueue backed by SQS SendMessage. */
export function createRetryQueue(sqs: SQSClient, options: RetryQueueOptions): RetryQueue {
  return {
    async schedule(message) {
      try {
        await sqs.send(new SendMessageCommand({ QueueUrl: options.queueUrl, DelaySeconds: options.delaySeconds, MessageBody: JSON.stringify(message) }));
      } catch (error) {
        throw new RetryQueueError(message.instanceId, error);
      }
    },
  };
}
