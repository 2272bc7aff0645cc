import { CreateFleetCommandInput, EC2Client, TerminateInstancesCommandInput } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { FakeEc2, ec2Error } from '../shared/fake-ec2';
import { AppKeyPair, FakeGitHub, useFakeGitHub } from '../shared/fake-github';
import { FakeSsm } from '../shared/fake-ssm';
import { APP_ID, HandlerOptions, INSTALLATION_ID, PREFIX, RUNNER_TYPE, TestBed, makeHandler, metricsLines, parsedLogs, poolEvent, runnerTypesConfig } from './harness';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);

const JIT = /\/actions\/runners\/generate-jitconfig$/;
const REGISTRATION_TOKEN = /\/actions\/runners\/registration-token$/;
const LIST_RUNNERS = /^\/orgs\/octo\/actions\/runners$/;
const MINUTE = 60_000;

describe('warm pool', () => {
  let key: AppKeyPair;
  let gh: FakeGitHub;
  let ec2: FakeEc2;
  let ssm: FakeSsm;
  let logs: string[];
  let bed: TestBed;

  const handler = (options: HandlerOptions = {}) => makeHandler(bed, options);
  const fleets = () => ec2.callsOf('CreateFleet').map((c) => c.input as CreateFleetCommandInput);
  const terminated = () => ec2.callsOf('TerminateInstances').flatMap((c) => (c.input as TerminateInstancesCommandInput).InstanceIds ?? []);
  const writes = () => gh.calls.filter((c) => JIT.test(c.route) || REGISTRATION_TOKEN.test(c.route) || c.method === 'DELETE');
  const poolTags = (owner = 'octo') => ({ 'ghr:prefix': PREFIX, 'ghr:runner-type': RUNNER_TYPE, 'ghr:owner': owner, 'ghr:created-by': 'pool' });
  /** A live pool instance launched `ageMinutes` ago; returns its id. */
  const seed = (ageMinutes: number, owner = 'octo') => ec2.seed(poolTags(owner), 'running', { launchTime: new Date(Date.now() - ageMinutes * MINUTE), lifecycle: 'spot' });

  useFakeGitHub(APP_ID, [{ id: INSTALLATION_ID, account: 'octo' }], (started) => ({ gh, key } = started));

  beforeEach(() => {
    ec2Mock.reset();
    ssmMock.reset();
    ec2 = new FakeEc2(ec2Mock);
    ssm = new FakeSsm(ssmMock);
    gh.resetCalls();
    gh.runners.clear();
    gh.runnerGroups.splice(1);
    logs = [];
    bed = { gh, privateKeyPem: key.privateKeyPem, logs };
  });

  describe('topping up', () => {
    it('should launch and register runners up to the pool size', async () => {
      // GIVEN an empty pool
      const run = handler();

      // WHEN the schedule asks for three runners
      const result = await run(poolEvent({ size: 3 }));

      // THEN one spot CreateFleet launched three instances, tagged as pool runners of the owner
      expect(result).toMatchObject({ ready: 0, requested: 3, launched: 3, failed: 0, dryRun: false });
      expect(fleets()).toHaveLength(1);
      expect(fleets()[0]).toMatchObject({
        Type: 'instant',
        TargetCapacitySpecification: { TotalTargetCapacity: 3, DefaultTargetCapacityType: 'spot' },
        SpotOptions: { AllocationStrategy: 'price-capacity-optimized' },
        LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '$Latest' } }],
      });
      expect(fleets()[0].ClientToken).toMatch(/^[0-9a-f]{64}$/);
      const live = ec2.live();
      expect(live).toHaveLength(3);
      for (const i of live) expect(ec2.tagsOf(i.InstanceId!)).toEqual(poolTags());

      // AND each got a JIT config with the type's labels in the Default group, stored for it in SSM
      const jit = gh.calls.filter((c) => JIT.test(c.route));
      expect(jit.map((c) => c.route)).toEqual(Array(3).fill('/orgs/octo/actions/runners/generate-jitconfig'));
      expect(jit.map((c) => (c.body as { name: string }).name).sort()).toEqual(live.map((i) => `gh-ci-${i.InstanceId}`).sort());
      for (const c of jit) expect(c.body).toMatchObject({ labels: ['self-hosted', 'linux', 'x64'], runner_group_id: 1 });
      expect([...ssm.parameters.keys()].sort()).toEqual(live.map((i) => `/gh-ci/runners/config/${i.InstanceId}`).sort());
      for (const p of ssm.parameters.values()) expect(JSON.parse(p.value)).toMatchObject({ mode: 'jit' });

      // AND no job ids were written, and one metrics line went out
      expect(ec2.callsOf('CreateTags')).toHaveLength(0);
      const metrics = metricsLines(logs);
      expect(metrics).toHaveLength(1);
      expect(metrics[0]).toMatchObject({ RunnerType: RUNNER_TYPE, PoolRunnersReady: 0, PoolRunnersLaunched: 3 });
      expect(metrics[0]._aws).toMatchObject({ CloudWatchMetrics: [{ Namespace: 'GitHubRunners/gh-ci', Dimensions: [['RunnerType']] }] });
    });

    it('should count idle online runners and booting instances, not busy ones or offline ones past the boot time', async () => {
      // GIVEN, among 150 runners of the owner at GitHub (two pages), these live instances:
      for (let n = 0; n < 150; n++) gh.addRunner('octo', { name: `elsewhere-${n}`, status: 'offline' });
      const idle = seed(30);
      const busy = seed(30);
      seed(2); // booting, no runner yet
      const registeredBooting = seed(3);
      const offlinePastBoot = seed(20);
      seed(10); // past the boot time, never registered
      const otherOwner = seed(30, 'someone-else');
      gh.addRunner('octo', { name: `gh-ci-${idle}` });
      gh.addRunner('octo', { name: `gh-ci-${busy}`, busy: true });
      gh.addRunner('octo', { name: `gh-ci-${registeredBooting}`, status: 'offline' });
      gh.addRunner('octo', { name: `gh-ci-${offlinePastBoot}`, status: 'offline' });
      gh.addRunner('someone-else', { name: `gh-ci-${otherOwner}` });

      // WHEN the schedule asks for five runners
      const result = await handler()(poolEvent({ size: 5 }));

      // THEN idle + booting + registered-booting are ready, and two more are launched
      expect(result).toMatchObject({ ready: 3, requested: 2, launched: 2 });
      expect(fleets()[0].TargetCapacitySpecification?.TotalTargetCapacity).toBe(2);
      // AND the owner's runners were listed once, following GitHub's pages
      expect(gh.calls.filter((c) => c.method === 'GET' && LIST_RUNNERS.test(c.route)).map((c) => c.query.get('page') ?? '1')).toEqual(['1', '2']);
      expect(parsedLogs(logs).find((l) => l.message === 'topping up the pool')).toMatchObject({ idle: 1, booting: 2, busy: 1, stale: 2, otherOwners: 1, active: 7 });
      expect(metricsLines(logs)[0]).toMatchObject({ PoolRunnersReady: 3, PoolRunnersLaunched: 2 });
    });

    it('should launch nothing when the pool is full', async () => {
      // GIVEN two idle runners
      for (const id of [seed(30), seed(1)]) gh.addRunner('octo', { name: `gh-ci-${id}` });

      // WHEN the schedule asks for two
      const result = await handler()(poolEvent({ size: 2 }));

      // THEN nothing is launched or written
      expect(result).toMatchObject({ ready: 2, requested: 0, launched: 0 });
      expect(fleets()).toHaveLength(0);
      expect(writes()).toHaveLength(0);
      expect(ssm.callsOf('PutParameter')).toHaveLength(0);
      expect(parsedLogs(logs).some((l) => l.message === 'nothing to launch: the pool is full')).toBe(true);
      expect(metricsLines(logs)[0]).toMatchObject({ PoolRunnersReady: 2, PoolRunnersLaunched: 0 });
    });
  });

  describe('runners_maximum_count', () => {
    it('should launch only what the cap allows', async () => {
      // GIVEN a cap of 4 and three busy runners
      for (let n = 0; n < 3; n++) gh.addRunner('octo', { name: `gh-ci-${seed(30)}`, busy: true });
      const run = handler({ env: { RUNNER_TYPES_CONFIG: runnerTypesConfig({ runners_maximum_count: 4 }) } });

      // WHEN the schedule asks for three idle runners
      const result = await run(poolEvent({ size: 3 }));

      // THEN one is launched
      expect(result).toMatchObject({ ready: 0, requested: 1, launched: 1 });
      expect(fleets()[0].TargetCapacitySpecification?.TotalTargetCapacity).toBe(1);
      expect(ec2.live()).toHaveLength(4);
    });

    it('should launch nothing when the type is at its cap', async () => {
      seed(30, 'someone-else');
      seed(30, 'someone-else');
      const run = handler({ env: { RUNNER_TYPES_CONFIG: runnerTypesConfig({ runners_maximum_count: 2 }) } });
      const result = await run(poolEvent({ size: 1 }));
      expect(result).toMatchObject({ ready: 0, requested: 0, launched: 0 });
      expect(fleets()).toHaveLength(0);
      expect(parsedLogs(logs).some((l) => l.message === 'nothing to launch: runners_maximum_count reached')).toBe(true);
    });
  });

  describe('idempotency', () => {
    it('should send the same ClientToken for two deliveries of one scheduled invocation, and launch once', async () => {
      // GIVEN the scheduler delivers the same invocation twice at once
      const run = handler();
      const event = poolEvent({ size: 2 });

      // WHEN both run
      const [first, second] = await Promise.all([run(event), run({ ...event })]);

      // THEN both CreateFleet calls carried the same token, and EC2 started one fleet
      expect(fleets()).toHaveLength(2);
      expect(fleets()[1].ClientToken).toBe(fleets()[0].ClientToken);
      expect(ec2.live()).toHaveLength(2);
      // AND each runner was registered once; the loser of the race terminated nothing
      expect(first.launched + second.launched).toBe(2);
      expect(terminated()).toEqual([]);
      expect(gh.runners.get('octo')).toHaveLength(2);
    });

    it('should name the next scheduled invocation differently', async () => {
      await handler()(poolEvent({ size: 1 }));
      await handler()(poolEvent({ size: 2, scheduledTime: '2026-03-02T08:05:00Z' }));
      expect(fleets()).toHaveLength(2);
      expect(fleets()[1].ClientToken).not.toBe(fleets()[0].ClientToken);
      expect(ec2.live()).toHaveLength(2);
    });
  });

  describe('spot shortfall', () => {
    it('should launch the shortfall on demand with its own token', async () => {
      ec2.capacity.spot = 1;
      const result = await handler()(poolEvent({ size: 3 }));
      expect(fleets().map((f) => [f.TargetCapacitySpecification?.DefaultTargetCapacityType, f.TargetCapacitySpecification?.TotalTargetCapacity])).toEqual([
        ['spot', 3],
        ['on-demand', 2],
      ]);
      expect(fleets()[1].ClientToken).not.toBe(fleets()[0].ClientToken);
      expect(result).toMatchObject({ launched: 3, onDemandFallbacks: 2 });
    });
  });

  describe('registration', () => {
    it('should terminate an instance whose registration failed and keep the others', async () => {
      // GIVEN GitHub refuses the first JIT request
      gh.failNext({ method: 'POST', route: JIT, status: 422, body: { message: 'Validation Failed' } });

      // WHEN two runners are launched
      const result = await handler()(poolEvent({ size: 2 }));

      // THEN one is registered, the other terminated, and the invocation succeeds
      expect(result).toMatchObject({ launched: 1, failed: 1 });
      expect(terminated()).toHaveLength(1);
      expect(ec2.instances.get(terminated()[0])?.State?.Name).toBe('terminated');
      expect(ec2.live()).toHaveLength(1);
      expect([...ssm.parameters.keys()]).toEqual([`/gh-ci/runners/config/${ec2.live()[0].InstanceId}`]);
      expect(metricsLines(logs)[0]).toMatchObject({ PoolRunnersLaunched: 1, PoolRunnersFailed: 1 });
    });

    it('should unregister the runner and terminate the instance when its config cannot be stored', async () => {
      const { ssmError } = await import('../shared/fake-ssm');
      ssm.failNext('PutParameter', ssmError('InternalServerError'), 1);
      const result = await handler()(poolEvent({ size: 1 }));
      expect(result).toMatchObject({ launched: 0, failed: 1 });
      expect(ec2.live()).toHaveLength(0);
      expect(gh.runners.get('octo') ?? []).toHaveLength(0);
      expect(parsedLogs(logs).some((l) => l.level === 'error' && l.message === 'no pool runner could be registered; the next scheduled invocation tries again')).toBe(true);
    });

    it('should register repository runners on the repository without a runner group lookup', async () => {
      gh.installations.push({ id: INSTALLATION_ID + 1, account: 'hubot' });
      await handler({ env: { POOL_RUNNER_OWNER: 'hubot/hello' } })(poolEvent({ size: 1 }));
      expect(gh.calls.filter((c) => JIT.test(c.route)).map((c) => c.route)).toEqual(['/repos/hubot/hello/actions/runners/generate-jitconfig']);
      expect(gh.count('GET', /runner-groups/)).toBe(0);
      expect(ec2.tagsOf(ec2.live()[0].InstanceId!)['ghr:owner']).toBe('hubot/hello');
    });

    it('should resolve RUNNER_GROUP_NAME for org runners', async () => {
      gh.runnerGroups.push({ id: 7, name: 'pool', default: false });
      await handler({ env: { RUNNER_GROUP_NAME: 'pool' } })(poolEvent({ size: 1 }));
      expect(gh.calls.find((c) => JIT.test(c.route))?.body).toMatchObject({ runner_group_id: 7 });
    });

    it('should hand out one registration token when JIT configs are off', async () => {
      await handler({ env: { ENABLE_JIT_CONFIG: 'false', RUNNER_GROUP_NAME: 'pool' } })(poolEvent({ size: 2 }));
      expect(gh.count('POST', REGISTRATION_TOKEN)).toBe(1);
      expect(gh.count('POST', JIT)).toBe(0);
      expect(gh.count('GET', /runner-groups/)).toBe(0);
      const values = [...ssm.parameters.values()].map((p) => JSON.parse(p.value));
      expect(values).toHaveLength(2);
      for (const v of values) expect(v).toMatchObject({ mode: 'token', url: `https://github.com/octo`, labels: 'self-hosted,linux,x64', runner_group: 'pool' });
    });
  });

  describe('failures before launching', () => {
    it('should throw and launch nothing when DescribeInstances fails', async () => {
      ec2.failNext('DescribeInstances', ec2Error('RequestLimitExceeded'), 10);
      await expect(handler()(poolEvent())).rejects.toThrow(/RequestLimitExceeded/);
      expect(fleets()).toHaveLength(0);
    });

    it('should throw and launch nothing when the App is not installed on the owner', async () => {
      await expect(handler({ env: { POOL_RUNNER_OWNER: 'nobody' } })(poolEvent())).rejects.toThrow(/not installed on nobody/);
      expect(fleets()).toHaveLength(0);
    });

    it('should throw and launch nothing when the runner group does not exist', async () => {
      await expect(handler({ env: { RUNNER_GROUP_NAME: 'missing' } })(poolEvent())).rejects.toThrow(/runner group "missing" not found/);
      expect(fleets()).toHaveLength(0);
    });

    it('should throw and launch nothing when the runners cannot be listed', async () => {
      gh.failNext({ method: 'GET', route: LIST_RUNNERS, status: 404 });
      await expect(handler()(poolEvent())).rejects.toThrow();
      expect(fleets()).toHaveLength(0);
    });

    it('should throw when CreateFleet fails, with nothing to clean up', async () => {
      ec2.failNext('CreateFleet', ec2Error('UnauthorizedOperation'));
      await expect(handler()(poolEvent())).rejects.toThrow(/UnauthorizedOperation/);
      expect(writes()).toHaveLength(0);
      expect(parsedLogs(logs).some((l) => l.level === 'error' && l.message === 'pool top-up failed')).toBe(true);
    });
  });

  describe('dry run', () => {
    it('should ask EC2 with DryRun and write nothing to GitHub or SSM', async () => {
      const result = await handler({ env: { DRY_RUN: 'true' } })(poolEvent({ size: 2 }));
      expect(result).toMatchObject({ dryRun: true, requested: 2, launched: 0 });
      expect(fleets()).toHaveLength(1);
      expect(fleets()[0].DryRun).toBe(true);
      expect(ec2.live()).toHaveLength(0);
      expect(writes()).toHaveLength(0);
      expect(ssm.callsOf('PutParameter')).toHaveLength(0);
      expect(parsedLogs(logs).find((l) => l.message === 'dry run: would top up the pool')).toMatchObject({ size: 2, toLaunch: 2, ready: 0 });
      expect(parsedLogs(logs).some((l) => String(l.message).startsWith('dry run: EC2 accepted'))).toBe(true);
    });
  });

  describe('logs', () => {
    it('should never contain the private key, tokens or JIT configs', async () => {
      await handler()(poolEvent({ size: 2 }));
      await handler({ env: { ENABLE_JIT_CONFIG: 'false' } })(poolEvent({ size: 4, scheduledTime: '2026-03-02T09:00:00Z' }));
      const all = logs.join('\n');
      for (const secret of [...gh.issuedTokens, ...gh.issuedJitConfigs]) expect(all).not.toContain(secret);
      for (const p of ssm.parameters.values()) {
        const value = JSON.parse(p.value);
        expect(all).not.toContain(value.jit_config ?? value.token);
      }
      expect(all).not.toContain('PRIVATE KEY');
      expect(all).not.toContain(key.privateKeyPem.split('\n')[1]);
      const launched = parsedLogs(logs).filter((l) => l.message === 'pool runner launched');
      expect(launched).toHaveLength(4);
      for (const l of launched) expect(l).toEqual(expect.objectContaining({ runnerType: RUNNER_TYPE, scheduledTime: expect.any(String), owner: 'octo', instanceId: expect.any(String) }));
    });
  });
});
