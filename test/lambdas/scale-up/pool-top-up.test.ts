/**
 * Pool top-ups through scale-up (issue #11 item 5): the warm pool's tick is a
 * message on the type's queue, and scale-up, the one launcher of the type,
 * serves the batch's jobs first and tops the pool up within the cap left.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateFleetCommandInput, EC2Client } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { PoolTopUpMessage } from '../../../modules/contract/job-message';
import { installFakeTable } from '../shared/fake-dynamodb';
import { FakeEc2 } from '../shared/fake-ec2';
import { AppKeyPair, FakeGitHub, useFakeGitHub } from '../shared/fake-github';
import { APP_ID, INSTALLATION_ID, RUNNER_TYPE, TestBed, failedIds, job, makeHandler, parsedLogs, runnerTypeConfig, sqsEvent } from './harness';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const ddbMock = mockClient(DynamoDBClient);

function topUp(size: number, overrides: Partial<PoolTopUpMessage> = {}): string {
  const message: PoolTopUpMessage = { version: 1, kind: 'pool-top-up', runnerType: RUNNER_TYPE, owner: 'octo', size, scheduledTime: '2026-03-02T08:00:00.000Z', ...overrides };
  return JSON.stringify(message);
}

describe('scale-up pool top-ups', () => {
  let key: AppKeyPair;
  let gh: FakeGitHub;
  let ec2: FakeEc2;
  let logs: string[];
  let bed: TestBed;

  const fleets = () => ec2.callsOf('CreateFleet').map((c) => c.input as CreateFleetCommandInput);
  const byCreator = (createdBy: string) => ec2.live().filter((i) => i.Tags?.some((t) => t.Key === 'ghr:created-by' && t.Value === createdBy));

  useFakeGitHub(APP_ID, [{ id: INSTALLATION_ID, account: 'octo' }], (started) => ({ gh, key } = started));

  beforeEach(() => {
    ec2Mock.reset();
    ssmMock.reset();
    ddbMock.reset();
    ec2 = new FakeEc2(ec2Mock);
    installFakeTable(ddbMock);
    ssmMock.on(PutParameterCommand).resolves({ Version: 1, Tier: 'Standard' });
    gh.resetCalls();
    gh.runners.clear();
    logs = [];
    bed = { gh, ssm: ssmMock, privateKeyPem: key.privateKeyPem, logs };
  });

  it('should serve the jobs first and top the pool up with only the cap they leave', async () => {
    // GIVEN a cap of 4 and a batch with 3 jobs and a top-up asking for 3 pool runners
    const run = makeHandler(bed, { env: { RUNNER_TYPE_CONFIG: runnerTypeConfig({ runners_maximum_count: 4 }) } });

    // WHEN the batch is handled
    const response = await run(sqsEvent([job(1), topUp(3), job(2), job(3)]));

    // THEN every message is acknowledged, 3 job runners and 1 pool runner exist: never more than the cap
    expect(failedIds(response)).toEqual([]);
    expect(ec2.live()).toHaveLength(4);
    expect(byCreator('scale-up')).toHaveLength(3);
    expect(byCreator('pool')).toHaveLength(1);
    expect(fleets().map((f) => f.TargetCapacitySpecification?.TotalTargetCapacity)).toEqual([3, 1]);
  });

  it('should launch only the gap the pool has, and collapse the batch\'s top-ups to the newest', async () => {
    // GIVEN no jobs, an older top-up for 5 and a newer one for 2
    const run = makeHandler(bed);

    // WHEN handled twice (the second tick sees the first's runners booting)
    await run(sqsEvent([topUp(5, { scheduledTime: '2026-03-02T07:55:00.000Z' }), topUp(2)]));
    await run(sqsEvent([topUp(2, { scheduledTime: '2026-03-02T08:05:00.000Z' })]));

    // THEN 2 pool runners, from one fleet
    expect(byCreator('pool')).toHaveLength(2);
    expect(fleets()).toHaveLength(1);
    expect(parsedLogs(logs).some((l) => l.message === 'pool top-ups collapsed to the newest')).toBe(true);
  });

  it('should launch no pool runner when the jobs took the whole cap', async () => {
    const run = makeHandler(bed, { env: { RUNNER_TYPE_CONFIG: runnerTypeConfig({ runners_maximum_count: 2 }) } });
    const response = await run(sqsEvent([job(1), job(2), topUp(3)]));
    expect(failedIds(response)).toEqual([]);
    expect(byCreator('pool')).toHaveLength(0);
    expect(ec2.live()).toHaveLength(2);
    expect(parsedLogs(logs).some((l) => l.message === 'nothing to launch: runners_maximum_count reached')).toBe(true);
  });

  it('should acknowledge a top-up for another type or with bad fields as poison, and launch nothing for it', async () => {
    const run = makeHandler(bed);
    const response = await run(sqsEvent([topUp(2, { runnerType: 'linux-arm64' }), JSON.stringify({ version: 1, kind: 'pool-top-up', runnerType: RUNNER_TYPE, size: 0 })]));
    expect(failedIds(response)).toEqual([]);
    expect(ec2.calls.filter((c) => c.command === 'CreateFleet')).toHaveLength(0);
    const poison = parsedLogs(logs).filter((l) => l.message === 'poison message acknowledged');
    expect(poison).toHaveLength(2);
    expect(JSON.stringify(poison[1])).toContain('size must be an integer');
  });

  it('should acknowledge a top-up whose owner has no installation, logging why', async () => {
    const run = makeHandler(bed);
    const response = await run(sqsEvent([topUp(1, { owner: 'nobody' })]));
    expect(failedIds(response)).toEqual([]);
    expect(ec2.live()).toHaveLength(0);
    expect(parsedLogs(logs).some((l) => l.level === 'error' && l.message === 'pool top-up failed; the next tick asks again')).toBe(true);
  });
});
