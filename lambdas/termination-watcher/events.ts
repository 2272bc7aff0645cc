/**
 * What invokes the watcher, as plain data:
 *
 * - EventBridge, asynchronously, with `EC2 Spot Instance Interruption Warning`
 *   (`detail: { "instance-id", "instance-action" }`) and `EC2 Instance
 *   State-change Notification` (`detail: { "instance-id", "state" }`) events.
 *   The rules match every instance of the account; whether an instance is ours
 *   is decided later, from its tags.
 * - SQS, with a batch of {@link RetryMessage}s from the watcher's own retry
 *   queue.
 *
 * Nothing here logs, and no message quotes the event or a body: the callers
 * log these messages.
 */
import type { SQSEvent } from 'aws-lambda';
import { isInstanceId, runnerTargetFromOwnerTag } from '../shared/runners/identity';

export const SPOT_INTERRUPTION_WARNING = 'EC2 Spot Instance Interruption Warning';
export const INSTANCE_STATE_CHANGE = 'EC2 Instance State-change Notification';

/** Why a runner is being deregistered. */
export type DeregistrationReason = 'spot-interruption' | 'shutting-down' | 'terminated';

const REASONS: readonly DeregistrationReason[] = ['spot-interruption', 'shutting-down', 'terminated'];


/** One of the account's instances is going away. */
export interface InstanceNotice {
  readonly instanceId: string;
  readonly reason: DeregistrationReason;
}

/** One SQS record, reduced to what the watcher reads. */
export interface RetryRecord {
  readonly messageId: string;
  readonly body: string;
}

/** The invocation, classified. */
export type WatcherEvent =
  | { readonly kind: 'instance'; readonly notice: InstanceNotice }
  /** A state change into a state the watcher does not act on (the rule filters these; kept for safety). */
  | { readonly kind: 'other-state'; readonly instanceId: string; readonly state: string }
  | { readonly kind: 'retries'; readonly records: readonly RetryRecord[] };

/** The invocation is neither an SQS batch nor an EC2 event the watcher handles. The message never quotes the event. */
export class UnsupportedEventError extends Error {
  constructor(readonly problem: string) {
    super(`unsupported event: ${problem}`);
    this.name = 'UnsupportedEventError';
  }
}

/** Classify an invocation; throws UnsupportedEventError for anything else. */
export function classifyEvent(event: unknown): WatcherEvent {
  if (!isObject(event)) throw new UnsupportedEventError('not an object');
  if (Array.isArray(event.Records)) {
    const records = event.Records as SQSEvent['Records'];
    if (!records.every((r) => isObject(r) && r.eventSource === 'aws:sqs' && typeof r.messageId === 'string' && typeof r.body === 'string')) {
      throw new UnsupportedEventError('Records are not all SQS messages');
    }
    return { kind: 'retries', records: records.map((r) => ({ messageId: r.messageId, body: r.body })) };
  }
  if (event.source !== 'aws.ec2') throw new UnsupportedEventError('neither SQS Records nor an aws.ec2 event');
  const detailType = event['detail-type'];
  const detail = isObject(event.detail) ? event.detail : {};
  const instanceId = detail['instance-id'];
  if (detailType !== SPOT_INTERRUPTION_WARNING && detailType !== INSTANCE_STATE_CHANGE) throw new UnsupportedEventError('aws.ec2 event of a detail-type the watcher does not handle');
  if (typeof instanceId !== 'string' || !isInstanceId(instanceId)) throw new UnsupportedEventError(`${detailType} without a valid detail.instance-id`);
  if (detailType === SPOT_INTERRUPTION_WARNING) return { kind: 'instance', notice: { instanceId, reason: 'spot-interruption' } };
  const state = detail.state;
  if (typeof state !== 'string') throw new UnsupportedEventError(`${detailType} without detail.state`);
  if (state === 'shutting-down' || state === 'terminated') return { kind: 'instance', notice: { instanceId, reason: state } };
  return { kind: 'other-state', instanceId, state: state.slice(0, 32) };
}

/**
 * The body of a retry-queue message: delete runner `runnerId` of `owner`
 * (a `ghr:owner` tag value), named after `instanceId`, once more.
 */
export interface RetryMessage {
  readonly instanceId: string;
  /** `org` or `owner/repo`, as the instance's `ghr:owner` tag said. */
  readonly owner: string;
  /** GitHub's id of the runner (known from the first try's listing; saves a list call). */
  readonly runnerId: number;
  /** 1 for the first retry. */
  readonly attempt: number;
  readonly reason: DeregistrationReason;
  /** `ghr:runner-type` of the instance, for the metrics dimension. */
  readonly runnerType?: string;
}

/**
 * The instance notice inside a Lambda on-failure record, or undefined.
 *
 * An EventBridge invocation that failed every try lands in the retry queue's
 * DLQ as `{ requestContext, requestPayload: <the event>, … }`. An operator who
 * fixed the cause redrives that DLQ into the retry queue, so such a record is
 * work to do again, not a malformed retry message.
 */
export function redrivenNotice(body: string): InstanceNotice | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(value) || !isObject(value.requestPayload)) return undefined;
  try {
    const event = classifyEvent(value.requestPayload);
    return event.kind === 'instance' ? event.notice : undefined;
  } catch {
    return undefined;
  }
}

/** A parsed retry message, or the problems that make it a poison message (field names only, never values). */
export type ParsedRetryMessage = { readonly ok: true; readonly message: RetryMessage } | { readonly ok: false; readonly problems: string[] };

/** Parse and check a retry-queue body. Never throws. */
export function parseRetryMessage(body: string): ParsedRetryMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, problems: ['body is not JSON'] };
  }
  if (!isObject(value)) return { ok: false, problems: ['body is not a JSON object'] };
  const problems: string[] = [];
  const { instanceId, owner, runnerId, attempt, reason, runnerType } = value;
  if (typeof instanceId !== 'string' || !isInstanceId(instanceId)) problems.push('instanceId must be an EC2 instance id');
  if (typeof owner !== 'string' || runnerTargetFromOwnerTag(owner) === undefined) problems.push('owner must be an organization or owner/repo');
  if (!isPositiveInteger(runnerId)) problems.push('runnerId must be a positive integer');
  if (!isPositiveInteger(attempt)) problems.push('attempt must be a positive integer');
  if (!(REASONS as readonly unknown[]).includes(reason)) problems.push(`reason must be one of ${REASONS.join(', ')}`);
  if (runnerType !== undefined && (typeof runnerType !== 'string' || runnerType === '' || runnerType.length > 128)) problems.push('runnerType must be a non-empty string when present');
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    message: {
      instanceId: instanceId as string,
      owner: owner as string,
      runnerId: runnerId as number,
      attempt: attempt as number,
      reason: reason as DeregistrationReason,
      ...(runnerType === undefined ? {} : { runnerType: runnerType as string }),
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}
