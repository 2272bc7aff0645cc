import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateFleetCommandInput, CreateTagsCommandInput, EC2Client, TerminateInstancesCommandInput } from '@aws-sdk/client-ec2';
import { GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { createEc2Runners } from '../../../lambdas/shared/aws/ec2-runners';
import { InstallationTokenCache } from '../../../lambdas/shared/github/token-cache';
import { onceAsync } from '../../../lambdas/shared/config';
import { createDefaultContext, createHandler } from '../../../lambdas/scale-up/index';
import { fleetClientToken } from '../../../lambdas/scale-up/plan';
import { FakeTable, installFakeTable, plain } from '../shared/fake-dynamodb';
import { FakeEc2, ec2Error } from '../shared/fake-ec2';
import { AppKeyPair, FakeGitHub, useFakeGitHub } from '../shared/fake-github';
import {
  APP_ID,
  HandlerOptions,
  INSTALLATION_ID,
  RUNNER_TYPE,
  TestBed,
  baseEnv,
  failedIds,
  job,
  lastMetrics,
  makeHandler,
  parsedLogs,
  puts,
  runnerTypeConfig,
  sqsEvent,
} from './harness';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const ddbMock = mockClient(DynamoDBClient);

const JIT = /\/actions\/runners\/generate-jitconfig$/;
const TOKENS = /^\/app\/installations\/\d+\/access_tokens$/;

describe('scale-up handler', () => {
  let key: AppKeyPair;
  let gh: FakeGitHub;
  let ec2: FakeEc2;
  let table: FakeTable;
  let logs: string[];
  let bed: TestBed;

  const handler = (options: HandlerOptions = {}) => makeHandler(bed, options);
  const fleets = () => ec2.callsOf('CreateFleet').map((c) => c.input as CreateFleetCommandInput);
  const status = (jobId: number) => plain(table.items.get(`job#${jobId}`));

  useFakeGitHub(APP_ID, [], (started) => ({ gh, key } = started));

  beforeEach(() => {
    ec2Mock.reset();
    ssmMock.reset();
    ddbMock.reset();
    ec2 = new FakeEc2(ec2Mock);
    table = installFakeTable(ddbMock);
    ssmMock.on(PutParameterCommand).resolves({ Version: 1, Tier: 'Standard' });
    gh.resetCalls();
    gh.runners.clear();
    gh.jobStatus.clear();
    logs = [];
    bed = { gh, ssm: ssmMock, privateKeyPem: key.privateKeyPem, logs };
  });

  describe('launching', () => {
    it('should launch, register and record one org-level runner per job', async () => {
      // GIVEN two queued jobs for an org
      const run = handler();

      // WHEN the batch is handled
      const response = await run(sqsEvent([job(1), job(2)]));

      // THEN nothing is retried and two runners exist
      expect(failedIds(response)).toEqual([]);
      const live = ec2.live();
      expect(live).toHaveLength(2);

      // AND one CreateFleet asked for both, spot, over subnets × types, tagged
      expect(fleets()).toHaveLength(1);
      const fleet = fleets()[0];
      expect(fleet).toMatchObject({
        Type: 'instant',
        LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '$Latest' } }],
        TargetCapacitySpecification: { TotalTargetCapacity: 2, DefaultTargetCapacityType: 'spot' },
        SpotOptions: { AllocationStrategy: 'price-capacity-optimized' },
      });
      expect(fleet.LaunchTemplateConfigs?.[0].Overrides).toEqual([
        { SubnetId: 'subnet-a', InstanceType: 'm7i.large' },
        { SubnetId: 'subnet-a', InstanceType: 'm6i.large' },
        { SubnetId: 'subnet-b', InstanceType: 'm7i.large' },
        { SubnetId: 'subnet-b', InstanceType: 'm6i.large' },
      ]);
      expect(fleet.ClientToken).toMatch(/^[0-9a-f]{64}$/);
      for (const spec of fleet.TagSpecifications ?? []) {
        expect(spec.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'ghr:prefix', Value: 'gh-ci' },
            { Key: 'ghr:runner-type', Value: RUNNER_TYPE },
            { Key: 'ghr:owner', Value: 'octo' },
            { Key: 'ghr:created-by', Value: 'scale-up' },
          ]),
        );
      }
      expect(fleet.TagSpecifications?.map((t) => t.ResourceType)).toEqual(['instance', 'volume']);

      // AND each instance got a JIT config named after it, in the Default group
      const jitCalls = gh.calls.filter((c) => JIT.test(c.route));
      expect(jitCalls.map((c) => c.route)).toEqual(Array(2).fill('/orgs/octo/actions/runners/generate-jitconfig'));
      expect(jitCalls.map((c) => (c.body as { name: string }).name).sort()).toEqual(live.map((i) => `gh-ci-${i.InstanceId}`).sort());
      for (const c of jitCalls) expect(c.body).toMatchObject({ labels: ['self-hosted', 'linux', 'x64'], runner_group_id: 1, work_folder: '_work' });

      // AND each JIT config is stored for its instance as a KMS-encrypted SecureString
      const stored = puts(ssmMock);
      expect(stored.map((p) => p.Name).sort()).toEqual(live.map((i) => `/gh-ci/runners/config/${i.InstanceId}`).sort());
      for (const p of stored) {
        const instanceId = p.Name!.split('/').pop();
        expect(p).toMatchObject({
          Type: 'SecureString',
          KeyId: 'alias/gh-ci',
          Tags: [
            { Key: 'ghr:instance-id', Value: instanceId },
            { Key: 'ghr:instance-arn', Value: `arn:aws:ec2:eu-west-1:123456789012:instance/${instanceId}` },
          ],
        });
        const value = JSON.parse(p.Value!);
        expect(value.mode).toBe('jit');
        expect(gh.issuedJitConfigs).toContain(value.jit_config);
      }

      // AND each instance carries its own job id, written by one CreateTags
      expect(ec2.callsOf('CreateTags')).toHaveLength(1);
      const jobOf = (id: string) => ec2.tagsOf(id)[`ghr:job-id:${id}`];
      expect(live.map((i) => jobOf(i.InstanceId!)).sort()).toEqual(['1', '2']);

      // AND the idempotency records say launched, with the instance
      for (const id of [1, 2]) {
        expect(status(id)).toMatchObject({ status: 'launched', runner_type: RUNNER_TYPE, delivery_id: `delivery-${id}` });
        expect(jobOf(String(status(id)!.instance_id))).toBe(String(id));
      }

      // AND the batch's metrics were emitted
      expect(lastMetrics(logs)).toMatchObject({ RunnerType: RUNNER_TYPE, RunnersLaunched: 2, OnDemandFallbacks: 0, JobsDeferredByCap: 0 });
    });

    it('should register repo-level runners on the repository without a runner group lookup', async () => {
      const run = handler({ env: { ENABLE_ORGANIZATION_RUNNERS: 'false' } });
      await run(sqsEvent([job(1)]));
      expect(gh.calls.map((c) => `${c.method} ${c.route}`)).toEqual([
        `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
        'POST /repos/octo/hello/actions/runners/generate-jitconfig',
      ]);
      expect(gh.calls[1].body).toMatchObject({ runner_group_id: 1 });
      expect(fleets()[0].TagSpecifications?.[0].Tags).toContainEqual({ Key: 'ghr:owner', Value: 'octo/hello' });
    });

    it('should resolve a named runner group once per container', async () => {
      gh.runnerGroups.push({ id: 9, name: 'ci-linux', default: false });
      try {
        const run = handler({ env: { RUNNER_GROUP_NAME: 'ci-linux' } });
        await run(sqsEvent([job(1)]));
        await run(sqsEvent([job(2)]));
        expect(gh.count('GET', /runner-groups$/)).toBe(1);
        expect(gh.calls.filter((c) => JIT.test(c.route)).map((c) => (c.body as { runner_group_id: number }).runner_group_id)).toEqual([9, 9]);
      } finally {
        gh.runnerGroups.pop();
      }
    });

    it('should return the jobs untouched when the runner group does not exist', async () => {
      const response = await handler({ env: { RUNNER_GROUP_NAME: 'missing' } })(sqsEvent([job(1)]));
      expect(failedIds(response)).toEqual(['m-0']);
      expect(fleets()).toHaveLength(0);
      expect(status(1)).toMatchObject({ status: 'released' });
    });

    it('should call GHES under /api/v3', async () => {
      const run = handler({ env: { GHES_URL: gh.url }, viaGhesUrl: true });
      await run(sqsEvent([job(1)]));
      expect(gh.calls.length).toBeGreaterThan(0);
      expect(gh.calls.map((c) => c.path)).toEqual([
        `/api/v3/app/installations/${INSTALLATION_ID}/access_tokens`,
        '/api/v3/orgs/octo/actions/runner-groups',
        '/api/v3/orgs/octo/actions/runners/generate-jitconfig',
      ]);
    });

    it('should launch one fleet per owner when a batch spans organizations', async () => {
      await handler()(sqsEvent([job(1), job(2, { repositoryOwner: 'other' }), job(3)]));
      const owners = fleets().map((f) => f.TagSpecifications?.[0].Tags?.find((t) => t.Key === 'ghr:owner')?.Value);
      expect(owners.sort()).toEqual(['octo', 'other']);
      expect(fleets().map((f) => f.TargetCapacitySpecification?.TotalTargetCapacity).sort()).toEqual([1, 2]);
      expect(gh.calls.filter((c) => JIT.test(c.route)).map((c) => c.route).sort()).toEqual([
        '/orgs/octo/actions/runners/generate-jitconfig',
        '/orgs/octo/actions/runners/generate-jitconfig',
        '/orgs/other/actions/runners/generate-jitconfig',
      ]);
    });

    it('should store a registration token, fetched once per owner, in token mode', async () => {
      // GIVEN JIT configs are disabled
      const run = handler({ env: { ENABLE_JIT_CONFIG: 'false' } });

      // WHEN three jobs of one org arrive
      await run(sqsEvent([job(1), job(2), job(3)]));

      // THEN one registration token serves all three instances
      expect(gh.count('POST', /registration-token$/)).toBe(1);
      expect(gh.count('POST', JIT)).toBe(0);
      const stored = puts(ssmMock).map((p) => ({ name: p.Name!, value: JSON.parse(p.Value!) }));
      expect(stored).toHaveLength(3);
      for (const { name, value } of stored) {
        const instanceId = name.split('/').pop();
        expect(value).toEqual({
          mode: 'token',
          token: expect.stringMatching(/^AREGFAKE/),
          url: 'https://github.com/octo',
          labels: 'self-hosted,linux,x64',
          name: `gh-ci-${instanceId}`,
          runner_group: 'Default',
        });
      }
    });
  });

  describe('the cap', () => {
    it('should keep jobs over runners_maximum_count in the queue', async () => {
      // GIVEN a cap of 2 and one live runner
      ec2.seed({ 'ghr:prefix': 'gh-ci', 'ghr:runner-type': RUNNER_TYPE, 'ghr:owner': 'octo' });
      const run = handler({ env: { RUNNER_TYPE_CONFIG: runnerTypeConfig({ runners_maximum_count: 2 }) } });

      // WHEN three jobs arrive
      const response = await run(sqsEvent([job(1), job(2), job(3)]));

      // THEN the oldest gets the one free slot and the others wait, unlocked
      expect(ec2.live()).toHaveLength(2);
      expect(failedIds(response)).toEqual(['m-1', 'm-2']);
      expect(status(1)).toMatchObject({ status: 'launched' });
      expect(status(2)).toBeUndefined();
      expect(status(3)).toBeUndefined();
      expect(lastMetrics(logs)).toMatchObject({ JobsDeferredByCap: 2, RunnersLaunched: 1 });
      expect(parsedLogs(logs).some((l) => l.message === 'jobs deferred by runners_maximum_count')).toBe(true);
    });

    it('should ignore runners of other types and prefixes when counting', async () => {
      ec2.seed({ 'ghr:prefix': 'gh-ci', 'ghr:runner-type': 'arm64' });
      ec2.seed({ 'ghr:prefix': 'other', 'ghr:runner-type': RUNNER_TYPE });
      ec2.seed({ 'ghr:prefix': 'gh-ci', 'ghr:runner-type': RUNNER_TYPE }, 'terminated');
      const run = handler({ env: { RUNNER_TYPE_CONFIG: runnerTypeConfig({ runners_maximum_count: 1 }) } });
      const response = await run(sqsEvent([job(1)]));
      expect(failedIds(response)).toEqual([]);
    });

    it('should not limit a runner type whose maximum is -1', async () => {
      const run = handler({ env: { RUNNER_TYPE_CONFIG: runnerTypeConfig({ runners_maximum_count: -1 }) } });
      const response = await run(sqsEvent(Array.from({ length: 15 }, (_, i) => job(i + 1))));
      expect(failedIds(response)).toEqual([]);
      expect(ec2.live()).toHaveLength(15);
    });

    it('should launch exactly 10 of a burst of 100 jobs with a cap of 10, within a small call budget', async () => {
      // GIVEN 100 queued jobs, a cap of 10 and a cold container
      const run = handler();
      const event = sqsEvent(Array.from({ length: 100 }, (_, i) => job(i + 1)));

      // WHEN the burst is handled
      const started = Date.now();
      const response = await run(event);
      const elapsed = Date.now() - started;

      // THEN exactly 10 runners start and 90 messages go back
      expect(ec2.live()).toHaveLength(10);
      expect(response.batchItemFailures).toHaveLength(90);
      expect(lastMetrics(logs)).toMatchObject({ RunnersLaunched: 10, JobsDeferredByCap: 90 });

      // AND the batch cost 3 EC2 calls (DescribeInstances, CreateFleet, CreateTags)
      expect(ec2.calls.map((c) => c.command)).toEqual(['DescribeInstances', 'CreateFleet', 'CreateTags']);
      // AND 12 GitHub calls for 10 runners: 1 token, 1 runner-group lookup, 10 JIT configs (1.2 per runner)
      expect(gh.calls).toHaveLength(12);
      expect(gh.calls.length / 10).toBeLessThanOrEqual(1.2);
      // AND 20 DynamoDB writes: a lock and a launched mark per runner, none for the 90 deferred jobs
      expect(table.updates).toHaveLength(20);
      // AND 10 SSM writes
      expect(puts(ssmMock)).toHaveLength(10);
      expect(elapsed).toBeLessThan(5000);

      // WHEN the 90 come back while the cap is full
      ec2.calls.length = 0;
      gh.resetCalls();
      table.updates.length = 0;
      const again = await run(sqsEvent(Array.from({ length: 90 }, (_, i) => job(i + 11))));

      // THEN they wait again at the cost of one DescribeInstances and nothing else
      expect(again.batchItemFailures).toHaveLength(90);
      expect(ec2.calls.map((c) => c.command)).toEqual(['DescribeInstances']);
      expect(gh.calls).toHaveLength(0);
      expect(table.updates).toHaveLength(0);

      // WHEN the first ten finish and the 90 come back to a warm container
      for (const i of ec2.live()) i.State = { Name: 'terminated' };
      ec2.calls.length = 0;
      const warm = await run(sqsEvent(Array.from({ length: 90 }, (_, i) => job(i + 11))));

      // THEN ten more start with one GitHub call per runner (token and group cached)
      expect(warm.batchItemFailures).toHaveLength(80);
      expect(ec2.calls).toHaveLength(3);
      expect(gh.calls.map((c) => c.route).every((r) => JIT.test(r))).toBe(true);
      expect(gh.calls).toHaveLength(10);
    });
  });

  describe('capacity', () => {
    it('should launch a spot shortfall on demand when the error is listed', async () => {
      // GIVEN spot capacity for one instance
      ec2.capacity.spot = 1;

      // WHEN three jobs arrive
      const response = await handler()(sqsEvent([job(1), job(2), job(3)]));

      // THEN a second fleet launches the other two on demand
      expect(failedIds(response)).toEqual([]);
      expect(fleets()).toHaveLength(2);
      expect(fleets()[1]).toMatchObject({
        Type: 'instant',
        TargetCapacitySpecification: { TotalTargetCapacity: 2, DefaultTargetCapacityType: 'on-demand' },
        OnDemandOptions: { AllocationStrategy: 'lowest-price' },
      });
      expect(fleets()[1].SpotOptions).toBeUndefined();
      expect(fleets()[1].ClientToken).not.toBe(fleets()[0].ClientToken);
      expect(ec2.live().map((i) => i.InstanceLifecycle ?? 'on-demand').sort()).toEqual(['on-demand', 'on-demand', 'spot']);
      expect(lastMetrics(logs)).toMatchObject({ RunnersLaunched: 3, OnDemandFallbacks: 2 });
    });

    it('should retry the jobs of a shortfall whose error is not listed', async () => {
      ec2.capacity.spot = 1;
      const run = handler({ env: { RUNNER_TYPE_CONFIG: runnerTypeConfig({ enable_on_demand_failover_for_errors: [] }) } });
      const response = await run(sqsEvent([job(1), job(2), job(3)]));
      expect(fleets()).toHaveLength(1);
      expect(failedIds(response)).toEqual(['m-1', 'm-2']);
      expect(status(2)).toMatchObject({ status: 'released', attempts: 1 });
    });

    it('should return every message when CreateFleet is throttled, losing nothing', async () => {
      // GIVEN EC2 throttles CreateFleet (after the SDK's own retries)
      ec2.failNext('CreateFleet', ec2Error('RequestLimitExceeded', 'Request limit exceeded.'));

      // WHEN a batch arrives
      const response = await handler()(sqsEvent([job(1), job(2)]));

      // THEN both messages go back, their locks are released, nothing was registered
      expect(failedIds(response)).toEqual(['m-0', 'm-1']);
      expect(status(1)).toMatchObject({ status: 'released' });
      expect(status(2)).toMatchObject({ status: 'released' });
      expect(gh.count('POST', JIT)).toBe(0);
      expect(puts(ssmMock)).toHaveLength(0);

      // AND the retry launches both
      const retry = await handler()(sqsEvent([job(1), job(2)]));
      expect(failedIds(retry)).toEqual([]);
      expect(ec2.live()).toHaveLength(2);
    });

    it('should return every message when DescribeInstances is throttled', async () => {
      ec2.failNext('DescribeInstances', ec2Error('RequestLimitExceeded'));
      const response = await handler()(sqsEvent([job(1), job(2)]));
      expect(failedIds(response)).toEqual(['m-0', 'm-1']);
      expect(fleets()).toHaveLength(0);
      expect(table.updates).toHaveLength(0);
    });
  });

  describe('idempotency', () => {
    it('should launch one runner for a job repeated in a batch and acknowledge the repeat', async () => {
      const response = await handler()(sqsEvent([job(1), job(1), job(2)]));
      expect(failedIds(response)).toEqual([]);
      expect(ec2.live()).toHaveLength(2);
      expect(parsedLogs(logs).some((l) => l.message === 'duplicate job in batch acknowledged' && l.messageId === 'm-1')).toBe(true);
    });

    it('should acknowledge a job redelivered after its runner was launched', async () => {
      const run = handler();
      await run(sqsEvent([job(1)]));
      const fleetsBefore = fleets().length;

      // WHEN the same job arrives in a later batch
      const response = await run(sqsEvent([{ messageId: 'again', body: job(1) }]));

      // THEN it is acknowledged without a second instance
      expect(failedIds(response)).toEqual([]);
      expect(fleets()).toHaveLength(fleetsBefore);
      expect(ec2.live()).toHaveLength(1);
    });

    it('should acknowledge a job whose live runner carries its job id even without an idempotency record', async () => {
      const run = handler();
      await run(sqsEvent([job(1)]));
      table.items.clear();
      const response = await run(sqsEvent([job(1)]));
      expect(failedIds(response)).toEqual([]);
      expect(fleets()).toHaveLength(1);
      expect(table.updates.filter((u) => u.Key?.pk?.S === 'job#1')).toHaveLength(2);
    });

    it('should retry a job another invocation is launching', async () => {
      table.items.set('job#1', { pk: { S: 'job#1' }, status: { S: 'launching' }, expires_at: { N: String(Math.floor(Date.now() / 1000) + 120) } });
      const response = await handler()(sqsEvent([job(1)]));
      expect(failedIds(response)).toEqual(['m-0']);
      expect(fleets()).toHaveLength(0);
    });

    it('should pick up the instances of an attempt that crashed instead of launching more', async () => {
      // GIVEN an earlier invocation locked job 1, launched its fleet, and died
      const token = fleetClientToken({ prefix: 'gh-ci', runnerType: RUNNER_TYPE, capacityType: 'spot', jobs: [{ jobId: 1, attempt: 0 }] });
      await createEc2Runners(new EC2Client({})).launchRunners({
        prefix: 'gh-ci',
        runnerType: RUNNER_TYPE,
        owner: 'octo',
        count: 1,
        launchTemplateId: 'lt-0123456789abcdef0',
        subnetIds: ['subnet-a'],
        instanceTypes: ['m7i.large'],
        capacityType: 'spot',
        clientToken: token,
      });
      const orphan = ec2.live()[0].InstanceId!;
      table.items.set('job#1', {
        pk: { S: 'job#1' },
        status: { S: 'launching' },
        attempts: { N: '0' },
        expires_at: { N: String(Math.floor(Date.now() / 1000) - 1) },
      });

      // WHEN the message is redelivered after the lock expired
      const response = await handler({ env: { RUNNER_TYPE_CONFIG: runnerTypeConfig({ runners_maximum_count: -1 }) } })(sqsEvent([job(1)]));

      // THEN the same instance is registered and no other is started
      expect(failedIds(response)).toEqual([]);
      expect(ec2.live().map((i) => i.InstanceId)).toEqual([orphan]);
      expect(status(1)).toMatchObject({ status: 'launched', instance_id: orphan });
    });
  });

  describe('registration failures', () => {
    it('should terminate the instance whose JIT config failed and retry its job with a fresh fleet', async () => {
      // GIVEN GitHub refuses the first JIT request
      gh.failNext({ method: 'POST', route: JIT, status: 422, body: { message: 'Validation Failed' } });
      const run = handler();

      // WHEN two jobs arrive
      const response = await run(sqsEvent([job(1), job(2)]));

      // THEN one runner registers, the other instance is terminated and its job retried
      const failed = failedIds(response);
      expect(failed).toHaveLength(1);
      const terminated = ec2.callsOf('TerminateInstances').flatMap((c) => (c.input as TerminateInstancesCommandInput).InstanceIds ?? []);
      expect(terminated).toHaveLength(1);
      expect(ec2.instances.get(terminated[0])?.State?.Name).toBe('terminated');
      expect(ec2.live()).toHaveLength(1);
      const failedJob = failed[0] === 'm-0' ? 1 : 2;
      expect(status(failedJob)).toMatchObject({ status: 'released', attempts: 1 });
      expect(puts(ssmMock)).toHaveLength(1);
      expect(lastMetrics(logs)).toMatchObject({ RunnersLaunched: 1 });

      // WHEN the job is retried
      const retry = await run(sqsEvent([{ messageId: failed[0], body: job(failedJob) }]));

      // THEN it gets a new instance, not the terminated one back
      expect(failedIds(retry)).toEqual([]);
      expect(ec2.live()).toHaveLength(2);
      expect(status(failedJob)).toMatchObject({ status: 'launched' });
      expect(status(failedJob)!.instance_id).not.toBe(terminated[0]);
    });

    it('should unregister the runner and terminate the instance when its config cannot be stored', async () => {
      ssmMock.on(PutParameterCommand).rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      const response = await handler()(sqsEvent([job(1)]));
      expect(failedIds(response)).toEqual(['m-0']);
      expect(gh.count('DELETE', /\/orgs\/octo\/actions\/runners\/\d+$/)).toBe(1);
      expect(gh.runners.get('octo')).toEqual([]);
      expect(ec2.live()).toHaveLength(0);
    });

    it('should overwrite a parameter left by an earlier attempt for the same instance', async () => {
      ssmMock
        .on(PutParameterCommand)
        .rejectsOnce(Object.assign(new Error('exists'), { name: 'ParameterAlreadyExists' }))
        .resolves({ Version: 2 });
      const response = await handler()(sqsEvent([job(1)]));
      expect(failedIds(response)).toEqual([]);
      const [first, second] = puts(ssmMock);
      expect(first.Tags).toBeDefined();
      expect(second).toMatchObject({ Overwrite: true, Name: first.Name });
      expect(second.Tags).toBeUndefined();
    });

    it('should keep the runner when only the job-id tags fail, and count and log it as an error', async () => {
      ec2.failNext('CreateTags', ec2Error('RequestLimitExceeded'));
      const response = await handler()(sqsEvent([job(1)]));
      expect(failedIds(response)).toEqual([]);
      expect(ec2.live()).toHaveLength(1);
      expect(status(1)).toMatchObject({ status: 'launched' });
      expect(lastMetrics(logs)).toMatchObject({ JobIdTagFailures: 1 });
      expect(parsedLogs(logs).some((l) => l.level === 'error' && String(l.message).startsWith('could not tag runners with their job ids'))).toBe(true);
    });

    it('should tag every runner with its job under EC2\'s metadata-tag key rule, with no tag failure', async () => {
      // FakeEc2 enforces the rule by default; the old `ghr:job-id/<id>` keys fail here.
      await handler()(sqsEvent([job(1), job(2)]));
      expect(lastMetrics(logs)).toMatchObject({ RunnersLaunched: 2, JobIdTagFailures: 0 });
      for (const i of ec2.live()) expect(ec2.tagsOf(i.InstanceId!)[`ghr:job-id:${i.InstanceId}`]).toMatch(/^[12]$/);
    });
  });

  describe('queued check', () => {
    it('should acknowledge a job that is no longer queued and launch for one whose status is unknown', async () => {
      // GIVEN job 1 already ran and GitHub cannot find job 2
      gh.jobStatus.set(1, 'completed');
      gh.failNext({ method: 'GET', route: /\/actions\/jobs\/2$/, status: 404 });
      const run = handler({ env: { ENABLE_JOB_QUEUED_CHECK: 'true' } });

      // WHEN both arrive
      const response = await run(sqsEvent([job(1), job(2)]));

      // THEN job 1 is acknowledged without a runner and job 2 gets one (fail open)
      expect(failedIds(response)).toEqual([]);
      expect(ec2.live()).toHaveLength(1);
      expect(fleets()[0].TargetCapacitySpecification?.TotalTargetCapacity).toBe(1);
      expect(status(1)).toMatchObject({ status: 'released' });
      expect(status(2)).toMatchObject({ status: 'launched' });
    });
  });

  describe('dry run', () => {
    it('should only ask EC2 with DryRun and write nothing', async () => {
      // GIVEN dry run and a cap smaller than the batch
      const run = handler({ env: { DRY_RUN: 'true', RUNNER_TYPE_CONFIG: runnerTypeConfig({ runners_maximum_count: 1 }) } });

      // WHEN jobs arrive
      const response = await run(sqsEvent([job(1), job(2)]));

      // THEN CreateFleet ran as a dry run, nothing else was written, and messages are acknowledged
      expect(fleets()).toHaveLength(1);
      expect(fleets()[0].DryRun).toBe(true);
      expect(ec2.live()).toHaveLength(0);
      expect(ec2.callsOf('CreateTags')).toHaveLength(0);
      expect(puts(ssmMock)).toHaveLength(0);
      expect(ddbMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
      expect(gh.calls).toHaveLength(0);
      expect(failedIds(response)).toEqual([]);
      expect(parsedLogs(logs).some((l) => String(l.message).startsWith('dry run: EC2 accepted'))).toBe(true);
    });
  });

  describe('tokens', () => {
    it('should mint one installation token across two invocations of a warm container', async () => {
      const cache = new InstallationTokenCache();
      const run = handler({ tokenCache: cache });
      await run(sqsEvent([job(1)]));
      await run(sqsEvent([job(2)]));
      expect(gh.count('POST', TOKENS)).toBe(1);
      expect(gh.count('POST', JIT)).toBe(2);
    });
  });

  /** Issue #15 item 3: a job with its run label ghr-run-<run id> gets a runner registered with it. */
  describe('run-bound jobs', () => {
    it('should register the runner of a run-bound job with its run label, and only that runner', async () => {
      // GIVEN a batch with a run-bound job (its own run label, in upper case) and an ordinary job
      const bound = job(1, { runId: 987654321, labels: ['self-hosted', 'linux', 'GHR-RUN-987654321'] });
      const response = await handler()(sqsEvent([bound, job(2)]));

      // THEN both launched, and the JIT config request of job 1's instance carries the run label, lower case
      expect(failedIds(response)).toEqual([]);
      const byInstance = new Map(ec2.live().map((i) => [`gh-ci-${i.InstanceId}`, ec2.tagsOf(i.InstanceId!)[`ghr:job-id:${i.InstanceId}`]]));
      const jit = gh.calls.filter((c) => JIT.test(c.route)).map((c) => c.body as { name: string; labels: string[] });
      expect(jit.map((c) => [byInstance.get(c.name), c.labels]).sort()).toEqual([
        ['1', ['self-hosted', 'linux', 'x64', 'ghr-run-987654321']],
        ['2', ['self-hosted', 'linux', 'x64']],
      ]);
      // AND GitHub holds the runner with that label (what GitHub matches runs-on against)
      const registered = [...gh.runners.values()].flat().map((r) => (r.labels ?? []).map((l) => l.name));
      expect(registered).toContainEqual(['self-hosted', 'linux', 'x64', 'ghr-run-987654321']);
    });

    it('should put the run label in the registration of token mode too', async () => {
      await handler({ env: { ENABLE_JIT_CONFIG: 'false' } })(sqsEvent([job(1, { runId: 42, labels: ['linux', 'ghr-run-42'] })]));
      expect(puts(ssmMock).map((p) => JSON.parse(p.Value!).labels)).toEqual(['self-hosted,linux,x64,ghr-run-42']);
    });

    it('should acknowledge a message whose run label names another run as poison, launching nothing', async () => {
      // GIVEN a message the webhook would have refused
      const response = await handler()(sqsEvent([{ messageId: 'foreign-run', body: job(1, { runId: 42, labels: ['linux', 'ghr-run-43'] }) }]));
      // THEN nothing launched or registered, nothing retried, and the message id is logged
      expect(failedIds(response)).toEqual([]);
      expect(ec2.live()).toHaveLength(0);
      expect(gh.count('POST', JIT)).toBe(0);
      expect(parsedLogs(logs)).toContainEqual(expect.objectContaining({ level: 'error', message: 'poison message acknowledged', messageId: 'foreign-run' }));
    });
  });

  describe('poison messages', () => {
    it('should acknowledge unreadable, unsupported and misrouted messages, log their ids only, and process the rest', async () => {
      // GIVEN a batch with three poison messages and one good one
      const event = sqsEvent([
        { messageId: 'not-json', body: 'BODY-MARKER-1 {' },
        { messageId: 'version-2', body: JSON.stringify({ ...job(7), version: 2, repositoryName: 'BODY-MARKER-2' }) },
        { messageId: 'other-type', body: job(8, { runnerType: 'arm64', repositoryName: 'BODY-MARKER-3' }) },
        { messageId: 'good', body: job(9) },
      ]);

      // WHEN it is handled
      const response = await handler()(event);

      // THEN nothing is retried, the good job launched, and each poison message is logged by id
      expect(failedIds(response)).toEqual([]);
      expect(ec2.live()).toHaveLength(1);
      const errors = parsedLogs(logs).filter((l) => l.level === 'error' && l.message === 'poison message acknowledged');
      expect(errors.map((l) => l.messageId)).toEqual(['not-json', 'version-2', 'other-type']);
      expect(logs.join('\n')).not.toMatch(/BODY-MARKER/);
    });
  });

  describe('hostile input', () => {
    it('should acknowledge any malformed body without launching or throwing', async () => {
      const run = handler();
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(fc.string(), fc.json(), fc.constant('{"version":1}'), fc.constant('null')), { minLength: 1, maxLength: 5 }), async (bodies) => {
          const response = await run(sqsEvent(bodies));
          expect(response.batchItemFailures).toEqual([]);
        }),
        { numRuns: 60 },
      );
      expect(fleets()).toHaveLength(0);
      expect(gh.calls).toHaveLength(0);
    });
  });

  describe('logging', () => {
    it('should carry correlation keys and never log tokens, JIT configs or the private key', async () => {
      gh.failNext({ method: 'POST', route: JIT, status: 500 });
      await handler()(sqsEvent([job(1), job(2)]));
      await handler({ env: { ENABLE_JIT_CONFIG: 'false' } })(sqsEvent([job(3)]));
      const all = logs.join('\n');
      for (const secret of [...gh.issuedTokens, ...gh.issuedJitConfigs]) expect(all).not.toContain(secret);
      for (const p of puts(ssmMock)) {
        const value = JSON.parse(p.Value!);
        expect(all).not.toContain(value.jit_config ?? value.token);
      }
      expect(all).not.toContain('PRIVATE KEY');
      const launched = parsedLogs(logs).filter((l) => l.message === 'runner launched');
      expect(launched).toHaveLength(3);
      for (const l of launched) expect(l).toEqual(expect.objectContaining({ runnerType: RUNNER_TYPE, jobId: expect.any(Number), deliveryId: expect.any(String), instanceId: expect.any(String) }));
    });
  });

  describe('default context', () => {
    it('should read the App id and a base64 key with one GetParameters call and reach GHES', async () => {
      // GIVEN the App credentials in SSM, the key base64-encoded
      ssmMock.on(GetParametersCommand).resolves({
        Parameters: [
          { Name: '/gh-ci/github-app/id', Value: String(APP_ID) },
          { Name: '/gh-ci/github-app/key', Value: Buffer.from(key.privateKeyPem).toString('base64') },
        ],
      });
      const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        const run = createHandler(onceAsync(() => createDefaultContext(baseEnv({ GHES_URL: gh.url }))));

        // WHEN two batches are handled by the production wiring
        const first = await run(sqsEvent([job(1)]));
        const second = await run(sqsEvent([job(2)]));

        // THEN the credentials were read once, and runners registered through /api/v3
        expect(failedIds(first)).toEqual([]);
        expect(failedIds(second)).toEqual([]);
        expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(1);
        expect(ssmMock.commandCalls(GetParametersCommand)[0].args[0].input).toEqual({
          Names: ['/gh-ci/github-app/id', '/gh-ci/github-app/key'],
          WithDecryption: true,
        });
        expect(gh.calls.filter((c) => JIT.test(c.route)).map((c) => c.path)).toEqual(Array(2).fill('/api/v3/orgs/octo/actions/runners/generate-jitconfig'));
      } finally {
        stdout.mockRestore();
      }
    });

    it('should fail the invocation when the configuration is invalid', async () => {
      const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        const run = createHandler(onceAsync(() => createDefaultContext({})));
        await expect(run(sqsEvent([job(1)]))).rejects.toThrow(/PREFIX is required/);
      } finally {
        stdout.mockRestore();
      }
    });
  });

  it('should tag each runner with its own job id in one call', async () => {
    await handler()(sqsEvent([job(1), job(2), job(3)]));
    const tags = ec2.callsOf('CreateTags').map((c) => c.input as CreateTagsCommandInput);
    expect(tags).toHaveLength(1);
    expect(tags[0].Resources).toHaveLength(3);
    expect(tags[0].Tags?.every((t) => /^ghr:job-id:i-[0-9a-f]+$/.test(t.Key!))).toBe(true);
  });
});
