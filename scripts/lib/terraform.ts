/**
 * Runs Terraform offline: init from the local provider mirror when there is
 * one, then validate, plan and `show -json`. Plans use fake credentials and
 * the provider's skip_* flags, injected through a file the run adds and
 * removes, so the synthesized stacks stay deployable as they are.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The provider version the @cdktf/provider-aws 20.1.0 bindings target. */
export const AWS_PROVIDER_VERSION = '5.100.0';

/** Where this machine image and common setups keep a filesystem mirror. */
const MIRROR_CANDIDATES = ['/opt/tf-plugins', '/usr/share/terraform/plugins', join(process.env.HOME ?? '/root', '.terraform.d', 'plugins')];

/**
 * The plugin directory to init from: $TF_PLUGIN_DIR if set (it must hold the
 * aws provider), else the first known mirror that holds it, else undefined
 * (a normal init from the registry, as on a user's machine).
 */
export function findPluginDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const holdsAws = (dir: string) => existsSync(join(dir, 'registry.terraform.io', 'hashicorp', 'aws', AWS_PROVIDER_VERSION));
  if (env.TF_PLUGIN_DIR) {
    if (!holdsAws(env.TF_PLUGIN_DIR)) {
      throw new Error(`TF_PLUGIN_DIR=${env.TF_PLUGIN_DIR} has no registry.terraform.io/hashicorp/aws/${AWS_PROVIDER_VERSION}`);
    }
    return env.TF_PLUGIN_DIR;
  }
  return MIRROR_CANDIDATES.find(holdsAws);
}

/** The exact inputs the README promises a plain HCL consumer needs. */
export const MINIMAL_MODULE_INPUTS = {
  prefix: 'gh-ci',
  vpc_id: 'vpc-123',
  subnet_ids: ['subnet-123', 'subnet-456'],
  enable_organization_runners: true,
  github_app_ssm_parameters: {
    app_id: '/ops/github/runner/dev/app-id',
    private_key: '/ops/github/runner/dev/private-key',
    webhook_secret: '/ops/github/runner/dev/webhook-secret',
  },
};

export interface PlanTarget {
  /** Names the plan JSON: <plansDir>/<name>.json. */
  readonly name: string;
  /** The root module directory. */
  readonly dir: string;
  /**
   * "override" when the root module has an aws provider block (we add
   * offline settings to it); "add" when it has none (a bare module).
   */
  readonly provider: 'override' | 'add';
  /** Variables for the plan. @default none */
  readonly variables?: Record<string, unknown>;
}

export interface PlanResult {
  readonly name: string;
  readonly planJsonPath: string;
  readonly seconds: number;
}

const OFFLINE_PROVIDER = {
  region: 'eu-west-1',
  access_key: 'AKIAOFFLINEPLANFAKE00',
  secret_key: 'offline-plan-fake-secret-key',
  skip_credentials_validation: true,
  skip_requesting_account_id: true,
  skip_metadata_api_check: true,
  skip_region_validation: true,
};

export class TerraformCommandError extends Error {
  constructor(readonly target: string, readonly step: string, readonly output: string) {
    super(`terraform ${step} failed for ${target}:\n${output}`);
    this.name = 'TerraformCommandError';
  }
}

export async function planOffline(target: PlanTarget, plansDir: string, pluginDir: string | undefined): Promise<PlanResult> {
  const started = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), `plan-${target.name}-`));
  const cliConfig = join(scratch, 'terraformrc');
  // An empty CLI config: no stray mirror or credentials settings from the machine.
  writeFileSync(cliConfig, '');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    TF_DATA_DIR: join(scratch, '.terraform'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  for (const k of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete env[k];

  const injected =
    target.provider === 'override'
      ? { file: join(target.dir, 'zz_offline_plan_override.tf.json'), body: { provider: { aws: OFFLINE_PROVIDER } } }
      : { file: join(target.dir, 'zz_offline_plan_provider.tf.json'), body: { provider: { aws: OFFLINE_PROVIDER } } };
  const varFile = join(scratch, 'offline.tfvars.json');
  writeFileSync(varFile, JSON.stringify(target.variables ?? {}));
  const planFile = join(scratch, 'tfplan');

  const tf = async (step: string, args: string[]) => {
    try {
      const out = await run('terraform', args, { cwd: target.dir, env, maxBuffer: 256 * 1024 * 1024 });
      return out.stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new TerraformCommandError(target.name, step, `${e.stderr ?? ''}${e.stdout ?? ''}` || e.message);
    }
  };

  writeFileSync(injected.file, JSON.stringify(injected.body, null, 2));
  try {
    const initArgs = ['init', '-input=false', '-no-color', '-lockfile=readonly'];
    await tf('init', pluginDir ? ['init', '-input=false', '-no-color', `-plugin-dir=${pluginDir}`] : initArgs.filter((a) => a !== '-lockfile=readonly'));
    failOnWarnings(target.name, 'validate', await tf('validate', ['validate', '-no-color']));
    failOnWarnings(
      target.name,
      'plan',
      await tf('plan', ['plan', '-input=false', '-lock=false', '-refresh=false', '-no-color', `-var-file=${varFile}`, `-out=${planFile}`]),
    );
    const json = await tf('show', ['show', '-json', '-no-color', planFile]);
    const planJsonPath = join(plansDir, `${target.name}.json`);
    writeFileSync(planJsonPath, json);
    return { name: target.name, planJsonPath, seconds: (Date.now() - started) / 1000 };
  } finally {
    rmSync(injected.file, { force: true });
    // init writes a lock file next to the configuration; it belongs to the scratch run.
    if (readdirSync(target.dir).includes('.terraform.lock.hcl')) rmSync(join(target.dir, '.terraform.lock.hcl'), { force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Throws when validate or plan printed a warning (a deprecated argument, say):
 * the configuration must stay free of them so the provider's next major
 * version is a cheap upgrade (issue #10 item 7). The CLI-configuration warning
 * goes to stderr and is not the configuration's.
 */
export function failOnWarnings(name: string, step: string, stdout: string): void {
  const warnings = [...stdout.matchAll(/^.*Warning: (.+)$/gm)].map((m) => m[1].trim());
  if (warnings.length > 0) throw new TerraformCommandError(name, step, `terraform ${step} printed warnings:\n${stdout}`);
}

/** Runs `worker` over `items`, at most `limit` at a time, in order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, worker: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await worker(items[i]);
    }
  });
  await Promise.all(lanes);
  return results;
}
