import 'aws-sdk-client-mock-jest';
import { GetParametersCommand } from '@aws-sdk/client-ssm';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { JobMessage } from '../../../modules/contract/job-message';
import { MAX_BODY_BYTES } from '../../../lambdas/webhook/request';
import {
  DELIVERY_ID,
  RUNNER_TYPES,
  SECRET_PARAMETER,
  TEST_SECRET,
  delivery,
  example,
  parsedLogs,
  queuedLinuxJob,
  sign,
  testContainer,
  testEnv,
  workflowJob,
} from './helpers';

describe('webhook handler', () => {
  describe('queued workflow_job', () => {
    it('should send exactly one JobMessage to the matched runner type queue', async () => {
      // GIVEN GitHub's queued example for a self-hosted k8s job
      const c = testContainer();
      const payload = workflowJob('queued', 'k8s');
      // WHEN it is delivered
      const res = await c.handler(delivery('workflow_job', payload));
      // THEN one message goes to the k8s queue
      expect(res).toEqual({ statusCode: 202, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'queued' });
      expect(c.sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
      const [sent] = c.sent();
      expect(sent.QueueUrl).toBe(RUNNER_TYPES.k8s.queue_url);
      const message = JSON.parse(sent.MessageBody ?? '') as JobMessage;
      expect(message).toEqual({
        version: 1,
        jobId: 12877621891,
        runId: 4747967848,
        repositoryOwner: 'lineville',
        repositoryName: 'elastic-machines-testing',
        ownerType: 'User',
        installationId: 23154469,
        labels: ['self-hosted', 'k8s'],
        runnerType: 'k8s',
        deliveryId: DELIVERY_ID,
        createdAt: '2023-04-19T21:12:12Z',
      });
    });

    it('should route by priority to the first matching type', async () => {
      const c = testContainer();
      await c.handler(delivery('workflow_job', queuedLinuxJob()));
      expect(c.sent().map((s) => s.QueueUrl)).toEqual([RUNNER_TYPES['linux-x64'].queue_url]);
    });

    it('should accept a base64-encoded body and upper-case header names', async () => {
      const c = testContainer();
      const event = delivery('workflow_job', queuedLinuxJob(), { base64: true });
      event.headers = Object.fromEntries(Object.entries(event.headers).map(([k, v]) => [k.toUpperCase(), v]));
      const res = await c.handler(event);
      expect(res.statusCode).toBe(202);
      expect(c.sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    });

    it('should ignore a job no runner type matches, such as a GitHub-hosted one', async () => {
      const c = testContainer();
      const res = await c.handler(delivery('workflow_job', workflowJob('queued', 'ubuntu-latest')));
      expect(res).toMatchObject({ statusCode: 202, body: 'ignored' });
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
      expect(parsedLogs(c.logs)).toContainEqual(expect.objectContaining({ message: 'no runner type matches the job labels; ignored', jobId: 289782451 }));
    });

    it('should answer 400 and send nothing when a field the message needs is missing', async () => {
      const c = testContainer();
      const payload = queuedLinuxJob();
      delete payload.installation;
      const res = await c.handler(delivery('workflow_job', payload));
      expect(res).toMatchObject({ statusCode: 400, body: 'bad request' });
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
    });

    it('should answer 400 without a usable X-GitHub-Delivery', async () => {
      const c = testContainer();
      const res = await c.handler(delivery('workflow_job', queuedLinuxJob(), { deliveryId: 'not a delivery id' }));
      expect(res.statusCode).toBe(400);
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
    });
  });

  /** Issue #15 item 3: ghr-run-<run id> binds a job's runner to its run. */
  describe('run-bound jobs', () => {
    // The k8s example's run_id is 4747967848.
    const runBound = (...runLabels: string[]) => {
      const payload = workflowJob('queued', 'k8s');
      payload.workflow_job.labels = ['self-hosted', 'k8s', ...runLabels];
      return payload;
    };

    it('should queue a job carrying its own run label, routed on its other labels, exact-match type included', async () => {
      // GIVEN the k8s type is exact-match on [k8s] WHEN the job asks for k8s and its run label
      const c = testContainer();
      const res = await c.handler(delivery('workflow_job', runBound('GHR-RUN-4747967848')));
      // THEN it is queued for k8s with the run label among its labels, for scale-up to register
      expect(res).toMatchObject({ statusCode: 202, body: 'queued' });
      const [sent] = c.sent();
      expect(sent.QueueUrl).toBe(RUNNER_TYPES.k8s.queue_url);
      expect(JSON.parse(sent.MessageBody ?? '')).toMatchObject({ runId: 4747967848, labels: ['self-hosted', 'k8s', 'GHR-RUN-4747967848'] });
      expect(parsedLogs(c.logs)).toContainEqual(expect.objectContaining({ message: 'job queued', runLabel: 'ghr-run-4747967848' }));
    });

    it.each([
      ['another run', ['ghr-run-4747967849']],
      ['its own and another run', ['ghr-run-4747967848', 'ghr-run-1']],
    ])('should refuse with 202 and queue nothing when the run label names %s', async (_case, labels) => {
      const c = testContainer();
      const res = await c.handler(delivery('workflow_job', runBound(...labels)));
      expect(res).toMatchObject({ statusCode: 202, body: 'refused' });
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
      expect(parsedLogs(c.logs)).toContainEqual(
        expect.objectContaining({ level: 'warn', message: 'job refused: its run label does not name its own run; no runner launched', runId: 4747967848, runnerType: 'k8s' }),
      );
    });

    it('should ignore (not refuse) a job with a foreign run label that no runner type serves', async () => {
      const c = testContainer();
      const payload = runBound('ghr-run-1');
      payload.workflow_job.labels = ['ubuntu-latest', 'ghr-run-1'];
      const res = await c.handler(delivery('workflow_job', payload));
      expect(res).toMatchObject({ statusCode: 202, body: 'ignored' });
    });

    it('should emit the metrics of a completed run-bound job for its runner type', async () => {
      const c = testContainer();
      const payload = example('workflow_job', (p) => p.action === 'completed' && p.workflow_job.conclusion === 'success');
      payload.workflow_job.labels = ['k8s', `ghr-run-${payload.workflow_job.run_id}`];
      await c.handler(delivery('workflow_job', payload));
      expect(parsedLogs(c.logs).filter((l) => l._aws !== undefined)).toEqual([expect.objectContaining({ RunnerType: 'k8s', JobsCompleted: 1 })]);
    });
  });

  describe('repository allow list', () => {
    // The queued example's repository is owner.login "Octocoders", name "Hello-World".
    const env = testEnv({ REPOSITORY_ALLOW_LIST: '["octocoders/hello-world"]' });

    it('should answer 403 and send nothing for a repository outside the list', async () => {
      const c = testContainer({ env });
      const res = await c.handler(delivery('workflow_job', workflowJob('queued', 'k8s')));
      expect(res).toMatchObject({ statusCode: 403, body: 'forbidden' });
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
    });

    it('should allow a listed repository whatever its case', async () => {
      // GIVEN the example repository is Octocoders/Hello-World and the list says octocoders/hello-world
      const c = testContainer({ env });
      const res = await c.handler(delivery('workflow_job', queuedLinuxJob()));
      expect(res.statusCode).toBe(202);
      expect(c.sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    });

    it('should ignore (not forbid) an unlisted job that no runner type serves', async () => {
      const c = testContainer({ env });
      const payload = workflowJob('queued', 'ubuntu-latest');
      payload.repository = workflowJob('queued', 'k8s').repository;
      const res = await c.handler(delivery('workflow_job', payload));
      expect(res).toMatchObject({ statusCode: 202, body: 'ignored' });
    });
  });

  describe('oversized deliveries', () => {
    // SQS takes message bodies of at most 256 KiB
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
    const SQS_MAX_BODY = 256 * 1024;
    const LOG_LINE_LIMIT = 8 * 1024;

    it('should ignore a signed job with 100,000 labels with 202, without a queue message or a huge log line', async () => {
      const c = testContainer();
      const payload = queuedLinuxJob();
      payload.workflow_job.labels = Array.from({ length: 100_000 }, (_, i) => i.toString(36));
      const res = await c.handler(delivery('workflow_job', payload));
      expect(res).toMatchObject({ statusCode: 202, body: 'ignored' });
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
      expect(Math.max(...c.logs.map((l) => l.length))).toBeLessThan(LOG_LINE_LIMIT);
      expect(parsedLogs(c.logs)).toContainEqual(expect.objectContaining({ message: 'no runner type matches the job labels; ignored', labelCount: 100_000, reason: expect.stringContaining('distinct labels') }));
    });

    it('should ignore a job with one label longer than any runner type offers', async () => {
      const c = testContainer();
      const payload = queuedLinuxJob();
      payload.workflow_job.labels = ['self-hosted', 'linux', 'x'.repeat(500_000)];
      const res = await c.handler(delivery('workflow_job', payload));
      expect(res).toMatchObject({ statusCode: 202, body: 'ignored' });
      expect(Math.max(...c.logs.map((l) => l.length))).toBeLessThan(LOG_LINE_LIMIT);
    });

    it('should queue a job whose 100,000 labels repeat a matching label once per label, in a small message', async () => {
      const c = testContainer();
      const payload = queuedLinuxJob();
      payload.workflow_job.labels = Array.from({ length: 100_000 }, (_, i) => ['self-hosted', 'Linux', 'x64'][i % 3]);
      const res = await c.handler(delivery('workflow_job', payload));
      expect(res.statusCode).toBe(202);
      const sent = c.sqs.commandCalls(SendMessageCommand)[0].args[0].input.MessageBody ?? '';
      expect(Buffer.byteLength(sent)).toBeLessThan(SQS_MAX_BODY);
      expect((JSON.parse(sent) as { labels: string[] }).labels).toEqual(['self-hosted', 'Linux', 'x64']);
      expect(Math.max(...c.logs.map((l) => l.length))).toBeLessThan(LOG_LINE_LIMIT);
    });
  });

  describe('other events and actions', () => {
    it('should answer ping with 200', async () => {
      const c = testContainer();
      expect(await c.handler(delivery('ping', example('ping')))).toMatchObject({ statusCode: 200, body: 'pong' });
    });

    it.each([['push'], ['workflow_run'], ['check_run']])('should ignore a %s event with 202', async (event) => {
      const c = testContainer();
      const res = await c.handler(delivery(event, example(event)));
      expect(res).toMatchObject({ statusCode: 202, body: 'ignored' });
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
    });

    it.each([['projects_v2_item'], ['projects_v2_status_update'], ['sub_issues']])(
      'should ignore a signed %s event (event names carry digits) with 202, not 400',
      async (event) => {
        const c = testContainer();
        const res = await c.handler(delivery(event, { action: 'edited', projects_v2_item: { id: 1 } }));
        expect(res).toMatchObject({ statusCode: 202, body: 'ignored' });
        expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
      },
    );

    it.each([['Push'], ['9push'], ['push event'], ['x'.repeat(65)]])('should answer 400 to the malformed event name %j', async (event) => {
      const c = testContainer();
      expect((await c.handler(delivery(event, example('ping')))).statusCode).toBe(400);
    });

    it('should ignore the waiting action with 202', async () => {
      const c = testContainer();
      const res = await c.handler(delivery('workflow_job', workflowJob('waiting')));
      expect(res).toMatchObject({ statusCode: 202, body: 'ignored' });
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
    });

    it('should answer 400 when X-GitHub-Event is missing', async () => {
      const c = testContainer();
      const event = delivery('ping', example('ping'));
      delete event.headers['x-github-event'];
      expect((await c.handler(event)).statusCode).toBe(400);
    });
  });

  describe('in_progress and completed metrics', () => {
    function emf(logs: readonly string[]): Record<string, unknown>[] {
      return parsedLogs(logs).filter((l) => l._aws !== undefined);
    }

    it('should emit QueueWaitSeconds per runner type for in_progress', async () => {
      // GIVEN the in_progress example created 03:31:29 and started 03:31:36, relabelled for linux-x64
      const c = testContainer();
      const payload = example('workflow_job', (p) => p.action === 'in_progress' && p.workflow_job.created_at === '2023-06-26T03:31:29Z');
      payload.workflow_job.labels = ['self-hosted', 'linux'];
      const res = await c.handler(delivery('workflow_job', payload));
      expect(res.statusCode).toBe(202);
      const [metric] = emf(c.logs);
      expect(metric).toMatchObject({
        QueueWaitSeconds: 7,
        RunnerType: 'linux-x64',
        deliveryId: DELIVERY_ID,
        jobId: 14541957942,
        _aws: { CloudWatchMetrics: [{ Namespace: 'GitHubRunners', Dimensions: [['RunnerType']], Metrics: [{ Name: 'QueueWaitSeconds', Unit: 'Seconds' }] }] },
      });
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
      expect(c.ssm).toHaveReceivedCommandTimes(GetParametersCommand, 1);
    });

    it('should emit JobDurationSeconds and JobsCompleted by conclusion for completed', async () => {
      const c = testContainer({ env: testEnv({ METRICS_NAMESPACE: 'Custom' }) });
      const payload = example('workflow_job', (p) => p.action === 'completed' && p.workflow_job.conclusion === 'success');
      payload.workflow_job.labels = ['k8s'];
      await c.handler(delivery('workflow_job', payload));
      const [metric] = emf(c.logs);
      expect(metric).toMatchObject({
        JobDurationSeconds: 198,
        JobsCompleted: 1,
        RunnerType: 'k8s',
        Conclusion: 'success',
        _aws: { CloudWatchMetrics: [{ Namespace: 'Custom', Dimensions: [['RunnerType', 'Conclusion']] }] },
      });
    });

    it('should skip metrics when no runner type matches', async () => {
      const c = testContainer();
      const res = await c.handler(delivery('workflow_job', workflowJob('completed')));
      expect(res.statusCode).toBe(202);
      expect(emf(c.logs)).toEqual([]);
    });

    it('should skip QueueWaitSeconds when created_at is absent', async () => {
      const c = testContainer();
      const payload = workflowJob('in_progress', 'gpu');
      payload.workflow_job.labels = ['linux'];
      const res = await c.handler(delivery('workflow_job', payload));
      expect(res.statusCode).toBe(202);
      expect(emf(c.logs)).toEqual([]);
    });
  });

  describe('job ledger', () => {
    const ledgerEnv = () => testEnv({ JOB_LEDGER_TABLE_NAME: 'gh-ci-job-launches' });
    const inProgress = () => {
      const payload = example('workflow_job', (p) => p.action === 'in_progress' && p.workflow_job.created_at === '2023-06-26T03:31:29Z');
      payload.workflow_job.labels = ['self-hosted', 'linux'];
      payload.workflow_job.runner_name = 'gh-ci-i-0123456789abcdef0';
      return payload;
    };

    it('should record in_progress with the runner name on the job the ledger holds', async () => {
      const c = testContainer({ env: ledgerEnv() });
      const res = await c.handler(delivery('workflow_job', inProgress()));
      expect(res.statusCode).toBe(202);
      expect(c.dynamodb).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
      const input = c.dynamodb.commandCalls(UpdateItemCommand)[0].args[0].input;
      expect(input).toMatchObject({
        TableName: 'gh-ci-job-launches',
        Key: { pk: { S: 'job#14541957942' } },
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':state': { S: 'in_progress' }, ':runner': { S: 'gh-ci-i-0123456789abcdef0' } },
      });
      expect(input.UpdateExpression).toContain('REMOVE awaiting_type');
    });

    it('should answer 202 and log an error when the ledger cannot be written', async () => {
      const c = testContainer({ env: ledgerEnv() });
      c.dynamodb.on(UpdateItemCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalServerError' }));
      const res = await c.handler(delivery('workflow_job', inProgress()));
      expect(res.statusCode).toBe(202);
      expect(parsedLogs(c.logs).some((l) => l.level === 'error' && String(l.message).includes('job ledger'))).toBe(true);
    });

    it('should write nothing for jobs no runner type matches, or without a ledger', async () => {
      const unrouted = testContainer({ env: ledgerEnv() });
      await unrouted.handler(delivery('workflow_job', workflowJob('completed')));
      expect(unrouted.dynamodb).not.toHaveReceivedCommand(UpdateItemCommand);
      const off = testContainer();
      await off.handler(delivery('workflow_job', inProgress()));
      expect(off.dynamodb).not.toHaveReceivedCommand(UpdateItemCommand);
    });

    it('should leave the queued path without a ledger write', async () => {
      const c = testContainer({ env: ledgerEnv() });
      const res = await c.handler(delivery('workflow_job', queuedLinuxJob()));
      expect(res.statusCode).toBe(202);
      expect(c.dynamodb).not.toHaveReceivedCommand(UpdateItemCommand);
    });
  });

  describe('rejections', () => {
    it('should answer 413 for a body over 1 MiB without reading the secret', async () => {
      const c = testContainer();
      const body = JSON.stringify({ pad: 'x'.repeat(MAX_BODY_BYTES) });
      const res = await c.handler(delivery('workflow_job', body));
      expect(res).toMatchObject({ statusCode: 413, body: 'payload too large' });
      expect(c.ssmCalls()).toBe(0);
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
    });

    it.each([
      ['missing', undefined],
      ['malformed', 'sha1=abc'],
      ['mismatching', sign('another body')],
    ])('should answer 401 for a %s signature', async (reason, signature) => {
      const c = testContainer();
      const event = delivery('workflow_job', queuedLinuxJob());
      if (signature === undefined) delete event.headers['x-hub-signature-256'];
      else event.headers['x-hub-signature-256'] = signature;
      const res = await c.handler(event);
      expect(res).toMatchObject({ statusCode: 401, body: 'unauthorized' });
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
      const warning = parsedLogs(c.logs).find((l) => l.message === 'rejected: signature verification failed');
      expect(warning).toMatchObject({ level: 'warn', reason: reason === 'mismatching' ? 'mismatch' : reason, deliveryId: DELIVERY_ID });
    });

    it('should answer 401 when a signature header is repeated with different values', async () => {
      const c = testContainer();
      const event = delivery('workflow_job', queuedLinuxJob());
      event.headers['X-Hub-Signature-256'] = sign('something else');
      expect((await c.handler(event)).statusCode).toBe(401);
    });

    it('should answer 400 for a signed body that is not JSON', async () => {
      const c = testContainer();
      expect(await c.handler(delivery('workflow_job', 'payload=%7B%7D'))).toMatchObject({ statusCode: 400, body: 'bad request' });
    });

    it('should answer 400 for invalid base64', async () => {
      const c = testContainer();
      const event = delivery('workflow_job', queuedLinuxJob());
      event.isBase64Encoded = true;
      expect((await c.handler(event)).statusCode).toBe(400);
    });
  });

  describe('failures', () => {
    it('should answer 503 when SQS fails, so GitHub can redeliver', async () => {
      const c = testContainer();
      c.sqs.on(SendMessageCommand).rejects(new Error('ServiceUnavailable'));
      const res = await c.handler(delivery('workflow_job', queuedLinuxJob()));
      expect(res).toMatchObject({ statusCode: 503 });
      expect(res.body).not.toMatch(/ServiceUnavailable|sqs/i);
      expect(parsedLogs(c.logs)).toContainEqual(expect.objectContaining({ level: 'error', jobId: 289782451, runnerType: 'linux-x64' }));
    });

    it('should answer a generic 500 when the secret parameter is missing', async () => {
      const c = testContainer();
      c.ssm.on(GetParametersCommand).resolves({ Parameters: [], InvalidParameters: [SECRET_PARAMETER] });
      const res = await c.handler(delivery('workflow_job', queuedLinuxJob()));
      expect(res).toMatchObject({ statusCode: 500, body: 'internal error' });
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
    });

    it('should answer a generic 500 and log every config problem once', async () => {
      // GIVEN a container with two config problems
      const c = testContainer({ env: testEnv({ PREFIX: undefined, RUNNER_TYPES_CONFIG: 'nope' }) });
      const res = await c.handler(delivery('workflow_job', queuedLinuxJob()));
      // THEN a generic 500 and one error line listing both
      expect(res).toMatchObject({ statusCode: 500, body: 'internal error' });
      const errors = parsedLogs(c.logs).filter((l) => l.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ problems: ['PREFIX is required', 'RUNNER_TYPES_CONFIG is not valid JSON'], deliveryId: DELIVERY_ID });
      expect(c.ssmCalls()).toBe(0);
    });
  });

  describe('secret rotation', () => {
    it('should accept a delivery signed with a rotated secret with exactly 2 GetParameters calls', async () => {
      // GIVEN the first secret is cached
      const c = testContainer();
      expect((await c.handler(delivery('workflow_job', queuedLinuxJob()))).statusCode).toBe(202);
      // WHEN SSM now holds a new secret and a delivery signed with it arrives a minute later
      c.ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: SECRET_PARAMETER, Value: 'rotated-secret' }] });
      c.advance(60_000);
      const res = await c.handler(delivery('workflow_job', queuedLinuxJob(), { secret: 'rotated-secret' }));
      // THEN it succeeds after one refresh
      expect(res.statusCode).toBe(202);
      expect(c.ssmCalls()).toBe(2);
      expect(c.ssm).toHaveReceivedCommandWith(GetParametersCommand, { Names: [SECRET_PARAMETER], WithDecryption: true });
      expect(c.sqs).toHaveReceivedCommandTimes(SendMessageCommand, 2);
    });

    it('should not turn a forged-request storm into SSM calls', async () => {
      const c = testContainer();
      c.advance(60_000);
      const forged = () => c.handler(delivery('workflow_job', queuedLinuxJob(), { secret: 'guess' }));
      const answers = await Promise.all(Array.from({ length: 50 }, forged));
      expect(answers.every((a) => a.statusCode === 401)).toBe(true);
      // one shared cold load; the load itself counts against the 10 s refresh window
      expect(c.ssmCalls()).toBe(1);
      for (let i = 0; i < 20; i++) await forged();
      expect(c.ssmCalls()).toBe(1);
      // after 10 s one mismatching request may refresh, the next ones may not
      c.advance(10_000);
      for (let i = 0; i < 20; i++) await forged();
      expect(c.ssmCalls()).toBe(2);
      expect(c.sqs).not.toHaveReceivedCommand(SendMessageCommand);
    });
  });

  describe('logging', () => {
    it('should never log the secret, the signature or the raw body', async () => {
      // GIVEN one delivery of every outcome, with a distinctive marker in the body
      const c = testContainer();
      const payload = queuedLinuxJob();
      payload.marker = 'RAW-BODY-MARKER-1f3a';
      const good = delivery('workflow_job', payload);
      const forged = delivery('workflow_job', payload, { secret: 'forged-secret' });
      const notJson = delivery('workflow_job', 'RAW-BODY-MARKER-1f3a not json');
      await c.handler(good);
      c.advance(60_000); // so the forged delivery also goes through a secret refresh
      for (const e of [forged, notJson, delivery('ping', example('ping'))]) await c.handler(e);
      c.sqs.on(SendMessageCommand).rejects(new Error('boom'));
      await c.handler(good);
      // THEN no line carries any of them
      const signatures = [sign(good.body ?? ''), sign(good.body ?? '', 'forged-secret')];
      const secrets = [TEST_SECRET, 'forged-secret', 'RAW-BODY-MARKER', good.body ?? '', ...signatures, ...signatures.map((s) => s.slice('sha256='.length))];
      expect(c.ssmCalls()).toBe(2);
      expect(c.logs.length).toBeGreaterThanOrEqual(5);
      for (const line of c.logs) {
        for (const s of secrets) expect(line).not.toContain(s);
      }
    });

    it('should carry deliveryId on every line and jobId and runnerType once known', async () => {
      const c = testContainer();
      await c.handler(delivery('workflow_job', queuedLinuxJob()));
      const lines = parsedLogs(c.logs);
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(l.deliveryId).toBe(DELIVERY_ID);
      expect(lines.at(-1)).toMatchObject({ message: 'job queued', jobId: 289782451, runnerType: 'linux-x64', prefix: 'test' });
    });
  });
});
