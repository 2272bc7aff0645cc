/**
 * The job ledger: what the system knows of each job it launched a runner for,
 * kept on the job's idempotency item (`pk = job#<jobId>`, idempotency.ts) so
 * the lock and the ledger can never disagree.
 *
 * A job's path through the ledger (attributes on the item):
 *
 *   scale-up markLaunched   status = launched, instance_id, launched_at,
 *                           job_message, awaiting_type = <runner type>
 *   webhook in_progress     job_state = in_progress, runner_name, in_progress_at; awaiting_type removed
 *   webhook completed       job_state = completed, conclusion, completed_at; awaiting_type removed
 *   reconcile relaunch      status = released, attempts + 1, relaunches + 1,
 *                           launched_at = now (the message goes back on the type's queue)
 *   reconcile seen elsewhere job_state = <GitHub's status>; awaiting_type removed
 *   reconcile give up       job_state = given_up; awaiting_type removed
 *
 * `awaiting_type` is the hash key of a sparse index ({@link AWAITING_INDEX}),
 * so reconcile reads only the jobs whose runner has not been seen taking them,
 * per runner type, oldest launch first. The webhook writes only for jobs the
 * ledger already holds (`attribute_exists(pk)`): GitHub-hosted jobs and other
 * runners' jobs cost a failed conditional write, never an item.
 *
 * The ledger is advisory for relaunch: reconcile asks GitHub whether a job is
 * still queued before it queues the job again, so a lost in_progress delivery
 * costs one GitHub read, never a second runner.
 */
import { AttributeValue, ConditionalCheckFailedException, DynamoDBClient, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { AWAITING_INDEX, jobLockKey } from './idempotency';


/** A workflow_job delivery's progress, as the webhook records it. */
export type JobProgress =
  | { readonly state: 'in_progress'; readonly runnerName?: string }
  | { readonly state: 'completed'; readonly runnerName?: string; readonly conclusion?: string };

/** A launched job no runner has been seen taking. */
export interface AwaitingJob {
  readonly jobId: number;
  readonly runnerType: string;
  /** `launched` (its runner was launched) or `released` (queued again by reconcile, not yet relaunched). */
  readonly status: string;
  readonly instanceId?: string;
  /** Epoch seconds of the last launch, or of the relaunch request. */
  readonly launchedAt: number;
  /** Relaunches so far. */
  readonly relaunches: number;
  /** The job message body to queue again. */
  readonly message: string;
}

/** What the webhook needs. */
export interface JobProgressRecorder {
  /** Record progress of a job the ledger holds; `false` when it holds no such job. */
  recordProgress(jobId: number, progress: JobProgress): Promise<boolean>;
}

/** What reconcile needs. */
export interface JobLedger extends JobProgressRecorder {
  /** Jobs of `runnerType` launched (or released) at or before `launchedBefore` (epoch s), oldest first, at most `limit`. */
  listAwaiting(runnerType: string, launchedBefore: number, limit: number): Promise<AwaitingJob[]>;
  /**
   * Give a launched job back for another launch: only when it is still
   * `launched` on the same instance (else `false`: scale-up or the webhook got
   * there first). Counts the attempt, so the next CreateFleet gets a new ClientToken.
   */
  releaseForRelaunch(job: AwaitingJob): Promise<boolean>;
  /** Stop awaiting a job: GitHub says it is no longer queued (`state` is its status), or we gave up (`given_up`). */
  stopAwaiting(job: AwaitingJob, state: string): Promise<boolean>;
}

/** Options of {@link createJobLedger}. */
export interface JobLedgerOptions {
  readonly tableName: string;
  /** Clock in milliseconds, for tests. @default Date.now */
  readonly now?: () => number;
}

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

/** Run a conditional update; `false` when the condition did not hold. */
async function conditional(dynamodb: DynamoDBClient, command: UpdateItemCommand): Promise<boolean> {
  try {
    await dynamodb.send(command);
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Build the DynamoDB-backed ledger. */
export function createJobLedger(dynamodb: DynamoDBClient, options: JobLedgerOptions): JobLedger {
  const nowSeconds = () => Math.floor((options.now ?? Date.now)() / 1000);
  const key = (jobId: number) => ({ pk: S(jobLockKey(jobId)) });
  const TableName = options.tableName;

  return {
    recordProgress(jobId, progress) {
      const values: Record<string, AttributeValue> = { ':state': S(progress.state), ':now': N(nowSeconds()) };
      const sets = ['job_state = :state', `${progress.state}_at = :now`];
      if (progress.runnerName) {
        sets.push('runner_name = :runner');
        values[':runner'] = S(progress.runnerName);
      }
      if (progress.state === 'completed' && progress.conclusion) {
        sets.push('conclusion = :conclusion');
        values[':conclusion'] = S(progress.conclusion);
      }
      return conditional(
        dynamodb,
        new UpdateItemCommand({
          TableName,
          Key: key(jobId),
          UpdateExpression: `SET ${sets.join(', ')} REMOVE awaiting_type`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: values,
        }),
      );
    },

    async listAwaiting(runnerType, launchedBefore, limit) {
      const out = await dynamodb.send(
        new QueryCommand({
          TableName,
          IndexName: AWAITING_INDEX,
          KeyConditionExpression: 'awaiting_type = :type AND launched_at <= :before',
          ExpressionAttributeValues: { ':type': S(runnerType), ':before': N(launchedBefore) },
          ScanIndexForward: true,
          Limit: limit,
        }),
      );
      return (out.Items ?? []).flatMap((item): AwaitingJob[] => {
        const jobId = Number(item.pk?.S?.replace(/^job#/, ''));
        const message = item.job_message?.S;
        if (!Number.isSafeInteger(jobId) || message === undefined) return [];
        return [
          {
            jobId,
            runnerType,
            status: item.status?.S ?? '',
            instanceId: item.instance_id?.S,
            launchedAt: Number(item.launched_at?.N ?? '0'),
            relaunches: Number(item.relaunches?.N ?? '0'),
            message,
          },
        ];
      });
    },

    releaseForRelaunch(job) {
      const now = nowSeconds();
      return conditional(
        dynamodb,
        new UpdateItemCommand({
          TableName,
          Key: key(job.jobId),
          UpdateExpression:
            'SET #status = :released, attempts = if_not_exists(attempts, :zero) + :one, relaunches = if_not_exists(relaunches, :zero) + :one, ' +
            'launched_at = :now, updated_at = :now',
          ConditionExpression: '#status = :launched AND instance_id = :instanceId AND attribute_exists(awaiting_type)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':released': S('released'),
            ':launched': S('launched'),
            ':instanceId': S(job.instanceId ?? ''),
            ':zero': N(0),
            ':one': N(1),
            ':now': N(now),
          },
        }),
      );
    },

    stopAwaiting(job, state) {
      return conditional(
        dynamodb,
        new UpdateItemCommand({
          TableName,
          Key: key(job.jobId),
          UpdateExpression: 'SET job_state = :state, updated_at = :now REMOVE awaiting_type',
          // Only the entry reconcile read: a relaunch since then changed the status, the instance or the launch time.
          ConditionExpression: '#status = :status AND instance_id = :instanceId AND launched_at = :launchedAt AND attribute_exists(awaiting_type)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':state': S(state),
            ':now': N(nowSeconds()),
            ':status': S(job.status),
            ':instanceId': S(job.instanceId ?? ''),
            ':launchedAt': N(job.launchedAt),
          },
        }),
      );
    },
  };
}
