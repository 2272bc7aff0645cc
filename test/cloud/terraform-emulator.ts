/**
 * `terraform apply`, re-plan and `destroy` of a root module against the AWS
 * emulator: the provider's endpoints point at the emulator proxy, with fake
 * credentials. The root is copied to a scratch directory; the files added to
 * it are the provider override and, where asked, a network of the root's own
 * (moto rejects a security group in a VPC it does not hold).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findPluginDir } from '../../scripts/lib/terraform';

const run = promisify(execFile);

/** The provider's endpoint names of every service the module uses. */
export const EMULATED_SERVICES = [
  'apigatewayv2',
  'cloudwatch',
  'cloudwatchlogs',
  'dynamodb',
  'ec2',
  'events',
  'iam',
  'kms',
  'lambda',
  's3',
  'scheduler',
  'sns',
  'sqs',
  'ssm',
  'sts',
] as const;

/** A resource whose re-plan is not a no-op. */
export interface PlannedChange {
  readonly address: string;
  readonly actions: string[];
  /** Attributes whose known values differ. */
  readonly attributes: string[];
}

export class EmulatorRoot {
  readonly dir: string;
  private readonly scratch: string;
  private readonly env: NodeJS.ProcessEnv;

  /**
   * @param source the root module to copy
   * @param endpoint the emulator (proxy) URL
   * @param replace strings to replace in the copied *.tf files (e.g. a relative module source by an absolute one)
   * @param extraFiles files to add, by name
   */
  constructor(source: string, endpoint: string, replace: Record<string, string>, extraFiles: Record<string, string> = {}) {
    this.scratch = mkdtempSync(join(tmpdir(), 'emulator-root-'));
    this.dir = join(this.scratch, 'root');
    cpSync(source, this.dir, { recursive: true, filter: (f) => !/\.terraform|terraform\.tfstate|zz_offline/.test(f) });
    for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(this.dir, name), text);
    writeFileSync(join(this.dir, 'zz_emulator_override.tf.json'), JSON.stringify({ provider: { aws: emulatorProvider(endpoint) } }, null, 2));
    this.replace(replace);
    const cliConfig = join(this.scratch, 'terraformrc');
    writeFileSync(cliConfig, '');
    this.env = {
      ...process.env,
      TF_CLI_CONFIG_FILE: cliConfig,
      TF_IN_AUTOMATION: '1',
      TF_INPUT: '0',
      CHECKPOINT_DISABLE: '1',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    for (const k of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL']) delete this.env[k];
  }

  private replace(replace: Record<string, string>): void {
    for (const file of readdirSync(this.dir).filter((f) => f.endsWith('.tf'))) {
      let text = readFileSync(join(this.dir, file), 'utf8');
      for (const [from, to] of Object.entries(replace)) text = text.split(from).join(to);
      writeFileSync(join(this.dir, file), text);
    }
  }

  async terraform(args: string[], okCodes: number[] = [0]): Promise<{ code: number; stdout: string }> {
    try {
      const out = await run('terraform', args, { cwd: this.dir, env: this.env, maxBuffer: 256 * 1024 * 1024, timeout: 300_000 });
      return { code: 0, stdout: out.stdout };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
      if (typeof e.code === 'number' && okCodes.includes(e.code)) return { code: e.code, stdout: e.stdout ?? '' };
      throw new Error(`terraform ${args[0]} failed in ${this.dir}:\n${e.stderr ?? ''}${e.stdout ?? ''}` || e.message);
    }
  }

  async init(): Promise<void> {
    const pluginDir = findPluginDir();
    await this.terraform(pluginDir ? ['init', '-input=false', '-no-color', `-plugin-dir=${pluginDir}`] : ['init', '-input=false', '-no-color']);
  }

  async apply(): Promise<void> {
    await this.terraform(['apply', '-auto-approve', '-input=false', '-no-color', '-lock=false']);
  }

  /** A fresh plan after apply: what Terraform would change. */
  async replan(): Promise<PlannedChange[]> {
    const planFile = join(this.scratch, 'replan.tfplan');
    await this.terraform(['plan', '-input=false', '-no-color', '-lock=false', '-detailed-exitcode', `-out=${planFile}`], [0, 2]);
    const { stdout } = await this.terraform(['show', '-json', '-no-color', planFile]);
    const plan = JSON.parse(stdout) as { resource_changes?: { address: string; change: { actions: string[]; before: Record<string, unknown> | null; after: Record<string, unknown> | null; after_unknown?: Record<string, unknown> } }[] };
    return (plan.resource_changes ?? [])
      .filter((rc) => !(rc.change.actions.length === 1 && (rc.change.actions[0] === 'no-op' || rc.change.actions[0] === 'read')))
      .map((rc) => {
        const before = rc.change.before ?? {};
        const after = rc.change.after ?? {};
        const unknown = rc.change.after_unknown ?? {};
        const attributes = [...new Set([...Object.keys(before), ...Object.keys(after)])]
          .filter((k) => unknown[k] === true || JSON.stringify(before[k]) !== JSON.stringify(after[k]))
          .sort();
        return { address: rc.address, actions: rc.change.actions, attributes };
      });
  }

  async destroy(): Promise<void> {
    await this.terraform(['destroy', '-auto-approve', '-input=false', '-no-color', '-lock=false']);
  }

  /** The applied state, as `terraform show -json` prints it. */
  async show(): Promise<string> {
    return (await this.terraform(['show', '-json', '-no-color'])).stdout;
  }

  async stateList(): Promise<string[]> {
    const { stdout } = await this.terraform(['state', 'list'], [0, 1]);
    return stdout.split('\n').filter((l) => l.trim() !== '');
  }

  remove(): void {
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** The aws provider against the emulator. */
export function emulatorProvider(endpoint: string): Record<string, unknown> {
  return {
    region: 'eu-west-1',
    access_key: 'AKIDEMULATOR',
    secret_key: 'emulator',
    skip_credentials_validation: true,
    skip_requesting_account_id: true,
    skip_metadata_api_check: true,
    skip_region_validation: true,
    s3_use_path_style: true,
    endpoints: [Object.fromEntries(EMULATED_SERVICES.map((s) => [s, endpoint]))],
  };
}
