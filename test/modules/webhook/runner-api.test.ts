/**
 * The runner API construct (issue #15 item 1), through GitHubRunners: routes
 * on the webhook's API, its own function and role, an environment the
 * Lambda's loader accepts, and props validated with messages that name them.
 */
import { Testing } from 'cdktf';
import { GitHubRunners, GitHubRunnersProps } from '../../../modules/github-runners';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { loadRunnerApiConfig } from '../../../lambdas/runner-api/config';
import { allStatements, makeBundleDir, resources, synth, validationError } from '../helpers';

Testing.setupJest();

const bundle = makeBundleDir(['webhook', 'scale-up', 'scale-down', 'termination-watcher', 'syncer', 'pool', 'redelivery', 'runner-api']);
const code = (n: string) => LambdaCode.fromBundle(n, bundle.dir);

const VALID: GitHubRunnersProps = {
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
    redelivery: code('redelivery'),
    runnerApi: code('runner-api'),
  },
  runnerApi: { audience: 'https://runners.example.com' },
};

const synthRunners = (props: Partial<GitHubRunnersProps> = {}) => synth((scope) => void new GitHubRunners(scope, 'runners', { ...VALID, ...props }));

describe('RunnerApi', () => {
  const { stack } = synthRunners({ repositoryAllowList: ['octo/hello'] });
  const fn = () => Object.values(resources(stack, 'aws_lambda_function')).find((f: any) => f.function_name === 'gh-ci-runner-api') as any;

  it('should add POST /runners and GET /runners/{name} to the webhook API, invocable by those routes only', () => {
    const routes = Object.values(resources(stack, 'aws_apigatewayv2_route')).map((r: any) => r.route_key).sort();
    expect(routes).toEqual(['GET /runners/{name}', 'POST /runners', 'POST /webhook']);
    const sources = Object.values(resources(stack, 'aws_lambda_permission')).map((p: any) => p.source_arn as string);
    expect(sources.filter((s) => s.includes('/runners'))).toEqual([expect.stringMatching(/\/\*\/POST\/runners$/), expect.stringMatching(/\/\*\/GET\/runners\/\*$/)]);
  });

  it('should write an environment the Lambda loads, with the allow list, the audience and github.com\'s issuer', () => {
    const env = Object.fromEntries(Object.entries(fn().environment.variables as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    // Terraform expressions (queue URLs, table name) cannot be evaluated here; give them plain values.
    expect(env.REPOSITORY_ALLOW_LIST).toBe('${jsonencode(["octo/hello"])}');
    const config = loadRunnerApiConfig({ ...env, REPOSITORY_ALLOW_LIST: '["octo/hello"]', JOB_QUEUE_URLS: '{"default":"https://sqs.example/q"}', RUNNER_MAXIMUM_COUNTS: '{"default":3}', IDEMPOTENCY_TABLE_NAME: 't' });
    expect(config).toMatchObject({ audience: 'https://runners.example.com', issuer: 'https://token.actions.githubusercontent.com', defaultTimeoutMinutes: 15 });
    expect([...config.repositoryAllowList!]).toEqual(['octo/hello']);
  });

  it('should read and write only the API\'s own records in the launch table', () => {
    const records = allStatements(stack).find((s) => s.sid === 'ApiRunnerRecords')!;
    expect(records.actions.sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(records.condition).toEqual([{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: ['api#*'] }]);
  });

  it('should send to the job queues with the statements their owner grants, the key included', () => {
    // JobQueues.grantSendMessages: the SQS guide asks GenerateDataKey and Decrypt of an SSE-KMS producer.
    const send = allStatements(stack).find((s) => s.sid === 'SendRunnerRequests')!;
    const key = allStatements(stack).find((s) => s.sid === 'EncryptRunnerRequests')!;
    expect(send.actions).toEqual(['sqs:SendMessage']);
    expect(String(send.resources)).toMatch(/values\(aws_sqs_queue\.[^)]*jobs[^)]*\)\[\*\]\.arn/);
    expect([...key.actions].sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
  });

  it('should be left out without runnerApi or with enabled false', () => {
    for (const props of [{ runnerApi: undefined }, { runnerApi: { audience: 'x', enabled: false } }]) {
      const names = Object.values(resources(synthRunners(props).stack, 'aws_lambda_function')).map((f: any) => f.function_name);
      expect(names).not.toContain('gh-ci-runner-api');
    }
  });

  it('should refuse an empty audience, a bad timeout and a non-https issuer, naming them', () => {
    const error = validationError(() => synthRunners({ runnerApi: { audience: ' ', defaultTimeoutMinutes: 0, oidcIssuer: 'http://issuer' } }));
    expect(error.message).toContain('runnerApi.audience must not be empty');
    expect(error.message).toContain('runnerApi.defaultTimeoutMinutes must be a whole number from 1 to 1440, got 0');
    expect(error.message).toContain('runnerApi.oidcIssuer must be an https URL, got "http://issuer"');
  });

  it('should refuse a runner type label of the runner-API form', () => {
    const error = validationError(() => synthRunners({ runnerExtraLabels: ['ghr-api-1-1-0'] }));
    expect(error.message).toContain('runnerExtraLabels must not hold a label of the runner-API form');
  });
});
