/**
 * The Lambda entry point as production builds it: configuration from the
 * environment, App credentials from SSM (aws-sdk-client-mock), GitHub over
 * HTTP through GHES_URL, EC2 and SSM through the stateful fakes.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ScheduledEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { RUNNER_TAGS } from '../../../modules/contract/tags';
import { ConfigError } from '../../../lambdas/shared/config';
import { MissingParameterError } from '../../../lambdas/shared/ssm-parameters';
import { ScaleDownIncompleteError, createDefaultContext, createHandler, incompleteRunProblems } from '../../../lambdas/scale-down/index';
import type { ScaleDownSummary } from '../../../lambdas/scale-down/scale-down';
import { FakeEc2, ec2Error } from '../shared/fake-ec2';
import { AppKeyPair, FakeGitHub, generateAppKey, startFakeGitHub } from '../shared/fake-github';
import { FakeSsm } from '../shared/fake-ssm';
import { APP_ID, CONFIG_PATH, MINUTE, PREFIX, baseEnv } from './harness';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);

const event = {
  version: '0',
  id: 'e-1',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-01-01T00:00:00Z',
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/gh-ci-scale-down'],
  detail: {},
} as ScheduledEvent;

describe('scale-down handler', () => {
  let key: AppKeyPair;
  let gh: FakeGitHub;
  let ec2: FakeEc2;
  let ssm: FakeSsm;
  let stdout: string[];

  beforeAll(async () => {
    key = generateAppKey();
    gh = await startFakeGitHub({ appId: APP_ID, publicKey: key.publicKey });
    gh.installations.push({ id: 77, account: 'octo' });
  });
  afterAll(async () => {
    await gh.close();
  });

  beforeEach(() => {
    ec2Mock.reset();
    ssmMock.reset();
    gh.resetCalls();
    gh.runners.clear();
    ec2 = new FakeEc2(ec2Mock);
    ssm = new FakeSsm(ssmMock);
    stdout = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  const appCredentials = (privateKey: string) =>
    ssmMock.on(GetParametersCommand).resolves({
      Parameters: [
        { Name: '/gh-ci/github-app/id', Value: `${APP_ID}\n` },
        { Name: '/gh-ci/github-app/key', Value: privateKey },
      ],
      InvalidParameters: [],
    });

  const seed = (ageMinutes: number) =>
    ec2.seed({ [RUNNER_TAGS.prefix]: PREFIX, [RUNNER_TAGS.owner]: 'octo' }, 'running', { launchTime: new Date(Date.now() - ageMinutes * MINUTE) });

  it('should load configuration and credentials once per container and scale down on every run', async () => {
    // GIVEN the App key stored base64-encoded, an idle runner and an orphan
    appCredentials(Buffer.from(key.privateKeyPem).toString('base64'));
    const idle = seed(30);
    gh.addRunner('octo', { name: `${PREFIX}-${idle}` });
    const orphan = seed(30);
    const handler = createHandler(() => createDefaultContext(baseEnv({ GHES_URL: gh.url })));

    // WHEN invoked twice
    const first = await handler(event);
    const second = await handler(event);

    // THEN the credentials were read once, with decryption
    const reads = ssmMock.commandCalls(GetParametersCommand);
    expect(reads).toHaveLength(1);
    expect(reads[0].args[0].input).toEqual({ Names: ['/gh-ci/github-app/id', '/gh-ci/github-app/key'], WithDecryption: true });
    // AND the first run removed the idle runner (GitHub through GHES's /api/v3) and only noted the orphan
    expect(gh.calls.find((c) => c.method === 'DELETE')?.path).toMatch(/^\/api\/v3\/orgs\/octo\/actions\/runners\/\d+$/);
    expect(first).toMatchObject({ runnersTerminated: 1, orphansTerminated: 0, kept: { 'orphan-unconfirmed': 1 }, errors: 0 });
    // AND the second, remembering that sighting, terminated the orphan
    expect(second).toMatchObject({ liveInstances: 1, runnersTerminated: 0, orphansTerminated: 1, errors: 0 });
    expect([idle, orphan].map((id) => ec2.instances.get(id)?.State?.Name)).toEqual(['terminated', 'terminated']);
    // AND the logs are JSON with the prefix, and hold no key or token
    const lines = stdout.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.message === 'scale-down summary')).toHaveLength(2);
    expect(lines.every((l) => l.service === 'scale-down' && l.prefix === PREFIX)).toBe(true);
    const all = stdout.join('');
    expect(all).not.toContain('PRIVATE KEY');
    for (const token of gh.issuedTokens) expect(all).not.toContain(token);
  });

  describe('a run that could see nothing', () => {
    it('should reject when every owner fails (a stale App key), and read the credentials again on the next invocation', async () => {
      // GIVEN a warm container would hold the old key: SSM first returns a key GitHub does not accept
      appCredentials(generateAppKey().privateKeyPem);
      const idle = seed(30);
      gh.addRunner('octo', { name: `${PREFIX}-${idle}` });
      const handler = createHandler(() => createDefaultContext(baseEnv({ GHES_URL: gh.url })));

      // WHEN invoked: GitHub answers 401 to every App call
      const failed = handler(event);

      // THEN the invocation fails, naming what failed, after the run (nothing was touched)
      await expect(failed).rejects.toThrow(ScaleDownIncompleteError);
      await expect(failed).rejects.toThrow('scale-down run incomplete: could not list the runners of any owner (1 of 1 failed)');
      expect(gh.calls.length).toBeGreaterThan(0);
      expect(gh.calls.every((c) => c.status === 401)).toBe(true);
      expect(ec2.instances.get(idle)?.State?.Name).toBe('running');
      const lines = stdout.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((l) => l.message === 'scale-down summary')).toMatchObject({ owners: 1, ownersFailed: 1 });
      expect(lines.find((l) => l.error && (l.error as { name?: string }).name === 'ScaleDownIncompleteError')).toMatchObject({ level: 'error' });
      expect(stdout.join('')).not.toContain('PRIVATE KEY');
      expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(1);

      // WHEN the rotated key is what SSM holds, and the handler runs again in the same container
      appCredentials(key.privateKeyPem);
      const next = await handler(event);

      // THEN it read SSM again, and scaled down
      expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(2);
      expect(next).toMatchObject({ ownersFailed: 0, runnersTerminated: 1 });
      // AND a successful run keeps the context: no third read
      await handler(event);
      expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(2);
    });

    it('should reject when the instances cannot be listed, and read the credentials again on the next invocation', async () => {
      appCredentials(key.privateKeyPem);
      ec2.failNext('DescribeInstances', ec2Error('UnauthorizedOperation'), 10);
      const handler = createHandler(() => createDefaultContext(baseEnv({ GHES_URL: gh.url })));

      await expect(handler(event)).rejects.toThrow('scale-down run incomplete: could not list instances (DescribeInstances)');
      await expect(handler(event)).rejects.toThrow(ScaleDownIncompleteError);
      expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(2);
    });
  });

  describe('incompleteRunProblems', () => {
    const summary = (fields: Partial<ScaleDownSummary>) => ({ instancesListed: true, owners: 0, ownersFailed: 0, ...fields }) as ScaleDownSummary;
    it.each([
      ['a clean run', summary({ owners: 3 }), []],
      ['no owners at all (no instances)', summary({}), []],
      ['some owners failed', summary({ owners: 3, ownersFailed: 2 }), []],
      ['every owner failed', summary({ owners: 2, ownersFailed: 2 }), ['could not list the runners of any owner (2 of 2 failed)']],
      ['instances not listed', summary({ instancesListed: false }), ['could not list instances (DescribeInstances)']],
    ])('should judge %s', (_name, s, expected) => {
      expect(incompleteRunProblems(s)).toEqual(expected);
    });
  });

  describe('deadline', () => {
    it('should start no GitHub delete when the invocation has less than 30 seconds left', async () => {
      // GIVEN an idle runner, and a Lambda context with 20 seconds left
      appCredentials(key.privateKeyPem);
      const idle = seed(30);
      gh.addRunner('octo', { name: `${PREFIX}-${idle}` });
      const handler = createHandler(() => createDefaultContext(baseEnv({ GHES_URL: gh.url })));

      // WHEN
      const summary = await handler(event, { getRemainingTimeInMillis: () => 20_000 });

      // THEN the removal is left for the next run
      expect(gh.count('DELETE')).toBe(0);
      expect(ec2.instances.get(idle)?.State?.Name).toBe('running');
      expect(summary).toMatchObject({ planned: { removeIdle: 1 }, deferred: { removeIdle: 1 }, runnersTerminated: 0 });

      // WHEN the next invocation has the full 5 minutes
      const next = await handler(event, { getRemainingTimeInMillis: () => 300_000 });

      // THEN it goes
      expect(next).toMatchObject({ runnersTerminated: 1, deferred: { removeIdle: 0 } });
    });
  });

  it('should clean up runner configs through the SSM client it builds', async () => {
    appCredentials(key.privateKeyPem);
    ssm.seed(`${CONFIG_PATH}/i-0123456789abcdef0`, { lastModified: new Date(Date.now() - 30 * MINUTE) });
    const handler = createHandler(() => createDefaultContext(baseEnv({ GHES_URL: gh.url })));

    const summary = await handler(event);

    expect(summary.configsDeleted).toBe(1);
    expect(ssm.parameters.size).toBe(0);
  });

  it('should reject with a message listing every configuration problem, and try again on the next invocation', async () => {
    // GIVEN an environment missing the prefix and with a bad dry-run flag
    const env = baseEnv({ GHES_URL: gh.url, DRY_RUN: 'sometimes' });
    delete env.PREFIX;
    const handler = createHandler(() => createDefaultContext(env));

    // WHEN / THEN
    await expect(handler(event)).rejects.toThrow(ConfigError);
    await expect(handler(event)).rejects.toThrow('invalid Lambda configuration: PREFIX is required; DRY_RUN must be "true" or "false", got "sometimes"');
    // AND nothing was read or touched
    expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(0);
    expect(ec2.calls).toEqual([]);
    // AND the failure is logged for the error alarm
    const lines = stdout.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ level: 'error', message: 'scale-down could not start', error: { name: 'ConfigError' } });

    // WHEN the environment is fixed (a new deployment would do this; here the same loader sees it)
    env.PREFIX = PREFIX;
    env.DRY_RUN = 'true';
    appCredentials(key.privateKeyPem);
    // THEN the next invocation starts
    await expect(handler(event)).resolves.toMatchObject({ dryRun: true });
  });

  it('should reject, without echoing it, when the App key is not a key, and when a parameter is missing', async () => {
    appCredentials('not-a-key-SECRETVALUE');
    const broken = createHandler(() => createDefaultContext(baseEnv({ GHES_URL: gh.url })));
    await expect(broken(event)).rejects.toThrow('GitHub App private key is neither a PEM nor base64 of a PEM');
    expect(stdout.join('')).not.toContain('SECRETVALUE');

    ssmMock.on(GetParametersCommand).resolves({ Parameters: [{ Name: '/gh-ci/github-app/id', Value: '1' }], InvalidParameters: ['/gh-ci/github-app/key'] });
    const missing = createHandler(() => createDefaultContext(baseEnv({ GHES_URL: gh.url })));
    await expect(missing(event)).rejects.toThrow(MissingParameterError);
    await expect(missing(event)).rejects.toThrow('SSM parameters not found: /gh-ci/github-app/key');
    expect(ec2.calls).toEqual([]);
  });
});
