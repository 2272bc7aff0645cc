/**
 * A fake of the GitHub App webhook delivery endpoints on 127.0.0.1, enforcing
 * the rules of https://docs.github.com/en/rest/apps/webhooks:
 *
 * - Only the App's JWT is accepted ("You must use a JWT to access this
 *   endpoint"; installation tokens do not work): anything else is 401.
 * - GET /app/hook/deliveries lists newest first, `per_page` at most 100
 *   (larger values are served as 100, default 30), and pages by `cursor`
 *   only: the next page is the Link header's rel="next" URL with a
 *   `cursor` parameter. A `page` parameter is ignored, as GitHub ignores it
 *   on cursor-paginated endpoints, so a client that pages by number reads
 *   the first page again and again.
 * - The log keeps deliveries for 3 days; older ones are neither listed nor
 *   redeliverable (422).
 * - POST /app/hook/deliveries/{delivery_id}/attempts answers 202 and makes a
 *   new attempt: a new log entry with a new id, `redelivery: true` and the
 *   same `guid` (X-GitHub-Delivery), delivered through `deliver`.
 *   An unknown id is 404.
 */
import { listenOnLoopback } from '../shared/loopback-server';
import type { KeyObject } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { validJwt } from '../shared/fake-github';

/** A log entry as the API lists it (hook-delivery-item). */
export interface FakeDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  duration: number;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
  throttled_at: string | null;
}

export interface FakeDeliveryLogOptions {
  readonly appId: number;
  readonly publicKey: KeyObject;
  /** Sends an attempt of `guid` to the App's webhook URL; resolves to the HTTP status it answered (0: no answer). */
  readonly deliver?: (guid: string, original: FakeDelivery) => Promise<number>;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface RecordedLogCall {
  readonly method: string;
  readonly route: string;
  readonly query: URLSearchParams;
  readonly auth: string;
  status?: number;
}

export interface FakeDeliveryLog {
  readonly url: string;
  /** Every entry, oldest first. */
  readonly entries: FakeDelivery[];
  readonly calls: RecordedLogCall[];
  /** Record an attempt GitHub made; returns the entry. */
  record(guid: string, statusCode: number, fields?: Partial<Pick<FakeDelivery, 'event' | 'action' | 'redelivery' | 'delivered_at'>>): FakeDelivery;
  /** Answer the next `times` requests matching method and route with `status`. */
  failNext(method: string, route: RegExp, status: number, times?: number): void;
  /** Resolves when every redelivery attempt started so far is in the log. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const RETENTION_MS = 3 * 24 * 3_600_000;

/** "OK" for 2xx, as GitHub words it; its other wordings are free text. */
function statusText(code: number): string {
  if (code >= 200 && code < 300) return 'OK';
  if (code === 0) return 'failed to connect';
  return `Invalid HTTP Response: ${code}`;
}

export async function startFakeDeliveryLog(options: FakeDeliveryLogOptions): Promise<FakeDeliveryLog> {
  const now = options.now ?? Date.now;
  const entries: FakeDelivery[] = [];
  const calls: RecordedLogCall[] = [];
  const failures: { method: string; route: RegExp; status: number; left: number }[] = [];
  let nextId = 12_000_000_001;
  const attempts: Promise<void>[] = [];

  const record: FakeDeliveryLog['record'] = (guid, statusCode, fields = {}) => {
    const entry: FakeDelivery = {
      id: nextId++,
      guid,
      delivered_at: fields.delivered_at ?? new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      redelivery: fields.redelivery ?? false,
      duration: 0.05,
      status: statusText(statusCode),
      status_code: statusCode,
      event: fields.event ?? 'workflow_job',
      action: fields.action ?? 'queued',
      installation_id: 77,
      repository_id: 1296269,
      throttled_at: null,
    };
    entries.push(entry);
    return entry;
  };
  const retained = () => entries.filter((e) => Date.parse(e.delivered_at) >= now() - RETENTION_MS);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const route = url.pathname.startsWith('/api/v3/') ? url.pathname.slice('/api/v3'.length) : url.pathname;
    await new Promise<void>((resolve) => req.on('data', () => undefined).on('end', resolve));
    const authorization = req.headers.authorization ?? '';
    const call: RecordedLogCall = { method, route, query: url.searchParams, auth: authorization.split(' ')[0]?.toLowerCase() || 'none' };
    calls.push(call);
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    const failure = failures.find((f) => f.left > 0 && f.method === method && f.route.test(route));
    if (failure) {
      failure.left -= 1;
      return send(failure.status, { message: `scripted ${failure.status}` });
    }
    const isRoute = method === 'GET' && route === '/app/hook/deliveries';
    const redeliver = method === 'POST' ? route.match(/^\/app\/hook\/deliveries\/(\d+)\/attempts$/) : null;
    if (!isRoute && !redeliver) return send(404, { message: 'Not Found' });
    if (!validJwt(authorization, options)) return send(401, { message: 'A JSON web token could not be decoded' });

    if (isRoute) {
      const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
      const newestFirst = retained().reverse();
      const cursor = url.searchParams.get('cursor');
      // The cursor names the id after which the page starts (opaque to clients).
      const start = cursor === null ? 0 : newestFirst.findIndex((e) => e.id < Number(cursor));
      const page = start < 0 ? [] : newestFirst.slice(start, start + perPage);
      const headers: Record<string, string> = {};
      if (start >= 0 && start + perPage < newestFirst.length) {
        const q = new URLSearchParams(url.searchParams);
        q.set('per_page', String(perPage));
        q.set('cursor', String(page[page.length - 1].id));
        q.delete('page');
        headers.link = `<${serverUrl}${url.pathname}?${q.toString()}>; rel="next"`;
      }
      return send(200, page, headers);
    }

    const original = entries.find((e) => e.id === Number(redeliver![1]));
    if (!original) return send(404, { message: 'Not Found' });
    if (Date.parse(original.delivered_at) < now() - RETENTION_MS) return send(422, { message: 'Validation Failed' });
    send(202, {});
    // The attempt is made after the answer, as GitHub queues it.
    const attempt = (async () => {
      const code = options.deliver ? await options.deliver(original.guid, original) : 200;
      record(original.guid, code, { event: original.event, action: original.action, redelivery: true });
    })();
    attempts.push(attempt);
    await attempt;
  };

  const { server, url: serverUrl } = await listenOnLoopback(handle);
  return {
    url: serverUrl,
    entries,
    calls,
    record,
    failNext: (method, route, status, times = 1) => failures.push({ method, route, status, left: times }),
    settled: async () => {
      await Promise.all(attempts);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
