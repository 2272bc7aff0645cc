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
    report = await runBurst({ bundlesDir: await prepareBundles(), jobs, cap });
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
