/**
 * The re-run ledger against moto_server's DynamoDB (an emulator nobody here
 * wrote): its condition expressions (AND binding tighter than OR), updates
 * and the query of the sparse `interrupted` index are evaluated by
 * DynamoDB's own grammar, on a table with the index the contract declares
 * (modules/contract/job-ledger.ts, created by modules/runners/scale-up.ts).
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createJobLocks } from '../../../lambdas/shared/aws/idempotency';
import { createRerunLedger } from '../../../lambdas/shared/aws/rerun-ledger';
import { JOB_LEDGER_INDEXES } from '../../../modules/contract/job-ledger';
import { Moto, startMoto } from '../../cloud/moto';

jest.setTimeout(60_000);

const INDEX = JOB_LEDGER_INDEXES.interrupted;
let moto: Moto;
let dynamodb: DynamoDBClient;
let now = 1_800_000_000_000;
const clock = () => now;

beforeAll(async () => {
  moto = await startMoto();
  dynamodb = new DynamoDBClient({ endpoint: moto.url, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 3 });
  await dynamodb.send(
    new CreateTableCommand({
      TableName: 'jobs',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: INDEX.hashKey, AttributeType: 'S' },
        { AttributeName: INDEX.rangeKey, AttributeType: 'N' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: INDEX.name,
          KeySchema: [
            { AttributeName: INDEX.hashKey, KeyType: 'HASH' },
            { AttributeName: INDEX.rangeKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
});

afterAll(async () => {
  dynamodb?.destroy();
  await moto?.stop();
});

async function launched(jobId: number, instanceId: string): Promise<void> {
  const locks = createJobLocks(dynamodb, { tableName: 'jobs', now: clock });
  const result = await locks.acquire({ jobId, runnerType: 'linux', deliveryId: 'd' });
  if (result.status !== 'acquired') throw new Error('lock not acquired');
  await locks.markLaunched(result.lock, instanceId, { runnerType: 'linux', message: `{"jobId":${jobId}}` });
}

const item = async (jobId: number) => (await dynamodb.send(new GetItemCommand({ TableName: 'jobs', Key: { pk: { S: `job#${jobId}` } } }))).Item;

it('records, lists, claims, defers and gives up with the conditions DynamoDB evaluates', async () => {
  const ledger = createRerunLedger(dynamodb, { tableName: 'jobs', now: clock });
  await launched(1, 'i-0000000a');
  await launched(2, 'i-0000000b');
  expect(await ledger.recordInterruption(1, 'i-0000000b', 'gh-ci-i-0000000b')).toBe(false);
  expect(await ledger.recordInterruption(1, 'i-0000000a', 'gh-ci-i-0000000a')).toBe(true);
  expect(await ledger.recordInterruption(1, 'i-0000000a', 'gh-ci-i-0000000a')).toBe(false);
  expect(await ledger.recordInterruption(9, 'i-0000000a', 'gh-ci-i-0000000a')).toBe(false);
  expect(await item(9)).toBeUndefined();
  now += 1000;
  expect(await ledger.recordInterruption(2, 'i-0000000b', 'gh-ci-i-0000000b')).toBe(true);

  const listed = await ledger.listInterrupted(10);
  expect(listed.map((j) => [j.jobId, j.rerunTries])).toEqual([
    [1, 0],
    [2, 0],
  ]);
  const [one, two] = listed;
  expect(await ledger.claimRerun(one)).toBe(true);
  expect(await ledger.claimRerun(one)).toBe(false);
  expect((await ledger.listInterrupted(10)).map((j) => j.jobId)).toEqual([2]);
  expect(await ledger.deferRerun(one)).toBe(true);
  const [again] = await ledger.listInterrupted(1);
  expect(again).toMatchObject({ jobId: 1, rerunTries: 1 });
  expect(await ledger.giveUpRerun(one)).toBe(false); // stale: tries changed
  expect(await ledger.giveUpRerun(again)).toBe(true);
  expect((await item(1))?.rerun_state?.S).toBe('rerun-given-up');
  expect(await ledger.claimRerun(two)).toBe(true);
  expect(await ledger.listInterrupted(10)).toEqual([]);
  expect((await item(2))?.rerun_state?.S).toBe('rerun-requested');
});
