/**
 * Property: no forged or malformed request gets a 5xx or puts anything on a
 * queue. Each generated request is either unauthentic (missing, malformed or
 * wrong signature, possibly also oversized or badly encoded) or authentic but
 * unusable (truncated, not JSON, bad base64, a queued job with a broken field).
 */
import fc from 'fast-check';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { MAX_BODY_BYTES } from '../../../lambdas/webhook/request';
import { RESPONSES } from '../../../lambdas/webhook/responses';
import { Payload, TEST_SECRET, httpEvent, queuedLinuxJob, sign, testContainer } from './helpers';

interface Case {
  readonly kind: string;
  readonly event: APIGatewayProxyEventV2;
}

const VALID_BODY = JSON.stringify(queuedLinuxJob());
const OVERSIZED = JSON.stringify({ pad: 'x'.repeat(MAX_BODY_BYTES) });
const GENERIC_BODIES = new Set<string>(Object.values(RESPONSES).map((r) => r.body));

const headerName = (name: string) => fc.mixedCase(fc.constant(name));
const eventName = fc.oneof(fc.constantFrom('workflow_job', 'ping', 'push', 'WORKFLOW_JOB', ''), fc.string());
const deliveryId = fc.oneof(fc.uuid(), fc.string());
const notJson = fc.string({ unit: 'binary' }).filter((s) => !isJson(s));

/** Bodies of any shape: the real one, truncated, random text, random JSON, oversized. */
const anyBody = fc.oneof(
  { arbitrary: fc.constant(VALID_BODY), weight: 3 },
  { arbitrary: fc.nat({ max: VALID_BODY.length - 1 }).map((n) => VALID_BODY.slice(0, n)), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary' }), weight: 2 },
  { arbitrary: fc.json(), weight: 2 },
  { arbitrary: fc.constant(OVERSIZED), weight: 1 },
);

/** Signature header values that never match the body they travel with. */
function forgedSignature(body: string): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    fc.constant(undefined),
    fc.string({ unit: 'binary' }),
    fc.constantFrom('', 'sha256=', 'sha1=0000', `sha256=${'g'.repeat(64)}`, sign(body).slice(0, -1), `${sign(body)}0`, `${sign(body)},${sign(body)}`),
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `sha256=${Buffer.from(b).toString('hex')}`),
    fc.string({ minLength: 1 }).filter((s) => !s.startsWith(TEST_SECRET)).map((secret) => sign(body, secret)),
    fc.string({ minLength: 1 }).map((suffix) => sign(body + suffix)),
    fc.constant(sign(body).toUpperCase()),
  );
}

/** How the body travels: as text, as (possibly broken) base64, or as text wrongly flagged base64. */
const encoding = fc.constantFrom('text', 'base64', 'base64-broken', 'text-flagged-base64');

function encode(body: string, how: string): { body: string; isBase64Encoded: boolean } {
  const b64 = Buffer.from(body).toString('base64');
  switch (how) {
    case 'base64':
      return { body: b64, isBase64Encoded: true };
    case 'base64-broken':
      return { body: `${b64.replace(/=+$/, '')}!`, isBase64Encoded: true };
    case 'text-flagged-base64':
      return { body, isBase64Encoded: true };
    default:
      return { body, isBase64Encoded: false };
  }
}

/** Request headers with randomly cased names; `extra` may add a same-name header in another case. */
function headers(h: { event: string; delivery: string; signature?: string; eventName: string; sigName: string; extra?: [string, string] }): Record<string, string> {
  const out: Record<string, string> = { 'content-type': 'application/json', [h.eventName]: h.event, 'X-GitHub-Delivery': h.delivery };
  if (h.signature !== undefined) out[h.sigName] = h.signature;
  if (h.extra) out[h.extra[0]] = h.extra[1];
  return out;
}

/** Not authentic: the signature is missing, malformed or wrong. */
const forged: fc.Arbitrary<Case> = anyBody.chain((body) =>
  fc
    .record({
      signature: forgedSignature(body),
      encoding,
      event: eventName,
      delivery: deliveryId,
      eventName: headerName('x-github-event'),
      sigName: headerName('x-hub-signature-256'),
    })
    .map((r) => ({ kind: 'forged', event: httpEvent({ headers: headers(r), ...encode(body, r.encoding) }) })),
);

/** A valid signature next to a conflicting one under the same name in another case. */
const duplicateSignature: fc.Arbitrary<Case> = fc
  .record({ garbage: fc.string(), event: eventName, delivery: deliveryId, eventName: headerName('x-github-event') })
  .map((r) => ({
    kind: 'duplicate-signature',
    event: httpEvent({
      headers: headers({ ...r, signature: sign(VALID_BODY), sigName: 'x-hub-signature-256', extra: ['X-Hub-Signature-256', r.garbage === sign(VALID_BODY) ? 'x' : r.garbage] }),
      body: VALID_BODY,
    }),
  }));

/** Authentic but unusable bytes: truncated or non-JSON bodies, correctly signed. */
const signedJunk: fc.Arbitrary<Case> = fc
  .record({
    body: fc.oneof(fc.nat({ max: VALID_BODY.length - 1 }).map((n) => VALID_BODY.slice(0, n)), notJson),
    encoding: fc.constantFrom('text', 'base64', 'base64-broken'),
    event: eventName,
    delivery: deliveryId,
    eventName: headerName('x-github-event'),
    sigName: headerName('x-hub-signature-256'),
  })
  .map((r) => ({ kind: 'signed-junk', event: httpEvent({ headers: headers({ ...r, signature: sign(r.body) }), ...encode(r.body, r.encoding) }) }));

/** Authentic JSON wrongly flagged as base64, or base64 of it broken after signing. */
const signedBadEncoding: fc.Arbitrary<Case> = fc
  .record({ encoding: fc.constantFrom('base64-broken', 'text-flagged-base64'), delivery: deliveryId, eventName: headerName('x-github-event'), sigName: headerName('x-hub-signature-256') })
  .map((r) => ({
    kind: 'signed-bad-encoding',
    event: httpEvent({ headers: headers({ ...r, event: 'workflow_job', signature: sign(VALID_BODY) }), ...encode(VALID_BODY, r.encoding) }),
  }));

const DELETE = Symbol('delete');
const badNumber = fc.constantFrom<unknown>(DELETE, null, '', -1, 0, 1.5, '12', {}, [], true, Number.MAX_SAFE_INTEGER + 2);
const badString = fc.constantFrom<unknown>(DELETE, null, '', 0, 7, {}, [], true);
const badLabels = fc.constantFrom<unknown>(DELETE, null, '', 'linux', [1], [''], [null], {}, true);
const badTimestamp = fc.constantFrom<unknown>(DELETE, null, '', 7, 'not-a-date', '2023-13-45T99:99:99Z', '2023-04-19', {});

/** Authentic queued workflow_job deliveries with one field the message needs broken. */
const signedBrokenJob: fc.Arbitrary<Case> = fc
  .oneof(
    badNumber.map((v) => [['workflow_job', 'id'], v] as const),
    badNumber.map((v) => [['workflow_job', 'run_id'], v] as const),
    badNumber.map((v) => [['installation', 'id'], v] as const),
    badLabels.map((v) => [['workflow_job', 'labels'], v] as const),
    badTimestamp.map((v) => [['workflow_job', 'created_at'], v] as const),
    badString.map((v) => [['repository', 'name'], v] as const),
    badString.map((v) => [['repository', 'owner', 'login'], v] as const),
    badString.map((v) => [['repository', 'owner', 'type'], v] as const),
  )
  .chain(([path, value]) =>
    fc.record({ base64: fc.boolean(), eventName: headerName('x-github-event'), sigName: headerName('x-hub-signature-256') }).map((r) => {
      const body = JSON.stringify(setPath(queuedLinuxJob(), path, value));
      const encoded = encode(body, r.base64 ? 'base64' : 'text');
      return {
        kind: `signed-broken ${path.join('.')}`,
        event: httpEvent({ headers: headers({ ...r, event: 'workflow_job', delivery: 'd-1', signature: sign(body) }), ...encoded }),
      };
    }),
  );

function setPath(payload: Payload, path: readonly string[], value: unknown): Payload {
  let node = payload as Record<string, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = path[path.length - 1];
  if (value === DELETE) delete node[last];
  else node[last] = value;
  return payload;
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

describe('webhook handler under hostile input', () => {
  it('should answer every forged or malformed request with a generic 4xx and send nothing', async () => {
    // GIVEN one warm container (its secret cache and refresh limit shared by all runs)
    const c = testContainer();
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(forged, forged, duplicateSignature, signedJunk, signedBadEncoding, signedBrokenJob), async ({ kind, event }) => {
        kinds.set(kind.split(' ')[0], (kinds.get(kind.split(' ')[0]) ?? 0) + 1);
        const res = await c.handler(event);
        expect(res.statusCode).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
        expect(GENERIC_BODIES.has(res.body ?? '')).toBe(true);
        expect(c.sent()).toHaveLength(0);
      }),
      { numRuns: 1000 },
    );
    // THEN every family was exercised, and SSM saw one load and no refresh (the clock never moved)
    expect([...kinds.keys()].sort()).toEqual(['duplicate-signature', 'forged', 'signed-bad-encoding', 'signed-broken', 'signed-junk']);
    expect(c.ssmCalls()).toBe(1);
  });
});
