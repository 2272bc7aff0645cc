/**
 * Register launched instances as GitHub runners: per instance a JIT config
 * (or, with JIT configs off, a registration token shared by the owner's
 * instances) written to SSM for the instance to read. Knows nothing of jobs:
 * scale-up and the warm pool both use it.
 */
import type { RunnerConfigStore, RunnerRegistration } from '../aws/jit-config-store';
import { githubWebUrl } from '../github/base-url';
import type { GitHubInstallationApi, RegistrationToken } from '../github/runners';
import type { Logger } from '../logger';
import { onceAsync } from '../config';
import { type OwnedTarget, type RunnerTarget, runnerNameOf } from './identity';

/** How runners register. */
export interface RegistrationSettings {
  /** PREFIX: runners are named `${prefix}-${instanceId}`. */
  readonly prefix: string;
  /** The runner type's labels (`self-hosted` is added first). */
  readonly labels: readonly string[];
  /** ENABLE_JIT_CONFIG: JIT configs, else registration tokens. */
  readonly jitConfig: boolean;
  /** RUNNER_GROUP_NAME: group of org-level runners. */
  readonly runnerGroupName: string;
  /** GHES_URL; github.com when absent. */
  readonly ghesUrl?: string;
}

/** The registration settings of a function's config and a runner type's labels: what scale-up, the pool and the runner API all pass. */
export function registrationSettings(
  config: Pick<RegistrationSettings, 'prefix' | 'jitConfig' | 'runnerGroupName' | 'ghesUrl'>,
  labels: readonly string[],
): RegistrationSettings {
  return { prefix: config.prefix, labels, jitConfig: config.jitConfig, runnerGroupName: config.runnerGroupName, ...(config.ghesUrl !== undefined && { ghesUrl: config.ghesUrl }) };
}

/** What {@link createRunnerRegistrar} needs. */
export interface RegistrarOptions {
  readonly github: GitHubInstallationApi;
  readonly configStore: RunnerConfigStore;
  readonly target: OwnedTarget;
  readonly settings: RegistrationSettings;
  /** From {@link resolveRunnerGroupId}. */
  readonly runnerGroupId: number | undefined;
  /**
   * When the runner's name is already registered (409), take that earlier
   * registration over (see takeOverEarlierRegistration) instead of failing.
   * Only for a caller that knows no one else is registering the instance
   * now: scale-up holds the job's lock, whose earlier holder died. The warm
   * pool's concurrent deliveries register the same instances at once, so it
   * keeps the 409. @default false
   */
  readonly takeOverEarlierRegistration?: boolean;
}

/** Registers the instances of one owner. */
export interface RunnerRegistrar {
  /**
   * Register one instance and hand it its configuration. Throws when it could
   * not; a JIT runner it created is deleted again. `extraLabels` join the
   * type's labels for this runner only: a run-bound job's `ghr-run-<run id>`
   * (contract/run-label.ts). @default none
   */
  register(instanceId: string, log: Logger, extraLabels?: readonly string[]): Promise<void>;
}

/**
 * The id of the runner group that JIT configs of org-level runners name;
 * undefined when none is needed (repository runners, token mode). Throws
 * RunnerGroupNotFoundError or what GitHub answers.
 */
export async function resolveRunnerGroupId(
  github: GitHubInstallationApi,
  target: RunnerTarget,
  settings: Pick<RegistrationSettings, 'jitConfig' | 'runnerGroupName'>,
): Promise<number | undefined> {
  if (!settings.jitConfig || target.level !== 'org') return undefined;
  return github.getRunnerGroupId(target.owner, settings.runnerGroupName);
}

/** A registrar for one owner; in token mode the owner's instances share one registration token, asked for on first use. */
export function createRunnerRegistrar(options: RegistrarOptions): RunnerRegistrar {
  const { github, configStore, target, settings, runnerGroupId, takeOverEarlierRegistration: takeOver = false } = options;
  const typeLabels = registrationLabels(settings.labels);
  const registrationToken = onceAsync((): Promise<RegistrationToken> => github.createRegistrationToken(target));
  return {
    async register(instanceId, log, extraLabels = []) {
      const name = runnerNameOf(settings.prefix, instanceId);
      const labels = withLabels(typeLabels, extraLabels);
      if (settings.jitConfig) {
        const request = { ...target, name, labels, runnerGroupId, workFolder: '_work' };
        let jit;
        try {
          jit = await github.generateJitConfig(request);
        } catch (error) {
          if (!takeOver || !isNameTaken(error)) throw error;
          const earlier = await takeOverEarlierRegistration(github, target, name, log);
          if (earlier === 'kept') return;
          jit = await github.generateJitConfig(request);
        }
        try {
          await configStore.putRunnerConfig(instanceId, { mode: 'jit', jit_config: jit.encodedJitConfig });
        } catch (error) {
          // The instance will never read this config: unregister the runner too.
          await github.deleteRunner(target, jit.runnerId).catch((e: unknown) => log.warn('could not delete the unused JIT runner', { error: e }));
          throw error;
        }
        return;
      }
      const token = await registrationToken();
      const registration: RunnerRegistration = {
        mode: 'token',
        token: token.token,
        url: `${githubWebUrl(settings.ghesUrl)}/${target.ownerTag}`,
        labels: labels.join(','),
        name,
        ...(target.level === 'org' ? { runner_group: settings.runnerGroupName } : {}),
      };
      await configStore.putRunnerConfig(instanceId, registration);
    },
  };
}

/**
 * Whether GitHub refused a JIT config because a runner of that name exists:
 * 409 "Already exists - A runner with the same name already exists" (REST API,
 * "Create configuration for a just-in-time runner": 409 Conflict).
 */
function isNameTaken(error: unknown): boolean {
  return (error as { status?: number }).status === 409;
}

/**
 * The name `<prefix>-<instance id>` is taken: only an earlier attempt for this
 * very instance can have registered it. That is a scale-up that died after
 * registering and before recording the launch; its redelivery gets the same
 * instance back from CreateFleet (same ClientToken). An online runner (idle
 * or busy) read its config and connected: it is kept, and the job keeps its
 * runner rather than getting a second one. An offline one may never have had
 * its config stored (the crash fell between the two calls): it is deleted and
 * registered again, and the new config overwrites any stored one. If the
 * instance had read the old config and was still connecting, its runner
 * fails and the instance ends; the job ledger's relaunch serves the job.
 */
async function takeOverEarlierRegistration(github: GitHubInstallationApi, target: RunnerTarget, name: string, log: Logger): Promise<'kept' | 'deleted'> {
  const [earlier] = await github.listRunners(target, { name });
  if (earlier?.status === 'online') {
    log.warn('runner already registered and online from an earlier attempt for this instance; kept', { runnerName: name, busy: earlier.busy });
    return 'kept';
  }
  if (earlier) await github.deleteRunner(target, earlier.id);
  log.warn('runner name already registered, offline, by an earlier attempt for this instance; registering it again', { runnerName: name, deleted: earlier !== undefined });
  return 'deleted';
}

/** The runner type's labels with `self-hosted` first, as the webhook's routing assumes. */
export function registrationLabels(labels: readonly string[]): string[] {
  const rest = labels.filter((l) => l.toLowerCase() !== 'self-hosted');
  return ['self-hosted', ...rest];
}

/** `labels` followed by those of `extra` it lacks (case-insensitively, as GitHub compares labels). */
function withLabels(labels: readonly string[], extra: readonly string[]): string[] {
  const have = new Set(labels.map((l) => l.toLowerCase()));
  return [...labels, ...extra.filter((l) => !have.has(l.toLowerCase()))];
}

