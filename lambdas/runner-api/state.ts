/**
 * The state of a runner started through the API, from its record, its
 * instance and its GitHub registration. Pure.
 *
 * | record                  | instance                 | GitHub runner   | state     |
 * |-------------------------|--------------------------|-----------------|-----------|
 * | none                    |                          |                 | (404)     |
 * | any                     | pending or running       | busy            | `busy`    |
 * | any                     | pending or running       | online, idle    | `online`  |
 * | any                     | pending or running       | absent/offline  | `pending` |
 * | any                     | stopping, terminated, …  |                 | `gone`    |
 * | launched (instance id)  | not listed               |                 | `gone`    |
 * | not launched            | none                     |                 | `pending` before the deadline, then `gone` (scale-up launches nothing past it) |
 */
import type { ApiRunnerRecord } from '../shared/aws/api-runner-records';

export type ApiRunnerState = 'pending' | 'online' | 'busy' | 'gone';

export interface StateInput {
  readonly record: ApiRunnerRecord;
  /** The instance tagged with the runner's name, in any state; undefined when EC2 lists none. */
  readonly instance?: { readonly state: string };
  /** The registration `<prefix>-<instance-id>`, when it could be looked up and exists. */
  readonly runner?: { readonly status: string; readonly busy: boolean };
  readonly now: number;
}

export function apiRunnerState(input: StateInput): ApiRunnerState {
  const { record, instance, runner, now } = input;
  if (instance) {
    if (instance.state !== 'pending' && instance.state !== 'running') return 'gone';
    if (runner?.busy) return 'busy';
    if (runner?.status === 'online') return 'online';
    return 'pending';
  }
  if (record.instanceId !== undefined) return 'gone';
  return now < record.idleDeadline ? 'pending' : 'gone';
}
