/**
 * The routing table the module hands to the Lambdas, as JSON in the
 * RUNNER_TYPES_CONFIG environment variable. Keys are runner-type names.
 *
 * The construct builds this with `jsonencode` from the same map that drives the
 * per-type resources, so the Lambdas and Terraform can never disagree.
 */
export interface RunnerTypeRoute {
  /** Labels the runner type offers (self-hosted is implied). */
  readonly labels: string[];
  /** Job labels must equal the type's labels instead of being a subset. */
  readonly exact_match: boolean;
  /** Lower wins when several types match; ties go to the name in sort order. */
  readonly priority: number;
  /** The runner type's SQS queue URL. */
  readonly queue_url: string;
}

export type RunnerTypesConfig = Record<string, RunnerTypeRoute>;

/** Problems with a parsed RUNNER_TYPES_CONFIG value, empty when it is well formed. */
export function validateRunnerTypesConfig(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['must be a JSON object keyed by runner-type name'];
  const problems: string[] = [];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) problems.push('must declare at least one runner type');
  for (const [name, raw] of entries) {
    const t = raw as Partial<RunnerTypeRoute> | null;
    if (typeof t !== 'object' || t === null) {
      problems.push(`runner type "${name}" must be an object`);
      continue;
    }
    if (!Array.isArray(t.labels) || t.labels.length === 0 || !t.labels.every((l) => typeof l === 'string' && l !== '')) {
      problems.push(`runner type "${name}" needs a non-empty list of labels`);
    }
    if (typeof t.exact_match !== 'boolean') problems.push(`runner type "${name}" needs a boolean exact_match`);
    if (typeof t.priority !== 'number') problems.push(`runner type "${name}" needs a numeric priority`);
    if (typeof t.queue_url !== 'string' || t.queue_url === '') problems.push(`runner type "${name}" needs a queue_url`);
  }
  return problems;
}
