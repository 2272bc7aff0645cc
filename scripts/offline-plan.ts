/**
 * `npm run plan`: terraform init (from the local provider mirror when there is
 * one), validate, plan and show -json for every synthesized stack and for
 * examples/hcl-consumer. Plan JSON goes to cdktf.out/plans/ for the policy
 * tests. Run `npm run synth` first.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findPluginDir, mapLimit, MINIMAL_MODULE_INPUTS, planOffline, PlanTarget } from './lib/terraform';

async function main(): Promise<void> {
  const root = join(__dirname, '..');
  const stacksDir = join(root, 'cdktf.out', 'stacks');
  const plansDir = join(root, 'cdktf.out', 'plans');
  if (!existsSync(stacksDir)) throw new Error('no synthesized stacks in cdktf.out/stacks: run `npm run synth` first');
  mkdirSync(plansDir, { recursive: true });

  const targets: PlanTarget[] = readdirSync(stacksDir)
    .sort()
    .map((name) =>
      name === 'terraform-module'
        ? { name, dir: join(stacksDir, name), provider: 'add' as const, variables: MINIMAL_MODULE_INPUTS }
        : { name, dir: join(stacksDir, name), provider: 'override' as const },
    );
  targets.push({ name: 'hcl-consumer', dir: join(root, 'examples', 'hcl-consumer'), provider: 'override' });
  targets.push({ name: 'hcl-tagged', dir: join(root, 'examples', 'hcl-tagged'), provider: 'override' });
  targets.push({ name: 'hcl-enterprise', dir: join(root, 'examples', 'hcl-enterprise'), provider: 'override' });

  const pluginDir = findPluginDir();
  console.log(pluginDir ? `terraform init from the provider mirror at ${pluginDir}` : 'no provider mirror found: terraform init uses the registry');
  // Two at a time: each plan loads the ~700 MB provider; CI has 2 cores.
  const results = await mapLimit(targets, 2, async (t) => {
    const r = await planOffline(t, plansDir, pluginDir);
    console.log(`planned ${r.name} offline in ${r.seconds.toFixed(1)} s → ${join('cdktf.out', 'plans', `${r.name}.json`)}`);
    return r;
  });
  console.log(`${results.length} offline plans passed (init, validate, plan)`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
