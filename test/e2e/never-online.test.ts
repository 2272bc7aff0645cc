/**
 * (h) 30% of launched runners never come online (issue #11 item 3, "Done
 * when"): their instances boot but the runner never connects (a bad AMI, a
 * hung boot). The webhook records each job's progress in the job ledger;
 * scale-down's reconcile finds the jobs still queued at GitHub after
 * runner_boot_time_in_minutes and queues them again; scale-up launches a new
 * runner for each (the job's old instance is superseded, not its runner).
 * Every job runs exactly once, relaunches are no more than the runners that
 * failed, and scale-down removes the dead instances, their registrations and
 * their configs: nothing is left behind.
 */
import { prepareBundles } from './lib/bundles';
import { PREFIX, World } from './lib/world';

const TYPE = 'linux-x64';
const JOBS = 10;
const FAILING = Math.round(JOBS * 0.3);
const MINUTE = 60_000;

describe(`${FAILING} of ${JOBS} launched runners never come online`, () => {
  let world: World;
  let failed: string[] = [];
  const relaunchLines = () =>
    world
      .logLines(`${PREFIX}-scale-down`)
      .map((l) => JSON.parse(l) as { message?: string; jobId?: number })
      .filter((l) => l.message === 'job still queued after the boot time with no idle runner of its type; relaunched');

  beforeAll(async () => {
    world = await World.create({
      bundlesDir: await prepareBundles(),
      runnerTypes: [{ name: TYPE, labels: ['self-hosted', 'linux', 'x64'], maximumCount: 20 }],
      jobRetryMaxAttempts: 2,
    });
    // GIVEN a burst, and 30% of the runners launched for it never come online
    for (let i = 0; i < JOBS; i++) await world.queueJob();
    await world.drain();
    failed = world.liveInstances().map((i) => i.InstanceId!).slice(0, FAILING);
    for (const id of failed) world.neverOnline.add(id);

    // WHEN the rest run, the boot time passes, and scale-down runs on its schedule, round after round
    for (let round = 1; round <= 10; round++) {
      await world.boot();
      await world.dispatch();
      await world.finish();
      const open = [...world.github.jobs.values()].filter((j) => j.status !== 'completed').length;
      if (open === 0 && round > 1) break;
      world.clock.advance(6 * MINUTE);
      world.expireVisibility();
      await world.scaleDown();
      await world.drain();
    }
    // AND scale-down's later runs sweep what the dead runners left
    for (let i = 0; i < 3; i++) {
      world.clock.advance(6 * MINUTE);
      await world.scaleDown();
    }
  }, 300_000);

  afterAll(async () => {
    await world?.close();
  });

  it('should run every job exactly once, each on its own runner', () => {
    expect(world.badlyServedJobs().map((j) => ({ id: j.id, status: j.status, runners: j.takenBy.length }))).toEqual([]);
    expect(world.reusedRunners()).toEqual([]);
  });

  it('should relaunch no more jobs than runners failed, and give up on none', () => {
    const relaunched = relaunchLines();
    expect(relaunched.length).toBeGreaterThan(0);
    expect(relaunched.length).toBeLessThanOrEqual(failed.length);
    const gaveUp = world.logLines(`${PREFIX}-scale-down`).filter((l) => l.includes('given up (JobsGivenUp)'));
    expect(gaveUp).toEqual([]);
    // One new runner per relaunch: JOBS first launches plus the relaunches.
    expect(world.invocations.reduce((n, i) => n + i.launched, 0)).toBe(JOBS + relaunched.length);
  });

  it('should leave no job queued and no instance, registration, config or message behind', () => {
    expect([...world.github.jobs.values()].filter((j) => j.status === 'queued')).toEqual([]);
    expect(world.leftovers()).toEqual({ instances: [], parameters: [], registrations: [], messages: 0, deadLetters: 0 });
    expect(world.leakedSecrets()).toEqual([]);
  });
});
