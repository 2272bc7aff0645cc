/**
 * (e) Hostile input at the webhook bundle: forged or missing signatures,
 * malformed JSON, oversize bodies and wrong encodings are answered 4xx, and
 * nothing reaches the queue. The last case sends one authentic delivery, so
 * the same world demonstrably does enqueue what it should.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { prepareBundles } from './lib/bundles';
import { httpApiEvent, signature, signedDelivery, workflowJobPayload } from './lib/deliveries';
import { SimJob } from './lib/github-world';
import { PREFIX, World } from './lib/world';

const TYPE = 'linux-x64';
/** Put into hostile bodies; must never show up in a log line. */
const MARKER = 'HOSTILE-BODY-MARKER-7f3a';
const ONE_MIB = 1024 * 1024;

describe('hostile input at the webhook', () => {
  let world: World;
  let job: SimJob;

  beforeAll(async () => {
    world = await World.create({ bundlesDir: await prepareBundles() });
    job = world.github.queueJob({ labels: ['self-hosted', 'linux', 'x64'] });
  });

  afterAll(async () => {
    await world?.close();
  });

  /** The queued payload of the test job, as text, carrying the marker where nothing logs it. */
  const queuedBody = () => {
    const payload = workflowJobPayload(job, 'queued');
    (payload.workflow_job as Record<string, unknown>).name = MARKER;
    return JSON.stringify(payload);
  };
  /** Headers of a delivery, without a signature. */
  const unsigned = (extra: Record<string, string> = {}) => ({
    'content-type': 'application/json',
    'x-github-event': 'workflow_job',
    'x-github-delivery': 'bad0bad0-0000-4000-8000-000000000000',
    ...extra,
  });

  const cases: [string, () => APIGatewayProxyEventV2, number][] = [
    ['a delivery signed with another secret', () => signedDelivery('workflow_job', queuedBody(), 'not-the-secret'), 401],
    ['a delivery without a signature', () => httpApiEvent(unsigned(), queuedBody()), 401],
    ['a delivery with only the SHA-1 signature', () => httpApiEvent(unsigned({ 'x-hub-signature': `sha1=${'0'.repeat(40)}` }), queuedBody()), 401],
    [
      'a body changed after signing',
      () => httpApiEvent(unsigned({ 'x-hub-signature-256': signature(queuedBody(), world.webhookSecret) }), queuedBody().replace('"linux"', '"LINUX"')),
      401,
    ],
    [
      'two different signature headers',
      () =>
        httpApiEvent(
          unsigned({ 'x-hub-signature-256': signature(queuedBody(), world.webhookSecret), 'X-Hub-Signature-256': signature(queuedBody(), 'forged') }),
          queuedBody(),
        ),
      401,
    ],
    ['malformed JSON, correctly signed', () => signedDelivery('workflow_job', `{"action":"queued",${MARKER}`, world.webhookSecret), 400],
    ['a JSON array, correctly signed', () => signedDelivery('workflow_job', `["${MARKER}"]`, world.webhookSecret), 400],
    ['a workflow_job without its fields, correctly signed', () => signedDelivery('workflow_job', { action: 'queued', workflow_job: { id: 1 } }, world.webhookSecret), 400],
    ['a body one byte over 1 MiB, correctly signed', () => signedDelivery('workflow_job', `"${'a'.repeat(ONE_MIB - 1)}"`, world.webhookSecret), 413],
    [
      'a base64 body one byte over 1 MiB, correctly signed',
      () => signedDelivery('workflow_job', `"${'a'.repeat(ONE_MIB - 1)}"`, world.webhookSecret, { base64: true }),
      413,
    ],
    [
      'UTF-16 text, correctly signed over its bytes',
      () => {
        const bytes = Buffer.from(queuedBody(), 'utf16le');
        return httpApiEvent(unsigned({ 'x-hub-signature-256': signature(bytes, world.webhookSecret) }), bytes.toString('base64'), true);
      },
      400,
    ],
    [
      'Latin-1 text that is not UTF-8, correctly signed over its bytes',
      () => {
        const bytes = Buffer.from(queuedBody().replace('hello-world', 'h\u00e9llo-world'), 'latin1');
        return httpApiEvent(unsigned({ 'x-hub-signature-256': signature(bytes, world.webhookSecret) }), bytes.toString('base64'), true);
      },
      400,
    ],
    ['a body flagged base64 that is not base64', () => httpApiEvent(unsigned({ 'x-hub-signature-256': signature('%%%', world.webhookSecret) }), '%%%not base64%%%', true), 400],
    [
      'a gzip-compressed body, correctly signed over its bytes',
      () => {
        const bytes = gzipSync(queuedBody());
        return httpApiEvent(unsigned({ 'content-encoding': 'gzip', 'x-hub-signature-256': signature(bytes, world.webhookSecret) }), bytes.toString('base64'), true);
      },
      400,
    ],
  ];

  it.each(cases)('should reject %s and enqueue nothing', async (_, event, status) => {
    const answer = await world.post(event());

    expect(answer.statusCode).toBe(status);
    expect(world.sqs.calls).toEqual([]);
  });

  it('should answer 4xx to arbitrary unsigned or wrongly signed requests and enqueue nothing', async () => {
    const signatureHeader = fc.oneof(
      fc.constant(undefined),
      fc.stringMatching(/^sha256=[0-9a-f]{64}$/),
      fc.string({ maxLength: 80 }),
      fc.string().map((body) => signature(body, 'forged-secret')),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 2000 }), fc.json(), fc.constant(queuedBody())),
        fc.boolean(),
        signatureHeader,
        fc.constantFrom('workflow_job', 'ping', 'push', ''),
        async (body, base64, sig, event) => {
          const headers: Record<string, string> = { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': 'f0f0f0f0-0000-4000-8000-000000000000' };
          if (sig !== undefined) headers['x-hub-signature-256'] = sig;
          const answer = await world.post(httpApiEvent(headers, base64 ? Buffer.from(body).toString('base64') : body, base64));
          expect([400, 401, 413]).toContain(answer.statusCode);
        },
      ),
      { numRuns: 300 },
    );
    expect(world.sqs.calls).toEqual([]);
  });

  it('should answer correctly signed garbage with 4xx or an ignore, and enqueue nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.json(), fc.string({ maxLength: 500 })), async (body) => {
        const answer = await world.post(signedDelivery('workflow_job', body, world.webhookSecret));
        expect(answer.statusCode === 400 || (answer.statusCode === 202 && answer.body === 'ignored')).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(world.sqs.calls).toEqual([]);
  });

  it('should never have logged a hostile body or a secret, and still enqueue an authentic delivery', async () => {
    const lines = world.logLines(`${PREFIX}-webhook`);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes(MARKER))).toEqual([]);
    expect(world.leakedSecrets()).toEqual([]);

    // The control: an authentic delivery of the same job is queued, once.
    await world.deliver(job, 'queued');
    expect(world.sqs.messages(world.queueUrl(TYPE))).toHaveLength(1);
  });
});
