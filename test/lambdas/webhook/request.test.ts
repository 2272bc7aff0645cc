import { InvalidPayloadError, PayloadTooLargeError } from '../../../lambdas/webhook/errors';
import { HeaderMap, MAX_BODY_BYTES, deliveryIdOf, rawBody } from '../../../lambdas/webhook/request';

describe('HeaderMap', () => {
  it('should look names up case-insensitively', () => {
    const h = new HeaderMap({ 'X-GitHub-Event': 'ping' });
    expect(h.get('x-github-event')).toBe('ping');
    expect(h.get('X-GITHUB-EVENT')).toBe('ping');
  });

  it('should merge names that differ only in case when the values agree', () => {
    const h = new HeaderMap({ 'x-github-event': 'ping', 'X-GitHub-Event': 'ping' });
    expect(h.get('x-github-event')).toBe('ping');
  });

  it('should report conflicting values as ambiguous', () => {
    const h = new HeaderMap({ 'x-github-event': 'ping', 'X-GitHub-Event': 'push' });
    expect(h.get('x-github-event')).toBeUndefined();
    expect(h.all('x-github-event')).toEqual(['ping', 'push']);
  });

  it('should tolerate absent headers and non-string values', () => {
    expect(new HeaderMap(undefined).all('a')).toEqual([]);
    expect(new HeaderMap({ a: undefined }).get('a')).toBeUndefined();
  });
});

describe('deliveryIdOf', () => {
  it('should return a GUID-like delivery id', () => {
    expect(deliveryIdOf(new HeaderMap({ 'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' }))).toBe('72d3162e-cc78-11e3-81ab-4c9367dc0958');
  });

  it.each([['{"json":1}'], ['a b'], ['x'.repeat(101)], ['']])('should drop %j', (value) => {
    expect(deliveryIdOf(new HeaderMap({ 'x-github-delivery': value }))).toBeUndefined();
  });
});

describe('rawBody', () => {
  it('should return UTF-8 bytes of a text body', () => {
    expect(rawBody({ body: 'héllo', isBase64Encoded: false }).toString('utf8')).toBe('héllo');
  });

  it('should decode a base64 body to the bytes that were signed', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    expect(rawBody({ body: bytes.toString('base64'), isBase64Encoded: true })).toEqual(bytes);
  });

  it('should treat an absent body as empty', () => {
    expect(rawBody({ body: undefined, isBase64Encoded: false })).toHaveLength(0);
  });

  it.each([['abc'], ['ab=c'], ['a'], ['{"a":1}'], ['YWJj\n'], ['YQ===']])('should reject invalid base64 %j', (body) => {
    expect(() => rawBody({ body, isBase64Encoded: true })).toThrow(InvalidPayloadError);
  });

  it('should accept exactly the limit', () => {
    expect(rawBody({ body: 'a'.repeat(MAX_BODY_BYTES), isBase64Encoded: false })).toHaveLength(MAX_BODY_BYTES);
    expect(rawBody({ body: Buffer.alloc(MAX_BODY_BYTES).toString('base64'), isBase64Encoded: true })).toHaveLength(MAX_BODY_BYTES);
  });

  it('should reject one byte over the limit, text or base64', () => {
    expect(() => rawBody({ body: 'a'.repeat(MAX_BODY_BYTES + 1), isBase64Encoded: false })).toThrow(PayloadTooLargeError);
    expect(() => rawBody({ body: Buffer.alloc(MAX_BODY_BYTES + 1).toString('base64'), isBase64Encoded: true })).toThrow(PayloadTooLargeError);
  });

  it('should check the decoded size of multi-byte text', () => {
    // GIVEN fewer characters than the limit but three UTF-8 bytes each
    const body = '€'.repeat(MAX_BODY_BYTES / 2);
    // THEN the decoded size decides
    expect(() => rawBody({ body, isBase64Encoded: false })).toThrow(PayloadTooLargeError);
  });

  it('should reject an obviously oversized base64 body before validating or decoding it', () => {
    const from = jest.spyOn(Buffer, 'from');
    try {
      expect(() => rawBody({ body: '!'.repeat(2 * MAX_BODY_BYTES), isBase64Encoded: true })).toThrow(PayloadTooLargeError);
      expect(from).not.toHaveBeenCalled();
    } finally {
      from.mockRestore();
    }
  });
});
