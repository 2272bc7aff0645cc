/**
 * (l) A Windows job next to a Linux one, through the shipped bundles:
 * signed `queued` deliveries → webhook routes each to its runner type's queue
 * → scale-up launches each from its own type's launch template (the Windows
 * type on-demand, with its instance types) → each instance reads and deletes
 * its JIT config and its runner takes only its own job → `completed` → the
 * instances are gone → scale-down finds nothing, nothing is left anywhere.
 *
 * The control plane does not know the OS: a Windows type differs only in its
 * launch template (AMI, PowerShell user data), which the construct builds. What
 * the world simulates on the instance (read `<path>/<instance-id>`, delete it,
 * start the runner with the JIT config, shut down at the end) is what both
 * user-data templates do; test/modules/runners/windows-user-data.test.ts holds
 * the PowerShell script to it.
 */
import type { CreateFleetCommandInput } from '@aws-sdk/client-ec2';
import { prepareBundles } from './lib/bundles';
import { SimJob } from './lib/github-world';
import { PREFIX, SSM_CONFIG_PATH, World, launchTemplateIdOf } from './lib/world';

const LINUX = 'linux-x64';
const WINDOWS = 'windows-x64';
const WINDOWS_INSTANCE_TYPES = ['m7i.xlarge', 'm6i.xlarge'];

describe('(l) a Windows job start to finish, next to a Linux job', () => {
  let world: World;
  let windowsJob: SimJob;
  let linuxJob: SimJob;

  beforeAll(async () => {
    world = await World.create({
      bundlesDir: await prepareBundles(),
      runnerTypes: [
        { name: LINUX, labels: ['self-hosted', 'linux', 'x64'], maximumCount: 10 },
        { name: WINDOWS, labels: ['self-hosted', 'windows', 'x64'], maximumCount: 5, capacityType: 'on-demand', instanceTypes: WINDOWS_INSTANCE_TYPES },
      ],
    });
  });

  afterAll(async () => {
    await world?.close();
  });

  it('should route the Windows job to the Windows type\'s queue and the Linux job to the Linux one', async () => {
    // GIVEN GitHub queues a job for self-hosted, windows and one for self-hosted, linux
    windowsJob = world.github.queueJob({ labels: ['self-hosted', 'windows'] });
    linuxJob = world.github.queueJob({ labels: ['self-hosted', 'linux'] });

    // WHEN both are delivered
    expect(await world.post(world.delivery(windowsJob, 'queued', 'd6a1c1d0-0000-4000-8000-0000000000b1'))).toMatchObject({ statusCode: 202 });
    expect(await world.post(world.delivery(linuxJob, 'queued', 'd6a1c1d0-0000-4000-8000-0000000000b2'))).toMatchObject({ statusCode: 202 });

    // THEN each waits on its own type's queue
    expect(world.sqs.messages(world.queueUrl(WINDOWS)).map((m) => JSON.parse(m.body).jobId)).toEqual([windowsJob.id]);
    expect(world.sqs.messages(world.queueUrl(LINUX)).map((m) => JSON.parse(m.body).jobId)).toEqual([linuxJob.id]);
  });

  it('should launch the Windows runner from the Windows launch template, on-demand, with its instance types', async () => {
    // WHEN scale-up drains both queues
    const invocations = await world.drain();
    expect(invocations.reduce((n, i) => n + i.launched, 0)).toBe(2);

    // THEN one fleet per type, each from its own template
    const fleets = world.ec2.calls.filter((c) => c.command === 'CreateFleet').map((c) => c.input as CreateFleetCommandInput);
    const windowsFleets = fleets.filter((f) => f.LaunchTemplateConfigs?.[0]?.LaunchTemplateSpecification?.LaunchTemplateId === launchTemplateIdOf(WINDOWS));
    expect(windowsFleets).toHaveLength(1);
    expect(windowsFleets[0].TargetCapacitySpecification?.DefaultTargetCapacityType).toBe('on-demand');
    // One override per instance type and subnet.
    expect([...new Set(windowsFleets[0].LaunchTemplateConfigs?.[0]?.Overrides?.map((o) => o.InstanceType))].sort()).toEqual([...WINDOWS_INSTANCE_TYPES].sort());
    expect(fleets.filter((f) => f.LaunchTemplateConfigs?.[0]?.LaunchTemplateSpecification?.LaunchTemplateId === launchTemplateIdOf(LINUX))).toHaveLength(1);

    // AND the Windows instance is tagged with its type and job, its JIT config waiting in SSM
    const windowsInstances = world.liveInstances().filter((i) => world.ec2.tagsOf(i.InstanceId!)['ghr:runner-type'] === WINDOWS);
    expect(windowsInstances).toHaveLength(1);
    const id = windowsInstances[0].InstanceId!;
    expect(world.ec2.tagsOf(id)).toMatchObject({ 'ghr:prefix': PREFIX, [`ghr:job-id:${id}`]: String(windowsJob.id) });
    expect(world.ssm.parameters.get(`${SSM_CONFIG_PATH}/${id}`)).toMatchObject({ type: 'SecureString' });
  });

  it('should run each job on its own platform\'s runner and leave nothing behind', async () => {
    // WHEN both instances boot, take their jobs and finish
    expect(await world.boot()).toEqual({ connected: 2, gaveUp: 0 });
    expect(world.ssm.namesUnder(SSM_CONFIG_PATH)).toEqual([]);
    expect((await world.dispatch()).map((j) => j.id).sort()).toEqual([windowsJob.id, linuxJob.id].sort());
    expect((await world.finish()).map((j) => j.id).sort()).toEqual([windowsJob.id, linuxJob.id].sort());

    // THEN the Windows job ran once, on the Windows type's instance
    const byType = (type: string) => [...world.ec2.instances.values()].filter((i) => world.ec2.tagsOf(i.InstanceId!)['ghr:runner-type'] === type);
    const [windowsInstance] = byType(WINDOWS);
    const [linuxInstance] = byType(LINUX);
    expect(windowsJob).toMatchObject({ status: 'completed', conclusion: 'success', takenBy: [`${PREFIX}-${windowsInstance.InstanceId}`] });
    expect(linuxJob).toMatchObject({ status: 'completed', conclusion: 'success', takenBy: [`${PREFIX}-${linuxInstance.InstanceId}`] });
    expect(windowsInstance.State?.Name).toBe('terminated');

    // AND scale-down finds nothing to clean up, and nothing is left, no secret logged
    expect(await world.scaleDown()).toMatchObject({ liveInstances: 0, errors: 0 });
    expect(world.leftovers()).toEqual({ instances: [], parameters: [], registrations: [], messages: 0, deadLetters: 0 });
    expect(world.leakedSecrets()).toEqual([]);
  });
});
