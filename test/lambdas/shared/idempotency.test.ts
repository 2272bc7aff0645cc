import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { JobLock, LockLostError, createJobLocks } from '../../../lambdas/shared/aws/idempotency';
import { FakeTable, installFakeTable, plain } from './fake-dynamodb';

const ddbMock = mockClient(DynamoDBClient);
const context = { jobId: 1, runnerType: 'linux-x64', deliveryId: 'd-1' };

describe('job locks', () => {
  let table: FakeTable;
  let now: number;
  const locks = () => createJobLocks(new DynamoDBClient({}), { tableName: 'jobs', lockSeconds: 300, recordTtlSeconds: 86_400, now: () => now });
  const acquired = async (): Promise<JobLock> => {
    const result = await locks().acquire(context);
    if (result.status !== 'acquired') throw new Error(`expected acquired, got ${result.status}`);
    return result.lock;
  };

  beforeEach(() => {
    ddbMock.reset();
    table = installFakeTable(ddbMock);
    now = 1_800_000_000_000;
  });

  it('should take a free lock with one conditional UpdateItem', async () => {
    const lock = await acquired();
    expect(lock).toMatchObject({ jobId: 1, attempt: 0 });
    const input = ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input;
    expect(input).toMatchObject({
      TableName: 'jobs',
      Key: { pk: { S: 'job#1' } },
      ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now OR #status = :released',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(plain(table.items.get('job#1'))).toMatchObject({ status: 'launching', expires_at: 1_800_000_300, delivery_id: 'd-1' });
  });

  it('should report a held lock as in progress until it expires', async () => {
    await acquired();
    expect((await locks().acquire(context)).status).toBe('in-progress');
    now += 301_000;
    expect((await locks().acquire(context)).status).toBe('acquired');
  });

  it('should report a launched job with its instance, for a day', async () => {
    await locks().markLaunched(await acquired(), 'i-1', { runnerType: 'linux', message: '{}' });
    expect(await locks().acquire(context)).toEqual({ status: 'launched', instanceId: 'i-1' });
    expect(plain(table.items.get('job#1'))).toMatchObject({ status: 'launched', expires_at: 1_800_086_400 });
    expect(table.items.get('job#1')?.lock_id).toBeUndefined();
  });

  it('should let a released job be locked again at once, with the attempt counted', async () => {
    await locks().release(await acquired());
    const again = await acquired();
    expect(again.attempt).toBe(1);
    await locks().release(again);
    expect((await acquired()).attempt).toBe(2);
  });

  it('should keep the attempt when a lock merely expires', async () => {
    await acquired();
    now += 301_000;
    expect((await acquired()).attempt).toBe(0);
  });

  it('should refuse to settle a lock that another invocation took over', async () => {
    const stale = await acquired();
    now += 301_000;
    await acquired();
    await expect(locks().markLaunched(stale, 'i-1', { runnerType: 'linux', message: '{}' })).rejects.toBeInstanceOf(LockLostError);
    await expect(locks().release(stale)).rejects.toBeInstanceOf(LockLostError);
  });

  it('should propagate other DynamoDB errors', async () => {
    ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(locks().acquire(context)).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });
});
