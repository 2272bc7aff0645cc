/**
 * GitHub webhook signatures: `X-Hub-Signature-256: sha256=<hex>` is the
 * HMAC-SHA256 of the raw body bytes keyed with the webhook secret.
 *
 * Nothing here logs; callers must never log the header, the secret or a
 * computed digest either.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureError } from './errors';

/** The header GitHub signs deliveries with. */
export const SIGNATURE_HEADER = 'x-hub-signature-256';

const DIGEST_BYTES = 32;
const HEADER_FORMAT = /^sha256=([0-9a-fA-F]{64})$/;

/** `sha256=<hex>` for `body` under `secret`, as GitHub computes it. */
export function signPayload(secret: string, body: Uint8Array | string): string {
  return `sha256=${hmac(secret, body).toString('hex')}`;
}

/**
 * The digest a signature header carries. `values` are every distinct value the
 * request sent for the header: none is "missing", several or a bad format is
 * "malformed" (SignatureError).
 */
export function parseSignatureHeader(values: readonly string[]): Buffer {
  if (values.length === 0) throw new SignatureError('missing');
  if (values.length > 1) throw new SignatureError('malformed');
  const match = HEADER_FORMAT.exec(values[0].trim());
  if (!match) throw new SignatureError('malformed');
  return Buffer.from(match[1], 'hex');
}

/** Whether `digest` is the HMAC of `body` under `secret`, compared in constant time. */
export function signatureMatches(secret: string, body: Uint8Array, digest: Uint8Array): boolean {
  const expected = hmac(secret, body);
  // timingSafeEqual throws on different lengths; the length is public anyway.
  if (digest.length !== DIGEST_BYTES || expected.length !== digest.length) return false;
  return timingSafeEqual(expected, digest);
}

function hmac(secret: string, body: Uint8Array | string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}
