/**
 * The HTTP request as the webhook sees it, independent of API Gateway: headers
 * looked up case-insensitively, and the raw body bytes GitHub signed.
 */
import { InvalidPayloadError, PayloadTooLargeError } from './errors';

/** Largest body accepted, in decoded bytes (1 MiB). GitHub caps its payloads at 25 MB, but workflow_job is a few KB. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Headers with case-insensitive names. HTTP API v2 lower-cases them and joins
 * repeated ones with commas; other callers may not, so names that differ only in
 * case are merged here and a name with several distinct values is "ambiguous".
 */
export class HeaderMap {
  private readonly values = new Map<string, string[]>();

  constructor(headers: Readonly<Record<string, string | undefined>> | undefined) {
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (typeof value !== 'string') continue;
      const key = name.toLowerCase();
      const seen = this.values.get(key) ?? [];
      if (!seen.includes(value)) seen.push(value);
      this.values.set(key, seen);
    }
  }

  /** Every distinct value sent under `name`, in any case. */
  all(name: string): readonly string[] {
    return this.values.get(name.toLowerCase()) ?? [];
  }

  /** The value of `name` when it was sent exactly once (or repeated identically); otherwise undefined. */
  get(name: string): string | undefined {
    const v = this.all(name);
    return v.length === 1 ? v[0] : undefined;
  }
}

/** A webhook delivery as plain data. */
export interface WebhookRequest {
  readonly headers: HeaderMap;
  /** The body as API Gateway passed it: text, or base64 when `isBase64Encoded`. */
  readonly body: string | undefined;
  readonly isBase64Encoded: boolean;
}

/** X-GitHub-Delivery, when it looks like one (a GUID-like token); undefined otherwise so junk never reaches the logs. */
export function deliveryIdOf(headers: HeaderMap): string | undefined {
  const v = headers.get('x-github-delivery')?.trim();
  return v !== undefined && /^[A-Za-z0-9-]{1,100}$/.test(v) ? v : undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The raw body bytes, exactly as GitHub sent and signed them.
 *
 * Throws PayloadTooLargeError past `limit` decoded bytes. The check runs first
 * on the encoded length when that alone proves the body too large, so a huge
 * body is never decoded. Throws InvalidPayloadError for malformed base64.
 */
export function rawBody(request: Pick<WebhookRequest, 'body' | 'isBase64Encoded'>, limit = MAX_BODY_BYTES): Buffer {
  const body = request.body ?? '';
  // Base64 of n bytes takes 4*ceil(n/3) characters; UTF-8 takes at least one byte per UTF-16 unit.
  const encodedLimit = request.isBase64Encoded ? Math.ceil(limit / 3) * 4 : limit;
  if (body.length > encodedLimit) throw new PayloadTooLargeError(limit);
  if (request.isBase64Encoded && !BASE64.test(body)) throw new InvalidPayloadError(['body is not valid base64']);
  const bytes = Buffer.from(body, request.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > limit) throw new PayloadTooLargeError(limit);
  return bytes;
}
