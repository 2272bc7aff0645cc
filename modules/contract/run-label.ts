/**
 * Run-bound runners (issue #15 item 3): a job whose `runs-on` carries
 * `ghr-run-<run id>` gets a runner registered with that label as well, so
 * GitHub hands that runner only to jobs that ask for the same label, that is,
 * jobs of that workflow run. A runner can then not be taken by a job of
 * another run ("runner theft") by construction.
 *
 * The form is exactly `ghr-run-` followed by decimal digits, compared
 * case-insensitively, as GitHub compares labels. Other `ghr-run-…` spellings
 * (`ghr-run-12-1-0`, `ghr-run-x`) are ordinary labels that no runner type
 * offers. A run label binds only when its digits are the job's own
 * `workflow_job.run_id` (written without leading zeros); any other run label
 * refuses the job, so nobody can request a runner bound to somebody else's run.
 *
 * The webhook (routing) and scale-up (registration) both call
 * {@link runBindingOf} on the same JobMessage fields (`labels`, `runId`), so
 * the message needs no field of its own and messages of earlier releases
 * parse unchanged.
 */

/** A label of the run-label form, whatever its run id. */
const RUN_LABEL = /^ghr-run-(\d+)$/i;

/**
 * The run-label form as a Terraform (RE2) regex: the module's variables refuse
 * it in a runner type's labels and in `runner_extra_labels`, since a runner
 * that offered it would take jobs bound to that one run.
 */
export const RUN_LABEL_TERRAFORM_REGEX = '(?i)^ghr-run-[0-9]+$';

/** The run label of `runId`, as it is registered: lower case. */
export function runLabel(runId: number): string {
  return `ghr-run-${runId}`;
}

/** Whether `label` has the run-label form (`ghr-run-<digits>`, any case). */
export function isRunLabel(label: string): boolean {
  return RUN_LABEL.test(label);
}

/** What a job's labels say about run binding. */
export type RunBinding =
  /** No label of the run-label form: an ordinary job. */
  | { readonly kind: 'unbound' }
  /** Every run-form label names the job's own run: register its runner with `label` too. */
  | { readonly kind: 'bound'; readonly label: string }
  /** A run-form label names another run (or is not the run id as GitHub writes it): serve nothing. */
  | { readonly kind: 'refused'; readonly reason: string };

/** Judge a job's labels against its run id. Pure. */
export function runBindingOf(labels: readonly string[], runId: number): RunBinding {
  const own = runLabel(runId);
  const runLabels = labels.filter(isRunLabel);
  if (runLabels.length === 0) return { kind: 'unbound' };
  // The label is echoed only when it is short; a run label is at most 8 + 16 characters in practice.
  const foreign = runLabels.find((l) => l.toLowerCase() !== own);
  if (foreign !== undefined) {
    const shown = foreign.length <= 40 ? foreign : `${foreign.slice(0, 40)}…`;
    return { kind: 'refused', reason: `run label ${shown} does not name the job's run ${runId}` };
  }
  return { kind: 'bound', label: own };
}

/** The labels without those of the run-label form: what runner types are matched on. */
export function withoutRunLabels(labels: readonly string[]): string[] {
  return labels.filter((l) => !isRunLabel(l));
}
