/**
 * (d) Faults injected into the AWS and GitHub fakes, one kind at a time, in
 * one world: every job is still served exactly once, and one scale-down run
 * removes whatever a failed clean-up left behind.
 *
 * The AWS SDK's own retries do not run under aws-sdk-client-mock, so an
 * injected error is what reaches the code after them. GitHub's errors are
 * real HTTP answers, so the bundled Octokit plugins (retry, throttling) act
 * on them as in production; their waits pass on the world's WarpClock.
 */
import { ec2Error } from '../lambdas/shared/fake-ec2';
import { prepareBundles } from './lib/bundles';
import { ssmError } from './lib/fake-ssm';
import { SimJob } from './lib/github-world';
import { PREFIX, World } from './lib/world';

const TYPE = 'linux-x64';
const JIT_ROUTE = /^\/orgs\/[^/]+\/actions\/runners\/generate-jitconfig$/;
const RUNNER_ROUTE = /^\/orgs\/[^/]+\/actions\/runners\/\d+$/;

describe('faults during scale-up', () => {
  let world: World;
  const served: SimJob[] = [];

  beforeAll(async () => {
    world = await World.create({
      bundlesDir: await prepareBundles(),
      runnerTypes: [{ name: TYPE, labels: ['self-hosted', 'linux', 'x64'], maximumCount: 4, capacityType: 'spot', failoverErrors: ['InsufficientInstanceCapacity'] }],
    });
  });

  afterAll(async () => {
    await world?.close();
  });

  /** Queue `n` jobs and serve them all; returns them. */
  async function queueAndServe(n: number): Promise<SimJob[]> {
    const jobs: SimJob[] = [];
    for (let i = 0; i < n; i++) jobs.push(await world.queueJob());
    await world.serveAll(20);
    served.push(...jobs);
    for (const job of jobs) expect({ id: job.id, status: job.status, runners: job.takenBy.length }).toEqual({ id: job.id, status: 'completed', runners: 1 });
    return jobs;
  }

  /** Log lines of scale-up (all containers) with `message`. */
  function scaleUpLogs(message: string): Record<string, unknown>[] {
    return world
      .logLines(`${PREFIX}-scale-up_${TYPE}`)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === message);
  }

  it('should launch the shortfall on demand when spot capacity runs out (InsufficientInstanceCapacity)', async () => {
    // GIVEN EC2 has spot capacity for 2 of 4 runners
    world.ec2.capacity.spot = 2;
    const fleetsBefore = world.ec2.callsOf('CreateFleet').length;

    await queueAndServe(4);

    // THEN one spot fleet of 4 came up 2 short and one on-demand fleet of 2 followed
    const fleets = world.ec2.callsOf('CreateFleet').slice(fleetsBefore).map((c) => (c.input as { TargetCapacitySpecification?: object }).TargetCapacitySpecification);
    expect(fleets).toEqual([
      { TotalTargetCapacity: 4, DefaultTargetCapacityType: 'spot' },
      { TotalTargetCapacity: 2, DefaultTargetCapacityType: 'on-demand' },
    ]);
    expect(scaleUpLogs('spot fleet came up short; launching the rest on demand')).toHaveLength(1);
    world.ec2.capacity.spot = Infinity;
  });

  it('should return the batch to the queue when EC2 throttles CreateFleet (RequestLimitExceeded)', async () => {
    world.ec2.failNext('CreateFleet', ec2Error('RequestLimitExceeded', 'Request limit exceeded.'), 2);

    await queueAndServe(3);

    expect(scaleUpLogs('CreateFleet failed; returning the jobs to the queue')).toHaveLength(2);
  });

  it('should retry a GitHub 5xx within the invocation', async () => {
    world.github.api.failNext({ method: 'POST', route: JIT_ROUTE, status: 502, times: 1 });
    const invocationsBefore = world.invocations.length;

    await queueAndServe(1);

    // The first invocation launched the runner: Octokit retried the 502 itself.
    expect(world.invocations[invocationsBefore]).toMatchObject({ launched: 1, returned: 0 });
  });

  it('should terminate the instance and retry the job when GitHub keeps failing (5xx after every retry)', async () => {
    world.github.api.failNext({ method: 'POST', route: JIT_ROUTE, status: 503, times: 3 });
    const invocationsBefore = world.invocations.length;

    await queueAndServe(1);

    expect(world.invocations[invocationsBefore]).toMatchObject({ launched: 0, returned: 1 });
    expect(scaleUpLogs('registration failed; terminating the instance and retrying the job')).toHaveLength(1);
  });

  it('should wait out a secondary rate limit (403 with retry-after) and go on', async () => {
    world.github.api.failNext({
      method: 'POST',
      route: JIT_ROUTE,
      status: 403,
      headers: { 'retry-after': '1' },
      body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
    });
    const invocationsBefore = world.invocations.length;

    await queueAndServe(1);

    expect(world.invocations[invocationsBefore]).toMatchObject({ launched: 1, returned: 0 });
    expect(world.logLines(`${PREFIX}-scale-up_${TYPE}`).some((l) => l.includes('GitHub secondary rate limit'))).toBe(true);
  });

  it('should retry the whole batch when SSM throttles the cold start (GetParameters ThrottlingException)', async () => {
    world.recycleScaleUp(TYPE);
    world.ssm.failNext('GetParameters', ssmError('ThrottlingException', 'Rate exceeded'), 1);
    const invocationsBefore = world.invocations.length;

    await queueAndServe(2);

    expect(world.invocations[invocationsBefore]).toMatchObject({ threw: true, records: 2, returned: 2 });
  });

  it('should unregister the runner, terminate the instance and retry the job when SSM throttles PutParameter', async () => {
    world.ssm.failNext('PutParameter', ssmError('ThrottlingException', 'Rate exceeded'), 1);
    const deletesBefore = world.github.api.count('DELETE', RUNNER_ROUTE);

    await queueAndServe(1);

    expect(world.github.api.count('DELETE', RUNNER_ROUTE) - deletesBefore).toBe(1);
    expect(world.leftovers()).toEqual({ instances: [], parameters: [], registrations: [], messages: 0, deadLetters: 0 });
  });

  it('should still serve the job when the clean-up after a failure fails too', async () => {
    // GIVEN PutParameter is throttled, GitHub fails the runner's deletion (after retries) and EC2 throttles the termination
    world.ssm.failNext('PutParameter', ssmError('ThrottlingException', 'Rate exceeded'), 1);
    world.github.api.failNext({ method: 'DELETE', route: RUNNER_ROUTE, status: 502, times: 3 });
    world.ec2.failNext('TerminateInstances', ec2Error('RequestLimitExceeded', 'Request limit exceeded.'), 1);

    await queueAndServe(1);

    // THEN what scale-up could not clean up is left: an unregistered-for-nothing runner at GitHub
    expect(scaleUpLogs('could not terminate unregistered instances')).toHaveLength(1);
    expect(world.leftovers().registrations).toHaveLength(1);
  });

  it('should have served every job exactly once', () => {
    expect(served).toHaveLength(14);
    expect(world.badlyServedJobs()).toEqual([]);
    expect(world.reusedRunners()).toEqual([]);
    expect(world.leakedSecrets()).toEqual([]);
  });

  const scaleDownStep = 'should leave no orphan instance, ghost registration or runner config after one scale-down run';
  {
    it(scaleDownStep, async () => {
      // GIVEN the leftovers are older than the boot and minimum running times (5 minutes)
      world.clock.advance(6 * 60_000);

      // WHEN scale-down runs once
      const summary = await world.scaleDown();

      // THEN it cleaned up without errors and nothing is left
      expect(summary).toMatchObject({ errors: 0 });
      expect(world.leftovers()).toEqual({ instances: [], parameters: [], registrations: [], messages: 0, deadLetters: 0 });
    });
  }
});
