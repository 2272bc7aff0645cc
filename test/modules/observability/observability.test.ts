import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { TerraformVariable, Testing, Token } from 'cdktf';
import { Construct } from 'constructs';
import { METRICS, Observability, ObservabilityProps } from '../../../modules/observability/observability';
import { BOOT_METRIC_NAME } from '../../../modules/contract/metrics';
import { JobQueues } from '../../../modules/runners/job-queues';
import { RunnerTypes } from '../../../modules/runners/runner-types';
import { EncryptedQueue } from '../../../modules/shared/encrypted-queue';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { ModuleFunction } from '../../../modules/shared/lambda-function';
import { logicalId, onlyResource, resources, synth, Synthesized, testKey, validationError } from '../helpers';

Testing.setupJest();

const CODE = LambdaCode.fromS3({ bucket: 'artifacts', key: 'lambdas/fn.zip', objectVersion: 'v1' });
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ci-alerts';
const RUNNER_TYPES = ['small', 'arm'];

interface Scene {
  /** Make the prefix a Terraform variable (as the HCL module does). @default false */
  readonly prefixVariable?: boolean;
  /** Overrides for the Observability props. */
  readonly props?: (scope: Construct) => Partial<ObservabilityProps>;
}

/**
 * As GitHubRunners wires it: per-type job queues and a per-type function
 * (for_each), plus a single queue pair and a single function.
 */
function synthObservability(scene: Scene = {}) {
  return synth((scope: Construct) => {
    const prefix = scene.prefixVariable ? new TerraformVariable(scope, 'prefix', { type: 'string' }).stringValue : 'gh-ci';
    const key = testKey(scope, prefix);
    const runnerTypes = RunnerTypes.fromList(RUNNER_TYPES.map((name) => ({ name, labels: ['linux', name] }))).bind(scope);
    const queues = new JobQueues(scope, 'queues', { prefix, runnerTypes, key });
    const retry = new EncryptedQueue(scope, 'retry', { name: `${prefix}-termination-retry`, key });
    const webhook = new ModuleFunction(scope, 'webhook', { functionName: `${prefix}-webhook`, description: 'w', code: CODE, key, statements: [] });
    const it = runnerTypes.iterator();
    const scaleUp = new ModuleFunction(scope, 'scale-up', {
      functionName: `${prefix}-scale-up-${it.key}`,
      description: 's',
      code: CODE,
      key,
      statements: [],
      forEach: it,
    });
    new Observability(scope, 'observability', {
      prefix,
      region: key.region,
      metricsNamespace: `GitHubRunners/${prefix}`,
      deadLetterQueues: [queues.queues.deadLetterQueue, retry.deadLetterQueue],
      functions: [webhook, scaleUp],
      ...scene.props?.(scope),
    });
  });
}

interface Widget {
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  properties: { title: string; region: string; metrics: { id: string; expression: string; label?: string }[][] };
}

function widgets(stack: Synthesized): Widget[] {
  return (JSON.parse(onlyResource(stack, 'aws_cloudwatch_dashboard').config.dashboard_body as string) as { widgets: Widget[] }).widgets;
}

/** The widget with this title and its SEARCH expressions. */
function graph(stack: Synthesized, title: RegExp): { widget: Widget; expressions: string[] } {
  const found = widgets(stack).filter((w) => title.test(w.properties.title));
  expect(found.map((w) => w.properties.title)).toHaveLength(1);
  return { widget: found[0], expressions: found[0].properties.metrics.flat().map((m) => m.expression) };
}

/** Every alarm, by alarm_name. */
function alarmsByName(stack: Synthesized): Record<string, any> {
  return Object.fromEntries(Object.values(resources(stack, 'aws_cloudwatch_metric_alarm')).map((a: any) => [a.alarm_name, a]));
}

describe('Observability', () => {
  const { json, stack } = synthObservability();
  const regionId = logicalId(stack, 'aws_region', 'key_region', 'data');
  const jobsDlq = `aws_sqs_queue.${logicalId(stack, 'aws_sqs_queue', 'queues_jobs_dlq')}`;
  const retryDlq = `aws_sqs_queue.${logicalId(stack, 'aws_sqs_queue', 'retry_dlq')}`;
  const webhookFn = `aws_lambda_function.${logicalId(stack, 'aws_lambda_function', 'webhook_function')}`;
  const scaleUpFn = `aws_lambda_function.${logicalId(stack, 'aws_lambda_function', 'scale-up_function')}`;

  describe('dashboard', () => {
    const all = widgets(stack);
    const expressions = all.flatMap((w) => w.properties.metrics.flat().map((m) => m.expression));

    it('should be named <prefix>-github-runners', () => {
      expect(json).toHaveResourceWithProperties(CloudwatchDashboard, { dashboard_name: 'gh-ci-github-runners' });
    });

    it("should read every graph from the module's region", () => {
      expect(all.length).toBeGreaterThanOrEqual(8);
      for (const w of all) expect(w.properties.region).toBe(`\${data.aws_region.${regionId}.name}`);
    });

    it('should graph every metric with a SEARCH expression and never name a runner type', () => {
      for (const e of expressions) expect(e).toMatch(/^SEARCH\('.+', '(Sum|Maximum|p50|p90|p95)', 300\)$/);
      for (const metric of Object.values(METRICS)) expect(expressions.some((e) => e.includes(`MetricName="${metric}"`))).toBe(true);
      const body = onlyResource(stack, 'aws_cloudwatch_dashboard').config.dashboard_body as string;
      for (const type of RUNNER_TYPES) expect(body).not.toMatch(new RegExp(`\\b${type}\\b`));
    });

    it('should show the queue wait (queued to in progress) at p50 and p95, one line per runner type', () => {
      const { widget, expressions: e } = graph(stack, /^Queue wait/);
      const query = `{"GitHubRunners/gh-ci",RunnerType} MetricName="QueueWaitSeconds"`;
      expect(e).toEqual([`SEARCH('${query}', 'p50', 300)`, `SEARCH('${query}', 'p95', 300)`]);
      expect(widget.properties.metrics.flat().map((m) => m.label)).toEqual(['p50', 'p95']);
    });

    it('should show the job duration at p50 and p90, one line per runner type and conclusion', () => {
      const { expressions: e } = graph(stack, /^Job duration/);
      const query = `{"GitHubRunners/gh-ci",RunnerType,Conclusion} MetricName="JobDurationSeconds"`;
      expect(e).toEqual([`SEARCH('${query}', 'p50', 300)`, `SEARCH('${query}', 'p90', 300)`]);
    });

    it('should sum runners launched and on-demand fallbacks per runner type', () => {
      const { expressions: e } = graph(stack, /^Runners launched/);
      expect(e).toEqual([
        `SEARCH('{"GitHubRunners/gh-ci",RunnerType} MetricName="RunnersLaunched"', 'Sum', 300)`,
        `SEARCH('{"GitHubRunners/gh-ci",RunnerType} MetricName="OnDemandFallbacks"', 'Sum', 300)`,
      ]);
    });

    it('should sum the webhook deliveries redelivered, refused and left for the next run', () => {
      expect(graph(stack, /^Failed webhook deliveries redelivered/).expressions).toEqual([
        `SEARCH('Namespace="GitHubRunners/gh-ci" MetricName="DeliveriesRedelivered"', 'Sum', 300)`,
        `SEARCH('Namespace="GitHubRunners/gh-ci" MetricName="RedeliveryFailures"', 'Sum', 300)`,
        `SEARCH('Namespace="GitHubRunners/gh-ci" MetricName="RedeliveriesDeferred"', 'Sum', 300)`,
      ]);
    });

    it('should sum jobs deferred by the cap per runner type', () => {
      expect(graph(stack, /^Jobs deferred/).expressions).toEqual([
        `SEARCH('{"GitHubRunners/gh-ci",RunnerType} MetricName="JobsDeferredByCap"', 'Sum', 300)`,
      ]);
    });

    it("should sum scale-down's counters in the namespace, whatever their dimensions", () => {
      expect(graph(stack, /^Scale-down/).expressions).toEqual(
        ['RunnersTerminated', 'OrphansTerminated', 'GhostsDeregistered', 'ScaleDownErrors'].map(
          (m) => `SEARCH('Namespace="GitHubRunners/gh-ci" MetricName="${m}"', 'Sum', 300)`,
        ),
      );
    });

    it('should graph the jobs still waiting, relaunched and given up', () => {
      expect(graph(stack, /^Jobs still waiting/).expressions).toEqual([
        `SEARCH('Namespace="GitHubRunners/gh-ci" MetricName="JobsWaitingForRunner"', 'Maximum', 300)`,
        `SEARCH('Namespace="GitHubRunners/gh-ci" MetricName="JobsRelaunched"', 'Sum', 300)`,
        `SEARCH('Namespace="GitHubRunners/gh-ci" MetricName="JobsGivenUp"', 'Sum', 300)`,
      ]);
    });

    it('should graph the stranded jobs as a gauge (Maximum)', () => {
      expect(graph(stack, /^Jobs stranded/).expressions).toEqual([`SEARCH('Namespace="GitHubRunners/gh-ci" MetricName="JobsStranded"', 'Maximum', 300)`]);
    });

    it("should show the depth of the module's DLQs", () => {
      expect(graph(stack, /dead-letter/).expressions).toEqual([
        `SEARCH('{AWS/SQS,QueueName} MetricName="ApproximateNumberOfMessagesVisible" QueueName=gh-ci QueueName=dlq', 'Maximum', 300)`,
      ]);
    });

    it("should show the errors and the p90 duration of the module's functions", () => {
      expect(graph(stack, /^Lambda errors/).expressions).toEqual([`SEARCH('{AWS/Lambda,FunctionName} MetricName="Errors" FunctionName=gh-ci', 'Sum', 300)`]);
      expect(graph(stack, /^Lambda duration/).expressions).toEqual([`SEARCH('{AWS/Lambda,FunctionName} MetricName="Duration" FunctionName=gh-ci', 'p90', 300)`]);
    });

    it('should lay the graphs out inside 24 columns without overlaps, with unique ids per graph', () => {
      const cells = new Set<string>();
      for (const w of all) {
        expect(w.x + w.width).toBeLessThanOrEqual(24);
        for (let x = w.x; x < w.x + w.width; x++) for (let y = w.y; y < w.y + w.height; y++) cells.add(`${x},${y}`);
        const ids = w.properties.metrics.flat().map((m) => m.id);
        expect(new Set(ids).size).toBe(ids.length);
      }
      expect(cells.size).toBe(all.reduce((n, w) => n + w.width * w.height, 0));
    });

    it('should interpolate a prefix that is a Terraform variable', () => {
      const { json: tokenJson, stack: tokenStack } = synthObservability({ prefixVariable: true });
      const dashboard = onlyResource(tokenStack, 'aws_cloudwatch_dashboard').config;
      expect(tokenJson).not.toContain('TfToken');
      expect(dashboard.dashboard_name).toBe('${var.prefix}-github-runners');
      // Still one JSON document: the interpolations sit inside its strings.
      const parsed = widgets(tokenStack).flatMap((w) => w.properties.metrics.flat().map((m) => m.expression));
      expect(parsed).toContain(`SEARCH('{"GitHubRunners/\${var.prefix}",RunnerType} MetricName="QueueWaitSeconds"', 'p95', 300)`);
      expect(parsed).toContain(`SEARCH('{AWS/Lambda,FunctionName} MetricName="Errors" FunctionName=\${var.prefix}', 'Sum', 300)`);
    });
  });

  describe('alarms', () => {
    const alarms = alarmsByName(stack);

    it('should create one alarm per DLQ and per function resource', () => {
      expect(Object.keys(alarms).sort()).toEqual(
        [
          `\${${jobsDlq}[each.key].name}-not-empty`,
          `\${${retryDlq}.name}-not-empty`,
          `\${${webhookFn}.function_name}-errors`,
          `\${${scaleUpFn}[each.key].function_name}-errors`,
        ].sort(),
      );
    });

    it('should alarm as soon as a single DLQ holds a message', () => {
      expect(json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
        alarm_name: `\${${retryDlq}.name}-not-empty`,
        namespace: 'AWS/SQS',
        metric_name: 'ApproximateNumberOfMessagesVisible',
        dimensions: { QueueName: `\${${retryDlq}.name}` },
        statistic: 'Maximum',
        comparison_operator: 'GreaterThanThreshold',
        threshold: 0,
        period: 300,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        treat_missing_data: 'notBreaching',
      });
      expect(alarms[`\${${retryDlq}.name}-not-empty`].for_each).toBeUndefined();
    });

    it("should give each runner type's DLQ its own alarm, with the queues' for_each", () => {
      expect(json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
        for_each: '${local.runner_types}',
        alarm_name: `\${${jobsDlq}[each.key].name}-not-empty`,
        dimensions: { QueueName: `\${${jobsDlq}[each.key].name}` },
        threshold: 0,
        treat_missing_data: 'notBreaching',
      });
    });

    it('should alarm on any error of a single function, summed over 5 minutes', () => {
      expect(json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
        alarm_name: `\${${webhookFn}.function_name}-errors`,
        namespace: 'AWS/Lambda',
        metric_name: 'Errors',
        dimensions: { FunctionName: `\${${webhookFn}.function_name}` },
        statistic: 'Sum',
        comparison_operator: 'GreaterThanThreshold',
        threshold: 0,
        period: 300,
        evaluation_periods: 1,
        treat_missing_data: 'notBreaching',
      });
      expect(alarms[`\${${webhookFn}.function_name}-errors`].for_each).toBeUndefined();
    });

    it("should give each runner type's scale-up function its own alarm, with the function's for_each", () => {
      expect(json).toHaveResourceWithProperties(CloudwatchMetricAlarm, {
        for_each: '${local.runner_types}',
        alarm_name: `\${${scaleUpFn}[each.key].function_name}-errors`,
        dimensions: { FunctionName: `\${${scaleUpFn}[each.key].function_name}` },
        metric_name: 'Errors',
      });
    });

    it("should alarm on scale-down's own errors only when asked, after 30 minutes of them", () => {
      expect(Object.keys(alarms).some((n) => n.includes('scale-down-failing'))).toBe(false);
      const { stack: withScaleDown } = synthObservability({ props: () => ({ scaleDownErrorsAlarm: true }) });
      expect(alarmsByName(withScaleDown)['gh-ci-scale-down-failing']).toMatchObject({
        namespace: 'GitHubRunners/gh-ci',
        metric_name: 'ScaleDownErrors',
        dimensions: { Function: 'scale-down' },
        statistic: 'Sum',
        period: 900,
        evaluation_periods: 2,
        datapoints_to_alarm: 2,
        comparison_operator: 'GreaterThanThreshold',
        threshold: 0,
        treat_missing_data: 'notBreaching',
      });
    });

    it('should alarm on the first job scale-down gives up on, only when asked', () => {
      expect(Object.keys(alarms).some((n) => n.includes('jobs-given-up'))).toBe(false);
      const { stack: withGiveUps } = synthObservability({ props: () => ({ jobsGivenUpAlarm: true }) });
      expect(alarmsByName(withGiveUps)['gh-ci-jobs-given-up']).toMatchObject({
        namespace: 'GitHubRunners/gh-ci',
        metric_name: 'JobsGivenUp',
        dimensions: { Function: 'scale-down' },
        statistic: 'Sum',
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        comparison_operator: 'GreaterThanThreshold',
        threshold: 0,
      });
    });

    it('should alarm on any stranded job, the most any run saw in 15 minutes, only when asked', () => {
      expect(Object.keys(alarms).some((n) => n.includes('jobs-stranded'))).toBe(false);
      const { stack: withStranded } = synthObservability({ props: () => ({ jobsStrandedAlarm: true }) });
      expect(alarmsByName(withStranded)['gh-ci-jobs-stranded']).toMatchObject({
        namespace: 'GitHubRunners/gh-ci',
        metric_name: 'JobsStranded',
        dimensions: { Function: 'scale-down' },
        statistic: 'Maximum',
        period: 900,
        evaluation_periods: 1,
        datapoints_to_alarm: 1,
        comparison_operator: 'GreaterThanThreshold',
        threshold: 0,
        treat_missing_data: 'notBreaching',
      });
    });

    it('should notify the topic from the jobs given up and jobs stranded alarms too', () => {
      const { stack: withTopic } = synthObservability({ props: () => ({ jobsGivenUpAlarm: true, jobsStrandedAlarm: true, alarmSnsTopicArn: TOPIC }) });
      const byName = alarmsByName(withTopic);
      for (const name of ['gh-ci-jobs-given-up', 'gh-ci-jobs-stranded']) expect(byName[name]).toMatchObject({ alarm_actions: [TOPIC], ok_actions: [TOPIC] });
    });

    it('should notify nobody when no topic is given', () => {
      for (const alarm of Object.values(alarms)) {
        expect(alarm.alarm_actions).toBeUndefined();
        expect(alarm.ok_actions).toBeUndefined();
      }
    });

    it('should notify the topic on ALARM and on OK when one is given', () => {
      const { stack: withTopic } = synthObservability({ props: () => ({ alarmSnsTopicArn: TOPIC }) });
      const all = Object.values(alarmsByName(withTopic));
      expect(all).toHaveLength(4);
      for (const alarm of all) expect(alarm).toMatchObject({ alarm_actions: [TOPIC], ok_actions: [TOPIC] });
    });

    it('should notify a topic given as a nullable variable only when it is set', () => {
      const { stack: withVariable } = synthObservability({
        props: (scope) => ({
          alarmSnsTopicArn: new TerraformVariable(scope, 'alarm_topic', { type: 'string', default: Token.nullValue(), nullable: true }).stringValue,
        }),
      });
      const actions = '${(var.alarm_topic != null) ? [var.alarm_topic] : []}';
      for (const alarm of Object.values(alarmsByName(withVariable))) expect(alarm).toMatchObject({ alarm_actions: actions, ok_actions: actions });
    });

    it('should use the given period, evaluation periods and tags', () => {
      const { stack: custom } = synthObservability({ props: () => ({ alarmPeriodSeconds: 60, alarmEvaluationPeriods: 3, tags: { team: 'ci' } }) });
      for (const alarm of Object.values(alarmsByName(custom))) {
        expect(alarm).toMatchObject({ period: 60, evaluation_periods: 3, datapoints_to_alarm: 3, tags: { team: 'ci' } });
      }
    });
  });

  describe('validation', () => {
    it('should reject bad values in one error that names each', () => {
      const error = validationError(() =>
        synthObservability({
          props: () => ({
            prefix: 'gh ci',
            metricsNamespace: 'AWS/Lambda',
            alarmSnsTopicArn: 'arn:aws:sqs:eu-west-1:123456789012:q',
            alarmPeriodSeconds: 90,
            alarmEvaluationPeriods: 0,
          }),
        }),
      );
      expect(error.construct).toBe('Observability');
      expect(error.problems).toEqual([
        'prefix must be letters, digits, hyphens or underscores, got "gh ci"',
        'metricsNamespace must be 1 to 255 of A-Z a-z 0-9 . _ - / # : or space, not starting with AWS/, got "AWS/Lambda"',
        'alarmSnsTopicArn must be an SNS topic ARN, got "arn:aws:sqs:eu-west-1:123456789012:q"',
        'alarmPeriodSeconds must be a positive multiple of 60, got 90',
        'alarmEvaluationPeriods must be an integer ≥ 1, got 0',
      ]);
    });

    it('should reject an evaluation window longer than a day', () => {
      const error = validationError(() => synthObservability({ props: () => ({ alarmPeriodSeconds: 3600, alarmEvaluationPeriods: 25 }) }));
      expect(error.problems).toEqual(['alarmPeriodSeconds × alarmEvaluationPeriods must be at most 86400 (one day), got 90000']);
    });

    it('should leave values that are Terraform expressions to Terraform', () => {
      expect(() =>
        synthObservability({
          prefixVariable: true,
          props: (scope) => ({
            alarmSnsTopicArn: new TerraformVariable(scope, 'alarm_topic', { type: 'string' }).stringValue,
            alarmPeriodSeconds: new TerraformVariable(scope, 'alarm_period', { type: 'number' }).numberValue,
          }),
        }),
      ).not.toThrow();
    });
  });
});

describe('METRICS', () => {
  // The dashboard searches by metric name; a renamed metric in a Lambda would
  // leave a graph silently empty. Each name must appear in a Lambda as an EMF
  // key (`Name:`) or a counter name (`'Name'`).
  const { readdirSync, readFileSync } = require('node:fs') as typeof import('node:fs');
  const { join } = require('node:path') as typeof import('node:path');
  const lambdas = join(__dirname, '../../../lambdas');
  const sources = (readdirSync(lambdas, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(join(lambdas, f), 'utf8'))
    .join('\n');

  it.each(Object.values(METRICS).filter((name) => name !== BOOT_METRIC_NAME))('should graph %s, which a Lambda emits', (name) => {
    expect(sources).toMatch(new RegExp(`\\b${name}\\s*:|'${name}'`));
  });

  it('should graph the boot metric the runners\' user data writes', () => {
    // test/modules/runners/user-data.test.ts checks the EMF lines the script writes under this name.
    expect(METRICS.runnerBoot).toBe(BOOT_METRIC_NAME);
    expect(readFileSync(join(__dirname, '../../../modules/runners/runner-instances.ts'), 'utf8')).toMatch(/boot_metric_name: BOOT_METRIC_NAME/);
  });
});
