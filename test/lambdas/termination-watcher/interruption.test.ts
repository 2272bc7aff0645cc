/**
 * The termination watcher's part of the spot-interruption re-run (issue #11
 * item 4): with ENABLE_SPOT_INTERRUPTION_RERUN, a busy spot runner that is
 * interrupted gets its job recorded as interrupted in the job ledger (the
 * in-memory table, which evaluates the ledger's expressions); with the option
 * off, or for an idle runner, nothing is written.
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { createJobLocks } from '../../../lambdas/shared/aws/idempotency';
import { FakeEc2 } from '../shared/fake-ec2';
import { FakeTable, installFakeTable, plain } from '../shared/fake-dynamodb';
import { AppKeyPair, FakeGitHub, useFakeGitHub } from '../shared/fake-github';
import { APP_ID, INSTALLATION_ID, TestBed, makeHandler, metricLines, runnerName, runnerTags, spotWarning, stateChange } from './harness';

const ec2Mock = mockClient(EC2Client);
const sqsMock = mockClient(SQSClient);
const ddbMock = mockClient(DynamoDBClient);
const ON = { ENABLE_SPOT_INTERRUPTION_RERUN: 'true', JOB_LEDGER_TABLE_NAME: 'gh-ci-job-launches' };

describe('termination watcher: interrupted jobs', () => {
  let key: AppKeyPair;
  let gh: FakeGitHub;
  let ec2: FakeEc2;
  let table: FakeTable;
  let bed: TestBed;

  useFakeGitHub(APP_ID, [{ id: INSTALLATION_ID, account: 'octo' }], (started) => ({ gh, key } = started));

  beforeEach(() => {
    ec2Mock.reset();
    sqsMock.reset();
    ddbMock.reset();
    ec2 = new FakeEc2(ec2Mock);
    table = installFakeTable(ddbMock);
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'sent-1' });
    gh.resetCalls();
    gh.runners.clear();
    bed = { gh, privateKeyPem: key.privateKeyPem, logs: [] };
  });

  /** Scale-up launched job `jobId` on a spot instance whose runner is busy with it. */
  async function busySpotRunner(jobId: number, busy = true): Promise<string> {
    const id = ec2.seed(runnerTags('octo', { 'ghr:job-id': String(jobId) }), 'running', { lifecycle: 'spot' });
    gh.addRunner('octo', { name: runnerName(id), busy });
    const locks = createJobLocks(new DynamoDBClient({ region: 'eu-west-1' }), { tableName: ON.JOB_LEDGER_TABLE_NAME });
    const lock = await locks.acquire({ jobId, runnerType: 'linux-x64', deliveryId: 'd' });
    if (lock.status !== 'acquired') throw new Error('no lock');
    await locks.markLaunched(lock.lock, id, { runnerType: 'linux-x64', message: '{}' });
    return id;
  }

  it('records the job of a busy spot runner as interrupted, once for the warning and the state change that follows', async () => {
    const id = await busySpotRunner(41);
    const handler = makeHandler(bed, ON);
    await expect(handler(spotWarning(id))).resolves.toMatchObject({ status: 'retry-scheduled' });
    expect(plain(table.items.get('job#41'))).toMatchObject({ rerun_state: 'interrupted', rerun_tries: 0, rerun_pending: 'interrupted', interrupted_instance_id: id });
    expect(metricLines(bed.logs)[0]).toMatchObject({ SpotInterruptions: 1, JobsInterrupted: 1 });
    const before = JSON.stringify(table.items.get('job#41'));
    await handler(stateChange(id, 'shutting-down'));
    expect(JSON.stringify(table.items.get('job#41'))).toBe(before);
    expect(metricLines(bed.logs)[1]).not.toHaveProperty('JobsInterrupted');
  });

  it('records nothing for an idle runner', async () => {
    const id = await busySpotRunner(42, false);
    await makeHandler(bed, ON)(spotWarning(id));
    expect(table.items.get('job#42')?.rerun_state).toBeUndefined();
  });

  it('with the option off, writes nothing to the ledger', async () => {
    const id = await busySpotRunner(43);
    const writesBefore = ddbMock.commandCalls(UpdateItemCommand).length;
    await expect(makeHandler(bed)(spotWarning(id))).resolves.toMatchObject({ status: 'retry-scheduled' });
    expect(ddbMock.commandCalls(UpdateItemCommand).length).toBe(writesBefore);
    expect(table.items.get('job#43')?.rerun_state).toBeUndefined();
  });

  it('refuses the option without the ledger table, naming the variable', () => {
    expect(() => makeHandler(bed, { ENABLE_SPOT_INTERRUPTION_RERUN: 'true' })).toThrow(/JOB_LEDGER_TABLE_NAME/);
  });
});
