/**
 * The job ledger and the relaunch rule against moto_server's DynamoDB (an
 * emulator nobody here wrote), through the real SDK and its retry path: the
 * update, condition and key-condition expressions the code sends are
 * evaluated by DynamoDB's own grammar, on a table shaped like the one the
 * construct plans (hash `pk`, sparse GSI `awaiting` on awaiting_type +
 * launched_at, modules/runners/scale-up.ts).
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { AWAITING_INDEX, createJobLocks } from '../../../lambdas/shared/aws/idempotency';
import { AwaitingJob, createJobLedger } from '../../../lambdas/shared/aws/job-ledger';
import { reconcileJobs } from '../../../lambdas/scale-down/relaunch';
import { Logger } from '../../../lambdas/shared/logger';
import { JOB_LEDGER_AWAITING_INDEX } from '../../../modules/runners/scale-up';
import { Moto, startMoto } from '../../cloud/moto';

jest.setTimeout(60_000);

let moto: Moto;
let dynamodb: DynamoDBClient;
let tableName: string;
let now = 1_800_000_000_000;
let tableCount = 0;

beforeAll(async () => {
  moto = await startMoto();
  dynamodb = new DynamoDBClient({
    endpoint: moto.url,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 3,
  });
});

afterAll(async () => {
  dynamodb?.destroy();
  await moto?.stop();
});

beforeEach(async () => {
  tableName = `jobs-${++tableCount}`;
  now = 1_800_000_000_000;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'awaiting_type', AttributeType: 'S' },
        { AttributeName: 'launched_at', AttributeType: 'N' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: JOB_LEDGER_AWAITING_INDEX,
          KeySchema: [
            { AttributeName: 'awaiting_type', KeyType: 'HASH' },
            { AttributeName: 'launched_at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
});

const clock = () => now;
const locks = () => createJobLocks(dynamodb, { tableName, now: clock });
const ledger = () => createJobLedger(dynamodb, { tableName, now: clock });
const silent = new Logger('test', {}, () => undefined, 'error');
const message = (jobId: number) =>
  JSON.stringify({
    version: 1,
    jobId,
    runId: 7,
    repositoryOwner: 'acme',
    repositoryName: 'app',
    ownerType: 'Organization',
    installationId: 3,
    labels: ['self-hosted', 'linux'],
    runnerType: 'linux',
    deliveryId: `d-${jobId}`,
    createdAt: '2027-01-15T08:00:00Z',
  });
/** An instance id as EC2 writes them. */
const iid = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

/** Scale-up's part: lock, launch, record. */
async function launch(jobId: number, instanceId: string, runnerType = 'linux'): Promise<void> {
  const result = await locks().acquire({ jobId, runnerType, deliveryId: `d-${jobId}` });
  if (result.status !== 'acquired') throw new Error(`job ${jobId}: expected the lock, got ${result.status}`);
  await locks().markLaunched(result.lock, instanceId, { runnerType, message: message(jobId) });
}

async function item(jobId: number) {
  const out = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: `job#${jobId}` } } }));
  return out.Item;
}

describe('job ledger over moto DynamoDB', () => {
  it('names the index the construct plans', () => {
    expect(AWAITING_INDEX).toBe(JOB_LEDGER_AWAITING_INDEX);
  });

  it('lists a launched job as awaiting, per type, oldest first, only once launched long enough ago', async () => {
    await launch(1, iid(1));
    now += 60_000;
    await launch(2, iid(2));
    await launch(3, iid(3), 'arm');
    const before = Math.floor(now / 1000);
    const linux = await ledger().listAwaiting('linux', before, 10);
    expect(linux.map((j) => [j.jobId, j.instanceId, j.status, j.relaunches])).toEqual([
      [1, iid(1), 'launched', 0],
      [2, iid(2), 'launched', 0],
    ]);
    expect(linux[0].message).toBe(message(1));
    expect((await ledger().listAwaiting('linux', before - 30, 10)).map((j) => j.jobId)).toEqual([1]);
    expect((await ledger().listAwaiting('arm', before, 10)).map((j) => j.jobId)).toEqual([3]);
    expect(await ledger().listAwaiting('linux', before, 1)).toHaveLength(1);
  });

  it('takes a job out of the awaiting index when it goes in progress, and records completion', async () => {
    await launch(1, iid(1));
    expect(await ledger().recordProgress(1, { state: 'in_progress', runnerName: 'gh-ci-i-9' })).toBe(true);
    expect(await ledger().listAwaiting('linux', Math.floor(now / 1000), 10)).toEqual([]);
    expect(await ledger().recordProgress(1, { state: 'completed', runnerName: 'gh-ci-i-9', conclusion: 'success' })).toBe(true);
    expect(await item(1)).toMatchObject({ job_state: { S: 'completed' }, runner_name: { S: 'gh-ci-i-9' }, conclusion: { S: 'success' }, status: { S: 'launched' } });
  });

  it('writes nothing for a job it does not hold (a GitHub-hosted job, say)', async () => {
    expect(await ledger().recordProgress(42, { state: 'in_progress', runnerName: 'GitHub Actions 2' })).toBe(false);
    expect(await item(42)).toBeUndefined();
  });

  it('releases a launched job once, counting the attempt, so scale-up can lock it again with a new ClientToken', async () => {
    await launch(1, iid(1));
    const [job] = await ledger().listAwaiting('linux', Math.floor(now / 1000), 10);
    expect(await ledger().releaseForRelaunch(job)).toBe(true);
    // A second reconcile holding the same read loses: the entry is no longer `launched`.
    expect(await ledger().releaseForRelaunch(job)).toBe(false);
    const again = await locks().acquire({ jobId: 1, runnerType: 'linux', deliveryId: 'd-1' });
    expect(again.status === 'acquired' && again.lock.attempt).toBe(1);
    expect(await item(1)).toMatchObject({ relaunches: { N: '1' }, status: { S: 'launching' } });
  });

  it('does not release a job that a relaunch already moved to another instance', async () => {
    await launch(1, iid(1));
    const [stale] = await ledger().listAwaiting('linux', Math.floor(now / 1000), 10);
    expect(await ledger().releaseForRelaunch(stale)).toBe(true);
    const lock = await locks().acquire({ jobId: 1, runnerType: 'linux', deliveryId: 'd-1' });
    if (lock.status !== 'acquired') throw new Error('expected the lock');
    await locks().markLaunched(lock.lock, iid(2), { runnerType: 'linux', message: message(1) });
    expect(await ledger().releaseForRelaunch(stale)).toBe(false);
    expect(await ledger().stopAwaiting(stale, 'given_up')).toBe(false);
  });

  it('stops awaiting a job GitHub no longer has queued', async () => {
    await launch(1, iid(1));
    const [job] = await ledger().listAwaiting('linux', Math.floor(now / 1000), 10);
    expect(await ledger().stopAwaiting(job, 'not_queued')).toBe(true);
    expect(await ledger().listAwaiting('linux', Math.floor(now / 1000), 10)).toEqual([]);
    expect(await item(1)).toMatchObject({ job_state: { S: 'not_queued' } });
  });
});

describe('reconcile over moto DynamoDB', () => {
  const bootTimeMs = 5 * 60_000;

  async function reconcile(queued: (job: AwaitingJob) => boolean, idle = 0, maxAttempts = 2, strandedMs?: number) {
    const sent: { runnerType: string; message: string }[] = [];
    const summary = await reconcileJobs(
      { idleRunnersByType: new Map([['linux', idle]]), bootTimeMs, maxAttempts, ...(strandedMs !== undefined && { strandedMs }) },
      {
        ledger: ledger(),
        isJobQueued: async (job) => queued(job),
        requeue: { send: async (runnerType, body) => void sent.push({ runnerType, message: body }) },
        logger: silent,
        now: clock,
      },
    );
    return { summary, sent };
  }

  /** Scale-up serving a relaunch message: lock the released job and launch on `instanceId`. */
  async function serve(jobId: number, instanceId: string): Promise<void> {
    const lock = await locks().acquire({ jobId, runnerType: 'linux', deliveryId: `d-${jobId}` });
    if (lock.status !== 'acquired') throw new Error(`job ${jobId}: expected the lock, got ${lock.status}`);
    await locks().markLaunched(lock.lock, instanceId, { runnerType: 'linux', message: message(jobId) });
  }

  it('leaves a job alone until the boot time has passed', async () => {
    await launch(1, iid(1));
    now += bootTimeMs - 60_000;
    expect((await reconcile(() => true)).sent).toEqual([]);
  });

  it('relaunches a job still queued after the boot time, then gives up after max attempts, and never twice per run', async () => {
    await launch(1, iid(1));
    now += bootTimeMs;
    let run = await reconcile(() => true);
    expect(run.summary).toMatchObject({ relaunched: 1, givenUp: 0 });
    expect(run.sent).toEqual([{ runnerType: 'linux', message: JSON.stringify({ ...JSON.parse(message(1)), supersededInstanceIds: [iid(1)] }) }]);
    // Not again before scale-up has served the relaunch and the boot time has passed once more.
    now += 60_000;
    expect((await reconcile(() => true)).sent).toEqual([]);
    await serve(1, iid(2));
    now += bootTimeMs;
    run = await reconcile(() => true);
    expect(run.summary).toMatchObject({ relaunched: 1 });
    await serve(1, iid(3));
    now += bootTimeMs;
    run = await reconcile(() => true);
    expect(run.summary).toMatchObject({ relaunched: 0, givenUp: 1 });
    expect(run.sent).toEqual([]);
    expect(await item(1)).toMatchObject({ job_state: { S: 'given_up' }, relaunches: { N: '2' } });
    now += bootTimeMs;
    expect((await reconcile(() => true)).summary).toMatchObject({ awaiting: 0 });
  });

  it('sends a released job again when its relaunch message was lost', async () => {
    await launch(1, iid(1));
    now += bootTimeMs;
    expect((await reconcile(() => true)).summary.relaunched).toBe(1);
    // The message never reached scale-up: the entry stays released.
    now += bootTimeMs;
    const run = await reconcile(() => true);
    expect(run.summary).toMatchObject({ relaunched: 0, resent: 1 });
    expect(await item(1)).toMatchObject({ relaunches: { N: '1' }, status: { S: 'released' } });
  });

  it('keeps as many still-queued jobs as the type has idle runners, relaunching the oldest', async () => {
    await launch(1, iid(1));
    now += 1_000;
    await launch(2, iid(2));
    now += 1_000;
    await launch(3, iid(3));
    now += bootTimeMs;
    const run = await reconcile(() => true, 2);
    expect(run.summary).toMatchObject({ stillQueued: 3, relaunched: 1, waitingForIdleRunners: 2 });
    expect(run.sent.map((s) => JSON.parse(s.message).jobId)).toEqual([1]);
  });

  it('counts a still-queued job with no idle runner as stranded once created_at is the threshold ago, not the jobs the idle runners will take', async () => {
    // The jobs' created_at is the clock's start (message()).
    const strandedMs = 30 * 60_000;
    await launch(1, iid(1));
    now += 1_000;
    await launch(2, iid(2));
    now += bootTimeMs;
    // 5 minutes queued: relaunched, not stranded yet.
    expect((await reconcile(() => true, 0, 10, strandedMs)).summary).toMatchObject({ relaunched: 2, stranded: 0 });
    await serve(1, iid(3));
    await serve(2, iid(4));
    now = 1_800_000_000_000 + strandedMs;
    // 30 minutes queued, one idle runner: the newer job waits for it; the older one is stranded (and relaunched again).
    let run = await reconcile(() => true, 1, 10, strandedMs);
    expect(run.summary).toMatchObject({ stillQueued: 2, waitingForIdleRunners: 1, relaunched: 1, stranded: 1 });
    // No threshold given: nothing is stranded.
    await serve(1, iid(5));
    now += bootTimeMs;
    run = await reconcile(() => true, 0, 10);
    expect(run.summary.stranded).toBe(0);
  });

  it('drops a job GitHub no longer has queued without relaunching it', async () => {
    await launch(1, iid(1));
    now += bootTimeMs;
    const run = await reconcile(() => false);
    expect(run.summary).toMatchObject({ noLongerQueued: 1, relaunched: 0 });
    expect(run.sent).toEqual([]);
    now += bootTimeMs;
    expect((await reconcile(() => true)).summary.awaiting).toBe(0);
  });

  it('counts a GitHub error and relaunches nothing for that job', async () => {
    await launch(1, iid(1));
    now += bootTimeMs;
    const sent: string[] = [];
    const summary = await reconcileJobs(
      { idleRunnersByType: new Map([['linux', 0]]), bootTimeMs, maxAttempts: 2 },
      {
        ledger: ledger(),
        isJobQueued: async () => {
          throw new Error('500');
        },
        requeue: { send: async (_t, body) => void sent.push(body) },
        logger: silent,
        now: clock,
      },
    );
    expect(summary).toMatchObject({ errors: 1, relaunched: 0 });
    expect(sent).toEqual([]);
  });

  it('stops before the deadline and leaves the rest for the next run', async () => {
    await launch(1, iid(1));
    now += bootTimeMs;
    const summary = await reconcileJobs(
      { idleRunnersByType: new Map([['linux', 0]]), bootTimeMs, maxAttempts: 2 },
      { ledger: ledger(), isJobQueued: async () => true, requeue: { send: async () => undefined }, logger: silent, now: clock, deadline: now + 5_000 },
    );
    expect(summary).toMatchObject({ deferred: 1, relaunched: 0 });
  });
});
