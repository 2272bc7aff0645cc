/**
 * Runners started through the runner API (issue #15): scale-down keeps one
 * idle until its `ghr:idle-deadline`, past the minimum running time, and
 * removes it once the deadline passed, whatever the minimum running time.
 */
import { RUNNER_TAGS } from '../../../modules/contract/tags';
import { decide, idleDeadlineOf } from '../../../lambdas/scale-down/decide';
import { runnerTargetFromOwnerTag } from '../../../lambdas/shared/runners/identity';
import { MINUTE, iid, instance, limits, runnerOf } from './harness';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const octo = (runners: ReturnType<typeof runnerOf>[]) => new Map([['octo', { ok: true as const, target: runnerTargetFromOwnerTag('octo')!, runners }]]);
const deadline = (offsetMinutes: number) => ({ [RUNNER_TAGS.apiRunner]: 'ghr-api-9001-2-0', [RUNNER_TAGS.idleDeadline]: new Date(NOW + offsetMinutes * MINUTE).toISOString() });

describe('decide, API runners', () => {
  it('should keep an idle API runner past the minimum running time until its deadline', () => {
    const plan = decide([instance(iid(1), NOW, { ageMinutes: 10, tags: deadline(+5) })], octo([runnerOf(iid(1), 1)]), NOW, limits());
    expect(plan.kept).toEqual([{ instanceId: iid(1), owner: 'octo', reason: 'idle-deadline' }]);
    expect(plan.removeIdle).toEqual([]);
  });

  it('should remove an idle API runner past its deadline, even one younger than the minimum running time and still offline', () => {
    const lim = limits({ minimumRunningTimeMs: 60 * MINUTE });
    const plan = decide(
      [instance(iid(1), NOW, { ageMinutes: 3, tags: deadline(-1) }), instance(iid(2), NOW, { ageMinutes: 3, tags: deadline(-1) })],
      octo([runnerOf(iid(1), 1), runnerOf(iid(2), 2, { status: 'offline' })]),
      NOW,
      lim,
    );
    expect(plan.removeIdle.map((r) => r.instanceId)).toEqual([iid(1), iid(2)]);
  });

  it('should keep a busy API runner past its deadline (the job it took runs on)', () => {
    const plan = decide([instance(iid(1), NOW, { ageMinutes: 30, tags: deadline(-10) })], octo([runnerOf(iid(1), 1, { busy: true })]), NOW, limits());
    expect(plan.kept).toEqual([{ instanceId: iid(1), owner: 'octo', reason: 'busy' }]);
  });

  it('should treat an unparseable deadline as none (the ordinary rules)', () => {
    expect(idleDeadlineOf({ tags: { [RUNNER_TAGS.idleDeadline]: 'soon' } })).toBeUndefined();
    const plan = decide([instance(iid(1), NOW, { ageMinutes: 10, tags: { [RUNNER_TAGS.idleDeadline]: 'soon' } })], octo([runnerOf(iid(1), 1)]), NOW, limits());
    expect(plan.removeIdle.map((r) => r.instanceId)).toEqual([iid(1)]);
  });
});
