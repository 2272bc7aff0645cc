/**
 * (j) A busy spot runner is interrupted with the re-run on (issue #11 item 4,
 * "Done when"): its job is re-run once, and never twice. The spot warning
 * reaches the termination watcher while the runner is busy; it records the
 * job as interrupted in the job ledger. The instance is reclaimed and GitHub
 * fails the job. GitHub refuses a re-run until the job's workflow run has
 * completed (the fake answers 403, cli/cli#9221), so scale-down's first run
 * only counts a try; once the run has completed, the next run asks for the
 * re-run (201), GitHub queues the re-run as a new job, and it is served.
 * Later runs, and the same warning delivered again, re-run nothing. With the
 * option off, the same interruption is never re-run. Both end with nothing
 * left behind.
 */
import { prepareBundles } from './lib/bundles';
import type { SimJob } from './lib/github-world';
import { PREFIX, World } from './lib/world';

const TYPE = 'linux-x64';
const JOBS = 3;
const MINUTE = 60_000;
const RERUN = /\/actions\/jobs\/\d+\/rerun$/;

/** Three jobs busy on spot runners; the first runner's instance is reclaimed mid-job. Returns the interrupted job. */
async function interruptOneBusyRunner(world: World): Promise<{ job: SimJob; instanceId: string }> {
  for (let i = 0; i < JOBS; i++) await world.queueJob();
  await world.drain();
  await world.boot();
  await world.dispatch();
  const instanceId = world.liveInstances().map((i) => i.InstanceId!).find((id) => world.github.connected.get(world.runnerOf(id) ?? '')?.job !== undefined);
  if (!instanceId) throw new Error('no busy runner');
  const job = await world.interruptSpot(instanceId);
  if (!job) throw new Error('the interrupted runner had no job');
  await world.finish();
  return { job, instanceId };
}

/** Scale-down on its schedule, serving what it queues and what GitHub re-runs. */
async function scaleDownRounds(world: World, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    world.clock.advance(6 * MINUTE);
    world.expireVisibility();
    await world.scaleDown();
    await world.serveReruns();
    await world.drain();
    await world.boot();
    await world.dispatch();
    await world.finish();
  }
}

/** Everything a run left: retries of the watcher, ghosts and dead instances, swept. */
async function sweep(world: World): Promise<void> {
  await world.drainTerminationRetries();
  await scaleDownRounds(world, 3);
}

const scaleDownLines = (world: World, text: string) => world.logLines(`${PREFIX}-scale-down`).filter((l) => l.includes(text));

describe('a busy spot runner is interrupted with the re-run on', () => {
  let world: World;
  let interrupted: SimJob;
  let instanceId: string;
  let refusedBeforeCompletion = 0;
  let rerunJobs: SimJob[] = [];

  beforeAll(async () => {
    world = await World.create({
      bundlesDir: await prepareBundles(),
      runnerTypes: [{ name: TYPE, labels: ['self-hosted', 'linux', 'x64'], maximumCount: 10, capacityType: 'spot' }],
      jobRetryMaxAttempts: 2,
      spotInterruptionRerun: true,
    });
    ({ job: interrupted, instanceId } = await interruptOneBusyRunner(world));

    // WHEN scale-down runs while the job's workflow run is still in progress (its other jobs run on)
    await scaleDownRounds(world, 1);
    refusedBeforeCompletion = world.github.api.count('POST', RERUN);
    // AND the run completes, and scale-down runs again
    world.github.api.runStatus.set(interrupted.id, 'completed');
    world.clock.advance(6 * MINUTE);
    await world.scaleDown();
    rerunJobs = await world.serveReruns();
    await world.serveAll();
    // AND the re-run's run completes too, the warning arrives again (a redriven event), and scale-down keeps running
    world.github.api.runStatus.set(interrupted.id, 'completed');
    await world.terminationWatcher({
      version: '0',
      id: 'evt-again',
      'detail-type': 'EC2 Spot Instance Interruption Warning',
      source: 'aws.ec2',
      detail: { 'instance-id': instanceId, 'instance-action': 'terminate' },
    });
    await scaleDownRounds(world, 3);
    await sweep(world);
  }, 300_000);

  afterAll(async () => {
    await world?.close();
  });

  it('should record the interruption once and fail the job at GitHub', () => {
    expect(interrupted).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(world.table.items.get(`job#${interrupted.id}`)?.rerun_state?.S).toBe('rerun-requested');
    expect(world.logLines(`${PREFIX}-termination-watcher`).filter((l) => l.includes('"JobsInterrupted"'))).toHaveLength(1);
  });

  it('should not re-run before the workflow run completed, then re-run the job once, and never twice', () => {
    expect(refusedBeforeCompletion).toBe(1);
    expect(world.github.api.reruns).toEqual([interrupted.id]);
    expect(rerunJobs).toHaveLength(1);
    expect(rerunJobs[0]).toMatchObject({ runId: interrupted.runId, status: 'completed', conclusion: 'success' });
    expect(world.github.api.count('POST', RERUN)).toBe(2);
    expect(scaleDownLines(world, '(JobRerunsGivenUp)')).toEqual([]);
  });

  it('should serve every other job exactly once and leave nothing behind', () => {
    const others = [...world.github.jobs.values()].filter((j) => j.id !== interrupted.id);
    expect(others).toHaveLength(JOBS);
    expect(others.filter((j) => j.status !== 'completed' || j.takenBy.length !== 1 || j.conclusion !== 'success')).toEqual([]);
    expect(world.reusedRunners()).toEqual([]);
    expect([...world.github.jobs.values()].filter((j) => j.status === 'queued')).toEqual([]);
    expect(world.leftovers()).toEqual({ instances: [], parameters: [], registrations: [], messages: 0, deadLetters: 0 });
    expect(world.leakedSecrets()).toEqual([]);
  });
});

describe('a busy spot runner is interrupted with the re-run off', () => {
  let world: World;
  let interrupted: SimJob;

  beforeAll(async () => {
    world = await World.create({
      bundlesDir: await prepareBundles(),
      runnerTypes: [{ name: TYPE, labels: ['self-hosted', 'linux', 'x64'], maximumCount: 10, capacityType: 'spot' }],
      jobRetryMaxAttempts: 2,
    });
    ({ job: interrupted } = await interruptOneBusyRunner(world));
    world.github.api.runStatus.set(interrupted.id, 'completed');
    await scaleDownRounds(world, 2);
    await sweep(world);
  }, 300_000);

  afterAll(async () => {
    await world?.close();
  });

  it('should re-run nothing, record nothing, and leave nothing behind', () => {
    expect(interrupted).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(world.github.api.count('POST', RERUN)).toBe(0);
    expect(world.github.api.reruns).toEqual([]);
    expect(world.table.items.get(`job#${interrupted.id}`)?.rerun_state).toBeUndefined();
    expect([...world.github.jobs.values()]).toHaveLength(JOBS);
    expect(world.leftovers()).toEqual({ instances: [], parameters: [], registrations: [], messages: 0, deadLetters: 0 });
  });
});
