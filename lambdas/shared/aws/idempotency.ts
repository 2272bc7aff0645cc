/**
 * One runner per workflow job, across retries, redeliveries and concurrent
 * containers, recorded in DynamoDB.
 *
 * Table: partition key `pk` (S), TTL attribute `expires_at` (N, epoch seconds).
 * One item per job, `pk = job#<jobId>`:
 *
 * | attribute    | meaning                                                             |
 * |--------------|---------------------------------------------------------------------|
 * | `status`     | `launching` (locked), `launched`, or `released` (free to retry)     |
 * | `expires_at` | while `launching`: lock expiry; otherwise when DynamoDB may drop it |
 * | `lock_id`    | random id of the holder, so only the holder can settle the lock     |
 * | `attempts`   | how many times a lock was released; part of the fleet ClientToken   |
 * | `instance_id`| the runner, once `launched`                                         |
 *
 * The same item is the job's ledger entry (job-ledger.ts): `markLaunched`
 * also stores the job message, `launched_at` and `awaiting_type`, the key of
 * the sparse index {@link AWAITING_INDEX} that scale-down's reconcile reads.
 *
 * `acquire` takes the lock when the item is absent, expired, or `released`.
 * A `launched` item means the job already has a runner; a live `launching`
 * item means another invocation is on it. `release` marks the item `released`
 * (rather than deleting it) and counts the attempt, so a retry derives a new
 * CreateFleet ClientToken and cannot be handed the instances of a fleet whose
 * runners we terminated. A lock that simply expires (the holder crashed)
 * keeps its attempt count, so the retry reuses the ClientToken and EC2 returns
 * the crashed attempt's instances instead of launching more.
 */
import { AttributeValue, ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';

/** A lock held on one job. */
export interface JobLock {
  readonly jobId: number;
  readonly lockId: string;
  /** Releases before this one; feeds the fleet ClientToken. */
  readonly attempt: number;
}

/** What {@link JobLocks.acquire} found. */
export type LockResult =
  | { readonly status: 'acquired'; readonly lock: JobLock }
  | { readonly status: 'launched'; readonly instanceId?: string }
  | { readonly status: 'in-progress' };

/** Context stored with a lock, for operators. */
export interface LockContext {
  readonly jobId: number;
  readonly runnerType: string;
  readonly deliveryId: string;
}

/** The idempotency store. */
export interface JobLocks {
  /** Take the job's lock: one conditional UpdateItem. */
  acquire(context: LockContext): Promise<LockResult>;
  /**
   * The job has its runner: keep the record for `recordTtlSeconds`, with the
   * job message, so reconcile can send it again if the runner never takes a job.
   * Throws LockLostError.
   */
  markLaunched(lock: JobLock, instanceId: string, job: LedgerJob): Promise<void>;
  /** Give the job back for a retry. Throws LockLostError. */
  release(lock: JobLock): Promise<void>;
}

/** Options of {@link createJobLocks}. */
export interface JobLocksOptions {
  readonly tableName: string;
  /**
   * How long a lock holds. It must exceed the function timeout (at most 60 s in
   * the construct), and stay short: every redelivery that finds the lock still
   * held spends one of the message's receives. @default 120
   */
  readonly lockSeconds?: number;
  /** How long `launched` and `released` records are kept. @default 86400 */
  readonly recordTtlSeconds?: number;
  /** Clock in milliseconds, for tests. @default Date.now */
  readonly now?: () => number;
}

/** What the ledger keeps of a job so it can be queued again: the job message (see job-message.ts). */
export interface LedgerJob {
  readonly runnerType: string;
  /** The job message body, as received (JSON). */
  readonly message: string;
}

/**
 * The sparse global secondary index of launched jobs not yet seen running:
 * hash `awaiting_type` (the runner type), range `launched_at` (epoch seconds).
 * The webhook removes `awaiting_type` when the job goes in progress or completes.
 */
export const AWAITING_INDEX = 'awaiting';

/** The lock is no longer ours: it expired and another invocation took it. */
export class LockLostError extends Error {
  constructor(readonly jobId: number) {
    super(`idempotency lock on job ${jobId} was lost`);
    this.name = 'LockLostError';
  }
}

/** The partition key of a job's item. */
export function jobLockKey(jobId: number): string {
  return `job#${jobId}`;
}

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

function isConditionalCheckFailed(error: unknown): error is ConditionalCheckFailedException {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

/** Build the DynamoDB-backed store. */
export function createJobLocks(dynamodb: DynamoDBClient, options: JobLocksOptions): JobLocks {
  const lockSeconds = options.lockSeconds ?? 120;
  const ttlSeconds = options.recordTtlSeconds ?? 86_400;
  const nowSeconds = () => Math.floor((options.now ?? Date.now)() / 1000);
  const key = (jobId: number) => ({ pk: S(jobLockKey(jobId)) });

  const settle = async (lock: JobLock, update: string, values: Record<string, AttributeValue>) => {
    const now = nowSeconds();
    try {
      await dynamodb.send(
        new UpdateItemCommand({
          TableName: options.tableName,
          Key: key(lock.jobId),
          UpdateExpression: `${update}, expires_at = :ttl, updated_at = :now REMOVE lock_id`,
          ConditionExpression: 'lock_id = :lockId',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ...values, ':ttl': N(now + ttlSeconds), ':now': N(now), ':lockId': S(lock.lockId) },
        }),
      );
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new LockLostError(lock.jobId);
      throw error;
    }
  };

  return {
    async acquire(context) {
      const now = nowSeconds();
      const lockId = randomUUID();
      try {
        const out = await dynamodb.send(
          new UpdateItemCommand({
            TableName: options.tableName,
            Key: key(context.jobId),
            UpdateExpression:
              'SET #status = :launching, expires_at = :lockUntil, lock_id = :lockId, attempts = if_not_exists(attempts, :zero), ' +
              'runner_type = :runnerType, delivery_id = :deliveryId, updated_at = :now',
            ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now OR #status = :released',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':launching': S('launching'),
              ':released': S('released'),
              ':lockUntil': N(now + lockSeconds),
              ':lockId': S(lockId),
              ':zero': N(0),
              ':runnerType': S(context.runnerType),
              ':deliveryId': S(context.deliveryId),
              ':now': N(now),
            },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        const attempt = Number(out.Attributes?.attempts?.N ?? '0');
        return { status: 'acquired', lock: { jobId: context.jobId, lockId, attempt } };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        const item = error.Item ?? {};
        if (item.status?.S === 'launched') return { status: 'launched', instanceId: item.instance_id?.S };
        return { status: 'in-progress' };
      }
    },

    markLaunched(lock, instanceId, job) {
      return settle(lock, 'SET #status = :launched, instance_id = :instanceId, awaiting_type = :type, launched_at = :launchedAt, job_message = :message', {
        ':launched': S('launched'),
        ':instanceId': S(instanceId),
        ':type': S(job.runnerType),
        ':launchedAt': N(nowSeconds()),
        ':message': S(job.message),
      });
    },

    release(lock) {
      return settle(lock, 'SET #status = :released, attempts = if_not_exists(attempts, :zero) + :one', {
        ':released': S('released'),
        ':zero': N(0),
        ':one': N(1),
      });
    },
  };
}
