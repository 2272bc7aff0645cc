/**
 * What the job ledger's owner (modules/runners/scale-up.ts, which creates the
 * table) and the Lambdas that query it (lambdas/shared/aws/job-ledger.ts)
 * agree on: the secondary indexes added for the spot-interruption re-run
 * (issue #11 item 4).
 *
 * No imports: lambdas/ bundles this file, and the npm package compiles it
 * with modules/.
 */
export const JOB_LEDGER_INDEXES = {
  /**
   * Sparse: jobs whose busy runner was interrupted and that wait for their
   * re-run. The termination watcher sets `rerun_pending` when it records the
   * interruption; scale-down removes it when it requests the re-run or gives
   * up. A constant hash value (`interrupted`): the index holds a handful of
   * items at most, read oldest first.
   */
  interrupted: { name: 'interrupted', hashKey: 'rerun_pending', hashValue: 'interrupted', rangeKey: 'interrupted_at' },
} as const;

/** `rerun_state` of a ledger entry, for a job whose runner was interrupted while busy. */
export type RerunState = 'interrupted' | 'rerun-requested' | 'rerun-given-up';
