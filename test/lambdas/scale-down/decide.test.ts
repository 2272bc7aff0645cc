import { INSTANCE_ID, instanceIdOfRunner, isInstanceId, runnerNameOf, runnerTargetFromOwnerTag } from '../../../lambdas/shared/runners/identity';
import { DecideRunner, OwnerRunners, decide, ghostKey, staleRunnerConfigs } from '../../../lambdas/scale-down/decide';
import { BYPASS, MINUTE, PREFIX, iid, instance, limits, runnerOf } from './harness';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

/** Runner lists by owner. */
function listed(entries: Record<string, OwnerRunners | DecideRunner[]>): Map<string, OwnerRunners> {
  return new Map(Object.entries(entries).map(([owner, v]) => [owner, Array.isArray(v) ? { ok: true, target: runnerTargetFromOwnerTag(owner)!, runners: v } : v]));
}

describe('decide', () => {
  describe('a live instance with a registered runner', () => {
    it('should plan removal of an idle runner past the minimum running time', () => {
      // GIVEN an idle runner on an instance up for 10 minutes (minimum 5)
      const plan = decide([instance(iid(1), NOW, { ageMinutes: 10 })], listed({ octo: [runnerOf(iid(1), 501)] }), NOW, limits());

      // THEN it is removed: GitHub first (runner 501), then the instance
      expect(plan.removeIdle).toEqual([{ instanceId: iid(1), owner: 'octo', target: { level: 'org', owner: 'octo' }, runnerId: 501, runnerName: `${PREFIX}-${iid(1)}`, ageMs: 10 * MINUTE }]);
      expect(plan.terminateOrphans).toEqual([]);
      expect(plan.kept).toEqual([]);
    });

    it('should remove at exactly the minimum running time, and an offline idle runner past the boot time too', () => {
      const plan = decide(
        [instance(iid(1), NOW, { ageMinutes: 5 }), instance(iid(2), NOW, { ageMinutes: 30 })],
        listed({ octo: [runnerOf(iid(1), 1), runnerOf(iid(2), 2, { status: 'offline' })] }),
        NOW,
        limits(),
      );
      expect(plan.removeIdle.map((r) => r.instanceId)).toEqual([iid(1), iid(2)]);
    });

    it('should keep an offline idle runner as booting until the instance is past the boot time, even with a minimum running time of 0', () => {
      // GIVEN JIT runners, registered by scale-up before their instances boot (offline, idle); boot time 5 minutes, minimum 0
      const lim = limits({ minimumRunningTimeMs: 0, bootTimeMs: 5 * MINUTE });
      const instances = [instance(iid(1), NOW, { ageMinutes: 0 }), instance(iid(2), NOW, { ageMinutes: 4 }), instance(iid(3), NOW, { ageMinutes: 5 })];
      const runners = [runnerOf(iid(1), 1, { status: 'offline' }), runnerOf(iid(2), 2, { status: 'offline' }), runnerOf(iid(3), 3, { status: 'offline' })];

      // WHEN
      const plan = decide(instances, listed({ octo: runners }), NOW, lim);

      // THEN the booting ones are kept; the one at the boot time goes the normal way (delete at GitHub first)
      expect(plan.kept).toEqual([
        { instanceId: iid(1), owner: 'octo', reason: 'booting' },
        { instanceId: iid(2), owner: 'octo', reason: 'booting' },
      ]);
      expect(plan.removeIdle.map((r) => [r.instanceId, r.runnerId])).toEqual([[iid(3), 3]]);
      expect(plan.terminateOrphans).toEqual([]);
    });

    it('should keep an offline idle runner until past the minimum running time when that is longer than the boot time', () => {
      const lim = limits({ minimumRunningTimeMs: 20 * MINUTE, bootTimeMs: 5 * MINUTE });
      const plan = decide(
        [instance(iid(1), NOW, { ageMinutes: 10 }), instance(iid(2), NOW, { ageMinutes: 20 })],
        listed({ octo: [runnerOf(iid(1), 1, { status: 'offline' }), runnerOf(iid(2), 2, { status: 'offline' })] }),
        NOW,
        lim,
      );
      expect(plan.kept).toEqual([{ instanceId: iid(1), owner: 'octo', reason: 'booting' }]);
      expect(plan.removeIdle.map((r) => r.instanceId)).toEqual([iid(2)]);
    });

    it('should keep an idle runner younger than the minimum running time', () => {
      const plan = decide([instance(iid(1), NOW, { ageMinutes: 4 })], listed({ octo: [runnerOf(iid(1), 1)] }), NOW, limits());
      expect(plan.removeIdle).toEqual([]);
      expect(plan.kept).toEqual([{ instanceId: iid(1), owner: 'octo', reason: 'minimum-running-time' }]);
    });

    it('should keep a busy runner however old', () => {
      const plan = decide([instance(iid(1), NOW, { ageMinutes: 600 })], listed({ octo: [runnerOf(iid(1), 1, { busy: true })] }), NOW, limits());
      expect(plan.removeIdle).toEqual([]);
      expect(plan.terminateOrphans).toEqual([]);
      expect(plan.kept).toEqual([{ instanceId: iid(1), owner: 'octo', reason: 'busy' }]);
    });

    it('should remove an online idle runner immediately when the minimum running time is 0', () => {
      const plan = decide([instance(iid(1), NOW, { ageMinutes: 0 })], listed({ octo: [runnerOf(iid(1), 1, { status: 'online' })] }), NOW, limits({ minimumRunningTimeMs: 0 }));
      expect(plan.removeIdle).toHaveLength(1);
    });
  });

  describe('a live instance without a runner', () => {
    it('should keep it while it boots', () => {
      const plan = decide([instance(iid(1), NOW, { ageMinutes: 4 })], listed({ octo: [] }), NOW, limits());
      expect(plan.terminateOrphans).toEqual([]);
      expect(plan.kept).toEqual([{ instanceId: iid(1), owner: 'octo', reason: 'booting' }]);
    });

    it('should only record an orphan past the boot time on first sighting, and terminate it when the next run sees it again', () => {
      // GIVEN an instance past the boot time without a runner
      const instances = [instance(iid(1), NOW, { ageMinutes: 5 })];
      const lists = listed({ octo: [runnerOf(iid(2), 9)] });

      // WHEN first seen
      const first = decide(instances, lists, NOW, limits());
      // THEN it is kept, unconfirmed (one page-based listing may have skipped a busy runner), and remembered
      expect(first.terminateOrphans).toEqual([]);
      expect(first.kept).toEqual([{ instanceId: iid(1), owner: 'octo', reason: 'orphan-unconfirmed' }]);
      expect(first.orphanSightings).toEqual(new Map([[iid(1), NOW]]));

      // WHEN the next run still sees no runner
      const second = decide(instances, lists, NOW + 5 * MINUTE, limits(), { orphans: first.orphanSightings });
      // THEN it is terminated
      expect(second.terminateOrphans).toEqual([{ instanceId: iid(1), owner: 'octo', ageMs: 10 * MINUTE, firstSeen: NOW }]);
      expect(second.orphanSightings).toEqual(new Map([[iid(1), NOW]]));
      expect(second.removeIdle).toEqual([]);
    });

    it('should forget an orphan sighting once its runner shows up, and keep it while its owner cannot be listed', () => {
      const orphans = new Map([
        [iid(1), NOW - 5 * MINUTE],
        [iid(2), NOW - 5 * MINUTE],
        [iid(3), NOW - 5 * MINUTE],
        [iid(4), NOW - 5 * MINUTE],
      ]);
      const plan = decide(
        [
          // 1: its busy runner was skipped by the last listing; this one shows it
          instance(iid(1), NOW, { ageMinutes: 20 }),
          // 2: its owner's listing failed this run
          instance(iid(2), NOW, { owner: 'acme', ageMinutes: 20 }),
          // 3: terminated meanwhile; 4: bypassed meanwhile
          instance(iid(3), NOW, { state: 'terminated' }),
          instance(iid(4), NOW, { ageMinutes: 20, tags: { [BYPASS]: '' } }),
        ],
        listed({ octo: [runnerOf(iid(1), 1, { busy: true })], acme: { ok: false } }),
        NOW,
        limits(),
        { orphans },
      );
      expect(plan.terminateOrphans).toEqual([]);
      expect(plan.orphanSightings).toEqual(new Map([[iid(2), NOW - 5 * MINUTE]]));
    });

    it('should match the runner by its exact name, not a name that merely contains the id', () => {
      // "x-gh-ci-i-…" is someone else's runner.
      const plan = decide([instance(iid(1), NOW, { ageMinutes: 20 })], listed({ octo: [runnerOf(iid(1), 1, { name: `x-${PREFIX}-${iid(1)}` })] }), NOW, limits(), {
        orphans: new Map([[iid(1), NOW - MINUTE]]),
      });
      expect(plan.terminateOrphans.map((o) => o.instanceId)).toEqual([iid(1)]);
    });
  });

  describe('instances left alone', () => {
    it('should never touch an instance carrying the bypass tag, whatever its value', () => {
      // GIVEN an idle old runner, an orphan, and a booting instance, all bypassed
      const plan = decide(
        [
          instance(iid(1), NOW, { ageMinutes: 60, tags: { [BYPASS]: '' } }),
          instance(iid(2), NOW, { ageMinutes: 60, tags: { [BYPASS]: 'false' } }),
        ],
        listed({ octo: [runnerOf(iid(1), 1)] }),
        NOW,
        limits(),
      );
      expect(plan.removeIdle).toEqual([]);
      expect(plan.terminateOrphans).toEqual([]);
      expect(plan.kept.map((k) => k.reason)).toEqual(['bypass', 'bypass']);
    });

    it('should keep instances without an owner tag or a launch time', () => {
      const plan = decide(
        [instance(iid(1), NOW, { owner: null, ageMinutes: 60 }), instance(iid(2), NOW, { launchTime: null })],
        listed({ octo: [] }),
        NOW,
        limits(),
      );
      expect(plan.kept).toEqual([
        { instanceId: iid(1), owner: undefined, reason: 'no-owner-tag' },
        { instanceId: iid(2), owner: 'octo', reason: 'launch-time-unknown' },
      ]);
      expect(plan.terminateOrphans).toEqual([]);
    });

    it('should keep every instance of an owner whose runners could not be listed, and find no ghosts there', () => {
      // GIVEN owner "octo" failed to list; "acme" listed fine
      const instances = [
        instance(iid(1), NOW, { owner: 'octo', ageMinutes: 60 }), // would be an orphan
        instance(iid(2), NOW, { owner: 'octo', ageMinutes: 60 }),
        instance(iid(3), NOW, { owner: 'octo', state: 'terminated' }), // its runner would be a ghost
        instance(iid(4), NOW, { owner: 'acme', ageMinutes: 60 }),
      ];
      // (every orphan here was seen by the previous run)
      const orphans = new Map([iid(1), iid(2), iid(4)].map((id) => [id, NOW - 5 * MINUTE]));
      const plan = decide(instances, listed({ octo: { ok: false }, acme: [] }), NOW, limits(), { orphans });

      // THEN octo's live instances are kept, acme's orphan goes, nothing is deregistered
      expect(plan.kept).toEqual([
        { instanceId: iid(1), owner: 'octo', reason: 'runners-unknown' },
        { instanceId: iid(2), owner: 'octo', reason: 'runners-unknown' },
      ]);
      expect(plan.terminateOrphans.map((o) => o.instanceId)).toEqual([iid(4)]);
      expect(plan.deregisterGhosts).toEqual([]);
    });

    it('should keep an instance whose owner is missing from the listing altogether', () => {
      const plan = decide([instance(iid(1), NOW, { owner: 'nobody', ageMinutes: 60 })], new Map(), NOW, limits());
      expect(plan.kept).toEqual([{ instanceId: iid(1), owner: 'nobody', reason: 'runners-unknown' }]);
    });

    it('should ignore instances that are not pending or running', () => {
      const plan = decide(
        ['stopping', 'stopped', 'shutting-down', 'terminated'].map((state, i) => instance(iid(i + 1), NOW, { state, ageMinutes: 60 })),
        listed({ octo: [] }),
        NOW,
        limits(),
      );
      expect(plan).toMatchObject({ removeIdle: [], terminateOrphans: [], kept: [], deregisterGhosts: [] });
    });

    it('should treat a pending instance like a running one', () => {
      const plan = decide([instance(iid(1), NOW, { state: 'pending', ageMinutes: 60 })], listed({ octo: [] }), NOW, limits(), { orphans: new Map([[iid(1), NOW - MINUTE]]) });
      expect(plan.terminateOrphans).toHaveLength(1);
    });
  });

  it('should carry where a runner to remove is registered, a repository for an owner/repo tag', () => {
    const plan = decide(
      [instance(iid(1), NOW, { ageMinutes: 10, owner: 'mona/hello' }), instance(iid(2), NOW, { state: 'terminated', owner: 'mona/hello' })],
      listed({ 'mona/hello': [runnerOf(iid(1), 501), runnerOf(iid(2), 502, { status: 'offline' })] }),
      NOW,
      limits(),
    );
    expect(plan.removeIdle.map((r) => r.target)).toEqual([{ level: 'repo', owner: 'mona', repo: 'hello' }]);
    expect(plan.deregisterGhosts.map((g) => g.target)).toEqual([{ level: 'repo', owner: 'mona', repo: 'hello' }]);
  });

  describe('ghosts', () => {
    it('should deregister an offline runner whose instance EC2 lists as terminated, at once', () => {
      const plan = decide([instance(iid(1), NOW, { state: 'terminated' })], listed({ octo: [runnerOf(iid(1), 7, { status: 'offline' })] }), NOW, limits());
      expect(plan.deregisterGhosts).toEqual([{ owner: 'octo', target: { level: 'org', owner: 'octo' }, runnerId: 7, runnerName: `${PREFIX}-${iid(1)}`, instanceId: iid(1), reason: 'instance-gone' }]);
    });

    it('should deregister an offline runner whose instance EC2 does not list only after it was seen for the boot time', () => {
      // GIVEN a runner of ours whose instance EC2 does not list
      const lists = listed({ octo: [runnerOf(iid(9), 7, { status: 'offline' })] });

      // WHEN seen for the first time
      const first = decide([], lists, NOW, limits());
      // THEN it is remembered, not deregistered (scale-up may have just registered it)
      expect(first.deregisterGhosts).toEqual([]);
      expect(first.ghostSightings).toEqual(new Map([[ghostKey('octo', 7), NOW]]));

      // WHEN seen again, a minute short of the boot time, then at the boot time
      const early = decide([], lists, NOW + 4 * MINUTE, limits(), { ghosts: first.ghostSightings });
      const due = decide([], lists, NOW + 5 * MINUTE, limits(), { ghosts: early.ghostSightings });
      expect(early.deregisterGhosts).toEqual([]);
      expect(due.deregisterGhosts).toEqual([expect.objectContaining({ runnerId: 7, reason: 'instance-unlisted' })]);
    });

    it('should not call an online runner without an instance a ghost', () => {
      const plan = decide([instance(iid(1), NOW, { state: 'terminated' })], listed({ octo: [runnerOf(iid(1), 7, { status: 'online' })] }), NOW, limits(), { ghosts: new Map([[ghostKey('octo', 7), 0]]) });
      expect(plan.deregisterGhosts).toEqual([]);
    });

    it('should not call a busy offline runner a ghost (GitHub would refuse the delete)', () => {
      const plan = decide([instance(iid(1), NOW, { state: 'terminated' })], listed({ octo: [runnerOf(iid(1), 7, { status: 'offline', busy: true })] }), NOW, limits());
      expect(plan.deregisterGhosts).toEqual([]);
    });

    it('should not call an offline runner of a live instance a ghost', () => {
      const plan = decide([instance(iid(1), NOW, { ageMinutes: 2 })], listed({ octo: [runnerOf(iid(1), 7, { status: 'offline' })] }), NOW, limits());
      expect(plan.deregisterGhosts).toEqual([]);
      expect(plan.kept).toEqual([{ instanceId: iid(1), owner: 'octo', reason: 'booting' }]);
    });

    it("should leave runners that are not named after one of our instances: other names, other prefixes", () => {
      const runners = [
        runnerOf('', 1, { status: 'offline', name: 'laptop' }),
        runnerOf('', 2, { status: 'offline', name: `${PREFIX}-i-x-${iid(3)}` }), // prefix "gh-ci-i-x"
        runnerOf('', 3, { status: 'offline', name: `${PREFIX}-builder` }),
        runnerOf('', 4, { status: 'offline', name: `other-${iid(4)}` }),
      ];
      const plan = decide([], listed({ octo: runners }), NOW, limits(), { ghosts: new Map(runners.map((r) => [ghostKey('octo', r.id), 0])) });
      expect(plan.deregisterGhosts).toEqual([]);
      expect(plan.ghostSightings.size).toBe(0);
    });

    it('should carry over the sightings of an owner whose runners could not be listed, and drop resolved ones', () => {
      const sightings = new Map([
        [ghostKey('octo', 1), NOW - MINUTE],
        [ghostKey('acme', 2), NOW - MINUTE],
      ]);
      const plan = decide([], listed({ octo: { ok: false }, acme: [] }), NOW, limits(), { ghosts: sightings });
      expect(plan.ghostSightings).toEqual(new Map([[ghostKey('octo', 1), NOW - MINUTE]]));
    });
  });

  it('should be pure: same inputs, same plan, inputs untouched', () => {
    const instances = [instance(iid(1), NOW), instance(iid(2), NOW, { ageMinutes: 60 }), instance(iid(3), NOW, { state: 'terminated' })];
    const lists = listed({ octo: [runnerOf(iid(1), 1), runnerOf(iid(3), 3, { status: 'offline' }), runnerOf(iid(8), 8, { status: 'offline' })] });
    const ghosts = new Map([[ghostKey('octo', 8), NOW - MINUTE]]);
    const orphans = new Map([[iid(2), NOW - 5 * MINUTE]]);
    const before = JSON.stringify([instances, [...lists], [...ghosts], [...orphans]]);

    const a = decide(instances, lists, NOW, limits(), { ghosts, orphans });
    const b = decide(instances, lists, NOW, limits(), { ghosts, orphans });

    expect(a).toEqual(b);
    expect(a.terminateOrphans.map((o) => o.instanceId)).toEqual([iid(2)]);
    expect(JSON.stringify([instances, [...lists], [...ghosts], [...orphans]])).toBe(before);
  });

  it('should decide each instance once even if the listing repeats it', () => {
    const i = instance(iid(1), NOW, { ageMinutes: 60 });
    const plan = decide([i, i], listed({ octo: [runnerOf(iid(1), 1)] }), NOW, limits());
    expect(plan.removeIdle).toHaveLength(1);
  });
});

describe('instanceIdOfRunner (shared/aws/ec2-runners)', () => {
  it.each([
    [`${PREFIX}-i-0123456789abcdef0`, 'i-0123456789abcdef0'],
    [`${PREFIX}-i-01234567`, 'i-01234567'],
    [`${PREFIX}-i-0123456789ABCDEF0`, undefined],
    [`${PREFIX}-i-012345`, undefined],
    [`${PREFIX}i-0123456789abcdef0`, undefined],
    [`${PREFIX}-x-i-0123456789abcdef0`, undefined],
  ])('should read %p as %p', (name, expected) => {
    expect(instanceIdOfRunner(PREFIX, name)).toBe(expected);
  });

  it('should invert runnerNameOf', () => {
    for (const id of ['i-01234567', 'i-0123456789abcdef0']) expect(instanceIdOfRunner(PREFIX, runnerNameOf(PREFIX, id))).toBe(id);
  });
});

describe('isInstanceId (shared/aws/ec2-runners)', () => {
  it.each([
    ['i-01234567', true],
    ['i-0123456789abcdef0', true],
    ['i-0123456', false],
    ['i-012345678', false],
    ['i-0123456789abcdef', false],
    ['i-0123456789abcdef01', false],
    ['i-0123456789ABCDEF0', false],
    ['i-0123456g', false],
    ['x-01234567', false],
    [' i-01234567', false],
    ['i-01234567\n', false],
  ])('should accept only i- and 8 or 17 lowercase hex digits: %p is %p', (value, expected) => {
    expect(isInstanceId(value)).toBe(expected);
    expect(INSTANCE_ID.test(value)).toBe(expected);
  });
});

describe('staleRunnerConfigs', () => {
  const path = '/gh-ci/runners/config';
  const cfg = (instanceId: string, ageMinutes?: number) => ({
    name: `${path}/${instanceId}`,
    instanceId,
    lastModified: ageMinutes === undefined ? undefined : new Date(NOW - ageMinutes * MINUTE),
  });

  it('should pick configs of instances that are not live, once past the grace', () => {
    const configs = [cfg(iid(1), 60), cfg(iid(2), 60), cfg(iid(3), 60), cfg(iid(4), 1), cfg(iid(5)), cfg('README', 60)];
    const instances = [instance(iid(1), NOW), instance(iid(2), NOW, { state: 'terminated' })];

    const stale = staleRunnerConfigs(configs, instances, NOW, 5 * MINUTE);

    // 1 is live; 4 is younger than the grace (its instance may be too new to be listed); README is not ours
    expect(stale).toEqual([
      { name: `${path}/${iid(2)}`, instanceId: iid(2) },
      { name: `${path}/${iid(3)}`, instanceId: iid(3) },
      { name: `${path}/${iid(5)}`, instanceId: iid(5) },
    ]);
  });
});
