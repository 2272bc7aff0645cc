import { CreateFleetCommandInput, EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { onceAsync } from '../../../lambdas/shared/config';
import { createDefaultContext, createHandler } from '../../../lambdas/pool/index';
import { FakeEc2 } from '../shared/fake-ec2';
import { AppKeyPair, FakeGitHub, generateAppKey, startFakeGitHub } from '../shared/fake-github';
import { FakeSsm } from '../shared/fake-ssm';
import { APP_ID, INSTALLATION_ID, poolEnv, poolEvent } from './harness';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);

describe('pool handler', () => {
  let key: AppKeyPair;
  let gh: FakeGitHub;
  let ec2: FakeEc2;
  let stdout: string[];
  let spy: jest.SpyInstance;

  beforeAll(async () => {
    key = generateAppKey();
    gh = await startFakeGitHub({ appId: APP_ID, publicKey: key.publicKey });
    gh.installations.push({ id: INSTALLATION_ID, account: 'octo' });
  });
  afterAll(() => gh.close());

  beforeEach(() => {
    ec2Mock.reset();
    ssmMock.reset();
    ec2 = new FakeEc2(ec2Mock);
    new FakeSsm(ssmMock);
    ssmMock.on(GetParametersCommand).resolves({
      Parameters: [
        { Name: '/gh-ci/github-app/id', Value: String(APP_ID) },
        { Name: '/gh-ci/github-app/key', Value: Buffer.from(key.privateKeyPem).toString('base64') },
      ],
    });
    gh.resetCalls();
    gh.runners.clear();
    stdout = [];
    spy = jest.spyOn(process.stdout, 'write').mockImplementation((line) => {
      stdout.push(String(line));
      return true;
    });
  });
  afterEach(() => spy.mockRestore());

  const production = (env: Record<string, string>) => createHandler(onceAsync(() => createDefaultContext(env)));

  it('should load configuration and credentials once per container and reach GHES', async () => {
    // GIVEN the production wiring, pointed at the fake as GHES
    const load = jest.fn(() => createDefaultContext(poolEnv({ GHES_URL: gh.url })));
    const run = createHandler(onceAsync(load));

    // WHEN two scheduled invocations arrive
    const first = await run(poolEvent({ size: 1 }));
    const second = await run(poolEvent({ size: 2, scheduledTime: '2026-03-02T08:05:00Z' }));

    // THEN the context was built once, the credentials read once, and the pool topped up twice
    expect(load).toHaveBeenCalledTimes(1);
    expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(1);
    expect(first).toMatchObject({ launched: 1 });
    expect(second).toMatchObject({ ready: 1, launched: 1 });
    expect(ec2.callsOf('CreateFleet').map((c) => (c.input as CreateFleetCommandInput).TargetCapacitySpecification?.TotalTargetCapacity)).toEqual([1, 1]);
    expect(gh.calls.filter((c) => c.route.endsWith('/generate-jitconfig')).map((c) => c.path)).toEqual(Array(2).fill('/api/v3/orgs/octo/actions/runners/generate-jitconfig'));
    expect(stdout.join('')).not.toContain('PRIVATE KEY');
  });

  it('should reject an invalid event with a message naming every problem, without logging the event', async () => {
    // GIVEN an event with an unknown type, a bad size, no time, and a field that must not be logged
    const run = production(poolEnv());
    const event = { runnerType: 'gpu', size: -1, note: 'do-not-log-me' };

    // WHEN it is handled
    await expect(run(event)).rejects.toThrow(
      'invalid pool event: runnerType "gpu" is not configured (RUNNER_TYPES_CONFIG has "linux-x64", "linux-arm64"); size must be an integer ≥ 1, got -1; scheduledTime must be an ISO 8601 time',
    );

    // THEN nothing was launched, and the log names the problem but not the event
    expect(ec2.calls).toHaveLength(0);
    const logged = stdout.join('');
    expect(logged).toContain('invalid pool event');
    expect(logged).not.toContain('do-not-log-me');
  });

  it('should fail every invocation with a clear message while POOL_RUNNER_OWNER is unset', async () => {
    const run = production(poolEnv({ POOL_RUNNER_OWNER: '' }));
    await expect(run(poolEvent())).rejects.toThrow(/pool_runner_owner must be set/);
    await expect(run(poolEvent())).rejects.toThrow(/pool_runner_owner must be set/);
    expect(ec2.calls).toHaveLength(0);
    expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(0);
  });

  it('should fail the invocation when the configuration is invalid', async () => {
    await expect(production({})(poolEvent())).rejects.toThrow(/PREFIX is required/);
  });
});
