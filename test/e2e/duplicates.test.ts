/**
 * (c) Duplicates never double-launch: GitHub redelivers the same delivery, or
 * sends the same job in two deliveries, and each job still gets exactly one
 * instance. The webhook enqueues every authentic delivery; scale-up collapses
 * repeats within a batch and recognises a launched job across batches and
 * containers (launch lock in DynamoDB, job-id tags in EC2).
 */
import { prepareBundles } from './lib/bundles';
import { SimJob } from './lib/github-world';
import { World } from './lib/world';

const TYPE = 'linux-x64';

/** Instances EC2 ever started (any state) whose job-id tag names `jobId`. */
function instancesFor(world: World, jobId: number): string[] {
  return [...world.ec2.instances.values()]
    .filter((i) => i.Tags?.some((t) => t.Key === `ghr:job-id:${i.InstanceId}` && t.Value === String(jobId)))
    .map((i) => i.InstanceId!);
}

describe('duplicate deliveries', () => {
  let bundlesDir: string;
  let world: World;

  beforeAll(async () => {
    bundlesDir = await prepareBundles();
  });

  afterEach(async () => {
    await world?.close();
  });

  it('should launch one instance when the same delivery arrives three times in one batch', async () => {
    // GIVEN one queued job whose delivery GitHub sends three times (same X-GitHub-Delivery, same body)
    world = await World.create({ bundlesDir });
    const job = world.github.queueJob();
    const delivery = world.delivery(job, 'queued', '5a5a5a5a-0000-4000-8000-000000000003');

    // WHEN all three reach the webhook and then one scale-up batch
    for (let i = 0; i < 3; i++) expect(await world.post(delivery)).toMatchObject({ statusCode: 202, body: 'queued' });
    expect(world.sqs.messages(world.queueUrl(TYPE))).toHaveLength(3);
    const [invocation] = await world.drain();

    // THEN one instance is launched and all three messages are acknowledged
    expect(invocation).toMatchObject({ records: 3, returned: 0, launched: 1 });
    expect(world.ec2.instances.size).toBe(1);
    expect(world.github.registeredRunners()).toHaveLength(1);

    // AND the job runs once and nothing is left
    await world.serveAll();
    expectServedOnce(world, [job]);
  });

  it.each([
    ['one warm container', 'warm'],
    ['a cold container per invocation', 'cold'],
  ] as const)('should launch one instance per job when repeats arrive in separate batches (%s)', async (_, containers) => {
    // GIVEN batches of one message, so every repeat meets a job that was already launched
    world = await World.create({ bundlesDir, batchSize: 1, scaleUpContainers: containers });
    const redelivered = world.github.queueJob();
    const twice = world.github.queueJob();

    // WHEN one job's delivery arrives three times and the other job comes in two different deliveries
    const delivery = world.delivery(redelivered, 'queued', '5a5a5a5a-0000-4000-8000-00000000000c');
    for (let i = 0; i < 3; i++) await world.post(delivery);
    await world.deliver(twice, 'queued', '5a5a5a5a-0000-4000-8000-0000000000d1');
    await world.deliver(twice, 'queued', '5a5a5a5a-0000-4000-8000-0000000000d2');
    const invocations = await world.drain();

    // THEN five invocations launched exactly two runners, acknowledging every repeat
    expect(invocations.map((i) => i.launched)).toEqual([1, 0, 0, 1, 0]);
    expect(invocations.every((i) => i.returned === 0)).toBe(true);
    expect(instancesFor(world, redelivered.id)).toHaveLength(1);
    expect(instancesFor(world, twice.id)).toHaveLength(1);
    expect(world.ec2.instances.size).toBe(2);

    // AND each job runs once
    await world.serveAll();
    expectServedOnce(world, [redelivered, twice]);
  });

  it('should launch nothing for a queued redelivery that arrives after its job finished', async () => {
    // GIVEN a job that was served
    world = await World.create({ bundlesDir });
    const job = await world.queueJob();
    await world.serveAll();
    expect(world.ec2.instances.size).toBe(1);

    // WHEN an operator redelivers its queued delivery later
    world.expireVisibility();
    await world.deliver(job, 'queued');
    const [invocation] = await world.drain();

    // THEN scale-up acknowledges it without launching
    expect(invocation).toMatchObject({ records: 1, returned: 0, launched: 0 });
    expect(world.ec2.instances.size).toBe(1);
    expectServedOnce(world, [job]);
  });
});

function expectServedOnce(world: World, jobs: readonly SimJob[]): void {
  for (const job of jobs) expect({ id: job.id, status: job.status, runners: job.takenBy.length }).toEqual({ id: job.id, status: 'completed', runners: 1 });
  expect(world.badlyServedJobs()).toEqual([]);
  expect(world.reusedRunners()).toEqual([]);
  expect(world.leftovers()).toEqual({ instances: [], parameters: [], registrations: [], messages: 0, deadLetters: 0 });
  expect(world.leakedSecrets()).toEqual([]);
}
