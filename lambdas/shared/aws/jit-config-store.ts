/**
 * Hands each runner instance its registration through SSM Parameter Store.
 *
 * ## What the instance reads
 *
 * The other side of this contract is the user data,
 * modules/runners/templates/user-data.sh (steps 5 to 7); keep the two in step.
 *
 * Parameter `${SSM_CONFIG_PATH}/${instanceId}` (e.g.
 * `/gh-ci/runners/config/i-0123456789abcdef0`), written by scale-up or the
 * warm pool: type SecureString, encrypted with the module's KMS key, tier
 * Intelligent-Tiering (Standard unless the value passes 4 KB), tagged
 * `ghr:instance-id = <instanceId>` (for housekeeping) and
 * `ghr:instance-arn = <INSTANCE_ARN_PREFIX><instanceId>`: the runner role may
 * read and delete only the parameter whose `ghr:instance-arn` equals its own
 * `ec2:SourceInstanceARN`.
 *
 * The instance polls for the parameter (config_poll_attempts tries,
 * config_poll_interval_seconds apart), then deletes it before it parses or
 * uses it (it holds a credential); if the delete fails it does not start the
 * runner (fail closed). Scale-down removes parameters left behind by instances
 * that never read theirs ({@link createRunnerConfigHousekeeping}: names and
 * dates only, never values).
 *
 * The value is one JSON object in one of two shapes. The instance reads only
 * string values of the keys below and ignores any other key, so fields can be
 * added.
 *
 * ```json
 * { "mode": "jit", "jit_config": "<encoded_jit_config from GitHub>" }
 * ```
 * The user data runs `./run.sh` as the unprivileged `runner` user with the
 * JIT config in `ACTIONS_RUNNER_INPUT_JITCONFIG` (the environment, not argv).
 * Name, labels, group and work folder (`_work`) are inside the JIT config.
 *
 * ```json
 * {
 *   "mode": "token",
 *   "token": "<registration token, valid one hour>",
 *   "url": "https://github.com/my-org",
 *   "labels": "self-hosted,linux,x64",
 *   "name": "gh-ci-i-0123456789abcdef0",
 *   "runner_group": "Default"
 * }
 * ```
 * The user data runs, as `runner`, `./config.sh --unattended --ephemeral
 * --disableupdate --url "$url" --name "$name"`, adding `--labels "$labels"`
 * when labels is not empty and `--runnergroup "$runner_group"` when that key is
 * present (org-level runners only), with the token in
 * `ACTIONS_RUNNER_INPUT_TOKEN`; then `./run.sh`. `url` must be https
 * (`<web url>/<org>` or `<web url>/<owner>/<repo>`); `labels` is
 * comma-separated; an absent `name` becomes `<prefix>-<instance id>`.
 */
import { DeleteParametersCommand, ParameterAlreadyExists, PutParameterCommand, SSMClient, paginateGetParametersByPath } from '@aws-sdk/client-ssm';

/** `{ "mode": "jit" }`: see the module comment. */
export interface JitRegistration {
  readonly mode: 'jit';
  readonly jit_config: string;
}

/** `{ "mode": "token" }`: see the module comment. */
export interface TokenRegistration {
  readonly mode: 'token';
  readonly token: string;
  readonly url: string;
  /** Comma-separated. */
  readonly labels: string;
  readonly name: string;
  /** Org-level runners only. */
  readonly runner_group?: string;
}

/** What one runner instance reads from its parameter. */
export type RunnerRegistration = JitRegistration | TokenRegistration;

/** Where registrations go. */
export interface RunnerConfigStore {
  /** Store `registration` for `instanceId` (replacing any earlier one). */
  putRunnerConfig(instanceId: string, registration: RunnerRegistration): Promise<void>;
}

/** Options of {@link createRunnerConfigStore}. */
export interface RunnerConfigStoreOptions {
  /** SSM_CONFIG_PATH, e.g. `/gh-ci/runners/config` (a trailing slash is ignored). */
  readonly ssmConfigPath: string;
  /** KMS_KEY_ID: the key that encrypts the SecureString. */
  readonly kmsKeyId: string;
  /**
   * INSTANCE_ARN_PREFIX, `arn:<partition>:ec2:<region>:<account>:instance/`.
   * The runner's IAM policy lets an instance read only the parameter whose
   * `ghr:instance-arn` tag equals its own `ec2:SourceInstanceARN`.
   */
  readonly instanceArnPrefix: string;
}

/** The tag that names a parameter's instance, for housekeeping. */
export const INSTANCE_ID_TAG = 'ghr:instance-id';
/** The tag the runner's IAM policy matches against the caller's instance ARN. */
export const INSTANCE_ARN_TAG = 'ghr:instance-arn';

/** The parameter name for `instanceId`. */
export function runnerConfigParameterName(ssmConfigPath: string, instanceId: string): string {
  return `${ssmConfigPath.replace(/\/+$/, '')}/${instanceId}`;
}

/** Build the SSM-backed store. */
export function createRunnerConfigStore(ssm: SSMClient, options: RunnerConfigStoreOptions): RunnerConfigStore {
  return {
    async putRunnerConfig(instanceId, registration) {
      const base = {
        Name: runnerConfigParameterName(options.ssmConfigPath, instanceId),
        Value: JSON.stringify(registration),
        Type: 'SecureString' as const,
        KeyId: options.kmsKeyId,
        Tier: 'Intelligent-Tiering' as const,
      };
      try {
        const tags = [
          { Key: INSTANCE_ID_TAG, Value: instanceId },
          { Key: INSTANCE_ARN_TAG, Value: `${options.instanceArnPrefix}${instanceId}` },
        ];
        await ssm.send(new PutParameterCommand({ ...base, Tags: tags }));
      } catch (error) {
        // SSM refuses Tags together with Overwrite, so a parameter left by an
        // earlier attempt for the same instance is overwritten in a second call
        // (it keeps the tag it was created with).
        if (!(error instanceof ParameterAlreadyExists) && (error as { name?: string }).name !== 'ParameterAlreadyExists') throw error;
        await ssm.send(new PutParameterCommand({ ...base, Overwrite: true }));
      }
    },
  };
}

/** A runner configuration parameter, without its value. */
export interface StoredRunnerConfig {
  /** The full parameter name. */
  readonly name: string;
  /** The instance it was written for (the last path segment). */
  readonly instanceId: string;
  readonly lastModified?: Date;
}

/** What one DeleteParameters call did. */
export interface DeletedRunnerConfigs {
  readonly deleted: string[];
  /** Names SSM did not find (already deleted, e.g. by the instance itself). */
  readonly invalid: string[];
}

/** Scale-down's view of the config store: find and remove what instances left behind. */
export interface RunnerConfigHousekeeping {
  /**
   * Every parameter directly under the config path: paginated
   * GetParametersByPath, WithDecryption false (no KMS call; values are ignored).
   */
  listRunnerConfigs(): Promise<StoredRunnerConfig[]>;
  /** One DeleteParameters call for at most {@link DELETE_PARAMETERS_MAX} names. */
  deleteRunnerConfigs(names: readonly string[]): Promise<DeletedRunnerConfigs>;
}

/** DeleteParameters takes at most this many names per call. */
export const DELETE_PARAMETERS_MAX = 10;

/** Build the housekeeping view over `ssmConfigPath`. */
export function createRunnerConfigHousekeeping(ssm: SSMClient, options: Pick<RunnerConfigStoreOptions, 'ssmConfigPath'>): RunnerConfigHousekeeping {
  const path = options.ssmConfigPath.replace(/\/+$/, '');
  return {
    async listRunnerConfigs() {
      const found: StoredRunnerConfig[] = [];
      const pages = paginateGetParametersByPath({ client: ssm, pageSize: 10 }, { Path: path, Recursive: false, WithDecryption: false });
      for await (const page of pages) {
        for (const p of page.Parameters ?? []) {
          if (p.Name === undefined) continue;
          found.push({ name: p.Name, instanceId: p.Name.slice(p.Name.lastIndexOf('/') + 1), lastModified: p.LastModifiedDate });
        }
      }
      return found;
    },

    async deleteRunnerConfigs(names) {
      if (names.length > DELETE_PARAMETERS_MAX) throw new RangeError(`DeleteParameters takes at most ${DELETE_PARAMETERS_MAX} names, got ${names.length}`);
      if (names.length === 0) return { deleted: [], invalid: [] };
      const out = await ssm.send(new DeleteParametersCommand({ Names: [...names] }));
      return { deleted: out.DeletedParameters ?? [], invalid: out.InvalidParameters ?? [] };
    },
  };
}
