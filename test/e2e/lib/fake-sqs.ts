/**
 * A stateful SQS behind aws-sdk-client-mock, plus the part of Lambda's event
 * source mapping the tests drive by hand.
 *
 * The SDK side answers SendMessage, SendMessageBatch and GetQueueAttributes
 * for the queues it knows, and rejects unknown queue URLs and oversized
 * bodies as SQS does. The mapping side receives visible messages in send
 * order (`receive`), deletes what a handler acknowledged and keeps what it
 * returned in `batchItemFailures` (`settle`). A returned message stays
 * invisible until `expireVisibility()`, the end of its visibility timeout,
 * and moves to the dead-letter list after `maxReceiveCount` receives.
 */
import {
  GetQueueAttributesCommand,
  GetQueueAttributesCommandInput,
  SQSClient,
  SQSServiceException,
  SendMessageBatchCommand,
  SendMessageBatchCommandInput,
  SendMessageCommand,
  SendMessageCommandInput,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { AwsClientStub } from 'aws-sdk-client-mock';
import { createHash, randomUUID } from 'node:crypto';

/** SQS's limit on a message body. */
const MAX_BODY_BYTES = 256 * 1024;

type CommandName = 'SendMessage' | 'SendMessageBatch' | 'GetQueueAttributes';

/** A message and where it is in its life. */
export interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
  receiveCount: number;
  state: 'visible' | 'in-flight' | 'invisible';
}

interface Queue {
  readonly url: string;
  readonly maxReceiveCount: number;
  readonly messages: QueuedMessage[];
  readonly deadLetters: QueuedMessage[];
}

/** An SQS error as the SDK raises it. */
export function sqsError(name: string, message = name): SQSServiceException {
  return new SQSServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

export class FakeSqs {
  /** Every SDK call, in order. */
  readonly calls: { command: CommandName; input: unknown }[] = [];
  private readonly queues = new Map<string, Queue>();
  private readonly failures: { command: CommandName; error: Error; left: number }[] = [];

  constructor(
    mock: AwsClientStub<SQSClient>,
    private readonly now: () => number = Date.now,
  ) {
    mock.on(SendMessageCommand).callsFake(async (input: SendMessageCommandInput) => this.sendMessage(input));
    mock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => this.sendMessageBatch(input));
    mock.on(GetQueueAttributesCommand).callsFake(async (input: GetQueueAttributesCommandInput) => this.getQueueAttributes(input));
  }

  /** Create a queue; the module gives every runner type one with maxReceiveCount 1000. */
  createQueue(url: string, maxReceiveCount = 1000): void {
    this.queues.set(url, { url, maxReceiveCount, messages: [], deadLetters: [] });
  }

  /** Fail the next `times` calls of `command` with `error`. */
  failNext(command: CommandName, error: Error, times = 1): void {
    this.failures.push({ command, error, left: times });
  }

  /** Messages in the queue (any state), in send order. */
  messages(url: string): readonly QueuedMessage[] {
    return this.queue(url).messages;
  }

  /** Messages that reached maxReceiveCount. */
  deadLetters(url: string): readonly QueuedMessage[] {
    return this.queue(url).deadLetters;
  }

  /** Count of messages per state. */
  depth(url: string): { visible: number; inFlight: number; invisible: number } {
    const m = this.queue(url).messages;
    return {
      visible: m.filter((x) => x.state === 'visible').length,
      inFlight: m.filter((x) => x.state === 'in-flight').length,
      invisible: m.filter((x) => x.state === 'invisible').length,
    };
  }

  /** Up to `max` visible messages, oldest first, as the records of one Lambda batch. */
  receive(url: string, max: number, eventSourceArn: string): SQSRecord[] {
    const batch = this.queue(url)
      .messages.filter((m) => m.state === 'visible')
      .slice(0, max);
    const receivedAt = this.now();
    return batch.map((m) => {
      m.state = 'in-flight';
      m.receiveCount += 1;
      return {
        messageId: m.messageId,
        receiptHandle: `${m.messageId}#${m.receiveCount}`,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentAt),
          SenderId: 'AROAWEBHOOK:webhook',
          ApproximateFirstReceiveTimestamp: String(receivedAt),
        },
        messageAttributes: {},
        md5OfBody: md5(m.body),
        eventSource: 'aws:sqs',
        eventSourceARN: eventSourceArn,
        awsRegion: 'eu-west-1',
      };
    });
  }

  /**
   * What the event source mapping does with a handler's answer: delete the
   * acknowledged messages, keep the failed ones until their visibility times
   * out. `response` undefined means the invocation failed: the whole batch stays.
   */
  settle(url: string, records: readonly SQSRecord[], response: SQSBatchResponse | undefined): { acknowledged: number; returned: number } {
    const q = this.queue(url);
    const failed = new Set(response ? response.batchItemFailures.map((f) => f.itemIdentifier) : records.map((r) => r.messageId));
    let acknowledged = 0;
    for (const r of records) {
      const i = q.messages.findIndex((m) => m.messageId === r.messageId);
      if (i < 0) throw new Error(`fake SQS: message ${r.messageId} is not in ${url}`);
      if (failed.has(r.messageId)) q.messages[i].state = 'invisible';
      else {
        q.messages.splice(i, 1);
        acknowledged += 1;
      }
    }
    return { acknowledged, returned: records.length - acknowledged };
  }

  /** The visibility timeout elapsed: returned messages are visible again, or dead-lettered. */
  expireVisibility(): void {
    for (const q of this.queues.values()) {
      for (const m of [...q.messages]) {
        if (m.state !== 'invisible') continue;
        if (m.receiveCount >= q.maxReceiveCount) {
          q.messages.splice(q.messages.indexOf(m), 1);
          q.deadLetters.push(m);
        } else m.state = 'visible';
      }
    }
  }

  private queue(url: string | undefined): Queue {
    const q = url === undefined ? undefined : this.queues.get(url);
    if (!q) throw sqsError('AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
    return q;
  }

  private record(command: CommandName, input: unknown): void {
    this.calls.push({ command, input });
    const failure = this.failures.find((f) => f.command === command && f.left > 0);
    if (failure) {
      failure.left -= 1;
      throw failure.error;
    }
  }

  private enqueue(q: Queue, body: string | undefined): { MessageId: string; MD5OfMessageBody: string } {
    if (body === undefined || body === '') throw sqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    if (Buffer.byteLength(body) > MAX_BODY_BYTES) throw sqsError('InvalidParameterValue', 'Message must be shorter than 262144 bytes.');
    const messageId = randomUUID();
    q.messages.push({ messageId, body, sentAt: this.now(), receiveCount: 0, state: 'visible' });
    return { MessageId: messageId, MD5OfMessageBody: md5(body) };
  }

  private sendMessage(input: SendMessageCommandInput) {
    this.record('SendMessage', input);
    if (input.DelaySeconds) throw new Error('fake SQS: DelaySeconds is not modelled');
    return { $metadata: {}, ...this.enqueue(this.queue(input.QueueUrl), input.MessageBody) };
  }

  private sendMessageBatch(input: SendMessageBatchCommandInput) {
    this.record('SendMessageBatch', input);
    const q = this.queue(input.QueueUrl);
    const entries = input.Entries ?? [];
    if (entries.length === 0 || entries.length > 10) throw sqsError('AWS.SimpleQueueService.TooManyEntriesInBatchRequest');
    return {
      $metadata: {},
      Successful: entries.map((e) => ({ Id: e.Id, ...this.enqueue(q, e.MessageBody) })),
      Failed: [],
    };
  }

  private getQueueAttributes(input: GetQueueAttributesCommandInput) {
    this.record('GetQueueAttributes', input);
    const d = this.depth(input.QueueUrl ?? '');
    return {
      $metadata: {},
      Attributes: {
        ApproximateNumberOfMessages: String(d.visible),
        ApproximateNumberOfMessagesNotVisible: String(d.inFlight + d.invisible),
      },
    };
  }
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}
