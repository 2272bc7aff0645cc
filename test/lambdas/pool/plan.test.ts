import type { ActiveRunner } from '../../../lambdas/shared/aws/ec2-runners';
import type { GitHubRunner } from '../../../lambdas/shared/github/runners';
import { PoolEventError, parsePoolEvent, planPool, poolClientToken } from '../../../lambdas/pool/plan';

const NOW = Date.UTC(2026, 2, 2, 8, 0, 0);
const MINUTE = 60_000;

const instance = (id: string, ageMinutes: number, owner = 'octo'): ActiveRunner => ({
  instanceId: id,
  state: 'running',
  lifecycle: 'spot',
  owner,
  launchTime: new Date(NOW - ageMinutes * MINUTE),
});
const runner = (id: string, status: 'online' | 'offline', busy = false): [string, GitHubRunner] => [
  `gh-ci-${id}`,
  { id: 1, name: `gh-ci-${id}`, status, busy, labels: [], ephemeral: true },
];

const plan = (active: ActiveRunner[], runners: [string, GitHubRunner][], size: number, maximumCount = -1) =>
  planPool({ prefix: 'gh-ci', owner: 'octo', size, active, runners: new Map(runners), maximumCount, bootTimeMs: 5 * MINUTE, now: NOW });

describe('planPool', () => {
  it('should count idle online runners and instances still booting as ready', () => {
    const result = plan(
      [instance('i-idle', 30), instance('i-booting', 2), instance('i-registered-booting', 4), instance('i-busy', 30), instance('i-stale', 6), instance('i-offline-stale', 20)],
      [runner('i-idle', 'online'), runner('i-registered-booting', 'offline'), runner('i-busy', 'online', true), runner('i-offline-stale', 'offline')],
      5,
    );
    expect(result).toMatchObject({ idle: 1, booting: 2, ready: 3, busy: 1, stale: 2, otherOwners: 0, toLaunch: 2 });
  });

  it('should not count instances of other owners as ready, but count them against the cap', () => {
    const result = plan([instance('i-a', 30, 'someone-else'), instance('i-b', 1, 'octo/hello')], [runner('i-a', 'online')], 2, 3);
    expect(result).toMatchObject({ ready: 0, otherOwners: 2, capacity: 1, toLaunch: 1 });
  });

  it('should match the owner tag case-insensitively', () => {
    expect(plan([instance('i-a', 30, 'Octo')], [runner('i-a', 'online')], 1)).toMatchObject({ ready: 1, toLaunch: 0 });
  });

  it('should not count a booting instance that scale-up launched for a job: it will take that job', () => {
    const forJob: ActiveRunner = { ...instance('i-for-job', 1), jobId: 42 };
    expect(plan([forJob, instance('i-pool', 1)], [], 2)).toMatchObject({ booting: 1, ready: 1, toLaunch: 1 });
  });

  it('should not count an idle run-bound runner as ready: it serves jobs of its run only (#15 item 3)', () => {
    // GIVEN an idle online runner registered with a run label (in any case) and an idle pool runner
    const [name, bound] = runner('i-bound', 'online');
    const runBound: [string, GitHubRunner] = [name, { ...bound, labels: [{ name: 'self-hosted' }, { name: 'GHR-RUN-77' }] }];
    const result = plan([instance('i-bound', 30), instance('i-pool', 30)], [runBound, runner('i-pool', 'online')], 2, 3);
    // THEN only the pool runner is ready, and the run-bound one still counts against the cap
    expect(result).toMatchObject({ idle: 1, ready: 1, capacity: 1, toLaunch: 1 });
  });

  it('should treat an instance without a launch time as booting', () => {
    const active: ActiveRunner[] = [{ instanceId: 'i-a', state: 'pending', lifecycle: 'spot', owner: 'octo' }];
    expect(plan(active, [], 1)).toMatchObject({ booting: 1, toLaunch: 0 });
  });

  it('should never launch more than the cap allows, nor a negative number', () => {
    expect(plan([instance('i-a', 30)], [runner('i-a', 'online', true)], 5, 3)).toMatchObject({ capacity: 2, toLaunch: 2 });
    expect(plan([instance('i-a', 30), instance('i-b', 30)], [], 5, 1)).toMatchObject({ capacity: 0, toLaunch: 0 });
    expect(plan([instance('i-a', 30), instance('i-b', 30)], [runner('i-a', 'online'), runner('i-b', 'online')], 1)).toMatchObject({ ready: 2, toLaunch: 0 });
    expect(plan([], [], 4)).toMatchObject({ capacity: Infinity, toLaunch: 4 });
  });
});

describe('poolClientToken', () => {
  const parts = { prefix: 'gh-ci', runnerType: 'linux-x64', scheduledTime: '2026-03-02T08:00:00.000Z', capacityType: 'spot' as const, count: 3 };

  it('should be the same for the same scheduled invocation, and at most 64 characters', () => {
    expect(poolClientToken(parts)).toBe(poolClientToken({ ...parts }));
    expect(poolClientToken(parts)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('should differ when anything that names the launch differs', () => {
    const base = poolClientToken(parts);
    for (const change of [{ scheduledTime: '2026-03-02T08:05:00.000Z' }, { count: 2 }, { capacityType: 'on-demand' as const }, { runnerType: 'other' }, { prefix: 'gh-cd' }]) {
      expect(poolClientToken({ ...parts, ...change })).not.toBe(base);
    }
  });
});

describe('parsePoolEvent', () => {
  const types = ['linux-x64', 'linux-arm64'];

  it('should accept the scheduler input and normalise the scheduled time', () => {
    expect(parsePoolEvent({ runnerType: 'linux-x64', size: 2, scheduledTime: '2026-03-02T08:00:00Z', extra: true }, types)).toEqual({
      runnerType: 'linux-x64',
      size: 2,
      scheduledTime: '2026-03-02T08:00:00.000Z',
    });
  });

  it('should list every problem of an event in one error', () => {
    let error: PoolEventError | undefined;
    try {
      parsePoolEvent({ runnerType: 'gpu', size: 0, scheduledTime: 'soon' }, types);
    } catch (e) {
      error = e as PoolEventError;
    }
    expect(error).toBeInstanceOf(PoolEventError);
    expect(error!.problems).toEqual([
      'runnerType "gpu" is not configured (RUNNER_TYPES_CONFIG has "linux-x64", "linux-arm64")',
      'size must be an integer ≥ 1, got 0',
      'scheduledTime must be an ISO 8601 time',
    ]);
  });

  it.each([
    [null, /must be a JSON object/],
    ['{"runnerType":"linux-x64"}', /must be a JSON object/],
    [{ size: 1.5, scheduledTime: '2026-03-02T08:00:00Z' }, /runnerType must be a non-empty string; size must be an integer ≥ 1, got 1.5/],
    [{ runnerType: 'linux-x64', size: '3', scheduledTime: '2026-03-02T08:00:00Z' }, /size must be an integer ≥ 1, got string/],
    [{ runnerType: 'linux-x64', size: 3 }, /scheduledTime must be an ISO 8601 time/],
  ])('should reject %j', (event, message) => {
    expect(() => parsePoolEvent(event, types)).toThrow(message);
  });
});
