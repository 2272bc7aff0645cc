import { Logger } from '../../../lambdas/shared/logger';
import { SignatureError } from '../../../lambdas/webhook/errors';
import { HeaderMap } from '../../../lambdas/webhook/request';
import { MIN_REFRESH_INTERVAL_MS, SecretReader, WebhookSecretVerifier } from '../../../lambdas/webhook/webhook-secret';
import { sign } from './helpers';

const PARAMETER = '/p/secret';
const BODY = Buffer.from('{"zen":"Keep it logically awesome."}');

/** A SecretReader whose stored value can be rotated, counting reads like SSM would. */
class FakeSecrets implements SecretReader {
  reads = 0;
  fail = false;
  private cached: string | undefined;
  constructor(public stored: string) {}
  async getOne(_name: string, options: { refresh?: boolean } = {}): Promise<string> {
    if (this.cached === undefined || options.refresh) {
      this.reads += 1;
      if (this.fail) throw new Error('ThrottlingException');
      this.cached = this.stored;
    }
    return this.cached;
  }
}

function signed(secret: string): HeaderMap {
  return new HeaderMap({ 'x-hub-signature-256': sign(BODY, secret) });
}

async function reasonOf(p: Promise<void>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (e instanceof SignatureError) return e.reason;
    throw e;
  }
}

describe('WebhookSecretVerifier', () => {
  let now: number;
  let secrets: FakeSecrets;
  let verifier: WebhookSecretVerifier;
  const log = new Logger('test', {}, () => undefined);

  beforeEach(() => {
    now = 0;
    secrets = new FakeSecrets('old');
    verifier = new WebhookSecretVerifier(secrets, PARAMETER, () => now);
  });

  it('should read the secret once and serve later deliveries from the cache', async () => {
    await verifier.verify(signed('old'), BODY, log);
    await verifier.verify(signed('old'), BODY, log);
    expect(secrets.reads).toBe(1);
  });

  it('should not read the secret for missing or malformed headers', async () => {
    expect(await reasonOf(verifier.verify(new HeaderMap({}), BODY, log))).toBe('missing');
    expect(await reasonOf(verifier.verify(new HeaderMap({ 'x-hub-signature-256': 'sha256=nope' }), BODY, log))).toBe('malformed');
    expect(secrets.reads).toBe(0);
  });

  it('should accept a rotated secret after one refresh', async () => {
    // GIVEN the old secret is cached
    await verifier.verify(signed('old'), BODY, log);
    // WHEN the secret rotates and a delivery signed with the new one arrives later
    secrets.stored = 'new';
    now += MIN_REFRESH_INTERVAL_MS;
    await verifier.verify(signed('new'), BODY, log);
    // THEN exactly one more read happened
    expect(secrets.reads).toBe(2);
  });

  it('should refresh at most once per interval under forged traffic', async () => {
    await verifier.verify(signed('old'), BODY, log);
    now += MIN_REFRESH_INTERVAL_MS;
    for (let i = 0; i < 20; i++) expect(await reasonOf(verifier.verify(signed(`forged-${i}`), BODY, log))).toBe('mismatch');
    expect(secrets.reads).toBe(2);
    now += MIN_REFRESH_INTERVAL_MS - 1;
    expect(await reasonOf(verifier.verify(signed('forged'), BODY, log))).toBe('mismatch');
    expect(secrets.reads).toBe(2);
    now += 1;
    expect(await reasonOf(verifier.verify(signed('forged'), BODY, log))).toBe('mismatch');
    expect(secrets.reads).toBe(3);
  });

  it('should count the first load against the interval', async () => {
    // GIVEN a cold container that just read the secret
    expect(await reasonOf(verifier.verify(signed('forged'), BODY, log))).toBe('mismatch');
    // THEN the mismatch did not trigger an immediate second read
    expect(secrets.reads).toBe(1);
  });

  it('should treat a failed refresh as a mismatch and stay rate limited', async () => {
    await verifier.verify(signed('old'), BODY, log);
    secrets.fail = true;
    now += MIN_REFRESH_INTERVAL_MS;
    expect(await reasonOf(verifier.verify(signed('new'), BODY, log))).toBe('mismatch');
    expect(await reasonOf(verifier.verify(signed('new'), BODY, log))).toBe('mismatch');
    expect(secrets.reads).toBe(2);
    // and the cached secret still works
    await verifier.verify(signed('old'), BODY, log);
  });

  it('should let a failing first load propagate as an internal error', async () => {
    secrets.fail = true;
    await expect(verifier.verify(signed('old'), BODY, log)).rejects.toThrow('ThrottlingException');
  });
});
