/**
 * (h) Run-bound runners (issue #15 item 3), through the shipped bundles. Two
 * workflow runs each queue a job whose `runs-on` carries its own run label
 * (`ghr-run-<run id>`), while an idle warm-pool runner of the same type is
 * online. Each job gets a runner registered with the type's labels and its
 * run's label, and runs on that runner; the pool runner, lacking the label,
 * takes neither (GitHub's rule, enforced by the fake: a runner must have every
 * label the job asks for). A job of one run that asks for the other run's
 * label is refused at the webhook (202 "refused"): no runner is launched for it.
 */
import { prepareBundles } from './lib/bundles';
import { DEFAULT_INSTALLATION_ID, DEFAULT_OWNER, SimJob } from './lib/github-world';
import { PREFIX, World } from './lib/world';

const TYPE = 'linux-x64';
const RUN_A = 6_100_000_001;
const RUN_B = 6_100_000_002;

describe('run-bound runners', () => {
  let world: World;
  let jobA: SimJob;
  let jobB: SimJob;
  let thief: SimJob;
  let poolRunner: string;

  const labelsOf = (runnerName: string) =>
    (world.github.registeredRunners().find((r) => r.runner.name === runnerName)?.runner.labels ?? []).map((l) => l.name);

  beforeAll(async () => {
    world = await World.create({
      bundlesDir: await prepareBundles(),
      runnerTypes: [{ name: TYPE, labels: ['self-hosted', 'linux', 'x64'], maximumCount: 5 }],
    });
  }, 120_000);

  afterAll(async () => {
    await world?.close();
  });

  it('should have one idle warm-pool runner online, without a run label', async () => {
    // GIVEN the App is installed on the pool's owner, and a pool of one for the type, launched by scale-up and booted
    world.github.api.installations.push({ id: DEFAULT_INSTALLATION_ID, account: DEFAULT_OWNER, type: 'Organization' });
    await world.poolTick(TYPE, 1);
    expect((await world.drain()).map((i) => i.returned)).toEqual([0]);
    expect(await world.boot()).toEqual({ connected: 1, gaveUp: 0 });
    const idle = world.github.idle();
    expect(idle).toHaveLength(1);
    poolRunner = idle[0].runner.name;
    expect(labelsOf(poolRunner).some((l) => /^ghr-run-/i.test(l))).toBe(false);
  });

  it('should queue each run-bound job and refuse a job that asks for the other run label', async () => {
    // WHEN run A and run B each queue a job with their own run label (run B's in upper case)
    jobA = world.github.queueJob({ runId: RUN_A, labels: ['self-hosted', 'linux', 'x64', `ghr-run-${RUN_A}`] });
    jobB = world.github.queueJob({ runId: RUN_B, labels: ['self-hosted', 'linux', `GHR-RUN-${RUN_B}`] });
    // AND a job of run B asks for run A's label
    thief = world.github.queueJob({ runId: RUN_B, labels: ['self-hosted', 'linux', `ghr-run-${RUN_A}`] });
    const answers = [];
    for (const job of [jobA, jobB, thief]) answers.push(await world.post(world.delivery(job, 'queued')));

    // THEN the two are queued, the third is refused, and only two messages wait
    expect(answers.map((a) => `${a.statusCode} ${a.body}`)).toEqual(['202 queued', '202 queued', '202 refused']);
    const messages = world.sqs.messages(world.queueUrl(TYPE)).map((m) => JSON.parse(m.body) as { jobId: number });
    expect(messages.map((m) => m.jobId).sort()).toEqual([jobA.id, jobB.id].sort());
    const refusals = world.logLines(`${PREFIX}-webhook`).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.message).startsWith('job refused'));
    expect(refusals).toEqual([expect.objectContaining({ jobId: thief.id, runId: RUN_B, runnerType: TYPE })]);
  });

  it('should launch a runner for each run-bound job although a pool runner is idle, registered with its run label', async () => {
    // WHEN scale-up takes the batch
    const [invocation, ...more] = await world.drain();
    expect(more).toHaveLength(0);
    expect(invocation).toMatchObject({ records: 2, returned: 0, launched: 2 });

    // THEN GitHub holds one runner per run, each with the type's labels and its run's label
    const bound = world.github.registeredRunners().filter((r) => r.runner.name !== poolRunner);
    expect(bound.map((r) => labelsOf(r.runner.name)).sort()).toEqual([
      ['self-hosted', 'linux', 'x64', `ghr-run-${RUN_A}`],
      ['self-hosted', 'linux', 'x64', `ghr-run-${RUN_B}`],
    ]);
    // AND the pool runner kept its labels
    expect(labelsOf(poolRunner)).toEqual(['self-hosted', 'linux', 'x64']);
  });

  it("should run each job on its own run's runner and leave the pool runner idle", async () => {
    // WHEN the runners boot and GitHub dispatches (the pool runner was online first)
    expect(await world.boot()).toEqual({ connected: 2, gaveUp: 0 });
    const started = await world.dispatch();

    // THEN both run-bound jobs started, each on a runner carrying its run's label
    expect(started.map((j) => j.id).sort()).toEqual([jobA.id, jobB.id].sort());
    expect(labelsOf(jobA.runnerName!)).toContain(`ghr-run-${RUN_A}`);
    expect(labelsOf(jobB.runnerName!)).toContain(`ghr-run-${RUN_B}`);
    expect(jobA.runnerName).not.toBe(jobB.runnerName);
    // AND the pool runner took neither; the refused job got no runner and is still queued
    expect(world.github.idle().map((r) => r.runner.name)).toEqual([poolRunner]);
    expect(thief).toMatchObject({ status: 'queued', takenBy: [] });

    expect((await world.finish()).map((j) => j.id).sort()).toEqual([jobA.id, jobB.id].sort());
    expect([jobA, jobB].map((j) => j.takenBy.length)).toEqual([1, 1]);
  });

  it('should leave nothing behind once the pool runner outlives the minimum running time', async () => {
    // GIVEN the refused job is cancelled at GitHub (no runner will ever serve it)
    thief.status = 'completed';
    thief.conclusion = 'cancelled';
    world.github.api.jobStatus.set(thief.id, 'completed');
    // WHEN scale-down runs after the minimum running time
    world.clock.advance(6 * 60_000);
    await world.scaleDown();
    // THEN nothing is left and no secret was logged
    expect(world.leftovers()).toEqual({ instances: [], parameters: [], registrations: [], messages: 0, deadLetters: 0 });
    expect(world.leakedSecrets()).toEqual([]);
  });
});
