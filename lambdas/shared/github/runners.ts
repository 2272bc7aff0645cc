/**
 * The GitHub side of runner management, in our vocabulary: JIT configs,
 * registration tokens, runner groups, job status, and runner listing and
 * deletion (for scale-down and the termination watcher).
 *
 * `createGitHubApp` builds one adapter per App per container. It mints
 * installation tokens through the App client, caches them in an
 * {@link InstallationTokenCache} (module-wide by default, so warm invocations
 * reuse them), and caches runner-group ids for the life of the container.
 *
 * Installation ids. Scale-up reads them from the job message. Scale-down and
 * the watcher start from an instance's `ghr:owner` tag, so they ask
 * {@link GitHubAppApi.installationIdFor}: it lists the App's installations once
 * (`GET /app/installations`, one call per 100 installations) and answers every
 * owner of the container's life from that list, refreshing it on a miss at
 * most once per `installationRefreshMs`. Per-owner lookups
 * (`GET /orgs/{org}/installation`, `GET /repos/{owner}/{repo}/installation`)
 * would cost one call per owner instead, and repo-level runners have one owner
 * per repository.
 */
import type { components } from '@octokit/openapi-types';
import { Logger } from '../logger';
import type { RunnerTarget } from '../runners/identity';
import { githubApiBaseUrl } from './base-url';
import { AppCredentials, ClientSettings, GitHubClient, createAppOctokit, createInstallationOctokit } from './octokit';
import { InstallationTokenCache, sharedInstallationTokenCache } from './token-cache';
import { WritePacer, WritePacerOptions } from '../concurrency';

/** What {@link GitHubInstallationApi.generateJitConfig} needs. */
export type JitConfigRequest = RunnerTarget & {
  /** Runner name, unique within the target. */
  readonly name: string;
  /** Labels to register; GitHub wants at least one. */
  readonly labels: readonly string[];
  /** Runner group of an org-level runner. Repository runners always use group 1 (Default). */
  readonly runnerGroupId?: number;
  /** Working directory relative to the runner's install directory. @default "_work" */
  readonly workFolder?: string;
};

/** A just-in-time runner configuration. Secret: never log `encodedJitConfig`. */
export interface JitConfig {
  /** GitHub's id of the runner it registered (to delete it if we give up on it). */
  readonly runnerId: number;
  /** The value `run.sh --jitconfig` takes. */
  readonly encodedJitConfig: string;
}

/** A registration token for `config.sh --token`. Secret: never log `token`. */
export interface RegistrationToken {
  readonly token: string;
  /** ISO 8601. */
  readonly expiresAt: string;
}

/** A self-hosted runner as GitHub lists it. */
export type GitHubRunner = Pick<components['schemas']['runner'], 'id' | 'name' | 'status' | 'busy' | 'labels' | 'ephemeral'>;

/** Options of {@link GitHubInstallationApi.listRunners}. */
export interface ListRunnersOptions {
  /** Only the runner with exactly this name (GitHub's `?name=` filter). */
  readonly name?: string;
}

/**
 * What a delete did: `deleted` (204), `not-found` (404: already gone), or
 * `busy` (422: the runner is running a job, and GitHub keeps it).
 */
export type RunnerRemoval = 'deleted' | 'not-found' | 'busy';

/**
 * What a job re-run request got (POST /repos/{owner}/{repo}/actions/jobs/{job_id}/rerun,
 * "Re-run a job from a workflow run"; the App needs the repository permission
 * Actions: write): `requested` (201), `refused` (403: GitHub re-runs a job only
 * once its workflow run has completed, and answers 403 Forbidden before, as
 * cli/cli#9221 shows; a missing Actions: write is a 403 too), or `gone`
 * (404 or 422: the job or its run can no longer be re-run).
 */
export type JobRerun = 'requested' | 'refused' | 'gone';

/** GitHub calls made as one App installation. */
export interface GitHubInstallationApi {
  /** Register a JIT runner (POST .../actions/runners/generate-jitconfig). */
  generateJitConfig(request: JitConfigRequest): Promise<JitConfig>;
  /** A registration token (POST .../actions/runners/registration-token). */
  createRegistrationToken(target: RunnerTarget): Promise<RegistrationToken>;
  /** Id of the org's runner group called `name`; cached per container. Throws RunnerGroupNotFoundError. */
  getRunnerGroupId(org: string, name: string): Promise<number>;
  /** Whether the workflow job is still `queued`. */
  isJobQueued(owner: string, repo: string, jobId: number): Promise<boolean>;
  /** Ask GitHub to re-run a job (and its dependents) of a completed workflow run; errors other than 403, 404 and 422 are thrown. */
  rerunJob(owner: string, repo: string, jobId: number): Promise<JobRerun>;
  /** Self-hosted runners of the target (all pages, 100 per page), optionally only the one named `options.name`. */
  listRunners(target: RunnerTarget, options?: ListRunnersOptions): Promise<GitHubRunner[]>;
  /** Remove a runner from the target; a runner already gone counts as removed. Other errors (a 422 for a busy runner included) are thrown. */
  deleteRunner(target: RunnerTarget, runnerId: number): Promise<void>;
  /** Remove a runner and say what happened; errors other than 404 and 422 are thrown. */
  removeRunner(target: RunnerTarget, runnerId: number): Promise<RunnerRemoval>;
}

/** An installation of the App: its id and the account it is installed on. */
export interface AppInstallation {
  readonly id: number;
  /** The account's login (an organization or a user). */
  readonly account: string;
  /** `Organization`, `User` or `Enterprise`, when GitHub says. */
  readonly accountType?: string;
}

/** The adapter: one per App per container. */
export interface GitHubAppApi {
  /** REST API base URL in use. */
  readonly baseUrl: string;
  /** Calls made as `installationId` (clients are cached per installation). */
  forInstallation(installationId: number): GitHubInstallationApi;
  /** Every installation of the App (`GET /app/installations`, all pages, as the App). */
  listInstallations(): Promise<AppInstallation[]>;
  /**
   * The installation on `account` (a login, case-insensitive), from a list
   * cached for the container; undefined when the App is not installed there.
   * A miss re-lists at most once per `installationRefreshMs`.
   */
  installationIdFor(account: string): Promise<number | undefined>;
  /** Calls made as the installation on `account` (see installationIdFor); throws AppNotInstalledError when there is none. */
  forAccount(account: string): Promise<GitHubInstallationApi>;
  /** Requests this adapter has sent so far (token mints included; retries inside a request are not counted again). */
  requestCount(): number;
}

/** Options of {@link createGitHubApp}. */
export interface GitHubAppOptions extends AppCredentials {
  /** GHES or ghe.com URL; github.com when absent. Ignored when `baseUrl` is set. */
  readonly ghesUrl?: string;
  /** REST API base URL, overriding `ghesUrl` (tests point it at a local server). */
  readonly baseUrl?: string;
  /** Verify GitHub's TLS certificate (philips `ghes_ssl_verify`); see ClientSettings. @default true */
  readonly tlsVerify?: boolean;
  readonly logger: Logger;
  /** @default the module-wide cache, shared by warm invocations */
  readonly tokenCache?: InstallationTokenCache;
  /** Write pacing. @default burst 10, 170 per minute */
  readonly writePacing?: WritePacerOptions;
  /** Rate-limit and retry tuning; see ClientSettings. */
  readonly retries?: Pick<ClientSettings, 'maxRateLimitRetries' | 'maxRetryAfterSeconds' | 'retryAfterBaseMs' | 'serverErrorRetries'>;
  /** Bounds every request and rate-limit wait; see ClientSettings. @default none */
  readonly budget?: ClientSettings['budget'];
  /** After a lookup misses, {@link GitHubAppApi.installationIdFor} lists installations again only this long after the last list. @default 60000 */
  readonly installationRefreshMs?: number;
  /** Clock for the installation cache, for tests. @default Date.now */
  readonly now?: () => number;
}

/** The App has no installation on the account a runner belongs to. */
export class AppNotInstalledError extends Error {
  constructor(readonly account: string) {
    super(`the GitHub App is not installed on ${account}`);
    this.name = 'AppNotInstalledError';
  }
}

/** The org has no runner group with the configured name. */
export class RunnerGroupNotFoundError extends Error {
  constructor(
    readonly org: string,
    readonly groupName: string,
  ) {
    super(`runner group "${groupName}" not found in organization ${org}`);
    this.name = 'RunnerGroupNotFoundError';
  }
}

type RunnerGroup = Pick<components['schemas']['runner-groups-org'], 'id' | 'name'>;

/** Repository-level runners live in the Default group, whose id is always 1. */
const REPOSITORY_RUNNER_GROUP_ID = 1;

/** Build the GitHub adapter for one App. */
export function createGitHubApp(options: GitHubAppOptions): GitHubAppApi {
  const baseUrl = options.baseUrl ?? githubApiBaseUrl(options.ghesUrl);
  const settings: ClientSettings = {
    baseUrl,
    writePacer: new WritePacer(options.writePacing),
    logger: options.logger,
    throttleId: `ghr-${options.appId}`,
    budget: options.budget,
    tlsVerify: options.tlsVerify,
    ...options.retries,
  };
  const tokenCache = options.tokenCache ?? sharedInstallationTokenCache;
  const app = createAppOctokit(options, settings);
  const installations = new Map<number, GitHubInstallationApi>();
  const groupIds = new Map<string, Promise<number>>();
  let requests = 0;
  const countRequests = (octokit: GitHubClient) => octokit.hook.before('request', () => void (requests += 1));
  countRequests(app);

  const forInstallation = (installationId: number): GitHubInstallationApi => {
    let api = installations.get(installationId);
    if (!api) {
      const octokit = createInstallationOctokit(
        {
          cache: tokenCache,
          key: `${baseUrl}#${options.appId}#${installationId}`,
          mint: async () => {
            try {
              const { data } = await app.rest.apps.createInstallationAccessToken({ installation_id: installationId });
              return { token: data.token, expiresAt: Date.parse(data.expires_at) };
            } catch (error) {
              // The App was uninstalled (and maybe installed again, with a new
              // id): forget the id, so the next lookup of its account lists again.
              if ((error as { status?: number }).status === 404) forgetInstallation(installationId);
              throw error;
            }
          },
        },
        settings,
      );
      countRequests(octokit);
      api = installationApi(octokit, groupIds);
      installations.set(installationId, api);
    }
    return api;
  };

  const listInstallations = async (): Promise<AppInstallation[]> => {
    const all = await app.paginate(app.rest.apps.listInstallations, { per_page: 100 });
    return all.flatMap((i) => {
      const account = i.account as { login?: string; slug?: string; type?: string } | null;
      const login = account?.login ?? account?.slug;
      return login ? [{ id: Number(i.id), account: login, accountType: account?.type ?? (account?.slug ? 'Enterprise' : undefined) }] : [];
    });
  };

  const now = options.now ?? Date.now;
  const refreshMs = options.installationRefreshMs ?? 60_000;
  let index: { byAccount: Map<string, number>; listedAt: number } | undefined;
  let listing: Promise<void> | undefined;
  const relist = (): Promise<void> => {
    // Concurrent lookups share one listing; a failed one is not cached.
    listing ??= listInstallations()
      .then((list) => {
        index = { byAccount: new Map(list.map((i) => [i.account.toLowerCase(), i.id])), listedAt: now() };
      })
      .finally(() => {
        listing = undefined;
      });
    return listing;
  };
  const forgetInstallation = (installationId: number): void => {
    installations.delete(installationId);
    for (const [account, id] of index?.byAccount ?? []) if (id === installationId) index?.byAccount.delete(account);
  };
  const installationIdFor = async (account: string): Promise<number | undefined> => {
    const key = account.toLowerCase();
    const cached = index?.byAccount.get(key);
    if (cached !== undefined) return cached;
    if (!index || now() - index.listedAt >= refreshMs) await relist();
    return index?.byAccount.get(key);
  };

  const forAccount = async (account: string): Promise<GitHubInstallationApi> => {
    const installationId = await installationIdFor(account);
    if (installationId === undefined) throw new AppNotInstalledError(account);
    return forInstallation(installationId);
  };

  return { baseUrl, forInstallation, listInstallations, installationIdFor, forAccount, requestCount: () => requests };
}

function installationApi(octokit: GitHubClient, groupIds: Map<string, Promise<number>>): GitHubInstallationApi {
  const actions = octokit.rest.actions;
  return {
    async generateJitConfig(request) {
      const body = {
        name: request.name,
        labels: [...request.labels],
        work_folder: request.workFolder ?? '_work',
      };
      const { data } =
        request.level === 'org'
          ? await actions.generateRunnerJitconfigForOrg({
              org: request.owner,
              ...body,
              runner_group_id: request.runnerGroupId ?? REPOSITORY_RUNNER_GROUP_ID,
            })
          : await actions.generateRunnerJitconfigForRepo({
              owner: request.owner,
              repo: request.repo,
              ...body,
              runner_group_id: REPOSITORY_RUNNER_GROUP_ID,
            });
      return { runnerId: Number(data.runner.id), encodedJitConfig: data.encoded_jit_config };
    },

    async createRegistrationToken(target) {
      const { data } =
        target.level === 'org'
          ? await actions.createRegistrationTokenForOrg({ org: target.owner })
          : await actions.createRegistrationTokenForRepo({ owner: target.owner, repo: target.repo });
      return { token: data.token, expiresAt: data.expires_at };
    },

    getRunnerGroupId(org, name) {
      const key = `${org.toLowerCase()}\n${name}`;
      let id = groupIds.get(key);
      if (!id) {
        id = (async () => {
          const groups: RunnerGroup[] = await octokit.paginate('GET /orgs/{org}/actions/runner-groups', { org, per_page: 100 });
          const group = groups.find((g) => g.name === name);
          if (!group) throw new RunnerGroupNotFoundError(org, name);
          return Number(group.id);
        })();
        // A failed lookup is not cached; the next batch asks again.
        id.catch(() => groupIds.delete(key));
        groupIds.set(key, id);
      }
      return id;
    },

    async isJobQueued(owner, repo, jobId) {
      const { data } = await actions.getJobForWorkflowRun({ owner, repo, job_id: jobId });
      return data.status === 'queued';
    },

    async rerunJob(owner, repo, jobId) {
      try {
        await actions.reRunJobForWorkflowRun({ owner, repo, job_id: jobId });
        return 'requested';
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (status === 403) return 'refused';
        if (status === 404 || status === 422) return 'gone';
        throw error;
      }
    },

    async listRunners(target, options = {}) {
      const filter = options.name === undefined ? {} : { name: options.name };
      const runners =
        target.level === 'org'
          ? await octokit.paginate(actions.listSelfHostedRunnersForOrg, { org: target.owner, per_page: 100, ...filter })
          : await octokit.paginate(actions.listSelfHostedRunnersForRepo, { owner: target.owner, repo: target.repo, per_page: 100, ...filter });
      const mapped = runners.map((r) => ({ id: Number(r.id), name: r.name, status: r.status, busy: r.busy, labels: r.labels, ephemeral: r.ephemeral }));
      // An older GHES may ignore `name`; the filter must hold either way.
      return options.name === undefined ? mapped : mapped.filter((r) => r.name === options.name);
    },

    async deleteRunner(target, runnerId) {
      try {
        await deleteOne(target, runnerId);
      } catch (error) {
        if ((error as { status?: number }).status !== 404) throw error;
      }
    },

    async removeRunner(target, runnerId) {
      try {
        await deleteOne(target, runnerId);
        return 'deleted';
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (status === 404) return 'not-found';
        // GitHub answers 422 for a runner that is running a job.
        if (status === 422) return 'busy';
        throw error;
      }
    },
  };

  async function deleteOne(target: RunnerTarget, runnerId: number): Promise<void> {
    if (target.level === 'org') await actions.deleteSelfHostedRunnerFromOrg({ org: target.owner, runner_id: runnerId });
    else await actions.deleteSelfHostedRunnerFromRepo({ owner: target.owner, repo: target.repo, runner_id: runnerId });
  }
}
