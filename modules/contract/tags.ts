/**
 * Tag keys the module sets on what it launches and reads back: the launch
 * templates and CreateFleet set them, the IAM conditions name them, and
 * scale-up, scale-down, the pool and the termination watcher read them.
 *
 * No imports: lambdas/ bundles this file, and the npm package compiles it
 * with modules/.
 */
export const RUNNER_TAGS = {
  /** The module prefix (launch template and CreateFleet). */
  prefix: 'ghr:prefix',
  /** The runner type's name (launch template and CreateFleet). */
  runnerType: 'ghr:runner-type',
  /** On each per-instance SSM parameter: the instance's ARN, matched against ec2:SourceInstanceARN. */
  instanceArn: 'ghr:instance-arn',
  /** Set by scale-up and the pool in CreateFleet: `org`, an organisation login, or `owner/repo`. */
  owner: 'ghr:owner',
  /** Set in CreateFleet: `scale-up`, or `pool` for the warm pool's runners. */
  createdBy: 'ghr:created-by',
  /** Prefix of the job-id tags scale-up writes: `ghr:job-id:<instance-id>`. */
  jobId: 'ghr:job-id',
  /**
   * When scale-down first saw the instance with no registered runner (ISO 8601).
   * On the instance, not in memory, so a cold start every run still confirms an
   * orphan on its second sighting. A key valid in instance metadata too.
   */
  orphanSeenAt: 'ghr:orphan-seen-at',
  /** Default key (any value) that keeps an instance out of scale-down's hands (BYPASS_TAG). */
  scaleDownBypass: 'ghr:scale-down-bypass',
  /** Set in CreateFleet for a runner started through the runner API (issue #15): its API name, `ghr-api-<run id>-<attempt>-<index>`. */
  apiRunner: 'ghr:api-runner',
  /** Set in CreateFleet with {@link RUNNER_TAGS.apiRunner}: ISO 8601 time after which scale-down removes the runner if it is idle. */
  idleDeadline: 'ghr:idle-deadline',
} as const;
