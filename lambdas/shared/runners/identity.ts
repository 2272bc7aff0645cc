/**
 * Who a runner is, in one place: its GitHub name (`<prefix>-<instance id>`),
 * where it registers (an organization or one repository) and how that is
 * written in the `ghr:owner` tag, its capacity type, and which EC2 states
 * count as live. The EC2 and GitHub adapters, the decisions and the handlers
 * all import it; none of them defines its own.
 *
 * No I/O and no SDK imports: the decision functions and the e2e world use it too.
 */
import type { CapacityType } from '../../../modules/contract/runner-types';

export type { CapacityType };

/** EC2 instance ids: `i-` and 8 (older instances) or 17 lowercase hex digits. */
export const INSTANCE_ID = /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** Whether `value` is shaped like an EC2 instance id. */
export function isInstanceId(value: string): boolean {
  return INSTANCE_ID.test(value);
}

/** The GitHub runner name of an instance: scale-up and the pool register it, scale-down and the watcher look it up. */
export function runnerNameOf(prefix: string, instanceId: string): string {
  return `${prefix}-${instanceId}`;
}

/**
 * The instance id a runner name carries, when it is one of ours: the inverse
 * of {@link runnerNameOf}, `${prefix}-<instance id>` exactly. A runner of a
 * deployment whose prefix merely starts with ours (`gh-ci-i-x` against
 * `gh-ci`) is not.
 */
export function instanceIdOfRunner(prefix: string, runnerName: string): string | undefined {
  if (!runnerName.startsWith(`${prefix}-`)) return undefined;
  const id = runnerName.slice(prefix.length + 1);
  return isInstanceId(id) ? id : undefined;
}

/** Where a runner registers: an organization, or one repository. */
export type RunnerTarget = { readonly level: 'org'; readonly owner: string } | { readonly level: 'repo'; readonly owner: string; readonly repo: string };

/** A target with its `ghr:owner` tag value ({@link ownerTagOf}), as the launchers carry it. */
export type OwnedTarget = RunnerTarget & { readonly ownerTag: string };

/** The `ghr:owner` tag of a target: the organization login, or `owner/repo`. */
export function ownerTagOf(target: RunnerTarget): string {
  return target.level === 'org' ? target.owner : `${target.owner}/${target.repo}`;
}

/**
 * Where a `ghr:owner` tag says a runner is registered: `owner/repo` is a
 * repository, a bare login an organization. Undefined for anything else.
 * The inverse of {@link ownerTagOf}.
 */
export function runnerTargetFromOwnerTag(ownerTag: string): RunnerTarget | undefined {
  const parts = ownerTag.split('/');
  if (parts.some((p) => p === '' || /\s/.test(p))) return undefined;
  if (parts.length === 1) return { level: 'org', owner: parts[0] };
  if (parts.length === 2) return { level: 'repo', owner: parts[0], repo: parts[1] };
  return undefined;
}

/** A target and its tag, from the tag; undefined when the tag is neither an organization nor `owner/repo`. */
export function ownedTargetFromOwnerTag(ownerTag: string): OwnedTarget | undefined {
  const target = runnerTargetFromOwnerTag(ownerTag);
  return target && { ...target, ownerTag };
}

/** EC2's live states: what counts as a runner that may still work. */
export const LIVE_STATES: readonly string[] = ['pending', 'running'];

/** Whether an instance in EC2 state `state` is pending or running. */
export function isLiveState(state: string): boolean {
  return LIVE_STATES.includes(state);
}
