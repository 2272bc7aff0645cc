/**
 * Props validation as data: a list of rules, each a condition that must hold
 * and the message to show when it does not. Values that are still Terraform
 * tokens are skipped: Terraform validates those through variable `validation`
 * blocks at plan time.
 */
import { Token } from 'cdktf';

export interface Rule {
  /** True when the value is acceptable. */
  readonly ok: boolean;
  /** Names the setting and the value received, e.g. "runnersMaximumCount must be ≥ 1, got 0". */
  readonly message: string;
}

/**
 * What a construct throws at synth for props it refuses: one error naming the
 * construct and every problem, e.g. `GitHubRunners: subnetIds must list at
 * least one subnet, got none`.
 */
export class PropsValidationError extends Error {
  constructor(
    /** The construct (or factory, e.g. `RunnerTypes.fromMap`) whose props were refused. */
    readonly construct: string,
    /** Each problem, naming the setting and the value received. */
    readonly problems: string[],
  ) {
    super(`${construct}: ${problems.join('; ')}`);
    this.name = 'PropsValidationError';
  }
}

/** Throws one error that lists every failed rule. */
export function validate(construct: string, rules: readonly Rule[]): void {
  const problems = rules.filter((r) => !r.ok).map((r) => r.message);
  if (problems.length > 0) throw new PropsValidationError(construct, problems);
}

/** True when `value` is known at synth time (not a token that Terraform resolves later). */
export function isKnown(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'string' || typeof value === 'number') return !Token.isUnresolved(value);
  if (Array.isArray(value)) return !Token.isUnresolved(value) && value.every(isKnown);
  return !Token.isUnresolved(value);
}

/** A rule that only applies when the value is known. */
export function whenKnown(value: unknown, ok: () => boolean, message: string): Rule {
  return { ok: !isKnown(value) || ok(), message };
}
