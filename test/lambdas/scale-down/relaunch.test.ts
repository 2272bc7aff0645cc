import fc from 'fast-check';
import type { AwaitingJob } from '../../../lambdas/shared/aws/job-ledger';
import type { RunnerInstance } from '../../../lambdas/shared/aws/ec2-runners';
import { isStranded, planRelaunch } from '../../../lambdas/scale-down/relaunch';
import { idleOnlineRunnersByType } from '../../../lambdas/scale-down/scale-down';

const awaiting = (jobId: number, overrides: Partial<AwaitingJob> = {}): AwaitingJob => ({
  jobId,
  runnerType: 'linux',
  status: 'launched',
  instanceId: `i-${jobId}`,
  launchedAt: jobId,
  relaunches: 0,
  message: '{}',
  ...overrides,
});

describe('planRelaunch', () => {
  it('relaunches the oldest jobs beyond the idle runners, resends released ones, and gives up at max attempts', () => {
    const plan = planRelaunch([awaiting(1, { relaunches: 2 }), awaiting(2, { status: 'released' }), awaiting(3), awaiting(4)], 1, 2);
    expect(plan.map((p) => [p.job.jobId, p.action])).toEqual([
      [1, 'give-up'],
      [2, 'resend'],
      [3, 'relaunch'],
      [4, 'wait-for-idle-runner'],
    ]);
  });

  it('never acts on more jobs than are waiting beyond the idle runners', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 10 }), (jobs, idle, max) => {
        const plan = planRelaunch(Array.from({ length: jobs }, (_, i) => awaiting(i + 1, { relaunches: i % (max + 1) })), idle, max);
        const acting = plan.filter((p) => p.action !== 'wait-for-idle-runner').length;
        expect(acting).toBe(Math.max(0, jobs - idle));
        expect(plan.filter((p) => p.action === 'relaunch').every((p) => p.job.relaunches < max)).toBe(true);
      }),
    );
  });
});

describe('isStranded', () => {
  const MINUTE = 60_000;
  const createdAt = '2027-01-15T08:00:00Z';
  const queuedAt = Date.parse(createdAt);
  const job = (created: unknown) =>
    awaiting(1, {
      message: JSON.stringify({
        version: 1, jobId: 1, runId: 2, repositoryOwner: 'acme', repositoryName: 'app', ownerType: 'Organization', installationId: 3,
        labels: ['self-hosted'], runnerType: 'linux', deliveryId: 'd-1', createdAt: created,
      }),
    });

  it('should call a job stranded once it has been queued at GitHub for the threshold, counted from created_at', () => {
    expect(isStranded(job(createdAt), queuedAt + 30 * MINUTE - 1, 30 * MINUTE)).toBe(false);
    expect(isStranded(job(createdAt), queuedAt + 30 * MINUTE, 30 * MINUTE)).toBe(true);
    expect(isStranded(job(createdAt), queuedAt + 3 * 60 * MINUTE, 30 * MINUTE)).toBe(true);
  });

  it('should never call a job stranded without a threshold (Infinity) or without a readable created_at', () => {
    expect(isStranded(job(createdAt), queuedAt + 1e12, Infinity)).toBe(false);
    expect(isStranded(job('not a time'), queuedAt + 1e12, MINUTE)).toBe(false);
    expect(isStranded(awaiting(1, { message: '{}' }), queuedAt + 1e12, MINUTE)).toBe(false);
    expect(isStranded(awaiting(1, { message: 'not json' }), queuedAt + 1e12, MINUTE)).toBe(false);
  });

  it('should depend only on the time since created_at, never on the launch time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 24 * 60 }), fc.integer({ min: 1, max: 24 * 60 }), fc.integer({ min: 0, max: 2e9 }), (age, threshold, launchedAt) => {
        const j = { ...job(createdAt), launchedAt };
        expect(isStranded(j, queuedAt + age * MINUTE, threshold * MINUTE)).toBe(age >= threshold);
      }),
    );
  });
});

describe('idleOnlineRunnersByType', () => {
  const instance = (id: string, runnerType: string, state = 'running'): RunnerInstance =>
    ({ instanceId: id, state, runnerType, owner: 'acme', lifecycle: 'spot', tags: {} }) as RunnerInstance;

  it('counts live instances whose runner is online and idle, per type, without those this run removes', () => {
    const instances = [instance('i-1', 'linux'), instance('i-2', 'linux'), instance('i-3', 'linux'), instance('i-4', 'arm'), instance('i-5', 'linux', 'terminated'), instance('i-6', 'linux')];
    const runners = new Map([
      [
        'acme',
        {
          ok: true as const,
          target: { level: 'org' as const, owner: 'acme' },
          runners: [
            { id: 1, name: 'gh-ci-i-1', status: 'online', busy: false },
            { id: 2, name: 'gh-ci-i-2', status: 'online', busy: true },
            { id: 3, name: 'gh-ci-i-3', status: 'offline', busy: false },
            { id: 4, name: 'gh-ci-i-4', status: 'online', busy: false },
            { id: 5, name: 'gh-ci-i-5', status: 'online', busy: false },
            { id: 6, name: 'gh-ci-i-6', status: 'online', busy: false },
          ],
        },
      ],
    ]);
    expect(idleOnlineRunnersByType('gh-ci', ['linux', 'arm', 'gpu'], instances, runners, new Set(['i-6']))).toEqual(
      new Map([
        ['linux', 1],
        ['arm', 1],
        ['gpu', 0],
      ]),
    );
  });
});
