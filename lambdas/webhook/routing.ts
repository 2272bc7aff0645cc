/**
 * Routing a job to a runner type by its labels. Pure.
 *
 * Labels compare case-insensitively (GitHub does). `self-hosted` is implied on
 * both sides: every runner type offers it, and a job asking for it asks for
 * nothing a type could lack.
 *
 * - A type matches when the job's labels are a subset of the type's labels, or,
 *   with `exact_match`, when both sets are equal.
 * - A job without any label matches nothing: it names no runner type, so it is
 *   not known to be ours (a subset test would otherwise match every type).
 * - Among matching types the lowest `priority` wins, ties going to the name in
 *   code-unit sort order. Declaration order cannot decide: HCL maps (and JSON
 *   objects) do not keep it. The CDKTF list form assigns priority = index.
 * - Labels of the run-label form (`ghr-run-<digits>`, contract/run-label.ts)
 *   are left out before matching: they bind a runner to a workflow run, they
 *   are not something a runner type offers (types cannot declare them). So a
 *   run label counts for `exact_match` neither: `[docker, ghr-run-7]` matches
 *   an exact-match `[docker]` type, whose runner is then registered with
 *   `docker` and `ghr-run-7` and so has every label the job asks for. Whether
 *   the run label names the job's own run is the webhook's check
 *   (`runBindingOf`), not routing's.
 */
import type { RunnerTypeRoute, RunnerTypeRoutes } from '../../modules/contract/runner-types';
import { withoutRunLabels } from '../../modules/contract/run-label';

/** The label every self-hosted runner carries implicitly. */
export const SELF_HOSTED = 'self-hosted';

/** A runner type chosen for a job. */
export interface Route {
  readonly runnerType: string;
  readonly route: RunnerTypeRoute;
}

/** The runner type that should serve a job with `jobLabels`, or undefined when none matches. */
export function routeJob(jobLabels: readonly string[], runnerTypes: RunnerTypeRoutes): Route | undefined {
  const typeLabels = withoutRunLabels(jobLabels);
  if (typeLabels.length === 0) return undefined;
  const wanted = labelSet(typeLabels);
  const matches = Object.entries(runnerTypes)
    .filter(([, route]) => offers(route, wanted))
    .sort(([a, ra], [b, rb]) => ra.priority - rb.priority || compareNames(a, b));
  if (matches.length === 0) return undefined;
  const [runnerType, route] = matches[0];
  return { runnerType, route };
}

/** Whether a runner type serves a job asking for `wanted` (lower-cased, self-hosted included). */
function offers(route: RunnerTypeRoute, wanted: ReadonlySet<string>): boolean {
  const offered = labelSet(route.labels);
  const subset = [...wanted].every((l) => offered.has(l));
  return route.exact_match ? subset && wanted.size === offered.size : subset;
}

/** Lower-cased labels plus the implied self-hosted. */
function labelSet(labels: readonly string[]): ReadonlySet<string> {
  return new Set([SELF_HOSTED, ...labels.map((l) => l.toLowerCase())]);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** How many labels of an ignored job are logged, and how much of each. */
const LOGGED_LABELS = 10;
const LOGGED_LABEL_CHARS = 64;

/**
 * Why no runner type could match `jobLabels`, judged from their size alone, or
 * undefined when one might. Exact, not a heuristic: a job with more distinct
 * labels than any type offers, or with a label longer than any offered label,
 * is a subset of no type. Logged as the reason a job is ignored; with
 * {@link distinctLabels} and {@link labelsForLog} it keeps a signed delivery
 * with 100,000 labels from becoming a 600 KB queue message (SQS takes 256 KiB)
 * or a log line of the same size.
 */
export function unroutableBySize(allJobLabels: readonly string[], runnerTypes: RunnerTypeRoutes): string | undefined {
  const jobLabels = withoutRunLabels(allJobLabels);
  const offered = Object.values(runnerTypes).map((route) => labelSet(route.labels));
  const mostLabels = Math.max(0, ...offered.map((set) => set.size));
  const longest = Math.max(0, ...offered.flatMap((set) => [...set].map((l) => l.length)));
  const tooLong = jobLabels.find((l) => l.length > longest);
  if (tooLong !== undefined) return `a label of ${tooLong.length} characters is longer than any runner type's labels (${longest})`;
  const distinct = labelSet(jobLabels).size;
  if (distinct > mostLabels) return `${distinct} distinct labels are more than any runner type offers (${mostLabels})`;
  return undefined;
}

/** The job's labels, without repeats (first spelling kept), so a message carries each once. */
export function distinctLabels(jobLabels: readonly string[]): string[] {
  const seen = new Set<string>();
  return jobLabels.filter((l) => {
    const key = l.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A bounded view of a job's labels for a log line: the count and the first few, shortened. */
export function labelsForLog(jobLabels: readonly string[]): { labelCount: number; labels: string[] } {
  return {
    labelCount: jobLabels.length,
    labels: jobLabels.slice(0, LOGGED_LABELS).map((l) => (l.length > LOGGED_LABEL_CHARS ? `${l.slice(0, LOGGED_LABEL_CHARS)}…` : l)),
  };
}
