/**
 * (f) Failed deliveries are redelivered: 30% of the `workflow_job queued`
 * deliveries are answered 429 or 5xx before they reach the webhook (API
 * Gateway throttling, a Lambda error). GitHub never redelivers by itself, so
 * those jobs are stuck until the redelivery function (the shipped bundle)
 * reads the App's delivery log and redelivers each failure once, keeping its
 * X-GitHub-Delivery. Then every job is served exactly once, a second run
 * redelivers nothing, and a duplicate of a redelivered delivery launches
 * nothing more.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { FakeDeliveryLog, startFakeDeliveryLog } from '../lambdas/redelivery/fake-delivery-log';
import { prepareBundles } from './lib/bundles';
import { APP_ID, SimJob } from './lib/github-world';
import { World } from './lib/world';

const JOBS = 20;
const FAILED_ANSWERS = [429, 500, 502, 503];

describe('redelivery of failed deliveries', () => {
  let world: World;
  let log: FakeDeliveryLog;
  /** Each delivery's request, by guid, as GitHub keeps it for redelivery. */
  const sent = new Map<string, APIGatewayProxyEventV2>();

  beforeAll(async () => {
    const bundlesDir = await prepareBundles();
    world = await World.create({ bundlesDir, runnerTypes: [{ name: 'linux-x64', labels: ['self-hosted', 'linux', 'x64'], maximumCount: 50 }] });
    log = await startFakeDeliveryLog({
      appId: APP_ID,
      publicKey: world.github.appKey.publicKey,
      now: () => world.clock.now(),
      // A redelivery passes the door: the same request, the same guid.
      deliver: async (guid) => (await world.post(sent.get(guid)!)).statusCode ?? 0,
    });
  });
  afterAll(async () => {
    await log?.close();
    await world?.close();
  });

  /** GitHub delivers `queued` for `job`; every `failEvery`-th of ten is answered at the door with 429/5xx. */
  async function deliverQueued(job: SimJob, i: number): Promise<string> {
    const guid = randomUUID();
    const event = world.delivery(job, 'queued', guid);
    sent.set(guid, event);
    if (i % 10 < 3) {
      log.record(guid, FAILED_ANSWERS[i % FAILED_ANSWERS.length]);
    } else {
      const answer = await world.post(event);
      log.record(guid, answer.statusCode ?? 0);
    }
    return guid;
  }

  function instancesFor(jobId: number): string[] {
    return [...world.ec2.instances.values()].filter((i) => i.Tags?.some((t) => t.Key === `ghr:job-id:${i.InstanceId}` && t.Value === String(jobId))).map((i) => i.InstanceId!);
  }

  it('should serve every job once after one redelivery run', async () => {
    // GIVEN 20 queued jobs whose deliveries fail at the door 30% of the time
    const jobs: SimJob[] = [];
    const failedGuids: string[] = [];
    for (let i = 0; i < JOBS; i++) {
      const job = world.github.queueJob();
      jobs.push(job);
      const guid = await deliverQueued(job, i);
      if (i % 10 < 3) failedGuids.push(guid);
    }
    expect(failedGuids).toHaveLength(6);

    // WHEN one round of serving runs, the failed jobs are stuck
    await world.drain();
    await world.boot();
    await world.dispatch();
    await world.finish();
    const stuck = jobs.filter((j) => j.status !== 'completed');
    expect(stuck).toHaveLength(6);

    // AND one redelivery run redelivers each failed delivery once, with its guid
    const result = await world.redeliveryRun(log.url);
    await log.settled();
    expect(result).toMatchObject({ redelivered: 6, failures: 0 });
    const redeliveries = log.entries.filter((e) => e.redelivery);
    expect(redeliveries.map((e) => e.guid).sort()).toEqual([...failedGuids].sort());
    expect(redeliveries.every((e) => e.status === 'OK')).toBe(true);

    // THEN every job is served, by exactly one runner and one instance
    await world.serveAll();
    expect(world.badlyServedJobs()).toEqual([]);
    expect(world.reusedRunners()).toEqual([]);
    for (const job of jobs) expect(instancesFor(job.id)).toHaveLength(1);

    // AND a second run redelivers nothing
    expect(await world.redeliveryRun(log.url)).toMatchObject({ redelivered: 0 });

    // AND the same redelivered delivery arriving once more is accepted and launches nothing
    const before = world.ec2.instances.size;
    expect(await world.post(sent.get(failedGuids[0])!)).toMatchObject({ statusCode: 202 });
    await world.serveAll();
    expect(world.ec2.instances.size).toBe(before);
    expect(world.badlyServedJobs()).toEqual([]);
    expect(world.leakedSecrets()).toEqual([]);
  });
});
