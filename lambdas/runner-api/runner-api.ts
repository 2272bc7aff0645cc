/**
 * The runner API (issue #15 item 1): `POST /runners` starts runners for the
 * calling workflow run, `GET /runners/{name}` tells their state.
 *
 * Every request carries the job's GitHub Actions OIDC token as
 * `Authorization: Bearer`. The API:
 * 1. verifies it (oidc.ts): 401 when it is missing or bad;
 * 2. checks the token's `repository` against repository_allow_list, and that
 *    the App is installed on its owner: 403 otherwise;
 * 3. POST: checks the body (422), derives one name per runner from the token's
 *    `run_id` and `run_attempt` (contract/api-runner.ts), and for each name
 *    not recorded yet: 409 with Retry-After when the type's live runners and
 *    these would pass runners_maximum_count; otherwise creates its record
 *    (conditional put: a repeated request creates nothing) and puts one
 *    runner-request message on the type's job queue for scale-up, the one
 *    launcher of the type. Answers 201 (something new) or 200 (all known) with
 *    every runner's name, label and state;
 * 4. GET: 404 unless the name is recorded for the token's repository; else
 *    the state (state.ts) from the record, the instance and the GitHub runner.
 *
 * Errors are JSON `{ "error": code, "message": text }`. Nothing of the token
 * is logged or echoed.
 */
import { apiRunnerName, parseApiRunnerName, type RunnerRequestMessage } from '../../modules/contract/api-runner';
import { isRepositoryAllowed } from '../shared/allow-list';
import type { ApiRunnerRecord, ApiRunnerRecords } from '../shared/aws/api-runner-records';
import type { Logger } from '../shared/logger';
import { type RunnerTarget, runnerNameOf, runnerTargetFromOwnerTag } from '../shared/runners/identity';
import type { RunnerApiConfig } from './config';
import { type ActionsClaims, JwksUnavailableError, TokenError } from './oidc';
import { type ApiRequest, InvalidRequestError, bearerToken, parseStartRequest, routeOf } from './request';
import { type ApiRunnerState, apiRunnerState } from './state';

/** An answer as plain data; the body is JSON. */
export interface ApiResponse {
  readonly statusCode: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
}

/** An instance tagged with an API runner's name. */
export interface ApiRunnerInstance {
  readonly instanceId: string;
  readonly state: string;
  /** `ghr:owner`. */
  readonly owner?: string;
}

/** EC2, as the API reads it. */
export interface ApiInstances {
  /** Instances of `prefix` tagged `ghr:api-runner` with one of `names`, in any state (a live one wins). */
  findByNames(prefix: string, names: readonly string[]): Promise<Map<string, ApiRunnerInstance>>;
  /** Pending and running instances of the type. */
  countActive(prefix: string, runnerType: string): Promise<number>;
}

/** GitHub, as the API reads it (as the App). */
export interface ApiGitHub {
  /** The App's installation on `account`; undefined when it is not installed there. */
  installationIdFor(account: string): Promise<number | undefined>;
  /** The runner called `name` at `target`, if registered. */
  runnerByName(installationId: number, target: RunnerTarget, name: string): Promise<{ status: string; busy: boolean } | undefined>;
}

export interface RequestQueue {
  send(queueUrl: string, body: string): Promise<void>;
}

export interface TokenVerifier {
  verify(token: string): Promise<ActionsClaims>;
}

export interface RunnerApiDependencies {
  readonly verifier: TokenVerifier;
  readonly github: ApiGitHub;
  readonly instances: ApiInstances;
  readonly records: ApiRunnerRecords;
  readonly queue: RequestQueue;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Seconds a 409 at the cap asks the caller to wait. */
export const RETRY_AFTER_SECONDS = 30;

/** One runner in an answer. */
export interface ApiRunnerView {
  readonly name: string;
  readonly label: string;
  readonly runner_type: string;
  readonly state: ApiRunnerState;
  readonly idle_deadline: string;
  readonly instance_id?: string;
}

class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** Handle one request; never throws. */
export async function handleRunnerApi(request: ApiRequest, config: RunnerApiConfig, deps: RunnerApiDependencies): Promise<ApiResponse> {
  const route = routeOf(request);
  let log = deps.logger.withKeys({ route: route.kind });
  try {
    if (config.audience === undefined) throw new ApiError(503, 'not_configured', 'the runner API has no audience configured (runner_api_audience)');
    if (route.kind === 'unknown') throw new ApiError(404, 'not_found', 'no such route: use POST /runners or GET /runners/{name}');
    const claims = await authenticate(request, deps);
    log = log.withKeys({ repository: claims.repository, runId: claims.runId, runAttempt: claims.runAttempt });
    const installationId = await authorize(claims, config, deps);
    const response = route.kind === 'start' ? await start(request, claims, installationId, config, deps, log) : await state(route.name, claims, installationId, config, deps);
    log.info('answered', { status: response.statusCode });
    return response;
  } catch (error) {
    if (error instanceof ApiError) {
      log.warn('refused', { status: error.statusCode, code: error.code, reason: error.message });
      return json(error.statusCode, { error: error.code, message: error.message }, error.headers);
    }
    if (error instanceof InvalidRequestError) {
      log.warn('refused: invalid request', { status: error.status, problems: error.problems });
      return json(error.status, { error: 'invalid_request', message: error.problems.join('; ') });
    }
    log.error('internal error', { error });
    return json(500, { error: 'internal', message: 'internal error' });
  }
}

async function authenticate(request: ApiRequest, deps: RunnerApiDependencies): Promise<ActionsClaims> {
  const token = bearerToken(request.authorization);
  if (!token) throw new ApiError(401, 'unauthorized', 'an Authorization: Bearer <GitHub Actions OIDC token> header is required', { 'www-authenticate': 'Bearer' });
  try {
    return await deps.verifier.verify(token);
  } catch (error) {
    if (error instanceof TokenError) throw new ApiError(401, 'unauthorized', `token rejected: ${error.reason}`, { 'www-authenticate': 'Bearer error="invalid_token"' });
    if (error instanceof JwksUnavailableError) throw new ApiError(503, 'unavailable', 'the issuer keys could not be fetched; try again', { 'retry-after': '5' });
    throw error;
  }
}

async function authorize(claims: ActionsClaims, config: RunnerApiConfig, deps: RunnerApiDependencies): Promise<number> {
  const [owner, name] = [claims.repositoryOwner, claims.repository.slice(claims.repositoryOwner.length + 1)];
  if (!isRepositoryAllowed(owner, name, config.repositoryAllowList)) throw new ApiError(403, 'forbidden', 'repository is not in repository_allow_list');
  const installationId = await deps.github.installationIdFor(owner);
  if (installationId === undefined) throw new ApiError(403, 'forbidden', 'the GitHub App is not installed on the repository owner');
  return installationId;
}

async function start(request: ApiRequest, claims: ActionsClaims, installationId: number, config: RunnerApiConfig, deps: RunnerApiDependencies, log: Logger): Promise<ApiResponse> {
  const body = parseStartRequest(request.body, Object.keys(config.queueUrls), config.defaultTimeoutMinutes);
  const now = (deps.now ?? Date.now)();
  const repository = claims.repository.toLowerCase();
  const names = Array.from({ length: body.count }, (_, i) => apiRunnerName(claims.runId, claims.runAttempt, i));
  const existing = await Promise.all(names.map((n) => deps.records.get(n)));
  for (const r of existing) if (r && r.repository !== repository) throw new ApiError(409, 'conflict', `runner ${r.name} belongs to another repository`);
  const missing = names.filter((_, i) => existing[i] === undefined);

  const created: ApiRunnerRecord[] = [];
  if (missing.length > 0) {
    const maximum = config.maximumCounts[body.runnerType] ?? -1;
    if (maximum >= 0) {
      const active = await deps.instances.countActive(config.prefix, body.runnerType);
      if (active + missing.length > maximum) {
        throw new ApiError(409, 'at_capacity', `runner type ${body.runnerType} has ${active} of at most ${maximum} runners; ${missing.length} more do not fit`, {
          'retry-after': String(RETRY_AFTER_SECONDS),
        });
      }
    }
    const idleDeadline = now + body.timeoutMinutes * 60_000;
    for (const name of missing) {
      const result = await deps.records.create({ name, repository, runnerType: body.runnerType, requestedAt: now, idleDeadline });
      if (result.created) created.push(result.record);
      else existing[names.indexOf(name)] = result.record;
    }
    if (created.length > 0) {
      const message: RunnerRequestMessage = {
        version: 1,
        kind: 'runner-request',
        runnerType: body.runnerType,
        repositoryOwner: claims.repositoryOwner,
        repositoryName: claims.repository.slice(claims.repositoryOwner.length + 1),
        installationId,
        runId: claims.runId,
        runAttempt: claims.runAttempt,
        indexes: created.map((r) => parseApiRunnerName(r.name)!.index),
        idleDeadline: new Date(idleDeadline).toISOString(),
        requestedAt: new Date(now).toISOString(),
      };
      try {
        await deps.queue.send(config.queueUrls[body.runnerType], JSON.stringify(message));
      } catch (error) {
        // Undo, so the caller's retry creates and sends again instead of finding records with no runner coming.
        await Promise.allSettled(created.map((r) => deps.records.remove(r.name)));
        log.error('could not queue the runner request; records removed', { error });
        throw new ApiError(503, 'unavailable', 'the runner request could not be queued; try again', { 'retry-after': '5' });
      }
      log.info('runners requested', { runnerType: body.runnerType, names: created.map((r) => r.name), timeoutMinutes: body.timeoutMinutes });
    }
  }
  const records = names.map((n, i) => existing[i] ?? created.find((c) => c.name === n)!);
  const views = await viewsOf(records, installationId, config, deps);
  return json(created.length > 0 ? 201 : 200, { runners: views });
}

async function state(name: string, claims: ActionsClaims, installationId: number, config: RunnerApiConfig, deps: RunnerApiDependencies): Promise<ApiResponse> {
  const notFound = new ApiError(404, 'not_found', 'no runner of this name for this repository');
  if (!parseApiRunnerName(name)) throw notFound;
  const record = await deps.records.get(name);
  // Another repository's runner is "not found": its name would otherwise be confirmed to anyone with a token.
  if (!record || record.repository !== claims.repository.toLowerCase()) throw notFound;
  const [view] = await viewsOf([record], installationId, config, deps);
  return json(200, view);
}

async function viewsOf(records: readonly ApiRunnerRecord[], installationId: number, config: RunnerApiConfig, deps: RunnerApiDependencies): Promise<ApiRunnerView[]> {
  const now = (deps.now ?? Date.now)();
  const instances = await deps.instances.findByNames(config.prefix, records.map((r) => r.name));
  return Promise.all(
    records.map(async (record) => {
      const instance = instances.get(record.name);
      let runner: { status: string; busy: boolean } | undefined;
      const target = instance?.owner ? runnerTargetFromOwnerTag(instance.owner) : undefined;
      if (instance && target && (instance.state === 'pending' || instance.state === 'running')) {
        try {
          runner = await deps.github.runnerByName(installationId, target, runnerNameOf(config.prefix, instance.instanceId));
        } catch (error) {
          deps.logger.warn('could not read the runner at GitHub; state says pending', { error, name: record.name });
        }
      }
      return {
        name: record.name,
        label: record.name,
        runner_type: record.runnerType,
        state: apiRunnerState({ record, instance, runner, now }),
        idle_deadline: new Date(record.idleDeadline).toISOString(),
        ...(instance && { instance_id: instance.instanceId }),
      };
    }),
  );
}
