import { CreateFleetCommand, CreateTagsCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { createEc2Runners, createFleetInput, jobIdTagKey } from '../../../lambdas/shared/aws/ec2-runners';
import { FakeEc2, ec2Error, isMetadataTagKey } from './fake-ec2';

const ec2Mock = mockClient(EC2Client);

const request = {
  prefix: 'gh-ci',
  runnerType: 'linux-x64',
  owner: 'octo',
  count: 3,
  launchTemplateId: 'lt-1',
  subnetIds: ['subnet-a'],
  instanceTypes: ['m7i.large', 'c7i.large'],
  capacityType: 'spot' as const,
  clientToken: 'a'.repeat(64),
};

describe('ec2 runners adapter', () => {
  let ec2: FakeEc2;
  beforeEach(() => {
    ec2Mock.reset();
    ec2 = new FakeEc2(ec2Mock);
  });

  describe('createFleetInput', () => {
    it('should describe an instant spot fleet over subnets × types with tagged instances and volumes', () => {
      const input = createFleetInput({ ...request, spotAllocationStrategy: 'capacity-optimized', launchTemplateVersion: '4' });
      expect(input).toMatchObject({
        Type: 'instant',
        ClientToken: 'a'.repeat(64),
        DryRun: false,
        LaunchTemplateConfigs: [{ LaunchTemplateSpecification: { LaunchTemplateId: 'lt-1', Version: '4' } }],
        TargetCapacitySpecification: { TotalTargetCapacity: 3, DefaultTargetCapacityType: 'spot' },
        SpotOptions: { AllocationStrategy: 'capacity-optimized' },
      });
      expect(input.LaunchTemplateConfigs?.[0].Overrides).toHaveLength(2);
      expect(input.TagSpecifications?.map((t) => t.ResourceType)).toEqual(['instance', 'volume']);
    });

    it('should use lowest-price for on-demand fleets', () => {
      const input = createFleetInput({ ...request, capacityType: 'on-demand' });
      expect(input.OnDemandOptions).toEqual({ AllocationStrategy: 'lowest-price' });
      expect(input.SpotOptions).toBeUndefined();
    });
  });

  describe('listActiveRunners', () => {
    it('should filter by prefix, runner type and live states in one call, and read job ids', async () => {
      // GIVEN runners tagged with the per-instance form, the plain form, and none
      const a = ec2.seed({ 'ghr:prefix': 'gh-ci', 'ghr:runner-type': 'linux-x64', 'ghr:owner': 'octo' });
      ec2.instances.get(a)!.Tags!.push({ Key: jobIdTagKey(a), Value: '11' }, { Key: jobIdTagKey('i-sibling'), Value: '12' });
      const b = ec2.seed({ 'ghr:prefix': 'gh-ci', 'ghr:runner-type': 'linux-x64', 'ghr:job-id': '13' }, 'pending');
      const c = ec2.seed({ 'ghr:prefix': 'gh-ci', 'ghr:runner-type': 'linux-x64' });
      ec2.seed({ 'ghr:prefix': 'gh-ci', 'ghr:runner-type': 'linux-x64', 'ghr:job-id': '14' }, 'stopped');

      // WHEN listed
      const runners = await createEc2Runners(new EC2Client({})).listActiveRunners({ prefix: 'gh-ci', runnerType: 'linux-x64' });

      // THEN one DescribeInstances with the filters returns the live ones with their own job ids
      expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
      expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0].args[0].input.Filters).toEqual([
        { Name: 'tag:ghr:prefix', Values: ['gh-ci'] },
        { Name: 'tag:ghr:runner-type', Values: ['linux-x64'] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ]);
      expect(runners.map((r) => [r.instanceId, r.jobId, r.owner])).toEqual([
        [a, 11, 'octo'],
        [b, 13, undefined],
        [c, undefined, undefined],
      ]);
    });

    it('should follow pagination', async () => {
      ec2Mock.reset();
      ec2Mock
        .on(DescribeInstancesCommand)
        .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-1', State: { Name: 'running' } }] }], NextToken: 'more' })
        .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-2', State: { Name: 'running' } }] }] });
      const runners = await createEc2Runners(new EC2Client({})).listActiveRunners({ prefix: 'p', runnerType: 't' });
      expect(runners.map((r) => r.instanceId)).toEqual(['i-1', 'i-2']);
      expect(ec2Mock.commandCalls(DescribeInstancesCommand)[1].args[0].input.NextToken).toBe('more');
    });
  });

  describe('launchRunners', () => {
    it('should report instances and capacity errors', async () => {
      ec2.capacity.spot = 2;
      const result = await createEc2Runners(new EC2Client({})).launchRunners(request);
      expect(result.instances).toHaveLength(2);
      expect(result.instances.every((i) => i.lifecycle === 'spot')).toBe(true);
      expect(result.errors).toEqual([{ code: 'InsufficientInstanceCapacity', message: 'There is no spot capacity' }]);
      expect(result.dryRun).toBe(false);
    });

    it('should treat DryRunOperation as a successful dry run', async () => {
      const result = await createEc2Runners(new EC2Client({})).launchRunners({ ...request, dryRun: true });
      expect(result).toEqual({ instances: [], errors: [], dryRun: true });
      expect(ec2Mock.commandCalls(CreateFleetCommand)[0].args[0].input.DryRun).toBe(true);
    });

    it('should rethrow other errors, including a DryRunOperation outside a dry run', async () => {
      ec2.failNext('CreateFleet', ec2Error('UnauthorizedOperation'));
      await expect(createEc2Runners(new EC2Client({})).launchRunners({ ...request, dryRun: true })).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
      ec2.failNext('CreateFleet', ec2Error('DryRunOperation'));
      await expect(createEc2Runners(new EC2Client({})).launchRunners(request)).rejects.toMatchObject({ name: 'DryRunOperation' });
    });
  });

  describe('tagJobIds and terminateRunners', () => {
    it('should write the job mapping in chunks of 20 instances', async () => {
      const ids = Array.from({ length: 25 }, () => ec2.seed({}));
      await createEc2Runners(new EC2Client({})).tagJobIds(ids.map((instanceId, i) => ({ instanceId, jobId: i + 1 })));
      expect(ec2.callsOf('CreateTags')).toHaveLength(2);
      expect(ec2.tagsOf(ids[0])[jobIdTagKey(ids[0])]).toBe('1');
      expect(ec2.tagsOf(ids[24])[jobIdTagKey(ids[24])]).toBe('25');
      expect(Object.keys(ec2.tagsOf(ids[0]))).toHaveLength(20);
    });

    it('should use job-id tag keys that EC2 accepts on instances with metadata tags enabled', async () => {
      // The fake enforces the IMDS tag-key rule by default, as EC2 does.
      const id = ec2.seed({});
      await createEc2Runners(new EC2Client({})).tagJobIds([{ instanceId: id, jobId: 7 }]);
      expect(isMetadataTagKey(jobIdTagKey(id))).toBe(true);
      expect(ec2.tagsOf(id)[jobIdTagKey(id)]).toBe('7');
    });

    it('should have a fake that rejects what EC2 rejects under metadata tags (/, spaces, _index)', async () => {
      const id = ec2.seed({});
      const client = new EC2Client({});
      for (const key of [`ghr:job-id/${id}`, 'a key', '_index', '..']) {
        await expect(client.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: key, Value: '1' }] }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
      }
      ec2.instanceMetadataTags = 'disabled';
      await client.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: `ghr:job-id/${id}`, Value: '1' }] }));
      expect(ec2.tagsOf(id)[`ghr:job-id/${id}`]).toBe('1');
    });

    it('should terminate the given instances', async () => {
      const id = ec2.seed({});
      await createEc2Runners(new EC2Client({})).terminateRunners([id]);
      expect(ec2.instances.get(id)?.State?.Name).toBe('terminated');
    });
  });
});
