/**
 * The CloudWatch metrics the Lambdas emit (EMF, through Logger.metrics, which
 * takes only these names and dimensions) and modules/observability graphs
 * and alarms on (its METRICS `satisfies` these names).
 *
 * No imports: lambdas/ bundles this file, and the npm package compiles it
 * with modules/.
 */

/** Every metric a Lambda emits, by the Lambda that emits it. */
export const METRIC_NAMES = [
  // webhook
  'QueueWaitSeconds',
  'JobDurationSeconds',
  'JobsCompleted',
  // scale-up
  'RunnersLaunched',
  'OnDemandFallbacks',
  'JobsDeferredByCap',
  'JobIdTagFailures',
  'JobsDeferredByDeadline',
  // pool
  'PoolRunnersReady',
  'PoolRunnersLaunched',
  'PoolRunnersFailed',
  // scale-down
  'RunnersTerminated',
  'OrphansTerminated',
  'GhostsDeregistered',
  'BusyRunnersKept',
  'GitHubApiCalls',
  'RunnerConfigsDeleted',
  'ScaleDownErrors',
  'ActionsDeferred',
  'JobsRelaunched',
  'JobsGivenUp',
  'JobsWaitingForRunner',
  'JobsStranded',
  // scale-down: the re-run of spot-interrupted jobs (issue #11 item 4)
  'JobsRerun',
  'JobRerunsGivenUp',
  // termination watcher
  'SpotInterruptions',
  'RunnersDeregistered',
  'RunnersAlreadyGone',
  'DeregistrationRetries',
  'DeregistrationsAbandoned',
  'DeregistrationErrors',
  'JobsInterrupted',
  // redelivery
  'DeliveriesRedelivered',
  'RedeliveryFailures',
  'RedeliveriesDeferred',
  // syncer
  'RunnerBinariesSynced',
  'RunnerBinaryUpToDate',
  // runner instances: the user data's boot steps (EMF lines shipped by the CloudWatch agent)
  'RunnerBootSeconds',
] as const;

export type MetricName = (typeof METRIC_NAMES)[number];

/** Dimension names of the metrics. */
export const METRIC_DIMENSIONS = ['RunnerType', 'Conclusion', 'Function', 'Service', 'Step'] as const;

/** The metric the runner's user data writes for each boot step, with dimensions RunnerType and Step. */
export const BOOT_METRIC_NAME = 'RunnerBootSeconds' satisfies MetricName;

/** The boot steps the user data times (modules/runners/templates/user-data.sh, "Boot metrics"). */
export const BOOT_STEPS = ['os_boot', 'imds', 'pre_install', 'packages', 'docker', 'download', 'install', 'post_install', 'config_wait', 'config_delete', 'user_data', 'runner_start'] as const;

export type MetricDimension = (typeof METRIC_DIMENSIONS)[number];

/** Values of the `Function` dimension; the alarms on scale-down's metrics match `Function = scale-down`. */
export const METRIC_FUNCTIONS = {
  scaleDown: 'scale-down',
  terminationWatcher: 'termination-watcher',
} as const;
