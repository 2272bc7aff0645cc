/**
 * The runner API's requests as plain data, and the checks of a `POST /runners`
 * body. Pure.
 */
import { RUNNER_API_LIMITS } from '../../modules/contract/api-runner';

/** An HTTP API (payload 2.0) request, reduced to what the API reads. */
export interface ApiRequest {
  readonly method: string;
  /** The path, e.g. `/runners` or `/runners/ghr-api-1-1-0`. */
  readonly path: string;
  /** The Authorization header, if any. */
  readonly authorization?: string;
  readonly body?: string;
}

/** What the caller asked for. */
export type ApiRoute = { readonly kind: 'start' } | { readonly kind: 'state'; readonly name: string } | { readonly kind: 'unknown' };

/** A body or route we refuse (422 or 404), with problems that quote no secret. */
export class InvalidRequestError extends Error {
  constructor(
    readonly status: 404 | 405 | 422,
    readonly problems: string[],
  ) {
    super(`invalid request: ${problems.join('; ')}`);
    this.name = 'InvalidRequestError';
  }
}

export function routeOf(request: Pick<ApiRequest, 'method' | 'path'>): ApiRoute {
  const path = request.path.replace(/\/+$/, '');
  if (path === '/runners' && request.method === 'POST') return { kind: 'start' };
  const m = /^\/runners\/([^/]{1,100})$/.exec(path);
  if (m && request.method === 'GET') return { kind: 'state', name: decodeURIComponent(m[1]) };
  return { kind: 'unknown' };
}

/** The bearer token, or undefined when the header is absent or not a Bearer one. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m ? m[1] : undefined;
}

/** A checked `POST /runners` body. */
export interface StartRequest {
  readonly runnerType: string;
  readonly count: number;
  readonly timeoutMinutes: number;
}

const FIELDS = ['runner_type', 'count', 'timeout_minutes'];

/** Parse and check a `POST /runners` body; throws InvalidRequestError (422) naming every problem. */
export function parseStartRequest(body: string | undefined, knownTypes: readonly string[], defaultTimeoutMinutes: number): StartRequest {
  let v: unknown;
  try {
    v = JSON.parse(body ?? '');
  } catch {
    throw new InvalidRequestError(422, ['body must be a JSON object']);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidRequestError(422, ['body must be a JSON object']);
  const o = v as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(o).filter((k) => !FIELDS.includes(k));
  if (unknown.length > 0) problems.push(`unknown fields: ${unknown.slice(0, 5).map((k) => k.slice(0, 40)).join(', ')}`);
  const runnerType = o.runner_type;
  if (typeof runnerType !== 'string' || runnerType === '') problems.push('runner_type must be a non-empty string');
  else if (!knownTypes.includes(runnerType)) problems.push(`runner_type must be one of ${knownTypes.join(', ')}`);
  const c = RUNNER_API_LIMITS.count;
  const count = o.count ?? c.default;
  if (!Number.isInteger(count) || (count as number) < c.min || (count as number) > c.max) problems.push(`count must be an integer in [${c.min}, ${c.max}]`);
  const t = RUNNER_API_LIMITS.timeoutMinutes;
  const timeout = o.timeout_minutes ?? defaultTimeoutMinutes;
  if (!Number.isInteger(timeout) || (timeout as number) < t.min || (timeout as number) > t.max) problems.push(`timeout_minutes must be an integer in [${t.min}, ${t.max}]`);
  if (problems.length > 0) throw new InvalidRequestError(422, problems);
  return { runnerType: runnerType as string, count: count as number, timeoutMinutes: timeout as number };
}
