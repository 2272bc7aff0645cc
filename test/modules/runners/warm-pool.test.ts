import { SchedulerSchedule } from '@cdktf/provider-aws/lib/scheduler-schedule';
import { Testing } from 'cdktf';
import { GitHubRunners, GitHubRunnersProps } from '../../../modules/github-runners';
import { RunnerTypes } from '../../../modules/runners/runner-types';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { allStatements, dataSources, makeBundleDir, resources, synth, validationError } from '../helpers';

Testing.setupJest();

const NAMES = ['webhook', 'scale-up', 'scale-down', 'termination-watcher', 'syncer', 'pool'] as const;
const bundle = makeBundleDir([...NAMES]);
const code = (name: (typeof NAMES)[number]) => LambdaCode.fromBundle(name, bundle.dir);

const POOLED = RunnerTypes.fromList([
  {
    name: 'x64',
    labels: ['self-hosted', 'linux', 'x64'],
    runnersMaximumCount: 10,
    poolConfig: [
      { size: 2, scheduleExpression: 'cron(*/10 8-18 ? * MON-FRI *)', scheduleExpressionTimezone: 'Europe/Amsterdam' },
      { size: 1, scheduleExpression: 'rate(15 minutes)' },
    ],
  },
  { name: 'arm64', labels: ['self-hosted', 'linux', 'arm64'], runnerArchitecture: 'arm64' },
]);

const BASE: GitHubRunnersProps = {
  prefix: 'gh-ci',
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0'],
  githubApp: { appId: '/gh-ci/github/app-id', privateKey: '/gh-ci/github/private-key', webhookSecret: '/gh-ci/github/webhook-secret' },
  lambdaCode: {
    webhook: code('webhook'),
    scaleUp: code('scale-up'),
    scaleDown: code('scale-down'),
    terminationWatcher: code('termination-watcher'),
    syncer: code('syncer'),
    pool: code('pool'),
  },
};

function synthRunners(props: Partial<GitHubRunnersProps>) {
  return synth((scope) => {
    new GitHubRunners(scope, 'runners', { ...BASE, ...props });
  });
}

describe('WarmPool', () => {
  const { json, stack } = synthRunners({ runnerTypes: POOLED, poolRunnerOwner: 'acme' });
  const functions = Object.values(resources(stack, 'aws_lambda_function')) as any[];
  const pool = functions.find((f) => f.function_name === 'gh-ci-pool');

  it('should create one pool function, one top-up at a time, that is not retried', () => {
    expect(pool).toMatchObject({ reserved_concurrent_executions: 1, timeout: 60 });
    const invokeConfigs = Object.values(resources(stack, 'aws_lambda_function_event_invoke_config')) as any[];
    expect(invokeConfigs.filter((c) => String(c.function_name).includes('pool'))).toEqual([expect.objectContaining({ maximum_retry_attempts: 0 })]);
  });

  it('should tell the function where pool runners register and how every type launches', () => {
    expect(pool.environment.variables).toMatchObject({ PREFIX: 'gh-ci', POOL_RUNNER_OWNER: 'acme', RUNNER_GROUP_NAME: 'Default', ENABLE_JIT_CONFIG: 'true', DRY_RUN: 'false' });
    const config = pool.environment.variables.RUNNER_TYPES_CONFIG as string;
    expect(config).toMatch(/^\$\{jsonencode\(\{ for key, val in local\.[^ :]+ ?: key => \{ labels = val\.labels, launch_template_id = aws_launch_template\.[^[]+\[key\]\.id/);
    expect(config).toContain('runners_maximum_count = val.runners_maximum_count');
    // Only pooled types: a Lambda environment holds 4 KB.
    expect(config).toMatch(/ if length\(val\.pool_config\) > 0 \}\)\}$/);
  });

  it('should schedule one top-up per pool window, in its time zone, with the scheduled time in the input', () => {
    const windowsLocal = Object.entries(stack.locals ?? {}).find(([name]) => name.includes('pool_windows'));
    expect(windowsLocal?.[1]).toContain('t.pool_config');
    expect(json).toHaveResourceWithProperties(SchedulerSchedule, {
      name: 'gh-ci-pool_${each.key}',
      schedule_expression: '${each.value.schedule_expression}',
      schedule_expression_timezone: '${each.value.timezone}',
      flexible_time_window: { mode: 'OFF' },
    });
    const schedule = Object.values(resources(stack, 'aws_scheduler_schedule'))[0] as any;
    expect(schedule.for_each).toMatch(/^\$\{local\..*pool_windows/);
    expect(schedule.target.input).toContain('<aws.scheduler.scheduled-time>');
    expect(schedule.target.retry_policy).toEqual({ maximum_retry_attempts: 0, maximum_event_age_in_seconds: 60 });
    expect(schedule.target.input).not.toContain('jsonencode');
  });

  it('should let the scheduler role only invoke the pool function', () => {
    const statements = allStatements(stack);
    expect(statements.find((s) => s.sid === 'InvokePoolFunction')).toMatchObject({ actions: ['lambda:InvokeFunction'] });
    expect(statements.find((s) => s.sid === 'SchedulerAssumeRole')).toMatchObject({ principals: [{ type: 'Service', identifiers: ['scheduler.amazonaws.com'] }] });
  });

  it('should only send top-ups to the job queues: scale-up is the one launcher per type (no EC2, SSM or GitHub)', () => {
    // GIVEN the pool function's own policy document
    const [, doc] = Object.entries(dataSources(stack, 'aws_iam_policy_document')).find(([id]) => id.includes('pool_lambda') && id.includes('policy-document'))!;
    const statements = (doc as any).statement as any[];
    const actions = statements.flatMap((s) => s.actions as string[]);

    // THEN it sends to the job queues and encrypts for them, and may not launch, tag, terminate or write SSM
    expect(statements.find((s) => s.sid === 'SendPoolTopUps')).toMatchObject({ actions: ['sqs:SendMessage'], resources: expect.stringContaining('aws_sqs_queue.') });
    // (the SQS Developer Guide asks of an SSE-KMS producer kms:GenerateDataKey and kms:Decrypt)
    expect(statements.find((s) => s.sid === 'EncryptPoolTopUps')?.actions).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
    expect(actions.filter((a) => /^ec2:|^ssm:(Put|Delete|GetParameter$)/.test(a))).toEqual([]);
    // AND its environment names each type's queue
    expect(pool.environment.variables.JOB_QUEUE_URLS).toMatch(/aws_sqs_queue\.\S+\[key\]\.url/);
  });

  it('should alarm on the pool function errors', () => {
    const alarms = Object.values(resources(stack, 'aws_cloudwatch_metric_alarm')) as any[];
    expect(alarms.some((a) => String(a.alarm_name).includes('pool') && a.metric_name === 'Errors')).toBe(true);
  });

  it('should create no pool when no runner type has one', () => {
    const { stack: plain } = synthRunners({});
    expect((Object.values(resources(plain, 'aws_lambda_function')) as any[]).map((f) => f.function_name)).not.toContain('gh-ci-pool');
    expect(resources(plain, 'aws_scheduler_schedule')).toEqual({});
  });

  it('should require poolRunnerOwner when a type has a pool', () => {
    const error = validationError(() => synthRunners({ runnerTypes: POOLED }));
    expect(error.problems).toContain('a runner type has a poolConfig, so poolRunnerOwner must say where pool runners register (an organisation, or owner/repo)');
  });

  it('should reject a bad pool window', () => {
    const error = validationError(() =>
      RunnerTypes.fromList([{ name: 'x64', labels: ['x64'], poolConfig: [{ size: 0, scheduleExpression: 'every day', scheduleExpressionTimezone: ' ' }] }]),
    );
    expect(error.problems).toEqual([
      'runner type "x64": poolConfig[0].size must be a whole number, 1 or more, got 0',
      'runner type "x64": poolConfig[0].scheduleExpression must be rate(1 minute), rate(N minutes|hours|days) or a six-field cron(…) with "?" in day-of-month or day-of-week, got "every day"',
      'runner type "x64": poolConfig[0].scheduleExpressionTimezone must be an IANA time zone name (UTC or Area/Location), got " "',
    ]);
  });

  it('should reject a pool runner owner that is neither an organisation nor owner/repo', () => {
    const error = validationError(() => synthRunners({ runnerTypes: POOLED, poolRunnerOwner: 'https://github.com/acme' }));
    expect(error.problems).toEqual(['runnerOwner must be an organisation login or owner/repo, got "https://github.com/acme"']);
  });
});
