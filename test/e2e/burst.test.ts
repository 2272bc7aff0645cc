/**
 * (b) A burst: many jobs queued at once for one runner type with a small cap.
 * The webhook takes every delivery, scale-up drains the queue in batches of
 * 10 and returns what does not fit to the queue (batchItemFailures), runners
 * take jobs, finish and terminate, and the rounds repeat until every job ran.
 *
 * Size: E2E_BURST_JOBS / E2E_BURST_CAP, 100 / 10 by default (the default
 * jest run); `npm run e2e` runs 500 / 50.
 */
import { prepareBundles } from './lib/bundles';
import { BurstReport, burstSizeFromEnv, runBurst } from './lib/burst';

const { jobs, cap } = burstSizeFromEnv();

describe(`burst of ${jobs} queued jobs with runners_maximum_count ${cap}`, () => {
  let report: BurstReport;

  beforeAll(async () => {
    // Warp 10, not 50: the exact counts below assume no invocation overran its budget on a loaded machine.
    report = await runBurst({ bundlesDir: await prepareBundles(), jobs, cap, timeWarp: 10 });
  }, 600_000);

  it('should serve every job exactly once, each on its own runner', () => {
    expect(report.badlyServedJobs).toBe(0);
    expect(report.reusedRunners).toBe(0);
    expect(report.webhookErrors).toBe(0);
  });

  it('should launch exactly one runner per job and never more than the cap at once', () => {
    expect(report.runnersLaunched).toBe(jobs);
    expect(report.instancesCreated).toBe(jobs);
    expect(report.peakLiveInstances).toBe(cap);
    expect(report.rounds).toBe(Math.ceil(jobs / cap));
  });

  it('should record every job in the ledger and measure its queue wait', () => {
    // The module's default (job_retry on): the webhook wrote in_progress and completed for every job.
    expect(report.ledger).toBe(true);
    expect(report.ledgerCompleted).toBe(jobs);
    expect(report.queueWait.jobs).toBe(jobs);
    expect(report.queueWait.p50Seconds).toBeGreaterThanOrEqual(0);
    expect(report.queueWait.p50Seconds).toBeLessThanOrEqual(report.queueWait.p95Seconds);
    expect(report.queueWait.p95Seconds).toBeLessThanOrEqual(report.queueWait.maxSeconds);
    // Jobs beyond the first cap's worth wait at least one visibility timeout for a runner.
    expect(report.queueWait.maxSeconds).toBeGreaterThanOrEqual(jobs > cap ? 60 : 0);
  });

  it('should leave no instance, runner config, registration or message behind', () => {
    expect(report.leftovers).toEqual({ instances: [], parameters: [], registrations: [], messages: 0, deadLetters: 0 });
    expect(report.leakedSecrets).toEqual([]);
  });

  it('should stay within the GitHub and EC2 call budget of the design', () => {
    // One token and one runner-group lookup per container, then one JIT config per runner.
    expect(report.githubCallsByKind).toEqual({
      'POST /app/installations/{id}/access_tokens': 1,
      'GET /orgs/{org}/actions/runner-groups': 1,
      'POST /orgs/{org}/actions/runners/generate-jitconfig': jobs,
    });
    // DescribeInstances + CreateFleet + CreateTags when launching; DescribeInstances alone at the cap.
    expect(report.ec2CallsPerBatch.launching).toBe(3);
    expect(report.ec2CallsPerBatch.atCap).toBe(1);
  });
});
