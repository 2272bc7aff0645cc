/**
 * A small GitHub REST API over real HTTP (127.0.0.1, random port) for adapter
 * and Lambda tests. It checks the App JWT with the App's public key, issues
 * installation tokens and accepts only those, and answers the runner
 * endpoints with bodies shaped like GitHub's (typed from
 * @octokit/openapi-types). Paths may carry GHES's `/api/v3` prefix.
 *
 * Every request is recorded (method, raw path, route without prefix, body,
 * auth scheme, a sequence number shared with the other fakes) so tests can
 * count and order calls. `failNext` scripts error answers.
 *
 * Listing runners and installations paginates like GitHub: `per_page`
 * (default 30, at most 100) and `page`, with a `Link` header carrying
 * `first`, `prev`, `next` and `last` as absolute URLs. Runner lists honour
 * `?name=`. Deleting a busy runner answers 422, as GitHub does.
 */
import { listenOnLoopback } from './loopback-server';
import type { components } from '@octokit/openapi-types';
import { KeyObject, generateKeyPairSync, verify } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { nextCallSequence } from './call-sequence';

type Schemas = components['schemas'];
type Runner = Schemas['runner'];
type RunnerGroup = Schemas['runner-groups-org'];
type Job = Schemas['job'];

/** A GitHub App key pair; GitHub issues PKCS#1 PEMs. */
export interface AppKeyPair {
  readonly privateKeyPem: string;
  readonly publicKey: KeyObject;
}

/** Generate an RSA key pair like the one GitHub issues for an App. */
export function generateAppKey(): AppKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), publicKey };
}

/** One request the fake received. */
export interface RecordedCall {
  readonly method: string;
  /** Path as sent, without the query. */
  readonly path: string;
  /** Path with any `/api/v3` prefix removed. */
  readonly route: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** `bearer` (JWT), `token` (installation token) or `none`. */
  readonly auth: string;
  /** Position among the calls of every fake; see call-sequence.ts. */
  readonly seq: number;
  /** Status of the answer, once it was sent. */
  readonly status?: number;
  /** Position of the answer among the calls of every fake, once it was sent (orders "answered, then…"). */
  readonly respondedSeq?: number;
}

/** An installation of the App on an account. */
export interface FakeInstallation {
  readonly id: number;
  readonly account: string;
  /** @default "Organization" */
  readonly type?: 'Organization' | 'User';
}

/** What {@link FakeGitHub.addRunner} registers. */
export interface FakeRunnerSpec {
  readonly name: string;
  /** @default "online" */
  readonly status?: 'online' | 'offline';
  /** @default false */
  readonly busy?: boolean;
}

/** An error answer to give instead of the normal one. */
export interface ScriptedFailure {
  readonly method: string;
  /** Matched against the route (prefix removed). */
  readonly route: RegExp;
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** How many matching requests fail. @default 1 */
  readonly times?: number;
}

/** Options of {@link startFakeGitHub}. */
export interface FakeGitHubOptions {
  readonly appId: number;
  readonly publicKey: KeyObject;
  /** Lifetime of issued installation tokens. @default 1 hour */
  readonly tokenTtlMs?: number;
}

/** The running fake. */
export interface FakeGitHub {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly calls: RecordedCall[];
  /** Org runner groups; starts with Default (1). */
  readonly runnerGroups: Pick<RunnerGroup, 'id' | 'name' | 'default'>[];
  /** Workflow job status by job id; unknown jobs are `queued`. */
  readonly jobStatus: Map<number, Job['status']>;
  /** Registered runners by target (`org` or `owner/repo`). */
  readonly runners: Map<string, Runner[]>;
  /**
   * Status of the workflow run each job belongs to, by job id; unknown jobs'
   * runs are `in_progress`. A job re-run is refused (403) until its run is
   * `completed`; an accepted re-run starts a new attempt, so the run is
   * `in_progress` again.
   */
  readonly runStatus: Map<number, 'in_progress' | 'completed'>;
  /** Job ids whose re-run GitHub accepted (201), in order. */
  readonly reruns: number[];
  /** Installations `GET /app/installations` lists (and the per-owner lookups find). */
  readonly installations: FakeInstallation[];
  /** Register a runner directly (as if it had configured itself); returns it. */
  addRunner(target: string, spec: FakeRunnerSpec): Runner;
  /** Installation tokens issued, in order (secrets: tests check logs never contain them). */
  readonly issuedTokens: string[];
  /** JIT configs issued, in order (secrets too). */
  readonly issuedJitConfigs: string[];
  /** Answer the next matching request(s) with an error. */
  failNext(failure: ScriptedFailure): void;
  /** Calls matching `method` and a route pattern. */
  count(method: string, route?: RegExp): number;
  /** Forget recorded calls and unused scripted failures (runners, groups and tokens stay). */
  resetCalls(): void;
  close(): Promise<void>;
}

/** Start the fake on 127.0.0.1 with a random port. */
export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const calls: RecordedCall[] = [];
  const failures: (ScriptedFailure & { left: number })[] = [];
  const tokens = new Map<string, { installationId: number; expiresAt: number }>();
  const issuedTokens: string[] = [];
  const issuedJitConfigs: string[] = [];
  const runnerGroups: Pick<RunnerGroup, 'id' | 'name' | 'default'>[] = [{ id: 1, name: 'Default', default: true }];
  const jobStatus = new Map<number, Job['status']>();
  const runners = new Map<string, Runner[]>();
  const runStatus = new Map<number, 'in_progress' | 'completed'>();
  const reruns: number[] = [];
  const installations: FakeInstallation[] = [];
  let nextRunnerId = 100;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const route = url.pathname.startsWith('/api/v3/') ? url.pathname.slice('/api/v3'.length) : url.pathname;
    const raw = await readBody(req);
    const body = raw === '' ? undefined : JSON.parse(raw);
    const authorization = req.headers.authorization ?? '';
    const scheme = authorization.split(' ')[0]?.toLowerCase() || 'none';
    const call: { -readonly [K in keyof RecordedCall]: RecordedCall[K] } = { method, path: url.pathname, route, query: url.searchParams, body, auth: scheme, seq: nextCallSequence() };
    calls.push(call);

    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      call.respondedSeq = nextCallSequence();
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };

    const failure = failures.find((f) => f.left > 0 && f.method === method && f.route.test(route));
    if (failure) {
      failure.left -= 1;
      return send(failure.status, failure.body ?? { message: `scripted ${failure.status}` }, failure.headers);
    }

    let m: RegExpMatchArray | null;
    if (method === 'POST' && (m = route.match(/^\/app\/installations\/(\d+)\/access_tokens$/))) {
      if (!validJwt(authorization, options)) return send(401, { message: 'A JSON web token could not be decoded' });
      const token = `ghs_fake${issuedTokens.length + 1}_${Math.random().toString(36).slice(2)}`;
      const expiresAt = Date.now() + (options.tokenTtlMs ?? 3_600_000);
      tokens.set(token, { installationId: Number(m[1]), expiresAt });
      issuedTokens.push(token);
      const answer: Pick<Schemas['installation-token'], 'token' | 'expires_at'> = { token, expires_at: new Date(expiresAt).toISOString() };
      return send(201, answer);
    }

    if (method === 'GET' && route === '/app/installations') {
      if (!validJwt(authorization, options)) return send(401, { message: 'A JSON web token could not be decoded' });
      const { items, headers } = paginate(url, installations);
      return send(200, items.map(installationBody), headers);
    }
    if (method === 'GET' && (m = route.match(/^\/(?:orgs\/([^/]+)|repos\/([^/]+)\/[^/]+|users\/([^/]+))\/installation$/))) {
      if (!validJwt(authorization, options)) return send(401, { message: 'A JSON web token could not be decoded' });
      const login = (m[1] ?? m[2] ?? m[3]).toLowerCase();
      const found = installations.find((i) => i.account.toLowerCase() === login);
      return found ? send(200, installationBody(found)) : send(404, { message: 'Not Found' });
    }

    // Everything else needs a live installation token.
    const presented = authorization.replace(/^token /i, '');
    const known = tokens.get(presented);
    if (scheme !== 'token' || !known || known.expiresAt < Date.now()) return send(401, { message: 'Bad credentials' });

    if (method === 'POST' && (m = route.match(/^\/orgs\/([^/]+)\/actions\/runners\/generate-jitconfig$/))) {
      return jit(m[1], body, send);
    }
    if (method === 'POST' && (m = route.match(/^\/repos\/([^/]+)\/([^/]+)\/actions\/runners\/generate-jitconfig$/))) {
      return jit(`${m[1]}/${m[2]}`, body, send);
    }
    if (method === 'POST' && (m = route.match(/^\/(?:orgs\/[^/]+|repos\/[^/]+\/[^/]+)\/actions\/runners\/registration-token$/))) {
      const answer: Schemas['authentication-token'] = {
        token: `AREGFAKE${Math.random().toString(36).slice(2).toUpperCase()}`,
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      };
      return send(201, answer);
    }
    if (method === 'GET' && (m = route.match(/^\/orgs\/([^/]+)\/actions\/runner-groups$/))) {
      const groups: RunnerGroup[] = runnerGroups.map((g) => ({
        ...g,
        visibility: 'all',
        runners_url: `${serverUrl}/orgs/${m![1]}/actions/runner-groups/${g.id}/runners`,
        inherited: false,
        allows_public_repositories: false,
      }));
      return send(200, { total_count: groups.length, runner_groups: groups });
    }
    if (method === 'GET' && (m = route.match(/^\/repos\/([^/]+)\/([^/]+)\/actions\/jobs\/(\d+)$/))) {
      const id = Number(m[3]);
      const status = jobStatus.get(id) ?? 'queued';
      const job: Job = {
        id,
        run_id: 1,
        run_url: `${serverUrl}/repos/${m[1]}/${m[2]}/actions/runs/1`,
        node_id: `CR_${id}`,
        head_sha: '0'.repeat(40),
        url: `${serverUrl}/repos/${m[1]}/${m[2]}/actions/jobs/${id}`,
        html_url: null,
        status,
        conclusion: status === 'completed' ? 'success' : null,
        created_at: new Date().toISOString(),
        started_at: new Date().toISOString(),
        completed_at: null,
        name: 'build',
        check_run_url: '',
        labels: ['self-hosted'],
        runner_id: null,
        runner_name: null,
        runner_group_id: null,
        runner_group_name: null,
        workflow_name: 'ci',
        head_branch: 'main',
      };
      return send(200, job);
    }
    if (method === 'POST' && (m = route.match(/^\/repos\/([^/]+)\/([^/]+)\/actions\/jobs\/(\d+)\/rerun$/))) {
      // "Re-run a job from a workflow run": 201 with an empty object (the
      // OpenAPI description in @octokit/openapi-types), GitHub Apps need
      // Actions: write. GitHub re-runs a job only once its whole workflow run
      // has completed (a re-run is a new attempt of the run, cloning the jobs
      // not re-run, actions/runner#432) and answers 403 Forbidden before
      // (cli/cli#9221).
      const id = Number(m[3]);
      if ((runStatus.get(id) ?? 'in_progress') !== 'completed') return send(403, { message: 'This workflow run is not completed', status: '403' });
      reruns.push(id);
      runStatus.set(id, 'in_progress');
      return send(201, {});
    }
    if (method === 'GET' && (m = route.match(/^\/(?:orgs\/([^/]+)|repos\/([^/]+\/[^/]+))\/actions\/runners$/))) {
      const name = url.searchParams.get('name');
      const list = (runners.get(m[1] ?? m[2]) ?? []).filter((r) => name === null || r.name === name);
      const { items, headers } = paginate(url, list);
      return send(200, { total_count: list.length, runners: items }, headers);
    }
    if (method === 'DELETE' && (m = route.match(/^\/(?:orgs\/([^/]+)|repos\/([^/]+\/[^/]+))\/actions\/runners\/(\d+)$/))) {
      const key = m[1] ?? m[2];
      const list = runners.get(key) ?? [];
      const index = list.findIndex((r) => r.id === Number(m![3]));
      if (index < 0) return send(404, { message: 'Not Found' });
      if (list[index].busy) {
        return send(422, {
          message: `Bad request - Runner "${list[index].name}" is still running a job`,
          documentation_url: 'https://docs.github.com/rest/actions/self-hosted-runners#delete-a-self-hosted-runner-from-an-organization',
        });
      }
      list.splice(index, 1);
      return send(204);
    }
    return send(404, { message: 'Not Found' });
  };

  /** One page of `all` as GitHub pages it, with its Link header. */
  const paginate = <T>(url: URL, all: readonly T[]): { items: T[]; headers: Record<string, string> } => {
    const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const lastPage = Math.max(1, Math.ceil(all.length / perPage));
    const items = all.slice((page - 1) * perPage, page * perPage);
    const link = (n: number, rel: string) => {
      const q = new URLSearchParams(url.searchParams);
      q.set('per_page', String(perPage));
      q.set('page', String(n));
      return `<${serverUrl}${url.pathname}?${q.toString()}>; rel="${rel}"`;
    };
    const rels: string[] = [];
    if (page > 1) rels.push(link(page - 1, 'prev'));
    if (page < lastPage) rels.push(link(page + 1, 'next'), link(lastPage, 'last'));
    if (page > 1) rels.push(link(1, 'first'));
    return { items, headers: rels.length > 0 ? { link: rels.join(', ') } : {} };
  };

  const installationBody = (i: FakeInstallation) => ({
    id: i.id,
    account: { login: i.account, id: i.id * 10, type: i.type ?? 'Organization' },
    app_id: options.appId,
    target_type: i.type ?? 'Organization',
    repository_selection: 'all',
    permissions: { organization_self_hosted_runners: 'write', administration: 'write' },
    events: ['workflow_job'],
  });

  const addRunner = (target: string, spec: FakeRunnerSpec): Runner => {
    const runner: Runner = {
      id: nextRunnerId++,
      runner_group_id: 1,
      name: spec.name,
      os: 'Linux',
      status: spec.status ?? 'online',
      busy: spec.busy ?? false,
      ephemeral: true,
      labels: [{ name: 'self-hosted', type: 'read-only' }],
    };
    const list = runners.get(target) ?? [];
    list.push(runner);
    runners.set(target, list);
    return runner;
  };

  const jit = (target: string, body: unknown, send: (status: number, payload?: unknown) => void) => {
    const b = (body ?? {}) as { name?: unknown; labels?: unknown; runner_group_id?: unknown; work_folder?: unknown };
    if (typeof b.name !== 'string' || !Array.isArray(b.labels) || b.labels.length === 0 || typeof b.runner_group_id !== 'number') {
      return send(422, { message: 'Invalid request.' });
    }
    const list = runners.get(target) ?? [];
    if (list.some((r) => r.name === b.name)) return send(409, { message: 'Already exists - A runner with the same name already exists.' });
    const runner: Runner = {
      id: nextRunnerId++,
      runner_group_id: b.runner_group_id,
      name: b.name,
      os: 'unknown',
      status: 'offline',
      busy: false,
      ephemeral: true,
      labels: (b.labels as string[]).map((name) => ({ name, type: 'custom' })),
    };
    list.push(runner);
    runners.set(target, list);
    const encoded = Buffer.from(JSON.stringify({ '.runner': `FAKEJIT-${b.name}-${Math.random().toString(36).slice(2)}` })).toString('base64');
    issuedJitConfigs.push(encoded);
    const answer: components['responses']['actions_runner_jitconfig']['content']['application/json'] = { runner, encoded_jit_config: encoded };
    return send(201, answer);
  };

  const { server, url: serverUrl } = await listenOnLoopback(handle);

  return {
    url: serverUrl,
    calls,
    runnerGroups,
    jobStatus,
    runners,
    runStatus,
    reruns,
    installations,
    addRunner,
    issuedTokens,
    issuedJitConfigs,
    failNext: (failure) => failures.push({ ...failure, left: failure.times ?? 1 }),
    count: (method, route) => calls.filter((c) => c.method === method && (!route || route.test(c.route))).length,
    resetCalls: () => {
      calls.length = 0;
      failures.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** An RS256 JWT signed by the App's key, issued by the App, not expired. */
export function validJwt(authorization: string, options: Pick<FakeGitHubOptions, 'appId' | 'publicKey'>): boolean {
  const match = authorization.match(/^bearer (.+)$/i);
  if (!match) return false;
  const [header, payload, signature] = match[1].split('.');
  if (!header || !payload || !signature) return false;
  const ok = verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), options.publicKey, Buffer.from(signature, 'base64url'));
  if (!ok) return false;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: unknown; exp?: number };
  return String(claims.iss) === String(options.appId) && typeof claims.exp === 'number' && claims.exp * 1000 > Date.now();
}

/**
 * One fake GitHub for a test file: before its tests, a fresh App key pair and
 * a server that trusts it, with `installations`; after them, the server is
 * closed. `use` receives both once they are up (assign them to the file's
 * `let`s).
 */
export function useFakeGitHub(
  appId: number,
  installations: readonly FakeInstallation[],
  use: (started: { readonly gh: FakeGitHub; readonly key: AppKeyPair }) => void,
): void {
  let gh: FakeGitHub | undefined;
  beforeAll(async () => {
    const key = generateAppKey();
    gh = await startFakeGitHub({ appId, publicKey: key.publicKey });
    gh.installations.push(...installations);
    use({ gh, key });
  });
  afterAll(async () => {
    await gh?.close();
  });
}
