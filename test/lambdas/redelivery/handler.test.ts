/**
 * The redelivery handler over real HTTP, against a fake of GitHub's App
 * delivery endpoints on 127.0.0.1 that enforces GitHub's rules (App JWT only,
 * per_page ≤ 100, cursor pagination, newest first): see fake-delivery-log.ts.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import { createDefaultContext, createHandler } from '../../../lambdas/redelivery/index';
import { generateAppKey } from '../shared/fake-github';
import { FakeDeliveryLog, startFakeDeliveryLog } from './fake-delivery-log';

const APP_ID = 4242;
const key = generateAppKey();
const env = {
  GITHUB_APP_ID_SSM_PARAMETER_NAME: '/gh/app-id',
  GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/gh/app-key',
  REDELIVERY_LOOKBACK_MINUTES: '60',
  REDELIVERY_MAX_PAGES: '5',
  LOG_LEVEL: 'error',
};

/** An SSM client that answers GetParameters with the App's id and (base64) key. */
function ssmWith(privateKeyPem: string): SSMClient {
  const values: Record<string, string> = { '/gh/app-id': String(APP_ID), '/gh/app-key': Buffer.from(privateKeyPem).toString('base64') };
  return {
    send: async (command: { input: { Names: string[] } }) => ({
      Parameters: command.input.Names.filter((n) => n in values).map((n) => ({ Name: n, Value: values[n] })),
      InvalidParameters: command.input.Names.filter((n) => !(n in values)),
    }),
  } as unknown as SSMClient;
}

/** A cold container's handler. */
function coldHandler(fake: FakeDeliveryLog, privateKeyPem = key.privateKeyPem, writePacing = { burst: 100, perMinute: 170 }) {
  return createHandler(() =>
    createDefaultContext(
      { ...env, GHES_URL: fake.url },
      { ssm: ssmWith(privateKeyPem), client: { retries: { retryAfterBaseMs: 1, serverErrorRetries: 1, maxRateLimitRetries: 1 }, writePacing } },
    ),
  );
}
const context = { getRemainingTimeInMillis: () => 60_000 };

describe('redelivery handler over HTTP', () => {
  let fake: FakeDeliveryLog;
  let webhookAnswers: Map<string, number[]>;
  let redeliveryAnswer: (guid: string) => number;

  beforeEach(async () => {
    webhookAnswers = new Map();
    redeliveryAnswer = () => 202;
    fake = await startFakeDeliveryLog({
      appId: APP_ID,
      publicKey: key.publicKey,
      deliver: async (guid) => {
        const code = redeliveryAnswer(guid);
        webhookAnswers.set(guid, [...(webhookAnswers.get(guid) ?? []), code]);
        return code;
      },
    });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('should redeliver every failed workflow_job delivery once, across pages and cold starts', async () => {
    // GIVEN 150 workflow_job deliveries of which every third failed (429 or 5xx), plus failed other events
    const failed: string[] = [];
    for (let i = 0; i < 150; i++) {
      const code = i % 3 === 0 ? [429, 500, 502, 503][i % 4] : 202;
      fake.record(`guid-${i}`, code);
      if (code !== 202) failed.push(`guid-${i}`);
    }
    fake.record('push-1', 502, { event: 'push', action: null });

    // WHEN one run, then another run in a new container
    const first = await coldHandler(fake)({}, context);
    await fake.settled();
    const second = await coldHandler(fake)({}, context);
    await fake.settled();

    // THEN the first run redelivered each failed guid once and the second nothing
    expect(first).toMatchObject({ redelivered: failed.length, failures: 0, scanComplete: true, pagesRead: 2 });
    expect(second).toMatchObject({ redelivered: 0, alreadyRedelivered: 0 });
    expect([...webhookAnswers.keys()].sort()).toEqual([...failed].sort());
    expect([...webhookAnswers.values()].every((answers) => answers.length === 1)).toBe(true);
    // AND every redelivery kept the guid of its original
    const redeliveries = fake.entries.filter((e) => e.redelivery);
    expect(redeliveries.map((e) => e.guid).sort()).toEqual([...failed].sort());

    // AND it spoke GitHub's dialect: App JWT only, per_page ≤ 100, the second page by cursor
    expect(fake.calls.every((c) => c.auth === 'bearer' && c.status !== 401)).toBe(true);
    const lists = fake.calls.filter((c) => c.method === 'GET');
    expect(lists.every((c) => Number(c.query.get('per_page')) <= 100)).toBe(true);
    expect(lists.filter((c) => c.query.has('cursor')).length).toBeGreaterThan(0);
    expect(lists.some((c) => c.query.has('page'))).toBe(false);
  });

  it('should not redeliver again a redelivery that failed again', async () => {
    fake.record('g-1', 502);
    redeliveryAnswer = () => 503;
    await coldHandler(fake)({}, context);
    await fake.settled();
    const again = await coldHandler(fake)({}, context);
    await fake.settled();
    expect(webhookAnswers.get('g-1')).toEqual([503]);
    expect(again).toMatchObject({ redelivered: 0, alreadyRedelivered: 1 });
  });

  it('should fail the run when GitHub refuses the App JWT', async () => {
    fake.record('g-1', 502);
    const stranger = generateAppKey();
    await expect(coldHandler(fake, stranger.privateKeyPem)({}, context)).rejects.toMatchObject({ status: 401 });
    expect(webhookAnswers.size).toBe(0);
  });

  it('should count a redelivery GitHub refuses and redeliver it on the next run', async () => {
    fake.record('g-1', 502);
    fake.failNext('POST', /\/attempts$/, 422);
    const first = await coldHandler(fake)({}, context);
    await fake.settled();
    const second = await coldHandler(fake)({}, context);
    await fake.settled();
    expect(first).toMatchObject({ redelivered: 0, failures: 1 });
    expect(second).toMatchObject({ redelivered: 1, failures: 0 });
    expect(webhookAnswers.get('g-1')).toEqual([202]);
  });

  it('should pace the redeliveries with the write pacer', async () => {
    // GIVEN 10 failures and a pacer of burst 2, then 600 per minute (one per 100 ms)
    for (let i = 0; i < 10; i++) fake.record(`g-${i}`, 502);
    const started = Date.now();
    const result = await coldHandler(fake, key.privateKeyPem, { burst: 2, perMinute: 600 })({}, context);
    // THEN the 8 writes beyond the burst waited about 100 ms each
    expect(result).toMatchObject({ redelivered: 10 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(750);
  });
});
