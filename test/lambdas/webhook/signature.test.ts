import { SignatureError } from '../../../lambdas/webhook/errors';
import { parseSignatureHeader, signPayload, signatureMatches } from '../../../lambdas/webhook/signature';

// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
const VECTOR = {
  secret: "It's a Secret to Everybody",
  payload: 'Hello, World!',
  signature: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
};

function reasonOf(values: string[]): string | undefined {
  try {
    parseSignatureHeader(values);
    return undefined;
  } catch (e) {
    return e instanceof SignatureError ? e.reason : 'other error';
  }
}

describe('signPayload', () => {
  it("should reproduce GitHub's documented test vector", () => {
    expect(signPayload(VECTOR.secret, VECTOR.payload)).toBe(VECTOR.signature);
    expect(signPayload(VECTOR.secret, Buffer.from(VECTOR.payload))).toBe(VECTOR.signature);
  });
});

describe('signatureMatches', () => {
  const body = Buffer.from(VECTOR.payload);
  const digest = parseSignatureHeader([VECTOR.signature]);

  it("should accept GitHub's test vector", () => {
    expect(signatureMatches(VECTOR.secret, body, digest)).toBe(true);
  });

  it('should reject another secret or a changed body', () => {
    expect(signatureMatches('another secret', body, digest)).toBe(false);
    expect(signatureMatches(VECTOR.secret, Buffer.from('Hello, World?'), digest)).toBe(false);
    expect(signatureMatches(VECTOR.secret, Buffer.from(''), digest)).toBe(false);
  });

  it('should return false instead of throwing for a digest of the wrong length', () => {
    expect(signatureMatches(VECTOR.secret, body, digest.subarray(0, 31))).toBe(false);
    expect(signatureMatches(VECTOR.secret, body, Buffer.concat([digest, Buffer.from([0])]))).toBe(false);
  });
});

describe('parseSignatureHeader', () => {
  it('should return the 32-byte digest of a well-formed header', () => {
    expect(parseSignatureHeader([VECTOR.signature]).toString('hex')).toBe(VECTOR.signature.slice('sha256='.length));
  });

  it('should accept upper-case hex and surrounding whitespace', () => {
    expect(reasonOf([` sha256=${VECTOR.signature.slice(7).toUpperCase()} `])).toBeUndefined();
  });

  it('should call an absent header missing', () => {
    expect(reasonOf([])).toBe('missing');
  });

  it.each([
    ['empty', ''],
    ['sha1 scheme', 'sha1=0123456789abcdef0123456789abcdef01234567'],
    ['no scheme', VECTOR.signature.slice(7)],
    ['short digest', VECTOR.signature.slice(0, -1)],
    ['long digest', `${VECTOR.signature}0`],
    ['non-hex digest', `sha256=${'z'.repeat(64)}`],
    ['comma-joined repeats', `${VECTOR.signature},${VECTOR.signature}`],
  ])('should call a %s header malformed', (_name, value) => {
    expect(reasonOf([value])).toBe('malformed');
  });

  it('should call several distinct values malformed', () => {
    expect(reasonOf([VECTOR.signature, `sha256=${'0'.repeat(64)}`])).toBe('malformed');
  });
});
