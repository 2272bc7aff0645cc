/**
 * Scale-down's decisions, as pure functions of plain data: which idle runners
 * to remove, which instances are orphans, which GitHub registrations are
 * ghosts, and which runner configs in SSM were left behind.
 *
 * The rules, per live (pending or running) instance of the prefix:
 *
 * | instance                                         | action                                   |
 * | ------------------------------------------------ | ---------------------------------------- |
 * | carries the bypass tag                           | keep (`bypass`)                          |
 * | no `ghr:owner` tag                               | keep (`no-owner-tag`): nowhere to look   |
 * | its owner's runners could not be listed          | keep (`runners-unknown`)                 |
 * | no launch time                                   | keep (`launch-time-unknown`)             |
 * | runner `${prefix}-${id}` is busy                 | keep (`busy`)                            |
 * | runner idle, not online, age < max(minimum, boot)| keep (`booting`)                         |
 * | runner idle, age ≥ minimum running time          | remove: delete at GitHub, then terminate |
 * | runner idle, younger                             | keep (`minimum-running-time`)            |
 * | API runner (`ghr:idle-deadline`), not busy, before the deadline | keep (`idle-deadline`)    |
 * | API runner, not busy, past the deadline          | remove (whatever its age)                |
 * | no runner, age ≥ boot time, seen so last run     | orphan: terminate                        |
 * | no runner, age ≥ boot time, first sighting       | keep (`orphan-unconfirmed`)              |
 * | no runner, younger                               | keep (`booting`)                         |
 *
 * An owner whose runners could not be listed is never guessed at: an instance
 * whose busy runner we could not see would otherwise look like an orphan.
 *
 * Booting runners. In JIT mode scale-up registers the runner before the
 * instance boots, so a booting instance already has an offline, idle runner.
 * Such a runner is left alone until the instance is past both the minimum
 * running time and the boot time; an online idle runner only waits for the
 * minimum running time.
 *
 * Orphans. GitHub's runner list is page-based, and while ephemeral runners are
 * removed between page fetches a runner can be skipped: one listing can make a
 * busy runner's instance look unregistered. An orphan is therefore terminated
 * only when the previous run saw it as an orphan too. `orphanSightings` (key:
 * instance id) carries each orphan's first sighting from run to run; an
 * instance that is no longer an orphan (registered, gone, bypassed) is
 * dropped, and the sightings of an owner whose runners could not be listed
 * are carried over. A cold start only delays.
 *
 * Ghosts. A runner named `${prefix}-<instance id>`, offline and not busy, whose
 * instance is not live, is a ghost to deregister:
 * - when EC2 still lists the instance in a dead state (terminated instances
 *   stay visible for about an hour), at once;
 * - when EC2 does not list the instance at all, only once the same runner has
 *   been seen as a ghost for the boot time. A runner registered by scale-up
 *   after this run's DescribeInstances (or whose instance EC2's eventually
 *   consistent listing does not show yet) looks exactly like that, and
 *   deleting it would strand its job. `ghostSightings` carries the first
 *   sighting of every ghost candidate (of either kind) from run to run (per
 *   container; a cold start only delays).
 *   The sightings of an owner whose runners could not be listed this run are
 *   carried over unchanged, so one failed listing does not restart the wait.
 */
import type { RunnerInstance } from '../shared/aws/ec2-runners';
import type { StoredRunnerConfig } from '../shared/aws/jit-config-store';
import type { GitHubRunner } from '../shared/github/runners';
import { RUNNER_TAGS } from '../../modules/contract/tags';
import { type RunnerTarget, instanceIdOfRunner, isInstanceId, isLiveState, runnerNameOf } from '../shared/runners/identity';

/** The parts of an instance the rules read. */
export type DecideInstance = Pick<RunnerInstance, 'instanceId' | 'state' | 'launchTime' | 'owner' | 'tags'>;

/** The parts of a GitHub runner the rules read. */
export type DecideRunner = Pick<GitHubRunner, 'id' | 'name' | 'status' | 'busy'>;

/** One owner's runners as listed this run (with where they are registered, parsed from the `ghr:owner` tag), or the fact that listing failed. */
export type OwnerRunners = { readonly ok: true; readonly target: RunnerTarget; readonly runners: readonly DecideRunner[] } | { readonly ok: false };

/** Thresholds of {@link decide}. */
export interface DecideLimits {
  /** Runner names are `${prefix}-${instanceId}`. */
  readonly prefix: string;
  /** An idle registered runner younger than this is kept. */
  readonly minimumRunningTimeMs: number;
  /** An unregistered instance younger than this is booting; so is one whose runner is not online yet. */
  readonly bootTimeMs: number;
  /** Tag key that keeps an instance out of scale-down's hands. */
  readonly bypassTag: string;
}

/** Why an instance is left as it is. */
export type KeepReason =
  | 'bypass'
  | 'no-owner-tag'
  | 'runners-unknown'
  | 'launch-time-unknown'
  | 'busy'
  | 'minimum-running-time'
  | 'booting'
  | 'orphan-unconfirmed'
  | 'idle-deadline';

/** Every {@link KeepReason}, in the order summaries list them. */
export const KEEP_REASONS: readonly KeepReason[] = [
  'bypass',
  'no-owner-tag',
  'runners-unknown',
  'launch-time-unknown',
  'busy',
  'minimum-running-time',
  'booting',
  'orphan-unconfirmed',
  'idle-deadline',
];

/**
 * The idle deadline of a runner started through the runner API (issue #15),
 * from its `ghr:idle-deadline` tag; undefined for every other runner, or when
 * the tag is not a time.
 */
export function idleDeadlineOf(instance: Pick<DecideInstance, 'tags'>): number | undefined {
  const raw = instance.tags[RUNNER_TAGS.idleDeadline];
  if (raw === undefined) return undefined;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? undefined : t;
}

/** An idle registered runner: delete it at GitHub, and terminate its instance only once GitHub said 204. */
export interface IdleRunner {
  readonly instanceId: string;
  readonly owner: string;
  /** Where the runner is registered (the owner tag, parsed). */
  readonly target: RunnerTarget;
  readonly runnerId: number;
  readonly runnerName: string;
  readonly ageMs: number;
}

/** A live instance past boot time with no runner, in this run and the previous one: terminate it, no GitHub call. */
export interface OrphanInstance {
  readonly instanceId: string;
  readonly owner: string;
  readonly ageMs: number;
  /** When a run first saw it as an orphan (epoch ms). */
  readonly firstSeen: number;
}

/** A registration whose instance is gone: deregister it. */
export interface GhostRunner {
  readonly owner: string;
  /** Where the runner is registered (the owner tag, parsed). */
  readonly target: RunnerTarget;
  readonly runnerId: number;
  readonly runnerName: string;
  readonly instanceId: string;
  /** `instance-gone`: EC2 lists it dead. `instance-unlisted`: EC2 does not list it, and it has been a ghost for the boot time. */
  readonly reason: 'instance-gone' | 'instance-unlisted';
}

/** An instance left alone, and why. */
export interface KeptInstance {
  readonly instanceId: string;
  readonly owner?: string;
  readonly reason: KeepReason;
}

/** What one run should do. */
export interface ScaleDownPlan {
  readonly removeIdle: IdleRunner[];
  readonly terminateOrphans: OrphanInstance[];
  readonly deregisterGhosts: GhostRunner[];
  readonly kept: KeptInstance[];
  /** First sightings of every ghost candidate, to hand to the next run (key: {@link ghostKey}). */
  readonly ghostSightings: Map<string, number>;
  /** First sightings of every orphan, to hand to the next run (key: instance id). */
  readonly orphanSightings: Map<string, number>;
}

/** What earlier runs saw, as {@link decide} reads it. */
export interface Sightings {
  /** First sightings of ghost candidates (key: {@link ghostKey}). @default none */
  readonly ghosts?: ReadonlyMap<string, number>;
  /** First sightings of orphans (key: instance id). @default none */
  readonly orphans?: ReadonlyMap<string, number>;
}

/** Whether an instance is pending or running. */
export function isLive(instance: Pick<RunnerInstance, 'state'>): boolean {
  return isLiveState(instance.state);
}

/** The key of a ghost sighting. */
export function ghostKey(owner: string, runnerId: number): string {
  return `${owner.toLowerCase()}#${runnerId}`;
}

/** Decide what one scale-down run does. Pure: same inputs, same plan. */
export function decide(
  instances: readonly DecideInstance[],
  runnersByOwner: ReadonlyMap<string, OwnerRunners>,
  now: number,
  limits: DecideLimits,
  sightings: Sightings = {},
): ScaleDownPlan {
  const ghostSightings = sightings.ghosts ?? new Map<string, number>();
  const orphanSightings = sightings.orphans ?? new Map<string, number>();
  const plan: ScaleDownPlan = { removeIdle: [], terminateOrphans: [], deregisterGhosts: [], kept: [], ghostSightings: new Map(), orphanSightings: new Map() };
  const keep = (i: DecideInstance, reason: KeepReason) => plan.kept.push({ instanceId: i.instanceId, owner: i.owner, reason });
  // Runner names per owner, built once: a fleet of n instances costs O(n + runners), not O(n × runners).
  const indexes = new Map<string, Map<string, DecideRunner>>();
  const runnerIndex = (owner: string, runners: readonly DecideRunner[]) => {
    let index = indexes.get(owner);
    if (!index) {
      index = new Map();
      // Names are unique per target at GitHub; if a listing ever repeats one, a busy entry wins (the safe reading).
      for (const r of runners) if (!index.get(r.name)?.busy) index.set(r.name, r);
      indexes.set(owner, index);
    }
    return index;
  };

  // Each instance once, even if a listing repeated it (EC2 pages are not a snapshot); a live entry wins.
  const byId = new Map<string, DecideInstance>();
  for (const i of instances) if (!byId.has(i.instanceId) || isLive(i)) byId.set(i.instanceId, i);

  for (const instance of byId.values()) {
    if (!isLive(instance)) continue;
    if (Object.prototype.hasOwnProperty.call(instance.tags, limits.bypassTag)) {
      keep(instance, 'bypass');
      continue;
    }
    const owner = instance.owner;
    if (owner === undefined || owner === '') {
      keep(instance, 'no-owner-tag');
      continue;
    }
    const listed = runnersByOwner.get(owner);
    if (!listed || !listed.ok) {
      // Not judged this run: an orphan sighting waits for a run that can see.
      const seen = orphanSightings.get(instance.instanceId);
      if (seen !== undefined) plan.orphanSightings.set(instance.instanceId, seen);
      keep(instance, 'runners-unknown');
      continue;
    }
    if (instance.launchTime === undefined || Number.isNaN(instance.launchTime.getTime())) {
      keep(instance, 'launch-time-unknown');
      continue;
    }
    const ageMs = now - instance.launchTime.getTime();
    const name = runnerNameOf(limits.prefix, instance.instanceId);
    const runner = runnerIndex(owner, listed.runners).get(name);
    const deadline = idleDeadlineOf(instance);
    if (runner && deadline !== undefined && !runner.busy) {
      // An API runner waits for its job until its deadline, online or not, and is removed after it whatever its age.
      if (now < deadline) keep(instance, 'idle-deadline');
      else plan.removeIdle.push({ instanceId: instance.instanceId, owner, target: listed.target, runnerId: runner.id, runnerName: name, ageMs });
    } else if (runner) {
      if (runner.busy) keep(instance, 'busy');
      // Registered before boot (JIT): not online yet means still booting.
      else if (runner.status !== 'online' && ageMs < Math.max(limits.minimumRunningTimeMs, limits.bootTimeMs)) keep(instance, 'booting');
      else if (ageMs >= limits.minimumRunningTimeMs) plan.removeIdle.push({ instanceId: instance.instanceId, owner, target: listed.target, runnerId: runner.id, runnerName: name, ageMs });
      else keep(instance, 'minimum-running-time');
    } else if (ageMs >= limits.bootTimeMs) {
      const seen = orphanSightings.get(instance.instanceId);
      plan.orphanSightings.set(instance.instanceId, Math.min(seen ?? now, now));
      // One listing may have skipped its runner: terminate only on a second sighting.
      if (seen === undefined) keep(instance, 'orphan-unconfirmed');
      else plan.terminateOrphans.push({ instanceId: instance.instanceId, owner, ageMs, firstSeen: seen });
    } else {
      keep(instance, 'booting');
    }
  }

  const failedOwners = new Set([...runnersByOwner].filter(([, listed]) => !listed.ok).map(([owner]) => owner.toLowerCase()));
  for (const [key, firstSeen] of ghostSightings) {
    if (failedOwners.has(key.slice(0, key.lastIndexOf('#')))) plan.ghostSightings.set(key, firstSeen);
  }
  for (const [owner, listed] of runnersByOwner) {
    if (!listed.ok) continue;
    for (const runner of listed.runners) {
      if (runner.status !== 'offline' || runner.busy) continue;
      const instanceId = instanceIdOfRunner(limits.prefix, runner.name);
      if (instanceId === undefined) continue;
      const instance = byId.get(instanceId);
      if (instance && isLive(instance)) continue;
      const ghost = { owner, target: listed.target, runnerId: runner.id, runnerName: runner.name, instanceId };
      const key = ghostKey(owner, runner.id);
      const firstSeen = Math.min(ghostSightings.get(key) ?? now, now);
      // Remembered even when deregistered now: if the delete fails (and the
      // dead instance then drops out of EC2's listing), the next run need not wait again.
      plan.ghostSightings.set(key, firstSeen);
      if (instance) plan.deregisterGhosts.push({ ...ghost, reason: 'instance-gone' });
      else if (now - firstSeen >= limits.bootTimeMs) plan.deregisterGhosts.push({ ...ghost, reason: 'instance-unlisted' });
    }
  }
  return plan;
}

/** A runner config whose instance is not live any more. */
export interface StaleConfig {
  readonly name: string;
  readonly instanceId: string;
}

/**
 * Runner configs to delete: named after an instance id (`i-…`), that instance
 * not live, and written at least `graceMs` ago. The grace covers an instance
 * so new that this run's DescribeInstances did not list it. Other names under
 * the path are not ours to judge and are left.
 */
export function staleRunnerConfigs(
  configs: readonly StoredRunnerConfig[],
  instances: readonly Pick<RunnerInstance, 'instanceId' | 'state'>[],
  now: number,
  graceMs: number,
): StaleConfig[] {
  const live = new Set(instances.filter(isLive).map((i) => i.instanceId));
  return configs
    .filter((c) => isInstanceId(c.instanceId) && !live.has(c.instanceId))
    .filter((c) => c.lastModified === undefined || now - c.lastModified.getTime() >= graceMs)
    .map((c) => ({ name: c.name, instanceId: c.instanceId }));
}
