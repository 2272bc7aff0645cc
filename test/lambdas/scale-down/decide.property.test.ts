/**
 * Properties of `decide` over random fleets: random owners (some whose
 * listing failed), instance states and ages, registrations (none, idle,
 * busy, online or offline), bypass tags, stray runners (ghosts of dead or
 * unlisted instances, runners of other deployments), remembered ghost and
 * orphan sightings, and thresholds.
 */
import fc from 'fast-check';
import { DecideInstance, DecideLimits, DecideRunner, OwnerRunners, decide, ghostKey, isLive } from '../../../lambdas/scale-down/decide';
import { runnerTargetFromOwnerTag } from '../../../lambdas/shared/runners/identity';
import { BYPASS, MINUTE, PREFIX, iid } from './harness';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const OWNERS = ['octo', 'acme', 'mona/hello'] as const;
const STATES = ['pending', 'running', 'running', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const;

interface Fleet {
  readonly instances: DecideInstance[];
  readonly runnersByOwner: Map<string, OwnerRunners>;
  readonly limits: DecideLimits;
  readonly sightings: Map<string, number>;
  /** Instances a previous run saw as orphans. */
  readonly orphanSightings: Map<string, number>;
}

const registration = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.record({ status: fc.constantFrom('online' as const, 'offline' as const), busy: fc.boolean() }) },
);

const instanceSpec = fc.record({
  owner: fc.option(fc.constantFrom(...OWNERS), { nil: undefined, freq: 8 }),
  state: fc.constantFrom(...STATES),
  ageMs: fc.option(fc.integer({ min: 0, max: 40 * MINUTE }), { nil: undefined, freq: 15 }),
  bypass: fc.boolean(),
  // Whether the previous run saw it as an orphan (whether or not it is one now).
  seenAsOrphan: fc.boolean(),
  // Scale-up registers an instance's runner under the owner its ghr:owner tag names.
  registration,
});

const strayRunner = fc.record({
  owner: fc.constantFrom(...OWNERS),
  kind: fc.constantFrom('ours-unlisted', 'other-name', 'other-prefix'),
  n: fc.integer({ min: 1, max: 1_000_000 }),
  status: fc.constantFrom('online' as const, 'offline' as const),
  busy: fc.boolean(),
  seenMinutesAgo: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
});

const fleetArb: fc.Arbitrary<Fleet> = fc
  .record({
    specs: fc.array(instanceSpec, { maxLength: 25 }),
    strays: fc.array(strayRunner, { maxLength: 10 }),
    failed: fc.subarray([...OWNERS]),
    minimumMinutes: fc.integer({ min: 0, max: 20 }),
    bootMinutes: fc.integer({ min: 1, max: 20 }),
  })
  .map(({ specs, strays, failed, minimumMinutes, bootMinutes }) => {
    let runnerId = 1;
    const lists = new Map<string, DecideRunner[]>(OWNERS.map((o) => [o, []]));
    const sightings = new Map<string, number>();
    const orphanSightings = new Map<string, number>();
    const instances = specs.map((spec, i): DecideInstance => {
      const instanceId = iid(i + 1);
      if (spec.seenAsOrphan) orphanSightings.set(instanceId, NOW - 5 * MINUTE);
      if (spec.registration && spec.owner) {
        lists.get(spec.owner)!.push({ id: runnerId++, name: `${PREFIX}-${instanceId}`, ...spec.registration });
      }
      return {
        instanceId,
        state: spec.state,
        launchTime: spec.ageMs === undefined ? undefined : new Date(NOW - spec.ageMs),
        owner: spec.owner,
        tags: spec.bypass ? { [BYPASS]: 'x' } : {},
      };
    });
    for (const s of strays) {
      const name =
        s.kind === 'ours-unlisted' ? `${PREFIX}-${iid(0x100000 + s.n)}` : s.kind === 'other-prefix' ? `${PREFIX}-x-${iid(s.n)}` : `laptop-${s.n}`;
      const id = runnerId++;
      lists.get(s.owner)!.push({ id, name, status: s.status, busy: s.busy });
      if (s.seenMinutesAgo !== undefined) sightings.set(ghostKey(s.owner, id), NOW - s.seenMinutesAgo * MINUTE);
    }
    const runnersByOwner = new Map<string, OwnerRunners>(
      OWNERS.map((o) => [o, failed.includes(o) ? { ok: false as const } : { ok: true as const, target: runnerTargetFromOwnerTag(o)!, runners: lists.get(o)! }]),
    );
    return {
      instances,
      runnersByOwner,
      limits: { prefix: PREFIX, minimumRunningTimeMs: minimumMinutes * MINUTE, bootTimeMs: bootMinutes * MINUTE, bypassTag: BYPASS },
      sightings,
      orphanSightings,
    };
  });

/** The runner named after `instance` in its owner's list, if that list is known. */
function ownRunner(fleet: Fleet, instance: DecideInstance): DecideRunner | undefined {
  const listed = instance.owner ? fleet.runnersByOwner.get(instance.owner) : undefined;
  return listed?.ok ? listed.runners.find((r) => r.name === `${PREFIX}-${instance.instanceId}`) : undefined;
}

/** Every runner named after `instanceId`, in any listed owner. */
function anyRunner(fleet: Fleet, instanceId: string): DecideRunner[] {
  return [...fleet.runnersByOwner.values()].flatMap((l) => (l.ok ? l.runners.filter((r) => r.name === `${PREFIX}-${instanceId}`) : []));
}

const byId = (fleet: Fleet) => new Map(fleet.instances.map((i) => [i.instanceId, i]));
const run = (fleet: Fleet) => decide(fleet.instances, fleet.runnersByOwner, NOW, fleet.limits, { ghosts: fleet.sightings, orphans: fleet.orphanSightings });
const PARAMS = { numRuns: 300 };

describe('decide (properties)', () => {
  it('should never plan removal or termination of an instance whose runner is busy', () => {
    fc.assert(
      fc.property(fleetArb, (fleet) => {
        const plan = run(fleet);
        for (const id of [...plan.removeIdle, ...plan.terminateOrphans].map((a) => a.instanceId)) {
          expect(anyRunner(fleet, id).some((r) => r.busy)).toBe(false);
        }
      }),
      PARAMS,
    );
  });

  it('should never terminate a registered instance directly: orphans have no runner in their owner list', () => {
    fc.assert(
      fc.property(fleetArb, (fleet) => {
        const plan = run(fleet);
        const instances = byId(fleet);
        for (const orphan of plan.terminateOrphans) {
          const i = instances.get(orphan.instanceId)!;
          expect(fleet.runnersByOwner.get(orphan.owner)?.ok).toBe(true);
          expect(ownRunner(fleet, i)).toBeUndefined();
          expect(isLive(i)).toBe(true);
        }
        // And a removal always names the registered runner, idle, past the minimum running time.
        for (const idle of plan.removeIdle) {
          const runner = ownRunner(fleet, instances.get(idle.instanceId)!);
          expect(runner).toMatchObject({ id: idle.runnerId, busy: false });
          expect(idle.ageMs).toBeGreaterThanOrEqual(fleet.limits.minimumRunningTimeMs);
        }
      }),
      PARAMS,
    );
  });

  it('should always plan termination of an orphan past the boot time seen by a previous run, and never on first sighting', () => {
    fc.assert(
      fc.property(fleetArb, (fleet) => {
        const plan = run(fleet);
        const orphans = new Set(plan.terminateOrphans.map((o) => o.instanceId));
        const unconfirmed = new Set(plan.kept.filter((k) => k.reason === 'orphan-unconfirmed').map((k) => k.instanceId));
        for (const i of fleet.instances) {
          const listedOk = i.owner !== undefined && fleet.runnersByOwner.get(i.owner)?.ok === true;
          const due = i.launchTime !== undefined && NOW - i.launchTime.getTime() >= fleet.limits.bootTimeMs;
          if (isLive(i) && !(BYPASS in i.tags) && listedOk && due && !ownRunner(fleet, i)) {
            const seenBefore = fleet.orphanSightings.has(i.instanceId);
            expect(orphans.has(i.instanceId)).toBe(seenBefore);
            expect(unconfirmed.has(i.instanceId)).toBe(!seenBefore);
            // Either way, the next run knows it was seen.
            expect(plan.orphanSightings.has(i.instanceId)).toBe(true);
          }
        }
        // Every termination was seen by a previous run.
        for (const o of plan.terminateOrphans) expect(fleet.orphanSightings.has(o.instanceId)).toBe(true);
        // Sightings are kept only for orphans, and for live instances whose owner could not be listed.
        for (const id of plan.orphanSightings.keys()) {
          const i = byId(fleet).get(id)!;
          expect(isLive(i) && !(BYPASS in i.tags)).toBe(true);
          if (i.owner !== undefined && fleet.runnersByOwner.get(i.owner)?.ok === true) expect(ownRunner(fleet, i)).toBeUndefined();
          else expect(fleet.orphanSightings.has(id)).toBe(true);
        }
      }),
      PARAMS,
    );
  });

  it('should never remove or terminate an instance younger than the boot time whose runner is offline', () => {
    fc.assert(
      fc.property(fleetArb, (fleet) => {
        const plan = run(fleet);
        const acted = new Set([...plan.removeIdle, ...plan.terminateOrphans].map((a) => a.instanceId));
        for (const i of fleet.instances) {
          const young = i.launchTime !== undefined && NOW - i.launchTime.getTime() < fleet.limits.bootTimeMs;
          if (young && anyRunner(fleet, i.instanceId).some((r) => r.status === 'offline')) expect(acted.has(i.instanceId)).toBe(false);
        }
      }),
      PARAMS,
    );
  });

  it('should never touch an instance carrying the bypass tag', () => {
    fc.assert(
      fc.property(fleetArb, (fleet) => {
        const plan = run(fleet);
        const bypassed = new Set(fleet.instances.filter((i) => BYPASS in i.tags).map((i) => i.instanceId));
        expect([...plan.removeIdle, ...plan.terminateOrphans].filter((a) => bypassed.has(a.instanceId))).toEqual([]);
        // A live bypassed instance's runner is not a ghost either.
        const liveBypassed = new Set(fleet.instances.filter((i) => bypassed.has(i.instanceId) && isLive(i)).map((i) => i.instanceId));
        expect(plan.deregisterGhosts.filter((g) => liveBypassed.has(g.instanceId))).toEqual([]);
      }),
      PARAMS,
    );
  });

  it('should only call offline, idle, prefixed runners of listed owners without a live instance ghosts', () => {
    fc.assert(
      fc.property(fleetArb, (fleet) => {
        const plan = run(fleet);
        const instances = byId(fleet);
        for (const g of plan.deregisterGhosts) {
          const listed = fleet.runnersByOwner.get(g.owner);
          expect(listed?.ok).toBe(true);
          const runner = listed?.ok ? listed.runners.find((r) => r.id === g.runnerId) : undefined;
          expect(runner).toMatchObject({ name: `${PREFIX}-${g.instanceId}`, status: 'offline', busy: false });
          expect(g.instanceId).toMatch(/^i-[0-9a-f]{17}$/);
          const instance = instances.get(g.instanceId);
          expect(instance === undefined || !isLive(instance)).toBe(true);
          // An instance EC2 does not list has been a ghost for the boot time.
          if (!instance) expect(NOW - (fleet.sightings.get(ghostKey(g.owner, g.runnerId)) ?? NOW)).toBeGreaterThanOrEqual(fleet.limits.bootTimeMs);
        }
      }),
      PARAMS,
    );
  });

  it('should place every live instance in exactly one of remove, orphan or kept, and no other', () => {
    fc.assert(
      fc.property(fleetArb, (fleet) => {
        const plan = run(fleet);
        const placed = [...plan.removeIdle, ...plan.terminateOrphans, ...plan.kept].map((a) => a.instanceId).sort();
        expect(placed).toEqual(fleet.instances.filter(isLive).map((i) => i.instanceId).sort());
      }),
      PARAMS,
    );
  });
});
