/**
 * The SQS adapter: puts a JobMessage on a runner type's queue.
 */
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { JobMessage } from '../../modules/contract/job-message';
import { QueueSendError } from './errors';

/** Where queued jobs go. */
export interface JobQueue {
  /** Send one message to `queueUrl` (taken from RUNNER_TYPES_CONFIG, never built by hand); throws QueueSendError. */
  enqueue(queueUrl: string, message: JobMessage): Promise<void>;
}

/** A JobQueue backed by SQS SendMessage. */
export function sqsJobQueue(client: SQSClient): JobQueue {
  return {
    async enqueue(queueUrl, message) {
      try {
        await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
      } catch (error) {
        throw new QueueSendError(message.runnerType, error);
      }
    },
  };
}
