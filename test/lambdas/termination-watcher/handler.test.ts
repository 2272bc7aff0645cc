import { DescribeInstancesCommandInput, EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { onceAsync } from '../../../lambdas/shared/config';
import { createDefaultContext, createHandler } from '../../../lambdas/termination-watcher/index';
import { FakeEc2, ec2Error } from '../shared/fake-ec2';
import { AppKeyPair, FakeGitHub, useFakeGitHub } from '../shared/fake-github';
import {
  APP_ID,
  INSTALLATION_ID,
  QUEUE_URL,
  RUNNER_TYPE,
  TestBed,
  baseEnv,
  failedIds,
  makeHandler,
  metricLines,
  parsedLogs,
  runnerName,
  runnerTags,
  sent,
  spotWarning,
  sqsEvent,
  stateChange,
} from './harness';

const ec2Mock = mockClient(EC2Client);
const sqsMock = mockClient(SQSClient);
const ssmMock = mockClient(SSMClient);

const LIST = /\/actions\/runners$/;
const DELETE = /\/actions\/runners\/\d+$/;

describe('termination watcher', () => {
  let key: AppKeyPair;
  let gh: FakeGitHub;
  let ec2: FakeEc2;
  let logs: string[];
  let bed: TestBed;

  const handler = (env: Record<string, string> = {}) => makeHandler(bed, env);
  const runnerCalls = () => gh.calls.filter((c) => LIST.test(c.route) || DELETE.test(c.route));
  const describes = () => ec2.callsOf('DescribeInstances').map((c) => c.input as DescribeInstancesCommandInput);
  const bodies = () => sent(sqsMock).map((m) => JSON.parse(m.MessageBody!) as Record<string, unknown>);

  useFakeGitHub(APP_ID, [{ id: INSTALLATION_ID, account: 'octo' }], (started) => ({ gh, key } = started));

  beforeEach(() => {
    ec2Mock.reset();
    sqsMock.reset();
    ssmMock.reset();
    ec2 = new FakeEc2(ec2Mock);
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'sent-1' });
    gh.resetCalls();
    gh.runners.clear();
    logs = [];
    bed = { gh, privateKeyPem: key.privateKeyPem, logs };
  });

  describe('EventBridge events', () => {
    it('should deregister the runner of our spot instance on an interruption warning and count it', async () => {
      // GIVEN one of our org-level spot instances with an idle runner
      const id = ec2.seed(runnerTags('octo'), 'running', { lifecycle: 'spot' });
      const runner = gh.addRunner('octo', { name: runnerName(id) });

      // WHEN its interruption warning arrives
      const result = await handler()(spotWarning(id));

      // THEN the instance was described once, the runner looked up by name in one call and deleted
      expect(result).toEqual({ status: 'deleted', owner: 'octo', runnerName: runnerName(id), runnerId: runner.id });
      expect(describes()).toEqual([{ InstanceIds: [id] }]);
      const calls = runnerCalls();
      expect(calls.map((c) => `${c.method} ${c.route}`)).toEqual(['GET /orgs/octo/actions/runners', `DELETE /orgs/octo/actions/runners/${runner.id}`]);
      expect(calls[0].query.get('name')).toBe(runnerName(id));
      expect(calls.every((c) => c.auth === 'token')).toBe(true);
      expect(gh.runners.get('octo')).toEqual([]);

      // AND nothing was queued, and one EMF line counts the interruption and the deregistration
      expect(sent(sqsMock)).toEqual([]);
      const metrics = metricLines(logs);
      expect(metrics).toHaveLength(1);
      expect(metrics[0]).toMatchObject({
        SpotInterruptions: 1,
        RunnersDeregistered: 1,
        RunnerType: RUNNER_TYPE,
        Function: 'termination-watcher',
        _aws: { CloudWatchMetrics: [{ Namespace: 'Test/GitHubRunners', Dimensions: [['Function', 'RunnerType']] }] },
      });
      expect(metrics[0]).not.toHaveProperty('DeregistrationRetries');
    });

    it.each(['terminated', 'shutting-down'])('should deregister a repository-level runner when the instance is %s', async (state) => {
      // GIVEN a repo-level on-demand instance of ours in that state
      const id = ec2.seed(runnerTags('octo/hello'), state);
      const runner = gh.addRunner('octo/hello', { name: runnerName(id) });

      // WHEN the state change arrives
      const result = await handler()(stateChange(id, state));

      // THEN the repository's runner is deleted; no spot interruption is counted
      expect(result).toMatchObject({ status: 'deleted', owner: 'octo/hello' });
      expect(gh.count('DELETE', new RegExp(`^/repos/octo/hello/actions/runners/${runner.id}$`))).toBe(1);
      expect(gh.runners.get('octo/hello')).toEqual([]);
      const [metrics] = metricLines(logs);
      expect(metrics).toMatchObject({ RunnersDeregistered: 1 });
      expect(metrics).not.toHaveProperty('SpotInterruptions');
      expect(parsedLogs(logs).find((l) => l.message === 'runner deregistered')).toMatchObject({ instanceId: id, owner: 'octo/hello', runnerId: runner.id, runnerType: RUNNER_TYPE, reason: state });
    });

    it.each([
      ['another module', { 'ghr:prefix': 'other-ci', 'ghr:owner': 'octo' }],
      ['no ghr tags at all', { Name: 'database' }],
    ])('should ignore an instance that is not ours (%s) without calling GitHub', async (_label, tags) => {
      // GIVEN an instance of the account that this module did not launch, whose name would match a runner
      const id = ec2.seed(tags);
      gh.addRunner('octo', { name: runnerName(id) });

      const result = await handler()(spotWarning(id));

      expect(result).toEqual({ status: 'ignored', reason: 'not-ours' });
      expect(describes()).toHaveLength(1);
      expect(gh.calls).toEqual([]);
      expect(gh.runners.get('octo')).toHaveLength(1);
      expect(sent(sqsMock)).toEqual([]);
      expect(metricLines(logs)).toEqual([]);
    });

    it('should ignore an instance EC2 does not know', async () => {
      const result = await handler()(stateChange('i-0123456789abcdef0', 'terminated'));

      expect(result).toEqual({ status: 'ignored', reason: 'unknown-instance' });
      expect(describes()).toEqual([{ InstanceIds: ['i-0123456789abcdef0'] }]);
      expect(gh.calls).toEqual([]);
      expect(parsedLogs(logs).find((l) => l.message === 'instance unknown to EC2; nothing to deregister')).toMatchObject({ level: 'info', instanceId: 'i-0123456789abcdef0' });
    });

    it('should warn about and skip our instance when it has no usable ghr:owner tag', async () => {
      const untagged = ec2.seed({ 'ghr:prefix': 'gh-ci' });
      const garbled = ec2.seed(runnerTags('a/b/c'));

      expect(await handler()(spotWarning(untagged))).toEqual({ status: 'ignored', reason: 'no-owner-tag' });
      expect(await handler()(spotWarning(garbled))).toEqual({ status: 'ignored', reason: 'invalid-owner-tag' });

      expect(gh.calls).toEqual([]);
      expect(parsedLogs(logs).filter((l) => l.level === 'warn').map((l) => l.instanceId)).toEqual([untagged, garbled]);
      // The interruptions of our instances are still counted.
      expect(metricLines(logs).map((m) => m.SpotInterruptions)).toEqual([1, 1]);
    });

    it('should be done when no runner of that name is registered at GitHub', async () => {
      // GIVEN our instance, whose runner never registered (or already removed itself), and a sibling runner
      const id = ec2.seed(runnerTags('octo'));
      gh.addRunner('octo', { name: runnerName('i-0fffffffffffffff0') });

      const result = await handler()(stateChange(id, 'terminated'));

      expect(result).toEqual({ status: 'not-found', owner: 'octo', runnerName: runnerName(id) });
      expect(gh.count('GET', LIST)).toBe(1);
      expect(gh.count('DELETE')).toBe(0);
      expect(gh.runners.get('octo')).toHaveLength(1);
      expect(sent(sqsMock)).toEqual([]);
      expect(metricLines(logs)[0]).toMatchObject({ RunnersAlreadyGone: 1 });
    });

    it('should queue a delayed first retry when the runner is busy (422)', async () => {
      // GIVEN our spot instance whose runner is running a job
      const id = ec2.seed(runnerTags('octo'), 'running', { lifecycle: 'spot' });
      const runner = gh.addRunner('octo', { name: runnerName(id), busy: true });

      const result = await handler()(spotWarning(id));

      // THEN GitHub refused the delete and one message was queued with the configured delay
      expect(result).toMatchObject({ status: 'retry-scheduled', runnerId: runner.id });
      expect(gh.count('DELETE', DELETE)).toBe(1);
      expect(gh.runners.get('octo')).toHaveLength(1);
      const messages = sent(sqsMock);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({ QueueUrl: QUEUE_URL, DelaySeconds: 45 });
      expect(bodies()[0]).toEqual({ instanceId: id, owner: 'octo', runnerId: runner.id, attempt: 1, reason: 'spot-interruption', runnerType: RUNNER_TYPE });
      expect(metricLines(logs)[0]).toMatchObject({ SpotInterruptions: 1, DeregistrationRetries: 1 });
    });

    it('should fail the invocation when GitHub answers 500, so Lambda retries and then keeps the event', async () => {
      // GIVEN GitHub failing every try of the listing (the adapter retries 5xx twice)
      const id = ec2.seed(runnerTags('octo'));
      gh.addRunner('octo', { name: runnerName(id) });
      gh.failNext({ method: 'GET', route: LIST, status: 500, times: 3 });

      await expect(handler()(stateChange(id, 'terminated'))).rejects.toMatchObject({ status: 500 });

      expect(gh.count('GET', LIST)).toBe(3);
      expect(gh.count('DELETE')).toBe(0);
      expect(sent(sqsMock)).toEqual([]);
      const error = parsedLogs(logs).find((l) => l.level === 'error' && String(l.message).includes('failing the invocation'));
      expect(error).toMatchObject({ instanceId: id, error: { name: 'HttpError' } });
      expect(metricLines(logs)[0]).toMatchObject({ DeregistrationErrors: 1 });
    });

    it('should fail the invocation when the retry cannot be queued', async () => {
      const id = ec2.seed(runnerTags('octo'));
      gh.addRunner('octo', { name: runnerName(id), busy: true });
      sqsMock.on(SendMessageCommand).rejects(Object.assign(new Error('access denied'), { name: 'AccessDenied' }));

      await expect(handler()(spotWarning(id))).rejects.toMatchObject({ name: 'RetryQueueError' });
      expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
    });

    it('should fail the invocation when EC2 cannot describe the instance', async () => {
      ec2.failNext('DescribeInstances', ec2Error('RequestLimitExceeded'));
      const id = ec2.seed(runnerTags('octo'));

      await expect(handler()(spotWarning(id))).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
      expect(gh.calls).toEqual([]);
    });

    it('should fail the invocation when the App is not installed on the owner', async () => {
      const id = ec2.seed(runnerTags('stranger'));

      await expect(handler()(spotWarning(id))).rejects.toMatchObject({ name: 'AppNotInstalledError' });
      expect(gh.count('GET', /^\/app\/installations$/)).toBe(1);
      expect(gh.count('GET', LIST)).toBe(0);
    });

    it('should ignore a state change into a state it does not act on without calling anything', async () => {
      const id = ec2.seed(runnerTags('octo'));

      expect(await handler()(stateChange(id, 'stopping'))).toEqual({ status: 'ignored', reason: 'state-not-watched' });
      expect(ec2.calls).toEqual([]);
      expect(gh.calls).toEqual([]);
    });

    it.each([
      ['an empty object', {}],
      ['an S3 event', { source: 'aws.s3', 'detail-type': 'Object Created', detail: {} }],
      ['a warning without an instance id', { source: 'aws.ec2', 'detail-type': 'EC2 Spot Instance Interruption Warning', detail: { 'instance-id': 'x; rm -rf' } }],
    ])('should fail on %s so it reaches the DLQ', async (_label, event) => {
      await expect(handler()(event)).rejects.toMatchObject({ name: 'UnsupportedEventError' });
      expect(ec2.calls).toEqual([]);
      expect(gh.calls).toEqual([]);
      expect(logs.join('\n')).not.toContain('rm -rf');
    });
  });

  describe('retry queue', () => {
    const retry = (instanceId: string, runnerId: number, attempt: number, owner = 'octo') => ({ instanceId, owner, runnerId, attempt, reason: 'spot-interruption', runnerType: RUNNER_TYPE });

    it('should delete a runner that has finished its job and acknowledge the message', async () => {
      const runner = gh.addRunner('octo', { name: runnerName('i-00000000000000abc') });

      const response = await handler()(sqsEvent([retry('i-00000000000000abc', runner.id, 1)]));

      expect(failedIds(response)).toEqual([]);
      // No DescribeInstances and no listing: the message names owner and runner.
      expect(ec2.calls).toEqual([]);
      expect(gh.count('GET', LIST)).toBe(0);
      expect(gh.count('DELETE', new RegExp(`^/orgs/octo/actions/runners/${runner.id}$`))).toBe(1);
      expect(gh.runners.get('octo')).toEqual([]);
      expect(sent(sqsMock)).toEqual([]);
      expect(metricLines(logs)[0]).toMatchObject({ RunnersDeregistered: 1, RunnerType: RUNNER_TYPE });
    });

    it('should acknowledge a message whose runner is already gone (404)', async () => {
      const response = await handler()(sqsEvent([retry('i-00000000000000abc', 999, 2, 'octo/hello')]));

      expect(failedIds(response)).toEqual([]);
      expect(gh.count('DELETE', /^\/repos\/octo\/hello\/actions\/runners\/999$/)).toBe(1);
      expect(sent(sqsMock)).toEqual([]);
    });

    it('should queue attempt + 1 with the delay when the runner is still busy, and acknowledge this one', async () => {
      const runner = gh.addRunner('octo', { name: runnerName('i-00000000000000abc'), busy: true });

      const response = await handler()(sqsEvent([retry('i-00000000000000abc', runner.id, 2)]));

      expect(failedIds(response)).toEqual([]);
      expect(sent(sqsMock)).toEqual([expect.objectContaining({ QueueUrl: QUEUE_URL, DelaySeconds: 45 })]);
      expect(bodies()).toEqual([retry('i-00000000000000abc', runner.id, 3)]);
      expect(metricLines(logs)[0]).toMatchObject({ DeregistrationRetries: 1 });
    });

    it.each([3, 7])('should give up at MAX_ATTEMPTS (attempt %i of 3) without a new message', async (attempt) => {
      const runner = gh.addRunner('octo', { name: runnerName('i-00000000000000abc'), busy: true });

      const response = await handler()(sqsEvent([retry('i-00000000000000abc', runner.id, attempt)]));

      expect(failedIds(response)).toEqual([]);
      expect(gh.count('DELETE', DELETE)).toBe(1);
      expect(sent(sqsMock)).toEqual([]);
      expect(parsedLogs(logs).find((l) => l.level === 'warn')).toMatchObject({ message: expect.stringContaining('left to scale-down'), attempt, maxAttempts: 3 });
      expect(metricLines(logs)[0]).toMatchObject({ DeregistrationsAbandoned: 1 });
    });

    it('should handle a failed EventBridge event redriven from the DLQ as the event itself', async () => {
      // GIVEN Lambda's on-failure record of a spot warning, moved back from the DLQ by an operator
      const id = ec2.seed(runnerTags('octo'), 'running', { lifecycle: 'spot' });
      const runner = gh.addRunner('octo', { name: runnerName(id) });
      const failureRecord = {
        version: '1.0',
        requestContext: { requestId: 'r-1', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
        requestPayload: spotWarning(id),
        responseContext: { statusCode: 200, functionError: 'Unhandled' },
      };

      const response = await handler()(sqsEvent([failureRecord]));

      // THEN the runner is deregistered and the record acknowledged, not dropped as poison
      expect(failedIds(response)).toEqual([]);
      expect(gh.count('DELETE', new RegExp(`^/orgs/octo/actions/runners/${runner.id}$`))).toBe(1);
      expect(parsedLogs(logs).filter((l) => l.level === 'error')).toEqual([]);
    });

    it('should return a redriven event to the queue when it fails again', async () => {
      const id = ec2.seed(runnerTags('octo'), 'running');
      gh.addRunner('octo', { name: runnerName(id) });
      gh.failNext({ method: 'DELETE', route: DELETE, status: 500, times: 3 });

      const response = await handler()(sqsEvent([{ requestContext: {}, requestPayload: stateChange(id, 'shutting-down') }]));

      expect(failedIds(response)).toEqual(['m-0']);
    });

    it('should acknowledge malformed messages on purpose and log them without their body', async () => {
      const secretish = 'ghs_SHOULD_NEVER_BE_LOGGED';
      const response = await handler()(
        sqsEvent([
          `not json ${secretish}`,
          { instanceId: 'i-00000000000000abc', owner: secretish + '/x/y', runnerId: 5, attempt: 1, reason: 'spot-interruption' },
          { instanceId: 'i-00000000000000abc', owner: 'octo', runnerId: '5', attempt: 0, reason: secretish },
          [secretish],
        ]),
      );

      expect(failedIds(response)).toEqual([]);
      expect(gh.calls).toEqual([]);
      expect(sent(sqsMock)).toEqual([]);
      const all = logs.join('\n');
      expect(all).not.toContain(secretish);
      const errors = parsedLogs(logs).filter((l) => l.message === 'malformed retry message acknowledged without action');
      expect(errors.map((e) => e.messageId)).toEqual(['m-0', 'm-1', 'm-2', 'm-3']);
      expect(errors[2].problems).toEqual(['runnerId must be a positive integer', 'attempt must be a positive integer', 'reason must be one of spot-interruption, shutting-down, terminated']);
    });

    it('should return only the record GitHub failed on (500) to the queue', async () => {
      // GIVEN two busy-turned-idle runners, GitHub failing every try of one delete
      const ok = gh.addRunner('octo', { name: runnerName('i-0000000000000000a') });
      const bad = gh.addRunner('octo', { name: runnerName('i-0000000000000000b') });
      gh.failNext({ method: 'DELETE', route: new RegExp(`/runners/${bad.id}$`), status: 500, times: 3 });

      const response = await handler()(sqsEvent([retry('i-0000000000000000a', ok.id, 1), retry('i-0000000000000000b', bad.id, 1)]));

      expect(failedIds(response)).toEqual(['m-1']);
      expect(gh.runners.get('octo')?.map((r) => r.id)).toEqual([bad.id]);
      const errors = parsedLogs(logs).filter((l) => l.message === 'retry failed; the message returns to the queue');
      expect(errors).toEqual([expect.objectContaining({ messageId: 'm-1', instanceId: 'i-0000000000000000b', error: { name: 'HttpError', message: expect.any(String) } })]);
    });

    it('should return the record to the queue when the next retry cannot be queued', async () => {
      const runner = gh.addRunner('octo', { name: runnerName('i-00000000000000abc'), busy: true });
      sqsMock.on(SendMessageCommand).rejects(Object.assign(new Error('throttled'), { name: 'RequestThrottled' }));

      const response = await handler()(sqsEvent([retry('i-00000000000000abc', runner.id, 1)]));

      expect(failedIds(response)).toEqual(['m-0']);
      expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
    });
  });

  describe('default context', () => {
    const quietly = async <T>(fn: (stdout: string[]) => Promise<T>): Promise<T> => {
      const lines: string[] = [];
      const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      });
      try {
        return await fn(lines);
      } finally {
        spy.mockRestore();
      }
    };

    it('should read the App credentials once, reach GHES, and never log the private key or tokens', async () => {
      // GIVEN the App credentials in SSM, the key base64-encoded
      const stored = Buffer.from(key.privateKeyPem).toString('base64');
      ssmMock.on(GetParametersCommand).resolves({
        Parameters: [
          { Name: '/gh-ci/github-app/id', Value: String(APP_ID) },
          { Name: '/gh-ci/github-app/key', Value: stored },
        ],
      });
      const idle = ec2.seed(runnerTags('octo'));
      gh.addRunner('octo', { name: runnerName(idle) });
      const busy = gh.addRunner('octo', { name: runnerName('i-00000000000000abc'), busy: true });

      await quietly(async (stdout) => {
        const run = createHandler(onceAsync(() => createDefaultContext(baseEnv({ GHES_URL: gh.url, LOG_LEVEL: 'debug' }))));

        // WHEN an event and a retry batch are handled by the production wiring
        expect(await run(spotWarning(idle))).toMatchObject({ status: 'deleted' });
        expect(failedIds(await run(sqsEvent([{ instanceId: 'i-00000000000000abc', owner: 'octo', runnerId: busy.id, attempt: 1, reason: 'terminated' }])))).toEqual([]);

        // THEN credentials were read once, calls went through /api/v3, and the retry was queued
        expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(1);
        expect(ssmMock.commandCalls(GetParametersCommand)[0].args[0].input).toEqual({ Names: ['/gh-ci/github-app/id', '/gh-ci/github-app/key'], WithDecryption: true });
        expect(gh.calls.filter((c) => DELETE.test(c.route)).map((c) => c.path)).toEqual([
          expect.stringMatching(/^\/api\/v3\/orgs\/octo\/actions\/runners\/\d+$/),
          `/api/v3/orgs/octo/actions/runners/${busy.id}`,
        ]);
        expect(sent(sqsMock)).toEqual([expect.objectContaining({ QueueUrl: QUEUE_URL, DelaySeconds: 45 })]);

        // AND stdout carries JSON lines, with no key material and no installation token
        const all = stdout.join('');
        expect(all).toContain('"message":"runner deregistered"');
        expect(all).not.toContain('PRIVATE KEY');
        expect(all).not.toContain(stored.slice(0, 40));
        for (const token of gh.issuedTokens) expect(all).not.toContain(token);
      });
    });

    it('should fail the invocation with one message listing every configuration problem', async () => {
      await quietly(async () => {
        const run = createHandler(onceAsync(() => createDefaultContext(baseEnv({ PREFIX: '', MAX_ATTEMPTS: 'ten' }))));
        const failure = run(spotWarning('i-0123456789abcdef0'));
        await expect(failure).rejects.toThrow(/PREFIX is required/);
        await expect(failure).rejects.toThrow(/MAX_ATTEMPTS must be an integer in \[1, 100\], got "ten"/);
      });
      expect(ec2.calls).toEqual([]);
      expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(0);
    });

    it('should fail without echoing a private key that is not a PEM', async () => {
      const bogus = 'not-a-key-but-still-secret-material';
      ssmMock.on(GetParametersCommand).resolves({
        Parameters: [
          { Name: '/gh-ci/github-app/id', Value: String(APP_ID) },
          { Name: '/gh-ci/github-app/key', Value: bogus },
        ],
      });
      await quietly(async (stdout) => {
        const run = createHandler(onceAsync(() => createDefaultContext(baseEnv())));
        await expect(run(spotWarning('i-0123456789abcdef0'))).rejects.toMatchObject({ name: 'InvalidPrivateKeyError' });
        expect(stdout.join('')).toContain('termination-watcher could not start');
        expect(stdout.join('')).not.toContain(bogus);
      });
    });
  });
});
