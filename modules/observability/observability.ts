/**
 * Observability: one CloudWatch dashboard for the whole module, and alarms on
 * the things an operator must act on (a message in a DLQ, a Lambda error).
 *
 * Runner types are a Terraform map, so the dashboard never lists them: every
 * per-type graph is a metric-math SEARCH over the module's EMF namespace,
 * and a type added to the map shows up on its own once it emits a metric.
 * Alarms cannot use SEARCH, so they watch each queue and function directly;
 * a per-type (for_each) queue or function gets a per-type alarm with the same
 * for_each.
 */
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { Fn, Op, Token } from 'cdktf';
import { Construct } from 'constructs';
import { eachRef } from '../shared/iteration';
import { ModuleFunction } from '../shared/lambda-function';
import { validate, whenKnown } from '../shared/validation';
import { METRIC_FUNCTIONS, type MetricName } from '../contract/metrics';

export interface ObservabilityProps {
  /**
   * The module's prefix. Names the dashboard `<prefix>-github-runners` and
   * scopes the SQS and Lambda graphs to queues and functions whose names
   * contain it. Letters, digits, hyphens and underscores.
   */
  readonly prefix: string;
  /** The region the module's resources live in; every graph reads its metrics there (`ModuleKey.region`). */
  readonly region: string;
  /**
   * The CloudWatch namespace of the Lambdas' EMF metrics, e.g. `GitHubRunners/<prefix>`
   * (`LambdaSettings.metricsNamespace`). 1 to 255 characters, not starting with `AWS/`.
   */
  readonly metricsNamespace: string;
  /**
   * Dead-letter queues to alarm on, one alarm each; a queue created with
   * for_each gets one alarm per instance. @default [] (no DLQ alarms)
   */
  readonly deadLetterQueues?: readonly SqsQueue[];
  /**
   * Functions to alarm on when they report errors; a function created with
   * for_each gets one alarm per instance. @default [] (no function alarms)
   */
  readonly functions?: readonly ModuleFunction[];
  /**
   * Alarm when scale-down reports errors (`ScaleDownErrors`, dimension
   * `Function = scale-down`) in two 15-minute periods in a row: an owner it
   * cannot list, or deletes that keep failing, leave instances running that
   * nobody removes, while each run still succeeds. Assumes scale-down runs at
   * least every 15 minutes. @default false
   */
  readonly scaleDownErrorsAlarm?: boolean;
  /**
   * Alarm when scale-down gives up on a job (`JobsGivenUp`, dimension
   * `Function = scale-down`): a job still queued at GitHub after every
   * relaunch (job_retry.max_attempts) has no runner coming. @default false
   */
  readonly jobsGivenUpAlarm?: boolean;
  /**
   * Alarm when scale-down counts stranded jobs (`JobsStranded`, dimension
   * `Function = scale-down`, Maximum over 15 minutes): jobs queued at GitHub
   * longer than job_stranded_alarm_minutes with no runner of their type
   * coming (no idle runner, relaunch not yet served). @default false
   */
  readonly jobsStrandedAlarm?: boolean;
  /**
   * SNS topic that every alarm notifies, on ALARM and on OK. May be a Terraform
   * expression whose value is null, which means no notifications.
   * @default no notifications (the alarms still show in the console)
   */
  readonly alarmSnsTopicArn?: string;
  /** Seconds per alarm evaluation period, a multiple of 60. @default 300 */
  readonly alarmPeriodSeconds?: number;
  /**
   * Consecutive breaching periods before an alarm fires, 1 or more;
   * `alarmPeriodSeconds × alarmEvaluationPeriods` may not exceed one day.
   * @default 1 (one failed message or one error is worth a look)
   */
  readonly alarmEvaluationPeriods?: number;
  /** Tags for the alarms (dashboards take no tags). @default {} */
  readonly tags?: Record<string, string>;
}

/** The settings a GitHubRunners user chooses; the module wires the rest. */
export type ObservabilitySettings = Pick<ObservabilityProps, 'alarmSnsTopicArn' | 'alarmPeriodSeconds' | 'alarmEvaluationPeriods'>;

/** The metric names the dashboard graphs and the alarms watch: names the Lambdas emit (modules/contract/metrics.ts). */
export const METRICS = {
  queueWait: 'QueueWaitSeconds',
  jobDuration: 'JobDurationSeconds',
  runnersLaunched: 'RunnersLaunched',
  onDemandFallbacks: 'OnDemandFallbacks',
  jobsDeferredByCap: 'JobsDeferredByCap',
  runnersTerminated: 'RunnersTerminated',
  orphansTerminated: 'OrphansTerminated',
  ghostsDeregistered: 'GhostsDeregistered',
  spotInterruptions: 'SpotInterruptions',
  runnersDeregistered: 'RunnersDeregistered',
  deregistrationRetries: 'DeregistrationRetries',
  deregistrationsAbandoned: 'DeregistrationsAbandoned',
  scaleDownErrors: 'ScaleDownErrors',
  jobsRelaunched: 'JobsRelaunched',
  jobsGivenUp: 'JobsGivenUp',
  jobsWaitingForRunner: 'JobsWaitingForRunner',
  jobsStranded: 'JobsStranded',
  jobsInterrupted: 'JobsInterrupted',
  jobsRerun: 'JobsRerun',
  jobRerunsGivenUp: 'JobRerunsGivenUp',
  deliveriesRedelivered: 'DeliveriesRedelivered',
  redeliveryFailures: 'RedeliveryFailures',
  redeliveriesDeferred: 'RedeliveriesDeferred',
  runnerBoot: 'RunnerBootSeconds',
} as const satisfies Record<string, MetricName>;

/** Seconds each graph aggregates over. */
const GRAPH_PERIOD = 300;
const PREFIX_PATTERN = /^[A-Za-z0-9_-]+$/;
// CloudWatch allows these in namespaces; none of them needs escaping inside a SEARCH exact match.
const NAMESPACE_PATTERN = /^[A-Za-z0-9 ._\-/#:]{1,255}$/;
const SNS_TOPIC_ARN_PATTERN = /^arn:[a-z-]+:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

export class Observability extends Construct {
  readonly dashboard: CloudwatchDashboard;
  /** Every alarm, in the order: DLQs, functions, scale-down's errors, jobs given up, jobs stranded. */
  readonly alarms: CloudwatchMetricAlarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const period = props.alarmPeriodSeconds ?? 300;
    const evaluations = props.alarmEvaluationPeriods ?? 1;
    const topic = props.alarmSnsTopicArn;
    validate('Observability', [
      whenKnown(props.prefix, () => PREFIX_PATTERN.test(props.prefix), `prefix must be letters, digits, hyphens or underscores, got "${props.prefix}"`),
      whenKnown(
        props.metricsNamespace,
        () => NAMESPACE_PATTERN.test(props.metricsNamespace) && !props.metricsNamespace.startsWith('AWS/'),
        `metricsNamespace must be 1 to 255 of A-Z a-z 0-9 . _ - / # : or space, not starting with AWS/, got "${props.metricsNamespace}"`,
      ),
      whenKnown(topic, () => topic === undefined || SNS_TOPIC_ARN_PATTERN.test(topic), `alarmSnsTopicArn must be an SNS topic ARN, got "${topic}"`),
      whenKnown(period, () => period >= 60 && period % 60 === 0, `alarmPeriodSeconds must be a positive multiple of 60, got ${period}`),
      whenKnown(evaluations, () => Number.isInteger(evaluations) && evaluations >= 1, `alarmEvaluationPeriods must be an integer ≥ 1, got ${evaluations}`),
      whenKnown([period, evaluations], () => period * evaluations <= 86400, `alarmPeriodSeconds × alarmEvaluationPeriods must be at most 86400 (one day), got ${period * evaluations}`),
    ]);

    this.dashboard = new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: `${props.prefix}-github-runners`,
      // The prefix, namespace and region may be tokens: JSON.stringify keeps
      // their markers inside the strings, and cdktf turns them into
      // interpolations in the one JSON string Terraform sees. What Terraform
      // substitutes are plain names (the module validates them), so nothing
      // needs JSON escaping after interpolation.
      dashboardBody: JSON.stringify({ widgets: layout(graphs(props), props.region) }),
    });

    const actions = notificationActions(topic);
    const common = {
      comparisonOperator: 'GreaterThanThreshold',
      threshold: 0,
      period,
      evaluationPeriods: evaluations,
      datapointsToAlarm: evaluations,
      // No data means no messages and no invocations: nothing is wrong.
      treatMissingData: 'notBreaching',
      alarmActions: actions,
      okActions: actions,
      tags: props.tags,
    };

    // Alarm ids come from the watched resource's logical id, not the list
    // position, so reordering the inputs does not replace any alarm.
    for (const queue of props.deadLetterQueues ?? []) {
      // With for_each, the alarm gets the queue's for_each and watches the instance with its own key.
      const name = queue.forEach ? eachRef(queue, 'name') : queue.name;
      this.alarms.push(
        new CloudwatchMetricAlarm(this, `dlq-${queue.friendlyUniqueId}`, {
          alarmName: `${name}-not-empty`,
          alarmDescription: 'A message failed every retry and is waiting in this dead-letter queue: inspect it, then redrive or delete it.',
          namespace: 'AWS/SQS',
          metricName: 'ApproximateNumberOfMessagesVisible',
          dimensions: { QueueName: name },
          statistic: 'Maximum',
          forEach: queue.forEach,
          ...common,
        }),
      );
    }

    for (const fn of props.functions ?? []) {
      const resource = fn.function;
      const name = resource.forEach ? eachRef(resource, 'function_name') : resource.functionName;
      this.alarms.push(
        new CloudwatchMetricAlarm(this, `errors-${resource.friendlyUniqueId}`, {
          alarmName: `${name}-errors`,
          alarmDescription: 'The function failed (an exception, a timeout or running out of memory): read its log group.',
          namespace: 'AWS/Lambda',
          metricName: 'Errors',
          dimensions: { FunctionName: name },
          statistic: 'Sum',
          forEach: resource.forEach,
          ...common,
        }),
      );
    }

    if (props.scaleDownErrorsAlarm) {
      this.alarms.push(
        new CloudwatchMetricAlarm(this, 'scale-down-errors', {
          alarmName: `${props.prefix}-scale-down-failing`,
          alarmDescription: 'Scale-down reported errors for 30 minutes (an owner it cannot list, deletes that fail): read the scale-down log group.',
          namespace: props.metricsNamespace,
          metricName: METRICS.scaleDownErrors,
          dimensions: { Function: METRIC_FUNCTIONS.scaleDown },
          statistic: 'Sum',
          ...common,
          // One failed run is retried by the next; half an hour of them needs a human.
          period: 900,
          evaluationPeriods: 2,
          datapointsToAlarm: 2,
        }),
      );
    }
    if (props.jobsGivenUpAlarm) {
      this.alarms.push(
        new CloudwatchMetricAlarm(this, 'jobs-given-up', {
          alarmName: `${props.prefix}-jobs-given-up`,
          alarmDescription:
            'Scale-down gave up on a job still queued at GitHub after every relaunch (job_retry.max_attempts): its runners never took it. Read the scale-down log group ("given up") for the job and runner type, and the runner instances\' boot logs.',
          namespace: props.metricsNamespace,
          metricName: METRICS.jobsGivenUp,
          dimensions: { Function: METRIC_FUNCTIONS.scaleDown },
          statistic: 'Sum',
          ...common,
          // Every give-up is a job with no runner: the first one alarms.
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
        }),
      );
    }
    if (props.jobsStrandedAlarm) {
      this.alarms.push(
        new CloudwatchMetricAlarm(this, 'jobs-stranded', {
          alarmName: `${props.prefix}-jobs-stranded`,
          alarmDescription:
            'Jobs have been queued at GitHub longer than job_stranded_alarm_minutes with no runner of their type coming (scale-down\'s JobsStranded gauge). Read the scale-down log group ("stranded") for the jobs and runner types; check the runner types\' capacity (runners_maximum_count, JobsDeferredByCap) and the instances\' boot logs.',
          namespace: props.metricsNamespace,
          metricName: METRICS.jobsStranded,
          dimensions: { Function: METRIC_FUNCTIONS.scaleDown },
          // A gauge: the most stranded jobs any run saw.
          statistic: 'Maximum',
          ...common,
          // A 15-minute window holds at least one scale-down run (every 5 minutes by default),
          // so a job still stranded keeps the alarm on, and the alarm clears one window after the last one is served.
          period: 900,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
        }),
      );
    }
  }
}

/**
 * `[topic]`, or for a Terraform expression `topic != null ? [topic] : []`;
 * undefined (the attribute left unset) when no topic is given.
 */
function notificationActions(topic: string | undefined): string[] | undefined {
  if (topic === undefined) return undefined;
  if (!Token.isUnresolved(topic)) return [topic];
  return Token.asList(Fn.conditional(Op.neq(topic, Token.nullValue()), [topic], []));
}

/** A SEARCH expression: one line per time series it finds. */
interface Search {
  readonly query: string;
  readonly statistic: string;
  /** Prefixed to each series' own label. @default none: the series' own label only */
  readonly label?: string;
}

interface Graph {
  readonly title: string;
  readonly searches: readonly Search[];
  /** The left axis label. */
  readonly unit: string;
}

/** The dashboard's graphs, in reading order: the job's path first, then the plumbing. */
function graphs(props: ObservabilityProps): Graph[] {
  // The namespace is quoted: it has non-alphanumeric characters.
  const byType = `{"${props.metricsNamespace}",RunnerType}`;
  const byTypeAndConclusion = `{"${props.metricsNamespace}",RunnerType,Conclusion}`;
  const byTypeAndStep = `{"${props.metricsNamespace}",RunnerType,Step}`;
  const custom = (schema: string, metric: string) => `${schema} MetricName="${metric}"`;
  // Any dimensions: scale-down chooses its own.
  const anyDimensions = (metric: string) => `Namespace="${props.metricsNamespace}" MetricName="${metric}"`;
  // Partial (token) matches: every name that contains the prefix's tokens in a row.
  const queues = `{AWS/SQS,QueueName} MetricName="ApproximateNumberOfMessagesVisible" QueueName=${props.prefix} QueueName=dlq`;
  const functions = (metric: string) => `{AWS/Lambda,FunctionName} MetricName="${metric}" FunctionName=${props.prefix}`;
  return [
    {
      title: 'Queue wait by runner type (queued to in progress)',
      unit: 'Seconds',
      searches: [
        { query: custom(byType, METRICS.queueWait), statistic: 'p50', label: 'p50' },
        { query: custom(byType, METRICS.queueWait), statistic: 'p95', label: 'p95' },
      ],
    },
    {
      title: 'Job duration by runner type and conclusion',
      unit: 'Seconds',
      searches: [
        { query: custom(byTypeAndConclusion, METRICS.jobDuration), statistic: 'p50', label: 'p50' },
        { query: custom(byTypeAndConclusion, METRICS.jobDuration), statistic: 'p90', label: 'p90' },
      ],
    },
    {
      // Written by the runners' user data, shipped by the CloudWatch agent (enable_cloudwatch_agent).
      title: 'Runner boot steps by runner type (p50; runner_start = kernel start to the runner started)',
      unit: 'Seconds',
      searches: [{ query: custom(byTypeAndStep, METRICS.runnerBoot), statistic: 'p50', label: 'p50' }],
    },
    {
      title: 'Runners launched and on-demand fallbacks by runner type',
      unit: 'Count',
      searches: [
        { query: custom(byType, METRICS.runnersLaunched), statistic: 'Sum', label: 'launched' },
        { query: custom(byType, METRICS.onDemandFallbacks), statistic: 'Sum', label: 'on-demand fallback' },
      ],
    },
    {
      title: 'Jobs deferred by the runner cap by runner type',
      unit: 'Count',
      searches: [{ query: custom(byType, METRICS.jobsDeferredByCap), statistic: 'Sum', label: 'deferred' }],
    },
    {
      title: 'Scale-down',
      unit: 'Count',
      searches: [
        { query: anyDimensions(METRICS.runnersTerminated), statistic: 'Sum', label: 'idle runners terminated' },
        { query: anyDimensions(METRICS.orphansTerminated), statistic: 'Sum', label: 'orphans terminated' },
        { query: anyDimensions(METRICS.ghostsDeregistered), statistic: 'Sum', label: 'ghosts deregistered' },
        { query: anyDimensions(METRICS.scaleDownErrors), statistic: 'Sum', label: 'errors' },
      ],
    },
    {
      title: 'Jobs still waiting for a runner, relaunched and given up (scale-down)',
      unit: 'Count',
      searches: [
        { query: anyDimensions(METRICS.jobsWaitingForRunner), statistic: 'Maximum', label: 'still queued after the boot time' },
        { query: anyDimensions(METRICS.jobsRelaunched), statistic: 'Sum', label: 'relaunched' },
        { query: anyDimensions(METRICS.jobsGivenUp), statistic: 'Sum', label: 'given up' },
      ],
    },
    {
      title: 'Jobs stranded: queued longer than job_stranded_alarm_minutes with no runner (scale-down)',
      unit: 'Count',
      searches: [{ query: anyDimensions(METRICS.jobsStranded), statistic: 'Maximum', label: 'stranded' }],
    },
    {
      title: 'Spot interruptions and deregistrations (termination watcher)',
      unit: 'Count',
      searches: [
        { query: anyDimensions(METRICS.spotInterruptions), statistic: 'Sum', label: 'spot interruptions' },
        { query: anyDimensions(METRICS.runnersDeregistered), statistic: 'Sum', label: 'runners deregistered' },
        { query: anyDimensions(METRICS.deregistrationRetries), statistic: 'Sum', label: 'busy, retried later' },
        { query: anyDimensions(METRICS.deregistrationsAbandoned), statistic: 'Sum', label: 'given up (left to scale-down)' },
      ],
    },
    {
      title: 'Spot-interrupted jobs re-run (enable_spot_interruption_rerun)',
      unit: 'Count',
      searches: [
        { query: anyDimensions(METRICS.jobsInterrupted), statistic: 'Sum', label: 'busy runner interrupted (recorded)' },
        { query: anyDimensions(METRICS.jobsRerun), statistic: 'Sum', label: 're-run requested' },
        { query: anyDimensions(METRICS.jobRerunsGivenUp), statistic: 'Sum', label: 're-run given up' },
      ],
    },
    {
      title: 'Failed webhook deliveries redelivered',
      unit: 'Count',
      searches: [
        { query: anyDimensions(METRICS.deliveriesRedelivered), statistic: 'Sum', label: 'redelivered' },
        { query: anyDimensions(METRICS.redeliveryFailures), statistic: 'Sum', label: 'redelivery refused' },
        { query: anyDimensions(METRICS.redeliveriesDeferred), statistic: 'Sum', label: 'left for the next run' },
      ],
    },
    {
      title: 'Messages in dead-letter queues',
      unit: 'Count',
      searches: [{ query: queues, statistic: 'Maximum' }],
    },
    {
      title: 'Lambda errors',
      unit: 'Count',
      searches: [{ query: functions('Errors'), statistic: 'Sum' }],
    },
    {
      title: 'Lambda duration (p90)',
      unit: 'Milliseconds',
      searches: [{ query: functions('Duration'), statistic: 'p90' }],
    },
  ];
}

/** Metric widgets reading from `region`, two per row, each half the dashboard's 24 columns wide. */
function layout(all: readonly Graph[], region: string): object[] {
  const width = 12;
  const height = 6;
  return all.map((g, i) => ({
    type: 'metric',
    x: (i % 2) * width,
    y: Math.floor(i / 2) * height,
    width,
    height,
    properties: {
      title: g.title,
      region,
      view: 'timeSeries',
      stacked: false,
      period: GRAPH_PERIOD,
      metrics: g.searches.map((s, j) => [
        { id: `e${j + 1}`, expression: `SEARCH('${s.query}', '${s.statistic}', ${GRAPH_PERIOD})`, label: s.label },
      ]),
      yAxis: { left: { min: 0, label: g.unit, showUnits: false } },
    },
  }));
}
