/**
 * The job ledger's part for the re-run of spot-interrupted jobs (issue #11
 * item 4), on the same item as the launch lock and the ledger
 * (`pk = job#<jobId>`, idempotency.ts and job-ledger.ts).
 *
 *   termination watcher recordInterruption   rerun_state = interrupted, interrupted_at, rerun_tries = 0,
 *                                            rerun_pending (the sparse index {@link JOB_LEDGER_INDEXES}.interrupted)
 *   scale-down claimRerun                    rerun_state = rerun-requested, rerun_requested_at; rerun_pending removed
 *   scale-down deferRerun (GitHub said 403)  rerun_state = interrupted, rerun_tries + 1; rerun_pending set again
 *   scale-down giveUpRerun                   rerun_state = rerun-given-up; rerun_pending removed
 *
 * Every write is conditional on the state it read, so a job is recorded as
 * interrupted once (`attribute_not_exists(rerun_state)`), and two scale-down
 * runs (or a redriven event) cannot both claim it: only the one whose claim
 * succeeded calls GitHub. A run that dies between its claim and GitHub's
 * answer leaves the item `rerun-requested` and out of the index: the job is
 * re-run at most once, never twice.
 */
import { AttributeValue, ConditionalCheckFailedException, DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { JOB_LEDGER_INDEXES } from '../../../modules/contract/job-ledger';
import { jobLockKey } from './idempotency';

/** A job recorded as interrupted, waiting for its re-run. */
export interface InterruptedJob {
  readonly jobId: number;
  /** Epoch seconds of the interruption. */
  readonly interruptedAt: number;
  /** Re-runs GitHub refused so far (its run was not completed yet). */
  readonly rerunTries: number;
  /** The job message (job-message.ts): repository, installation, runner type. Absent on a malformed item. */
  readonly message?: string;
}

/** What the termination watcher records. */
export interface InterruptionRecorder {
  /**
   * Record that the busy runner `runnerName` on `instanceId` was interrupted
   * while running job `jobId`. `false` when the ledger holds no such job, the
   * job ran on another runner, it completed, or it is already recorded.
   */
  recordInterruption(jobId: number, instanceId: string, runnerName: string): Promise<boolean>;
}

/** What scale-down's re-run step needs. */
export interface RerunLedger {
  /** Interrupted jobs waiting for their re-run, oldest first, at most `limit`. */
  listInterrupted(limit: number): Promise<InterruptedJob[]>;
  /** Take the job for one re-run request; `false` when another run took it or it changed since it was read. */
  claimRerun(job: InterruptedJob): Promise<boolean>;
  /** GitHub refused the re-run for now: back to `interrupted`, one more try counted. */
  deferRerun(job: InterruptedJob): Promise<boolean>;
  /** Stop trying: `rerun-given-up`, out of the index. */
  giveUpRerun(job: InterruptedJob): Promise<boolean>;
}

/** Options of {@link createRerunLedger}. */
export interface RerunLedgerOptions {
  readonly tableName: string;
  /** Clock in milliseconds, for tests. @default Date.now */
  readonly now?: () => number;
}

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });
const INDEX = JOB_LEDGER_INDEXES.interrupted;

async function conditional(dynamodb: DynamoDBClient, command: UpdateItemCommand): Promise<boolean> {
  try {
    await dynamodb.send(command);
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException || (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/** Build the DynamoDB-backed re-run ledger. */
export function createRerunLedger(dynamodb: DynamoDBClient, options: RerunLedgerOptions): InterruptionRecorder & RerunLedger {
  const nowSeconds = () => Math.floor((options.now ?? Date.now)() / 1000);
  const TableName = options.tableName;
  const key = (jobId: number) => ({ pk: S(jobLockKey(jobId)) });
  const names = { '#pending': INDEX.hashKey, '#at': INDEX.rangeKey };

  return {
    recordInterruption(jobId, instanceId, runnerName) {
      return conditional(
        dynamodb,
        new UpdateItemCommand({
          TableName,
          Key: key(jobId),
          UpdateExpression: 'SET rerun_state = :interrupted, #at = :now, rerun_tries = :zero, #pending = :pending, interrupted_instance_id = :instance',
          // The job must be one the ledger holds, not recorded yet, and on this
          // runner: the runner GitHub said took it (in_progress), or, with no
          // in_progress seen, the instance launched for it. (An ephemeral runner
          // runs one job, so a busy runner's job is not completed.) AND binds
          // tighter than OR, as in DynamoDB's condition grammar.
          ConditionExpression:
            'attribute_exists(pk) AND attribute_not_exists(rerun_state) AND runner_name = :runner OR ' +
            'attribute_exists(pk) AND attribute_not_exists(rerun_state) AND attribute_not_exists(runner_name) AND instance_id = :instance',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':interrupted': S('interrupted'),
            ':now': N(nowSeconds()),
            ':zero': N(0),
            ':pending': S(INDEX.hashValue),
            ':instance': S(instanceId),
            ':runner': S(runnerName),
          },
        }),
      );
    },

    async listInterrupted(limit) {
      const out = await dynamodb.send(
        new QueryCommand({
          TableName,
          IndexName: INDEX.name,
          KeyConditionExpression: '#pending = :pending AND #at <= :now',
          ExpressionAttributeNames: { '#pending': INDEX.hashKey, '#at': INDEX.rangeKey },
          ExpressionAttributeValues: { ':pending': S(INDEX.hashValue), ':now': N(nowSeconds()) },
          ScanIndexForward: true,
          Limit: limit,
        }),
      );
      return (out.Items ?? []).flatMap((item): InterruptedJob[] => {
        const jobId = Number(item.pk?.S?.replace(/^job#/, ''));
        if (!Number.isSafeInteger(jobId) || item.rerun_state?.S !== 'interrupted') return [];
        return [
          {
            jobId,
            interruptedAt: Number(item[INDEX.rangeKey]?.N ?? '0'),
            rerunTries: Number(item.rerun_tries?.N ?? '0'),
            ...(item.job_message?.S !== undefined && { message: item.job_message.S }),
          },
        ];
      });
    },

    claimRerun(job) {
      return conditional(
        dynamodb,
        new UpdateItemCommand({
          TableName,
          Key: key(job.jobId),
          UpdateExpression: 'SET rerun_state = :requested, rerun_requested_at = :now REMOVE #pending',
          ConditionExpression: 'rerun_state = :interrupted AND rerun_tries = :tries',
          ExpressionAttributeNames: { '#pending': INDEX.hashKey },
          ExpressionAttributeValues: { ':requested': S('rerun-requested'), ':interrupted': S('interrupted'), ':tries': N(job.rerunTries), ':now': N(nowSeconds()) },
        }),
      );
    },

    deferRerun(job) {
      return conditional(
        dynamodb,
        new UpdateItemCommand({
          TableName,
          Key: key(job.jobId),
          UpdateExpression: 'SET rerun_state = :interrupted, rerun_tries = :next, #pending = :pending',
          ConditionExpression: 'rerun_state = :requested AND rerun_tries = :tries',
          ExpressionAttributeNames: { '#pending': INDEX.hashKey },
          ExpressionAttributeValues: {
            ':interrupted': S('interrupted'),
            ':requested': S('rerun-requested'),
            ':tries': N(job.rerunTries),
            ':next': N(job.rerunTries + 1),
            ':pending': S(INDEX.hashValue),
          },
        }),
      );
    },

    giveUpRerun(job) {
      return conditional(
        dynamodb,
        new UpdateItemCommand({
          TableName,
          Key: key(job.jobId),
          UpdateExpression: 'SET rerun_state = :givenUp, rerun_given_up_at = :now REMOVE #pending',
          ConditionExpression: 'rerun_state = :interrupted AND rerun_tries = :tries OR rerun_state = :requested AND rerun_tries = :tries',
          ExpressionAttributeNames: { '#pending': INDEX.hashKey },
          ExpressionAttributeValues: {
            ':givenUp': S('rerun-given-up'),
            ':interrupted': S('interrupted'),
            ':requested': S('rerun-requested'),
            ':tries': N(job.rerunTries),
            ':now': N(nowSeconds()),
          },
        }),
      );
    },
  };
}
