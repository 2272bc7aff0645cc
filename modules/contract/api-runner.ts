/**
 * Runners on request (issue #15 item 1): what the runner API Lambda, scale-up
 * and scale-down agree on.
 *
 * A workflow job calls `POST /runners` with its GitHub Actions OIDC token and
 * gets, per requested runner, a name that is also the one label the runner is
 * registered with beyond its type's labels:
 *
 *     ghr-api-<run id>-<run attempt>-<index>
 *
 * lower case, decimal, no leading zeros (index from 0). It is derived from the
 * token's `run_id` and `run_attempt` claims, so only a job of that run attempt
 * can ask for it, and a later job of the run `runs-on` it. It is deliberately
 * not of the run-label form (`ghr-run-<digits>`, contract/run-label.ts): the
 * webhook path serves that one, and the two never meet. No runner type may
 * offer a label of this form (the module's variables refuse it, like the run
 * label), and the webhook never routes a job that asks for one: the API's own
 * runner serves it.
 *
 * The API puts a {@link RunnerRequestMessage} on the runner type's job queue,
 * so the type's scale-up (reserved concurrency 1, the one launcher of the
 * type) launches it within runners_maximum_count.
 *
 * No imports: lambdas/ bundles this file, and the npm package compiles it
 * with modules/.
 */

/** Ranges the construct, the HCL variables and the Lambdas check. */
export const RUNNER_API_LIMITS = {
  /** Runners per request. */
  count: { min: 1, max: 10, default: 1 },
  /** Minutes a runner started through the API waits for a job before scale-down removes it. */
  timeoutMinutes: { min: 1, max: 24 * 60, default: 15 },
} as const;

const API_LABEL = /^ghr-api-([1-9]\d*)-([1-9]\d*)-(0|[1-9]\d*)$/;

/** The API-label form as a Terraform (RE2) regex, refused in runner type labels and `runner_extra_labels`. */
export const API_LABEL_TERRAFORM_REGEX = '(?i)^ghr-api-[0-9]+-[0-9]+-[0-9]+$';

/** The name (and label) of runner `index` of run `runId`, attempt `runAttempt`. */
export function apiRunnerName(runId: number, runAttempt: number, index: number): string {
  return `ghr-api-${runId}-${runAttempt}-${index}`;
}

/** The parts of an API runner name; undefined when `name` is not one (exact form, lower case). */
export function parseApiRunnerName(name: string): { runId: number; runAttempt: number; index: number } | undefined {
  const m = API_LABEL.exec(name);
  if (!m) return undefined;
  const [runId, runAttempt, index] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![runId, runAttempt, index].every(Number.isSafeInteger) || index >= RUNNER_API_LIMITS.count.max) return undefined;
  return { runId, runAttempt, index };
}

/** Whether `label` has the API-label form (any case), whoever's run it names. */
export function isApiLabel(label: string): boolean {
  return /^ghr-api-\d+-\d+-\d+$/i.test(label);
}

/** The runner API's request for runners, on a runner type's job queue, for scale-up. */
export interface RunnerRequestMessage {
  readonly version: 1;
  readonly kind: 'runner-request';
  readonly runnerType: string;
  readonly repositoryOwner: string;
  readonly repositoryName: string;
  readonly installationId: number;
  readonly runId: number;
  readonly runAttempt: number;
  /** The runners' indexes (each < RUNNER_API_LIMITS.count.max): names are {@link apiRunnerName}. */
  readonly indexes: number[];
  /** ISO 8601: after this an idle runner of the request is removed (the `ghr:idle-deadline` tag). */
  readonly idleDeadline: string;
  /** When the API accepted the request (ISO 8601). */
  readonly requestedAt: string;
}

/** Whether a queue message body is a runner request, judged by its `kind`. */
export function isRunnerRequestBody(body: string): boolean {
  try {
    const v = JSON.parse(body) as { kind?: unknown } | null;
    return typeof v === 'object' && v !== null && v.kind === 'runner-request';
  } catch {
    return false;
  }
}

/** Parse and check a runner request; throws InvalidRunnerRequestMessageError naming every problem. */
export function parseRunnerRequestMessage(body: string): RunnerRequestMessage {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(body) as Record<string, unknown>;
  } catch {
    throw new InvalidRunnerRequestMessageError('body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidRunnerRequestMessageError('body is not an object');
  const problems: string[] = [];
  if (v.version !== 1) problems.push(`unsupported version ${JSON.stringify(v.version)}`);
  if (v.kind !== 'runner-request') problems.push('kind must be "runner-request"');
  for (const k of ['runnerType', 'repositoryOwner', 'repositoryName'] as const) if (typeof v[k] !== 'string' || v[k] === '') problems.push(`${k} must be a non-empty string`);
  for (const k of ['installationId', 'runId', 'runAttempt'] as const) if (!Number.isSafeInteger(v[k]) || (v[k] as number) <= 0) problems.push(`${k} must be a positive integer`);
  const idx = v.indexes;
  if (!Array.isArray(idx) || idx.length === 0 || idx.length > RUNNER_API_LIMITS.count.max || !idx.every((i) => Number.isInteger(i) && i >= 0 && i < RUNNER_API_LIMITS.count.max) || new Set(idx).size !== idx.length) {
    problems.push(`indexes must be 1 to ${RUNNER_API_LIMITS.count.max} distinct integers in [0, ${RUNNER_API_LIMITS.count.max - 1}]`);
  }
  for (const k of ['idleDeadline', 'requestedAt'] as const) if (typeof v[k] !== 'string' || Number.isNaN(Date.parse(v[k] as string))) problems.push(`${k} must be an ISO 8601 time`);
  if (problems.length > 0) throw new InvalidRunnerRequestMessageError(problems.join('; '));
  return v as unknown as RunnerRequestMessage;
}

export class InvalidRunnerRequestMessageError extends Error {
  constructor(reason: string) {
    super(`invalid runner request: ${reason}`);
    this.name = 'InvalidRunnerRequestMessageError';
  }
}
