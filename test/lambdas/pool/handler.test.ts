/**
 * The pool function's handler (issue #11 item 5): it launches nothing; each
 * tick puts a pool top-up on the type's job queue for scale-up, the one
 * launcher of the type.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SQSClient, SendMessageCommand, SendMessageCommandInput } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { onceAsync } from '../../../lambdas/shared/config';
import { parsePoolTopUpMessage } from '../../../modules/contract/job-message';
import { createDefaultContext, createHandler } from '../../../lambdas/pool/index';
import { OTHER_TYPE, QUEUE_URL, RUNNER_TYPE, poolEnv, poolEvent } from './harness';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const sqsMock = mockClient(SQSClient);

describe('pool handler', () => {
  let stdout: string[];
  let spy: jest.SpyInstance;

  beforeEach(() => {
    ec2Mock.reset();
    ssmMock.reset();
    sqsMock.reset();
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    stdout = [];
    spy = jest.spyOn(process.stdout, 'write').mockImplementation((line) => {
      stdout.push(String(line));
      return true;
    });
  });
  afterEach(() => spy.mockRestore());

  const production = (env: Record<string, string>) => createHandler(onceAsync(() => createDefaultContext(env)));
  const sent = () => sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input as SendMessageCommandInput);

  it('should send each tick to the type\'s job queue as a pool top-up, and call neither EC2 nor SSM nor GitHub', async () => {
    // GIVEN the production wiring
    const load = jest.fn(() => createDefaultContext(poolEnv()));
    const run = createHandler(onceAsync(load));

    // WHEN two scheduled invocations arrive, one per type
    const first = await run(poolEvent({ size: 2 }));
    await run(poolEvent({ runnerType: OTHER_TYPE, size: 1, scheduledTime: '2026-03-02T08:05:00+01:00' }));

    // THEN the context was built once and each top-up went to its own type's queue
    expect(load).toHaveBeenCalledTimes(1);
    expect(first).toEqual({ runnerType: RUNNER_TYPE, size: 2, queueUrl: QUEUE_URL, dryRun: false });
    expect(sent().map((m) => m.QueueUrl)).toEqual([QUEUE_URL, `${QUEUE_URL}-arm64`]);
    expect(sent().map((m) => parsePoolTopUpMessage(m.MessageBody!))).toEqual([
      { version: 1, kind: 'pool-top-up', runnerType: RUNNER_TYPE, owner: 'octo', size: 2, scheduledTime: '2026-03-02T08:00:00.000Z' },
      { version: 1, kind: 'pool-top-up', runnerType: OTHER_TYPE, owner: 'octo', size: 1, scheduledTime: '2026-03-02T07:05:00.000Z' },
    ]);
    expect(ec2Mock.calls()).toHaveLength(0);
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('should fail the tick when the send fails, so the error alarm fires', async () => {
    sqsMock.on(SendMessageCommand).rejects(Object.assign(new Error('KMS key disabled'), { name: 'KmsDisabled' }));
    await expect(production(poolEnv())(poolEvent())).rejects.toThrow(/KMS key disabled/);
    expect(stdout.join('')).toContain('pool top-up request failed');
  });

  it('should reject an invalid event with a message naming every problem, without logging the event', async () => {
    // GIVEN an event with an unknown type, a bad size, no time, and a field that must not be logged
    const run = production(poolEnv());
    const event = { runnerType: 'gpu', size: -1, note: 'do-not-log-me' };

    // WHEN it is handled
    await expect(run(event)).rejects.toThrow(
      'invalid pool event: runnerType "gpu" is not configured (RUNNER_TYPES_CONFIG has "linux-x64", "linux-arm64"); size must be an integer ≥ 1, got -1; scheduledTime must be an ISO 8601 time',
    );

    // THEN nothing was sent, and the log names the problem but not the event
    expect(sent()).toHaveLength(0);
    const logged = stdout.join('');
    expect(logged).toContain('invalid pool event');
    expect(logged).not.toContain('do-not-log-me');
  });

  it('should fail every invocation with a clear message while POOL_RUNNER_OWNER is unset', async () => {
    const run = production(poolEnv({ POOL_RUNNER_OWNER: '' }));
    await expect(run(poolEvent())).rejects.toThrow(/pool_runner_owner must be set/);
    await expect(run(poolEvent())).rejects.toThrow(/pool_runner_owner must be set/);
    expect(sent()).toHaveLength(0);
  });

  it('should refuse to start without a queue for every pooled type', async () => {
    await expect(production(poolEnv({ JOB_QUEUE_URLS: JSON.stringify({ [RUNNER_TYPE]: QUEUE_URL }) }))(poolEvent())).rejects.toThrow(
      /JOB_QUEUE_URLS has no queue for pooled runner type "linux-arm64"/,
    );
    await expect(production(poolEnv({ JOB_QUEUE_URLS: '' }))(poolEvent())).rejects.toThrow(/JOB_QUEUE_URLS is required/);
  });

  it('should fail the invocation when the configuration is invalid', async () => {
    await expect(production({})(poolEvent())).rejects.toThrow(/PREFIX is required/);
  });
});
