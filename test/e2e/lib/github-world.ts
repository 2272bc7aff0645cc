/**
 * GitHub as the end-to-end tests see it: the fake REST API of
 * test/lambdas/shared/fake-github.ts (App JWTs, installation tokens, JIT
 * configs, runner registrations; both the github.com `/…` and the GHES
 * `/api/v3/…` layout), composed with what that fake does not model:
 *
 * - workflow jobs: queued with labels, taken by one runner, completed;
 * - the runner side of a JIT config: a runner connects with it once (a JIT
 *   config is single use), comes online, takes the oldest queued job its
 *   labels and scope allow (or, in the `any` dispatch mode, any one of them,
 *   picked by a seeded random draw), goes busy, and is removed when the job
 *   ends, because ephemeral runners are; a runner may also die (`crash`),
 *   idle or mid-job;
 * - the network of a bundle: `fetch` to https://api.github.com is routed to
 *   the fake's root layout, loopback passes, anything else fails, so no test
 *   can reach the internet.
 */
import type { components } from '@octokit/openapi-types';
import { AppKeyPair, FakeGitHub, generateAppKey, startFakeGitHub } from '../../lambdas/shared/fake-github';

type Runner = components['schemas']['runner'];

/** A workflow job as GitHub tracks it. */
export interface SimJob {
  readonly id: number;
  readonly runId: number;
  readonly labels: readonly string[];
  readonly owner: string;
  readonly repo: string;
  readonly ownerType: 'Organization' | 'User';
  readonly installationId: number;
  readonly createdAt: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?: 'success' | 'cancelled' | 'failure';
  startedAt?: string;
  completedAt?: string;
  runnerId?: number;
  runnerName?: string;
  /** Every runner that ever took this job: exactly one when all went well. */
  readonly takenBy: string[];
}

/** What a new job needs; the rest has defaults. */
export type JobSpec = Partial<Pick<SimJob, 'id' | 'runId' | 'labels' | 'owner' | 'repo' | 'ownerType' | 'installationId' | 'createdAt'>>;

/** A runner that connected with its JIT config. */
export interface ConnectedRunner {
  readonly runner: Runner;
  /** `org` name or `owner/repo`: where it is registered. */
  readonly target: string;
  job?: SimJob;
}

/** The GitHub App the tests install. */
export const APP_ID = 4242;
export const DEFAULT_INSTALLATION_ID = 77;
export const DEFAULT_OWNER = 'octo-org';
export const DEFAULT_REPO = 'hello-world';

export class GitHubWorld {
  readonly jobs = new Map<number, SimJob>();
  /** Connected runners by name. */
  readonly connected = new Map<string, ConnectedRunner>();
  private readonly usedJitConfigs = new Set<string>();
  private nextJobId = 900_000_001;
  /**
   * How an idle runner picks among the queued jobs it can run. `oldest`: the
   * oldest first. `any`: GitHub makes no promise which job a runner gets (a
   * JIT runner is not bound to the job it was launched for), so runners are
   * visited and jobs drawn in a seeded random order. @default "oldest"
   */
  dispatchMode: 'oldest' | 'any' = 'oldest';
  private random = seededRandom(11);

  private constructor(
    readonly api: FakeGitHub,
    readonly appKey: AppKeyPair,
    private readonly now: () => number,
  ) {}

  static async start(now: () => number = Date.now): Promise<GitHubWorld> {
    const appKey = generateAppKey();
    const api = await startFakeGitHub({ appId: APP_ID, publicKey: appKey.publicKey });
    return new GitHubWorld(api, appKey, now);
  }

  /** Queue a workflow job. */
  queueJob(spec: JobSpec = {}): SimJob {
    const id = spec.id ?? this.nextJobId++;
    if (this.jobs.has(id)) throw new Error(`job ${id} exists already`);
    const job: SimJob = {
      id,
      runId: spec.runId ?? 70_000 + id,
      labels: spec.labels ?? ['self-hosted', 'linux', 'x64'],
      owner: spec.owner ?? DEFAULT_OWNER,
      repo: spec.repo ?? DEFAULT_REPO,
      ownerType: spec.ownerType ?? 'Organization',
      installationId: spec.installationId ?? DEFAULT_INSTALLATION_ID,
      createdAt: spec.createdAt ?? new Date(this.now()).toISOString(),
      status: 'queued',
      takenBy: [],
    };
    this.jobs.set(id, job);
    this.api.jobStatus.set(id, 'queued');
    // The App is installed where the job runs (scale-down looks installations up by account).
    const installations = this.api.installations;
    if (installations && !installations.some((i) => i.id === job.installationId)) {
      installations.push({ id: job.installationId, account: job.owner, type: job.ownerType });
    }
    return job;
  }

  /** Every registered runner, across organizations and repositories. */
  registeredRunners(): { target: string; runner: Runner }[] {
    return [...this.api.runners].flatMap(([target, list]) => list.map((runner) => ({ target, runner })));
  }

  /**
   * A runner process starts with `encodedJitConfig`: GitHub accepts each JIT
   * config once, for the runner it registered. Throws what the runner would
   * report: an unknown, reused or deleted registration.
   */
  connect(encodedJitConfig: string): ConnectedRunner {
    if (!this.api.issuedJitConfigs.includes(encodedJitConfig)) throw new Error('GitHub: JIT config was never issued');
    if (this.usedJitConfigs.has(encodedJitConfig)) throw new Error('GitHub: JIT config already used');
    this.usedJitConfigs.add(encodedJitConfig);
    const name = runnerNameOf(encodedJitConfig);
    const found = this.registeredRunners().find((r) => r.runner.name === name);
    if (!found) throw new Error(`GitHub: runner ${name} is not registered (deleted?)`);
    found.runner.status = 'online';
    const session: ConnectedRunner = { runner: found.runner, target: found.target };
    this.connected.set(name, session);
    return session;
  }

  /**
   * GitHub's scheduler: each idle online runner takes the oldest queued job
   * whose labels it has (case-insensitive) and that is in its scope (its
   * organization, or its repository). Returns the jobs that started.
   */
  dispatch(): SimJob[] {
    if (this.dispatchMode === 'any') return this.dispatchAny();
    const started: SimJob[] = [];
    const queued = [...this.jobs.values()].filter((j) => j.status === 'queued').sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id - b.id);
    for (const job of queued) {
      const runner = [...this.connected.values()].find((r) => !r.job && r.runner.status === 'online' && this.serves(r, job));
      if (!runner) continue;
      started.push(this.start(runner, job));
    }
    return started;
  }

  /** `runner` takes `job`: both are busy from now on, as GitHub reports them. */
  private start(runner: ConnectedRunner, job: SimJob): SimJob {
    runner.job = job;
    runner.runner.busy = true;
    job.status = 'in_progress';
    job.startedAt = new Date(this.now()).toISOString();
    job.runnerId = runner.runner.id;
    job.runnerName = runner.runner.name;
    job.takenBy.push(runner.runner.name);
    this.api.jobStatus.set(job.id, 'in_progress');
    return job;
  }

  /** Seed of the `any` dispatch mode's draws. */
  seed(seed: number): void {
    this.random = seededRandom(seed);
  }

  /** The `any` mode: idle runners in random order, each takes a random queued job it can run. */
  private dispatchAny(): SimJob[] {
    const started: SimJob[] = [];
    const idle = shuffle([...this.connected.values()].filter((r) => !r.job && r.runner.status === 'online'), this.random);
    for (const runner of idle) {
      const candidates = [...this.jobs.values()].filter((j) => j.status === 'queued' && this.serves(runner, j));
      if (candidates.length === 0) continue;
      const job = candidates[Math.floor(this.random() * candidates.length)];
      started.push(this.start(runner, job));
    }
    return started;
  }

  /**
   * The runner process dies (the instance crashed or was lost). GitHub sees
   * the runner offline and keeps its registration (a ghost for scale-down).
   * A job it was running fails: GitHub does not hand a started job to
   * another runner; it ends it with conclusion `failure` once it loses the
   * runner ("The self-hosted runner ... lost communication with the server",
   * docs.github.com/en/actions/hosting-your-own-runners/managing-self-hosted-runners/monitoring-and-troubleshooting-self-hosted-runners).
   * Returns that job, if any.
   */
  crash(runnerName: string): SimJob | undefined {
    const session = this.connected.get(runnerName);
    if (!session) throw new Error(`runner ${runnerName} is not connected`);
    session.runner.status = 'offline';
    session.runner.busy = false;
    this.connected.delete(runnerName);
    const job = session.job;
    if (!job) return undefined;
    job.status = 'completed';
    job.conclusion = 'failure';
    job.completedAt = new Date(this.now()).toISOString();
    this.api.jobStatus.set(job.id, 'completed');
    return job;
  }

  /** The job of `runnerName` completes; the ephemeral runner is removed. Returns the job. */
  complete(runnerName: string, conclusion: 'success' | 'cancelled' = 'success'): SimJob {
    const session = this.connected.get(runnerName);
    if (!session?.job) throw new Error(`runner ${runnerName} has no job`);
    const job = session.job;
    job.status = 'completed';
    job.conclusion = conclusion;
    job.completedAt = new Date(this.now()).toISOString();
    this.api.jobStatus.set(job.id, 'completed');
    this.remove(runnerName);
    return job;
  }

  /** The runner process ends without a job (e.g. the instance was terminated): GitHub sees it offline. */
  disconnect(runnerName: string): void {
    const session = this.connected.get(runnerName);
    if (session) session.runner.status = 'offline';
    this.connected.delete(runnerName);
  }

  /** Busy runners. */
  busy(): ConnectedRunner[] {
    return [...this.connected.values()].filter((r) => r.job !== undefined);
  }

  /** Online runners without a job. */
  idle(): ConnectedRunner[] {
    return [...this.connected.values()].filter((r) => r.job === undefined && r.runner.status === 'online');
  }

  /**
   * `fetch` for a bundle: api.github.com goes to the fake's root layout,
   * loopback goes through, every other host fails like an unreachable network.
   */
  bundleFetch(): typeof fetch {
    const fake = new URL(this.api.url);
    return (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      if (url.hostname === 'api.github.com') {
        url.protocol = fake.protocol;
        url.host = fake.host;
      } else if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
        throw new TypeError(`fetch failed: the e2e sandbox has no network (${url.hostname})`);
      }
      return fetch(url, init);
    }) as typeof fetch;
  }

  close(): Promise<void> {
    return this.api.close();
  }

  /**
   * GitHub's rule: "When you specify an array of labels, jobs will be queued on runners that have
   * all the labels that you specify" (docs.github.com/en/actions/.../using-self-hosted-runners-in-a-workflow),
   * and labels are case-insensitive (".../using-labels-with-self-hosted-runners"). A runner with
   * more labels than the job asks for may take it; one lacking any (a run label) may not.
   */
  private serves(session: ConnectedRunner, job: SimJob): boolean {
    const have = new Set((session.runner.labels ?? []).map((l) => l.name.toLowerCase()));
    if (!job.labels.every((l) => have.has(l.toLowerCase()))) return false;
    const scope = session.target.toLowerCase();
    return scope.includes('/') ? scope === `${job.owner}/${job.repo}`.toLowerCase() : scope === job.owner.toLowerCase();
  }

  private remove(runnerName: string): void {
    for (const list of this.api.runners.values()) {
      const i = list.findIndex((r) => r.name === runnerName);
      if (i >= 0) list.splice(i, 1);
    }
    this.connected.delete(runnerName);
  }
}

/**
 * The runner name inside a JIT config issued by the fake (base64 JSON whose
 * `.runner` is `FAKEJIT-<name>-<random>`). A real runner reads the same from
 * its real JIT config.
 */
export function runnerNameOf(encodedJitConfig: string): string {
  const decoded = JSON.parse(Buffer.from(encodedJitConfig, 'base64').toString('utf8')) as Record<string, unknown>;
  const marker = String(decoded['.runner'] ?? '');
  const match = /^FAKEJIT-(.+)-[a-z0-9]+$/.exec(marker);
  if (!match) throw new Error('GitHub: JIT config is malformed');
  return match[1];
}

/** A small seeded generator (mulberry32), so a scenario's draws repeat run after run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates with `random`. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
