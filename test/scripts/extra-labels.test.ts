import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPluginDir } from '../../scripts/lib/terraform';

/**
 * Issue #10 item 5: `runner_extra_labels` join every runner type's labels in
 * the packaged module, and the routing table (webhook), the registration
 * (scale-up, one function per type) and the warm pool all read that one
 * merged map. Terraform itself evaluates the merge (terraform console over the
 * packaged module, as `npm run synth` wrote it); needs `npm run synth` first.
 */
const MODULE = join(__dirname, '..', '..', 'dist', 'terraform-module');

describe('runner_extra_labels in the packaged module', () => {
  const module = JSON.parse(readFileSync(join(MODULE, 'cdk.tf.json'), 'utf8')) as {
    locals: Record<string, unknown>;
    resource: Record<string, Record<string, { for_each?: string; environment?: { variables?: Record<string, string> } }>>;
  };
  const merged = Object.keys(module.locals).find((k) => /^runners_runner_types_[0-9A-F]{8}$/.test(k));

  it('should feed the merged map to the webhook routing, every scale-up function and the pool', () => {
    expect(merged).toBeDefined();
    const fns = module.resource.aws_lambda_function;
    const fn = (name: string) => Object.entries(fns).find(([id]) => id.startsWith(`runners_${name}_lambda_function_`))?.[1];
    // Routing: the webhook's table is built from the merged map, not from the variable.
    expect(fn('webhook')?.environment?.variables?.RUNNER_TYPES_CONFIG).toContain(`local.${merged}`);
    // Registration: one scale-up function per merged entry; its RUNNER_TYPE_CONFIG labels are each.value.labels.
    expect(fn('scale-up')?.for_each).toBe(`\${local.${merged}}`);
    expect(JSON.stringify(fn('scale-up')?.environment?.variables?.RUNNER_TYPE_CONFIG)).toContain('each.value.labels');
    expect(fn('pool')?.environment?.variables?.RUNNER_TYPES_CONFIG).toContain(`local.${merged}`);
    // Nothing reads the unmerged variable directly except the merge itself.
    const users = JSON.stringify(module.resource);
    expect(users).not.toContain('var.runner_types');
    expect(users).not.toContain('runner_types_given');
  });

  it('should join the extra labels to every type, once, case-insensitively, as Terraform evaluates it', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ghr-extra-labels-'));
    try {
      // A copy of the module, so init writes nothing next to the packaged one.
      cpSync(MODULE, join(scratch, 'module'), { recursive: true });
      const vars = join(scratch, 'vars.tfvars.json');
      writeFileSync(
        vars,
        JSON.stringify({
          prefix: 'gh',
          vpc_id: 'vpc-1',
          subnet_ids: ['subnet-1'],
          github_app_ssm_parameters: { app_id: '/a', private_key: '/b', webhook_secret: '/c' },
          runner_types: {
            small: { labels: ['self-hosted', 'linux'] },
            big: { labels: ['self-hosted', 'Team-A'], pool_config: [{ size: 1, schedule_expression: 'rate(1 hour)' }] },
          },
          runner_extra_labels: ['team-a', 'ci'],
          pool_runner_owner: 'my-org',
        }),
      );
      writeFileSync(join(scratch, 'terraformrc'), '');
      const env = { ...process.env, TF_DATA_DIR: join(scratch, '.terraform'), TF_CLI_CONFIG_FILE: join(scratch, 'terraformrc'), CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
      const cwd = join(scratch, 'module');
      const plugins = findPluginDir();
      execFileSync('terraform', ['init', '-input=false', '-no-color', ...(plugins ? [`-plugin-dir=${plugins}`] : [])], { cwd, env, stdio: 'pipe', timeout: 60_000 });
      const out = execFileSync('terraform', ['console', '-no-color', `-var-file=${vars}`], {
        cwd,
        env,
        input: `jsonencode({ for k, t in local.${merged} : k => t.labels })\n`,
        timeout: 60_000,
      }).toString();
      const labels = JSON.parse(JSON.parse(out.trim()) as string) as Record<string, string[]>;
      expect(labels).toEqual({
        small: ['self-hosted', 'linux', 'team-a', 'ci'],
        // "team-a" is already there as "Team-A" (GitHub compares labels case-insensitively).
        big: ['self-hosted', 'Team-A', 'ci'],
      });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 120_000);
});
