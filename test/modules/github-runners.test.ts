import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { GitHubRunners, GitHubRunnersProps } from '../../modules/github-runners';
import { RunnerTypes } from '../../modules/runners/runner-types';
import { LambdaCode } from '../../modules/shared/lambda-code';
import { allStatements, makeBundleDir, resources, synth, validationError } from './helpers';
import { EnvReader } from '../../lambdas/shared/config';
import { readGitHubAppSettings } from '../../lambdas/shared/github/app-settings';
import { loadRedeliveryConfig } from '../../lambdas/redelivery/config';

Testing.setupJest();

const bundle = makeBundleDir(['webhook', 'scale-up', 'scale-down', 'termination-watcher', 'syncer', 'pool', 'redelivery']);

const VALID: GitHubRunnersProps = {
  prefix: 'gh-ci',
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0'],
  githubApp: {
    appId: '/gh-ci/github/app-id',
    privateKey: '/gh-ci/github/private-key',
    webhookSecret: '/gh-ci/github/webhook-secret',
  },
  lambdaCode: {
    webhook: LambdaCode.fromBundle('webhook', bundle.dir),
    scaleUp: LambdaCode.fromBundle('scale-up', bundle.dir),
    scaleDown: LambdaCode.fromBundle('scale-down', bundle.dir),
    terminationWatcher: LambdaCode.fromBundle('termination-watcher', bundle.dir),
    syncer: LambdaCode.fromBundle('syncer', bundle.dir),
    redelivery: LambdaCode.fromBundle('redelivery', bundle.dir),
  },
};

function synthRunners(props: Partial<GitHubRunnersProps> = {}) {
  return synth((scope) => {
    new GitHubRunners(scope, 'runners', { ...VALID, ...props });
  });
}

describe('GitHubRunners', () => {
  describe('IAM boundaries and access for jobs (issue #10 item 5)', () => {
    const BOUNDARY = 'arn:aws:iam::123456789012:policy/ci-boundary';

    it('should give every role it creates the path and permissions boundary', () => {
      const { stack } = synthRunners({ roles: { path: '/ci/', permissionsBoundary: BOUNDARY }, runnerTypes: RunnerTypes.fromList([{ name: 'small', labels: ['linux'], poolConfig: [{ size: 1, scheduleExpression: 'rate(1 hour)' }] }]), poolRunnerOwner: 'my-org', lambdaCode: { ...VALID.lambdaCode, pool: LambdaCode.fromBundle('pool', bundle.dir) } });
      const roles = Object.entries(resources(stack, 'aws_iam_role'));
      // webhook, scale-up, scale-down, termination watcher, syncer, pool, pool scheduler, runner
      expect(roles.length).toBeGreaterThanOrEqual(8);
      for (const [id, role] of roles) expect({ id, path: role.path, boundary: role.permissions_boundary }).toEqual({ id, path: '/ci/', boundary: BOUNDARY });
    });

    it('should leave path and boundary unset by default', () => {
      for (const role of Object.values(resources(synthRunners().stack, 'aws_iam_role'))) {
        expect(role.path).toBeUndefined();
        expect(role.permissions_boundary).toBeUndefined();
      }
    });

    it('should create no role but through moduleRole, which applies the settings', () => {
      const { execFileSync } = jest.requireActual<typeof import('node:child_process')>('node:child_process');
      const hits = execFileSync('grep', ['-rln', 'new IamRole(', 'modules'], { cwd: join(__dirname, '..', '..'), encoding: 'utf8' }).trim().split('\n');
      expect(hits).toEqual(['modules/shared/iam.ts']);
    });

    it('should attach the managed policies and, when asked, Session Manager\'s to the runner role, and set the profile path', () => {
      const { stack } = synthRunners({
        instances: { managedPolicyArns: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'], enableSsm: true, instanceProfilePath: '/ci/profiles/' },
      });
      const attachments = Object.values(resources(stack, 'aws_iam_role_policy_attachment'));
      expect(attachments.map((a) => a.policy_arn)).toEqual([
        expect.stringContaining('element(["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"], count.index)'),
        expect.stringMatching(/^arn:\$\{data\.aws_partition\.[^.]+\.partition\}:iam::aws:policy\/AmazonSSMManagedInstanceCore$/),
      ]);
      expect(attachments.map((a) => a.count)).toEqual(['${length(["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])}', 1]);
      expect(Object.values(resources(stack, 'aws_iam_instance_profile'))[0].path).toBe('/ci/profiles/');
      // Off by default.
      const plain = Object.values(resources(synthRunners().stack, 'aws_iam_role_policy_attachment'));
      expect(plain.map((a) => a.count)).toEqual(['${length([])}', 0]);
    });

    it('should render given egress rules on the managed group', () => {
      const { stack } = synthRunners({ instances: { egressRules: [{ protocol: 'tcp', fromPort: 443, toPort: 443, prefixListIds: ['pl-123'], description: 'S3' }] } });
      const group = Object.values(resources(stack, 'aws_security_group'))[0];
      expect(group.egress).toEqual([expect.objectContaining({ protocol: 'tcp', from_port: 443, to_port: 443, prefix_list_ids: ['pl-123'], description: 'S3' })]);
    });

    it('should reject a bad path, boundary or policy ARN, naming each', () => {
      expect(validationError(() => synthRunners({ roles: { path: 'ci', permissionsBoundary: 'ci-boundary' } })).problems).toEqual([
        'roles.path must start and end with "/", got "ci"',
        'roles.permissionsBoundary must be an IAM policy ARN, got "ci-boundary"',
      ]);
      expect(validationError(() => synthRunners({ instances: { instanceProfilePath: '/ci', managedPolicyArns: ['ReadOnlyAccess'] } })).problems).toEqual([
        'instanceProfilePath must start and end with "/", got "/ci"',
        'managedPolicyArns must hold IAM policy ARNs (arn:aws:iam::aws:policy/… or arn:aws:iam::<account>:policy/…), got "ReadOnlyAccess"',
      ]);
    });
  });

  /** Issue #10 item 5: ghesSslVerify (terraform-aws-github-runner `ghes_ssl_verify`). */
  describe('ghesSslVerify', () => {
    const GHES = 'https://ghes.example.com';
    const withPool = (scaleUp: GitHubRunnersProps['scaleUp']) =>
      synthRunners({
        scaleUp,
        runnerTypes: RunnerTypes.fromList([{ name: 'small', labels: ['linux'], poolConfig: [{ size: 1, scheduleExpression: 'rate(1 hour)' }] }]),
        poolRunnerOwner: 'my-org',
        lambdaCode: { ...VALID.lambdaCode, pool: LambdaCode.fromBundle('pool', bundle.dir) },
      }).stack;
    const functions = (stack: ReturnType<typeof withPool>) => Object.values(resources(stack, 'aws_lambda_function')) as any[];
    /** The functions that sign in to GitHub as the App: every one of them calls the GitHub server. */
    const githubCallers = (stack: ReturnType<typeof withPool>) => functions(stack).filter((f) => f.environment.variables.GITHUB_APP_KEY_SSM_PARAMETER_NAME !== undefined);
    const userDataOf = (stack: ReturnType<typeof withPool>) => (Object.values(resources(stack, 'aws_launch_template'))[0] as any).user_data as string;

    it('should give every function that calls GitHub GHES_SSL_VERIFY, and the runners ghes_ssl_verify, true by default', () => {
      const stack = withPool(undefined);
      expect(githubCallers(stack).map((f) => f.function_name).sort()).toEqual(
        ['gh-ci-pool', 'gh-ci-scale-down', 'gh-ci-scale-up_${each.key}', 'gh-ci-termination-watcher', 'gh-ci-webhook-redelivery'].sort(),
      );
      for (const f of githubCallers(stack)) expect({ fn: f.function_name, verify: f.environment.variables.GHES_SSL_VERIFY }).toEqual({ fn: f.function_name, verify: 'true' });
      // The webhook and the syncer call no GitHub server of the caller's (the syncer reads github.com releases).
      for (const f of functions(stack).filter((f) => !githubCallers(stack).includes(f))) expect(f.environment.variables.GHES_SSL_VERIFY).toBeUndefined();
      expect(userDataOf(stack)).toMatch(/"ghes_ssl_verify" = true\b/);
    });

    it('should turn verification off in every function that calls GitHub, as their own config loaders read it, and on the runners', () => {
      const stack = withPool({ ghesUrl: GHES, ghesSslVerify: false });
      const callers = githubCallers(stack);
      expect(callers).toHaveLength(5);
      for (const f of callers) {
        const env = f.environment.variables as Record<string, string>;
        expect({ fn: f.function_name, verify: env.GHES_SSL_VERIFY, url: env.GHES_URL }).toEqual({ fn: f.function_name, verify: 'false', url: GHES });
        // What the Lambda makes of it: the loader each handler uses.
        const tlsVerify = f.function_name === 'gh-ci-webhook-redelivery' ? loadRedeliveryConfig(env).tlsVerify : readGitHubAppSettings(new EnvReader(env)).tlsVerify;
        expect({ fn: f.function_name, tlsVerify }).toEqual({ fn: f.function_name, tlsVerify: false });
      }
      expect(userDataOf(stack)).toMatch(/"ghes_ssl_verify" = false\b/);
    });

    it('should refuse ghesSslVerify false without ghesUrl, naming both', () => {
      expect(validationError(() => synthRunners({ scaleUp: { ghesSslVerify: false } })).problems).toEqual([
        'scaleUp.ghesSslVerify is false but scaleUp.ghesUrl is not set: certificate checks can be turned off only for a GitHub Enterprise Server; set scaleUp.ghesUrl, or leave scaleUp.ghesSslVerify true',
      ]);
      expect(() => synthRunners({ scaleUp: { ghesUrl: GHES, ghesSslVerify: false } })).not.toThrow();
      expect(() => synthRunners({ scaleUp: { ghesSslVerify: true } })).not.toThrow();
    });
  });

  describe('webhook redelivery', () => {
    const functionNames = (stack: ReturnType<typeof synthRunners>['stack']) => Object.values(resources(stack, 'aws_lambda_function')).map((f: any) => f.function_name);

    it('should redeliver failed deliveries by default, reading the App parameters and the GHES URL of scale-up', () => {
      const { stack } = synthRunners({ scaleUp: { ghesUrl: 'https://ghes.example.com' } });
      const fn = Object.values(resources(stack, 'aws_lambda_function')).find((f: any) => f.function_name === 'gh-ci-webhook-redelivery') as any;
      expect(fn.environment.variables).toMatchObject({
        GITHUB_APP_ID_SSM_PARAMETER_NAME: '/gh-ci/github/app-id',
        GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/gh-ci/github/private-key',
        GHES_URL: 'https://ghes.example.com',
      });
      expect(Object.values(resources(stack, 'aws_cloudwatch_event_rule')).map((r: any) => r.name)).toContain('gh-ci-webhook-redelivery');
    });

    it('should leave the redelivery out with enabled: false', () => {
      expect(functionNames(synthRunners({ webhookRedelivery: { enabled: false } }).stack)).not.toContain('gh-ci-webhook-redelivery');
    });
  });

  describe('validation', () => {
    it('should list every problem in one PropsValidationError', () => {
      // GIVEN five bad settings at once
      const error = validationError(() =>
        synthRunners({
          prefix: 'GH_CI',
          subnetIds: [],
          logLevel: 'verbose',
          githubApp: { appId: '', privateKey: 'arn:aws:ssm:eu-west-1:123456789012:parameter/gh-ci/pk', webhookSecret: '/gh-ci/webhook-secret' },
        }),
      );
      // THEN one error names each of them, with the value received
      expect(error.construct).toBe('GitHubRunners');
      expect(error.problems).toEqual([
        'prefix must be 1 to 20 lower-case letters, digits or hyphens, starting with a letter or digit (no "_": it separates a runner type in resource names), got "GH_CI"',
        'subnetIds must list at least one subnet, got none',
        'logLevel must be one of debug, info, warn, error, got "verbose"',
        'githubApp.appId must be an SSM parameter name (not empty, not an ARN), got ""',
        'githubApp.privateKey must be an SSM parameter name (not empty, not an ARN), got "arn:aws:ssm:eu-west-1:123456789012:parameter/gh-ci/pk"',
      ]);
      expect(error.message.split('; ')).toHaveLength(5);
    });

    it.each(['', 'Upper', '-dash', 'under_score', 'a'.repeat(21)])('should reject the prefix %j', (prefix) => {
      expect(validationError(() => synthRunners({ prefix })).problems).toEqual([expect.stringContaining(`got "${prefix}"`)]);
    });

    it('should accept a 20-character prefix', () => {
      expect(() => synthRunners({ prefix: 'a'.repeat(20) })).not.toThrow();
    });

    it('should reject a scale-up timeout too short to launch (it launches for no job with less than 8 s left)', () => {
      expect(validationError(() => synthRunners({ scaleUp: { timeoutSeconds: 9 } })).problems).toEqual([
        expect.stringMatching(/^timeoutSeconds must be 10 to 60 .*got 9$/),
      ]);
      expect(() => synthRunners({ scaleUp: { timeoutSeconds: 10 } })).not.toThrow();
    });

    it('should reject an ARN as the webhook secret parameter', () => {
      const arn = 'arn:aws:ssm:eu-west-1:123456789012:parameter/gh-ci/webhook-secret';
      expect(validationError(() => synthRunners({ githubApp: { ...VALID.githubApp, webhookSecret: arn } })).problems).toEqual([
        `githubApp.webhookSecret must be an SSM parameter name (not empty, not an ARN), got "${arn}"`,
      ]);
    });
  });

  describe('wiring', () => {
    const { json, stack } = synthRunners({ delayWebhookEvent: 5, tags: { project: 'ci' } });
    const webhook = Object.values(stack.resource!.aws_lambda_function).find((f: any) => f.function_name === 'gh-ci-webhook');

    it('should name the key alias after the prefix and tag it', () => {
      expect(json).toHaveResourceWithProperties(KmsAlias, { name: 'alias/gh-ci' });
      const key = Object.values(stack.resource!.aws_kms_key)[0];
      expect(key.tags).toMatchObject({ project: 'ci' });
    });

    it('should give the webhook the webhook secret parameter name and the info log level by default', () => {
      expect(webhook?.environment.variables).toMatchObject({
        PREFIX: 'gh-ci',
        WEBHOOK_SECRET_SSM_PARAMETER_NAME: '/gh-ci/github/webhook-secret',
        LOG_LEVEL: 'info',
      });
    });

    it('should run the webhook from the given code', () => {
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        function_name: 'gh-ci-webhook',
        source_code_hash: Buffer.from(bundle.sha256.webhook, 'hex').toString('base64'),
      });
    });

    it('should pass delayWebhookEvent to the job queues', () => {
      expect(json).toHaveResourceWithProperties(SqsQueue, { name: 'gh-ci-jobs_${each.key}', delay_seconds: 5 });
    });

    it('should serve the default runner type when none is given', () => {
      const local = (stack.locals ?? {}) as Record<string, Record<string, { labels: string[] }>>;
      const types = Object.entries(local).find(([name]) => name.includes('runner_types'))?.[1];
      expect(Object.keys(types ?? {})).toEqual(['default']);
      expect(types?.default.labels).toEqual(['self-hosted', 'linux', 'x64']);
    });

    it('should serve the given runner types', () => {
      const { stack: typed } = synthRunners({ runnerTypes: RunnerTypes.fromList([{ name: 'arm', labels: ['linux', 'arm64'] }]) });
      const local = Object.entries(typed.locals ?? {}).find(([name]) => name.includes('runner_types'))?.[1] as Record<string, unknown>;
      expect(Object.keys(local)).toEqual(['arm']);
    });

    /** Issue #10 item 5: runnerExtraLabels (philips `runner_extra_labels`). */
    it('should join runnerExtraLabels to every type, in the one map routing and registration read', () => {
      const { stack: typed } = synthRunners({
        runnerTypes: RunnerTypes.fromList([
          { name: 'arm', labels: ['linux', 'arm64'] },
          { name: 'gpu', labels: ['linux', 'Team-A'], poolConfig: [{ size: 1, scheduleExpression: 'rate(1 hour)' }] },
        ]),
        poolRunnerOwner: 'my-org',
        lambdaCode: { ...VALID.lambdaCode, pool: LambdaCode.fromBundle('pool', bundle.dir) },
        runnerExtraLabels: ['team-a', 'ci'],
      });
      const [name, local] = Object.entries(typed.locals ?? {}).find(([n]) => n.includes('runner_types')) as [string, Record<string, { labels: string[] }>];
      expect(Object.fromEntries(Object.entries(local).map(([k, t]) => [k, t.labels]))).toEqual({
        arm: ['linux', 'arm64', 'team-a', 'ci'],
        gpu: ['linux', 'Team-A', 'ci'],
      });
      const fns = Object.values(resources(typed, 'aws_lambda_function')) as any[];
      const fn = (n: string) => fns.find((f) => f.function_name === n);
      expect(fn('gh-ci-webhook').environment.variables.RUNNER_TYPES_CONFIG).toContain(`local.${name}`);
      expect(fn('gh-ci-pool').environment.variables.RUNNER_TYPES_CONFIG).toContain(`local.${name}`);
      const scaleUp = fns.find((f) => String(f.function_name).includes('scale-up'));
      expect(scaleUp.for_each).toBe(`\${local.${name}}`);
    });

    /** Issue #15 item 3: a run label offered by every runner would take that run's jobs. */
    it('should reject an extra label of the run-label form, naming runnerExtraLabels', () => {
      expect(validationError(() => synthRunners({ runnerExtraLabels: ['ghr-run-42', 'GHR-RUN-7', 'ghr-run-x'] })).problems).toEqual([
        'runnerExtraLabels must not hold a label of the run-label form ghr-run-<digits> (run labels are added per job), got "ghr-run-42"',
        'runnerExtraLabels must not hold a label of the run-label form ghr-run-<digits> (run labels are added per job), got "GHR-RUN-7"',
      ]);
    });

    it('should reject an empty extra label or one with a comma, naming runnerExtraLabels', () => {
      expect(validationError(() => synthRunners({ runnerExtraLabels: ['ok', ' ', 'a,b'] })).problems).toEqual([
        'runnerExtraLabels must hold labels that are not empty and have no comma, got " "',
        'runnerExtraLabels must hold labels that are not empty and have no comma, got "a,b"',
      ]);
    });

    it('should reject egressRules together with securityGroupIds, naming both', () => {
      const error = validationError(() =>
        synthRunners({ instances: { securityGroupIds: ['sg-0123456789abcdef0'], egressRules: [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] }] } }),
      );
      expect(error.problems).toEqual([expect.stringMatching(/^egressRules is set but securityGroupIds is too/)]);
      // Either alone is fine.
      expect(() => synthRunners({ instances: { securityGroupIds: ['sg-0123456789abcdef0'] } })).not.toThrow();
    });
  });

  describe('lifecycle and observability wiring', () => {
    const { stack } = synthRunners({ observability: { alarmSnsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:ops' } });
    const functions = Object.values(resources(stack, 'aws_lambda_function')) as any[];
    const envOf = (name: string) => functions.find((f) => f.function_name === name)?.environment.variables;
    const alarms = Object.values(resources(stack, 'aws_cloudwatch_metric_alarm')) as any[];

    it('should alarm on errors of every function and on both dead-letter queues, notifying the topic', () => {
      const names = alarms.map((a) => a.alarm_name).sort();
      for (const fn of ['webhook', 'scale-up', 'scale-down', 'termination-watcher', 'syncer']) {
        expect(names.some((n) => n.includes(fn) && n.endsWith('-errors'))).toBe(true);
      }
      expect(names.filter((n) => n.endsWith('-not-empty'))).toHaveLength(2);
      for (const alarm of alarms) expect(alarm.alarm_actions).toEqual(['arn:aws:sns:eu-west-1:123456789012:ops']);
    });

    it('should alarm on jobs given up and on stranded jobs, notifying the topic', () => {
      const byName = Object.fromEntries(alarms.map((a) => [a.alarm_name, a]));
      expect(byName['gh-ci-jobs-given-up']).toMatchObject({ metric_name: 'JobsGivenUp', alarm_actions: ['arn:aws:sns:eu-west-1:123456789012:ops'] });
      expect(byName['gh-ci-jobs-stranded']).toMatchObject({ metric_name: 'JobsStranded', statistic: 'Maximum', threshold: 0, alarm_actions: ['arn:aws:sns:eu-west-1:123456789012:ops'] });
    });

    it('should not alarm on a syncer that is disabled', () => {
      const { stack: noSyncer } = synthRunners({ syncer: { enabled: false } });
      const names = (Object.values(resources(noSyncer, 'aws_cloudwatch_metric_alarm')) as any[]).map((a) => a.alarm_name);
      expect(names.some((n) => n.includes('syncer'))).toBe(false);
      expect(names.some((n) => n.includes('scale-down'))).toBe(true);
    });

    it('should give every Lambda the module metrics namespace', () => {
      for (const name of ['gh-ci-scale-down', 'gh-ci-termination-watcher', 'gh-ci-syncer']) {
        expect(envOf(name)).toMatchObject({ METRICS_NAMESPACE: 'GitHubRunners/gh-ci', LOG_LEVEL: 'info' });
      }
    });

    it('should give scale-down and the termination watcher the same GitHub App and runner level', () => {
      for (const name of ['gh-ci-scale-down', 'gh-ci-termination-watcher']) {
        expect(envOf(name)).toMatchObject({
          PREFIX: 'gh-ci',
          GITHUB_APP_ID_SSM_PARAMETER_NAME: '/gh-ci/github/app-id',
          GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/gh-ci/github/private-key',
          ENABLE_ORGANIZATION_RUNNERS: 'false',
        });
      }
      expect(envOf('gh-ci-scale-down')).toMatchObject({ SSM_CONFIG_PATH: '/gh-ci/runners/config', DRY_RUN: 'false' });
    });

    it('should let the syncer tag objects and list its bucket, so a missing object reads as 404', () => {
      const statements = allStatements(stack);
      const sync = statements.find((s) => s.sid === 'SyncRunnerBinaries');
      expect(sync?.actions).toEqual(expect.arrayContaining(['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging']));
      const find = statements.find((s) => s.sid === 'FindRunnerBinaries');
      expect(find?.actions).toEqual(['s3:ListBucket']);
      expect(String(find?.resources)).not.toContain('/*');
    });
  });
});

describe('GitHubRunners job ledger and relaunch', () => {
  const fn = (stack: ReturnType<typeof synthRunners>['stack'], name: string) =>
    Object.values(resources(stack, 'aws_lambda_function')).find((f: any) => f.function_name === name) as any;
  const table = (stack: ReturnType<typeof synthRunners>['stack']) => Object.values(resources(stack, 'aws_dynamodb_table'))[0] as any;

  it('should give the launch table the sparse awaiting index the ledger queries', () => {
    const { stack } = synthRunners();
    expect(table(stack).global_secondary_index).toEqual([
      expect.objectContaining({ name: 'awaiting', hash_key: 'awaiting_type', range_key: 'launched_at', projection_type: 'ALL' }),
      expect.objectContaining({ name: 'interrupted', hash_key: 'rerun_pending', range_key: 'interrupted_at', projection_type: 'ALL' }),
    ]);
    expect(table(stack).attribute).toEqual(
      expect.arrayContaining([{ name: 'awaiting_type', type: 'S' }, { name: 'launched_at', type: 'N' }]),
    );
  });

  it('should not record or re-run spot-interrupted jobs by default (no grant, no setting)', () => {
    const { stack } = synthRunners();
    const sids = allStatements(stack).map((s) => s.sid);
    expect(sids).not.toEqual(expect.arrayContaining(['RecordInterruptedJobs']));
    expect(sids).not.toEqual(expect.arrayContaining(['ReadInterruptedJobs']));
    expect(fn(stack, 'gh-ci-scale-down').environment.variables.ENABLE_SPOT_INTERRUPTION_RERUN).toBeUndefined();
    expect(fn(stack, 'gh-ci-termination-watcher').environment.variables.ENABLE_SPOT_INTERRUPTION_RERUN).toBeUndefined();
  });

  it('should, with enableSpotInterruptionRerun, let the watcher record and scale-down query the interrupted index and settle', () => {
    const { stack } = synthRunners({ enableSpotInterruptionRerun: true });
    const watcherEnv = fn(stack, 'gh-ci-termination-watcher').environment.variables;
    const scaleDownEnv = fn(stack, 'gh-ci-scale-down').environment.variables;
    expect(watcherEnv).toMatchObject({ ENABLE_SPOT_INTERRUPTION_RERUN: 'true', JOB_LEDGER_TABLE_NAME: expect.stringMatching(/aws_dynamodb_table\..*\.name/) });
    expect(scaleDownEnv).toMatchObject({ ENABLE_SPOT_INTERRUPTION_RERUN: 'true', JOB_LEDGER_TABLE_NAME: watcherEnv.JOB_LEDGER_TABLE_NAME });
    const statements = allStatements(stack);
    expect(statements.find((s) => s.sid === 'RecordInterruptedJobs')).toMatchObject({ actions: ['dynamodb:UpdateItem'], resources: [expect.stringMatching(/aws_dynamodb_table\..*\.arn}$/)] });
    expect(statements.find((s) => s.sid === 'ReadInterruptedJobs')).toMatchObject({ actions: ['dynamodb:Query'], resources: [expect.stringMatching(/aws_dynamodb_table\..*\.arn}\/index\/interrupted$/)] });
    expect(statements.find((s) => s.sid === 'SettleInterruptedJobs')).toMatchObject({ actions: ['dynamodb:UpdateItem'] });
  });

  it('should let the webhook record progress, and scale-down read the index and requeue, with relaunch on by default', () => {
    const { stack } = synthRunners();
    const webhookEnv = fn(stack, 'gh-ci-webhook').environment.variables;
    const scaleDownEnv = fn(stack, 'gh-ci-scale-down').environment.variables;
    expect(webhookEnv.JOB_LEDGER_TABLE_NAME).toMatch(/aws_dynamodb_table\..*\.name/);
    expect(scaleDownEnv).toMatchObject({ JOB_RETRY_MAX_ATTEMPTS: '2', JOB_LEDGER_TABLE_NAME: webhookEnv.JOB_LEDGER_TABLE_NAME });
    expect(scaleDownEnv.JOB_QUEUE_URLS).toMatch(/jsonencode\(\{ for key, val in .*aws_sqs_queue\..*\[key\]\.url \}\)/);
    const sids = allStatements(stack).map((s) => s.sid);
    expect(sids).toEqual(expect.arrayContaining(['RecordJobProgress', 'ReadAwaitingJobs', 'SettleAwaitingJobs', 'RequeueJobs', 'EncryptRequeuedJobs']));
    const read = allStatements(stack).find((s) => s.sid === 'ReadAwaitingJobs');
    expect(read?.actions).toEqual(['dynamodb:Query']);
    expect(read?.resources).toEqual([expect.stringMatching(/aws_dynamodb_table\..*\.arn}\/index\/awaiting$/)]);
  });

  it('should turn relaunching off with jobRetry.enable false, and refuse attempts outside 1 to 10', () => {
    const { stack } = synthRunners({ scaleDown: { jobRetry: { enable: false } } });
    expect(fn(stack, 'gh-ci-scale-down').environment.variables.JOB_RETRY_MAX_ATTEMPTS).toBe('0');
    const error = validationError(() => synthRunners({ scaleDown: { jobRetry: { maxAttempts: 0 } } }));
    expect(error.problems).toEqual(['jobRetry.maxAttempts must be an integer from 1 to 10, got 0']);
  });

  it('should pass the stranded-job threshold to scale-down, 30 minutes by default, and refuse one outside 1 to 1440', () => {
    expect(fn(synthRunners().stack, 'gh-ci-scale-down').environment.variables.JOB_STRANDED_MINUTES).toBe('30');
    expect(fn(synthRunners({ scaleDown: { jobStrandedAlarmMinutes: 90 } }).stack, 'gh-ci-scale-down').environment.variables.JOB_STRANDED_MINUTES).toBe('90');
    for (const bad of [0, 1441, 2.5]) {
      const error = validationError(() => synthRunners({ scaleDown: { jobStrandedAlarmMinutes: bad } }));
      expect(error.problems).toEqual([`jobStrandedAlarmMinutes must be a whole number from 1 to 1440, got ${bad}`]);
    }
  });
});
