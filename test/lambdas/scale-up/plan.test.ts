import fc from 'fast-check';
import type { ActiveRunner } from '../../../lambdas/shared/aws/ec2-runners';
import {
  QueuedJob,
  assignInstances,
  collapseDuplicateJobs,
  fleetClientToken,
  groupByOwner,
  planScaleUp,
  runnerTargetOf,
} from '../../../lambdas/scale-up/plan';
import { onDemandShortfall } from '../../../lambdas/shared/runners/launch-fleet';
import { registrationLabels } from '../../../lambdas/shared/runners/register-runner';
import { job } from './harness';

const queued = (jobId: number, overrides = {}): QueuedJob => ({ messageId: `m-${jobId}`, job: job(jobId, overrides) });
const runner = (jobId?: number): ActiveRunner => ({ instanceId: `i-${jobId ?? 'x'}`, state: 'running', lifecycle: 'spot', jobId });

describe('collapseDuplicateJobs', () => {
  it('should keep the first message of each job id', () => {
    const { unique, duplicates } = collapseDuplicateJobs([queued(1), { ...queued(1), messageId: 'dup' }, queued(2)]);
    expect(unique.map((u) => u.messageId)).toEqual(['m-1', 'm-2']);
    expect(duplicates.map((d) => d.messageId)).toEqual(['dup']);
  });
});

describe('planScaleUp', () => {
  it('should acknowledge jobs a live runner serves and order the rest oldest first', () => {
    const plan = planScaleUp({ jobs: [queued(3), queued(1), queued(2)], activeRunners: [runner(2)], maximumCount: 10 });
    expect(plan.alreadyServed.map((j) => j.job.jobId)).toEqual([2]);
    expect(plan.candidates.map((j) => j.job.jobId)).toEqual([1, 3]);
    expect(plan.capacity).toBe(9);
  });

  it('should not count the instances a relaunch superseded as the job\'s runner, but still count them against the cap', () => {
    const relaunch = queued(2, { supersededInstanceIds: ['i-2'] });
    const plan = planScaleUp({ jobs: [relaunch], activeRunners: [runner(2)], maximumCount: 10 });
    expect(plan.alreadyServed).toEqual([]);
    expect(plan.candidates.map((j) => j.job.jobId)).toEqual([2]);
    expect(plan.capacity).toBe(9);
    // A later runner launched for the relaunch serves it.
    const later = { ...runner(2), instanceId: 'i-2b' };
    expect(planScaleUp({ jobs: [relaunch], activeRunners: [runner(2), later], maximumCount: 10 }).alreadyServed).toHaveLength(1);
  });

  it('should allow nothing when the type is at or over its cap', () => {
    expect(planScaleUp({ jobs: [queued(1)], activeRunners: [runner(), runner()], maximumCount: 1 }).capacity).toBe(0);
  });

  it('should allow anything when the cap is -1', () => {
    expect(planScaleUp({ jobs: [queued(1)], activeRunners: [runner()], maximumCount: -1 }).capacity).toBe(Infinity);
  });

  it('should account for every job exactly once and never exceed the cap', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { maxLength: 60 }),
        fc.array(fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }), { maxLength: 30 }),
        fc.integer({ min: -1, max: 40 }),
        (jobIds, runnerJobs, maximumCount) => {
          const plan = planScaleUp({ jobs: jobIds.map((id) => queued(id)), activeRunners: runnerJobs.map(runner), maximumCount });
          const seen = [...plan.alreadyServed, ...plan.candidates].map((j) => j.job.jobId).sort((a, b) => a - b);
          expect(seen).toEqual([...jobIds].sort((a, b) => a - b));
          if (maximumCount >= 0) expect(runnerJobs.length + Math.min(plan.capacity, plan.candidates.length)).toBeLessThanOrEqual(Math.max(maximumCount, runnerJobs.length));
        },
      ),
    );
  });
});

describe('runnerTargetOf and groupByOwner', () => {
  it('should use the owner for org runners and owner/repo for repo runners', () => {
    expect(runnerTargetOf(job(1), true)).toEqual({ level: 'org', owner: 'octo', ownerTag: 'octo' });
    expect(runnerTargetOf(job(1), false)).toEqual({ level: 'repo', owner: 'octo', repo: 'hello', ownerTag: 'octo/hello' });
  });

  it('should group by installation and owner, keeping order', () => {
    const items = [queued(1), queued(2, { repositoryOwner: 'other', installationId: 8 }), queued(3, { repositoryName: 'world' })];
    const org = groupByOwner(items, (i) => i.job, true);
    expect(org.map((g) => [g.target.ownerTag, g.installationId, g.items.map((i) => i.job.jobId)])).toEqual([
      ['octo', 77, [1, 3]],
      ['other', 8, [2]],
    ]);
    expect(groupByOwner(items, (i) => i.job, false)).toHaveLength(3);
  });
});

describe('fleetClientToken', () => {
  const parts = { prefix: 'gh-ci', runnerType: 'linux-x64', capacityType: 'spot' as const };

  it('should be 64 hex characters and ignore job order', () => {
    const a = fleetClientToken({ ...parts, jobs: [{ jobId: 1, attempt: 0 }, { jobId: 2, attempt: 0 }] });
    const b = fleetClientToken({ ...parts, jobs: [{ jobId: 2, attempt: 0 }, { jobId: 1, attempt: 0 }] });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(b);
  });

  it('should change with an attempt, a job, or the capacity type', () => {
    const base = fleetClientToken({ ...parts, jobs: [{ jobId: 1, attempt: 0 }] });
    expect(fleetClientToken({ ...parts, jobs: [{ jobId: 1, attempt: 1 }] })).not.toBe(base);
    expect(fleetClientToken({ ...parts, jobs: [{ jobId: 1, attempt: 0 }, { jobId: 2, attempt: 0 }] })).not.toBe(base);
    expect(fleetClientToken({ ...parts, capacityType: 'on-demand', jobs: [{ jobId: 1, attempt: 0 }] })).not.toBe(base);
  });
});

describe('onDemandShortfall', () => {
  const input = { capacityType: 'spot' as const, requested: 5, launched: 2, errors: [{ code: 'InsufficientInstanceCapacity', message: '' }], failoverErrorCodes: ['InsufficientInstanceCapacity'] };

  it('should ask on demand for the missing spot instances when an error is listed', () => {
    expect(onDemandShortfall(input)).toBe(3);
  });

  it('should not fall back for unlisted errors, on-demand fleets or full fleets', () => {
    expect(onDemandShortfall({ ...input, failoverErrorCodes: ['UnfulfillableCapacity'] })).toBe(0);
    expect(onDemandShortfall({ ...input, capacityType: 'on-demand' })).toBe(0);
    expect(onDemandShortfall({ ...input, launched: 5 })).toBe(0);
  });
});

describe('assignInstances', () => {
  const instance = (id: string) => ({ instanceId: id, lifecycle: 'spot' as const });

  it('should pair jobs with instances in order and report leftovers', () => {
    const short = assignInstances(['a', 'b', 'c'], [instance('i-1')]);
    expect(short.assigned.map((a) => [a.item, a.instance.instanceId])).toEqual([['a', 'i-1']]);
    expect(short.unassigned).toEqual(['b', 'c']);
    const extra = assignInstances(['a'], [instance('i-1'), instance('i-2')]);
    expect(extra.surplus.map((s) => s.instanceId)).toEqual(['i-2']);
  });
});

describe('registrationLabels', () => {
  it('should put self-hosted first exactly once', () => {
    expect(registrationLabels(['linux', 'x64'])).toEqual(['self-hosted', 'linux', 'x64']);
    expect(registrationLabels(['linux', 'Self-Hosted'])).toEqual(['self-hosted', 'linux']);
  });
});
