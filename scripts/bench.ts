/**
 * `npm run bench`: build the Lambdas, then measure
 * - each Lambda's zipped size;
 * - cold load of each bundle (fresh child processes): the shipped zips (AWS SDK
 *   bundled, ES entry) against the SDK-external build, under both runtime loaders;
 * - the webhook handler's throughput and p99 latency, in process, warm and on
 *   a container's first call, without and with the job ledger (in_progress
 *   and completed write it to a fake DynamoDB table);
 * - GitHub calls per runner, EC2 calls per scale-up batch and each job's
 *   queued to in-progress time (simulated clock) in the e2e burst, ledger on;
 * - `npm run synth` and `npm run plan` wall clock;
 * print a table and write BENCHMARKS.md. Targets are PASS/MISS columns: a
 * miss never fails the run. Needs no network (plan is skipped without a
 * local provider mirror, which would need the registry).
 *
 * Options:
 *   --no-synth-plan        skip synth and plan (the slow part)
 *   --burst-jobs N         burst size (default 500)
 *   --burst-cap N          runners_maximum_count of the burst (default 50)
 *   --cold-samples N       rounds per bundle, 6 processes each (default 10)
 *   --webhook-events N     timed webhook calls (default 10000)
 *   --out FILE             report file (default BENCHMARKS.md); --no-write to skip it
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runBurst } from '../test/e2e/lib/burst';
import { measureControlPlane } from './lib/bench/control-plane';
import { prepareBundles } from '../test/e2e/lib/bundles';
import { bundleAll } from './lib/lambda-bundles';
import { measureColdLoad } from './lib/bench/cold-load';
import { planTargetSeconds, timeNpmScript } from './lib/bench/commands';
import { describeMachine } from './lib/bench/machine';
import { BenchResults, consoleReport, markdownReport } from './lib/bench/report';
import { type WebhookThroughputResult, measureWebhook } from './lib/bench/webhook-throughput';
import { findPluginDir } from './lib/terraform';

const ROOT = resolve(__dirname, '..');

interface Options {
  readonly synthAndPlan: boolean;
  readonly burstJobs: number;
  readonly burstCap: number;
  readonly coldSamples: number;
  readonly webhookEvents: number;
  readonly out?: string;
}

function parseArgs(argv: readonly string[]): Options {
  const value = (flag: string, fallback: number) => {
    const i = argv.indexOf(flag);
    if (i < 0) return fallback;
    const n = Number(argv[i + 1]);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got "${argv[i + 1]}"`);
    return n;
  };
  const outIndex = argv.indexOf('--out');
  return {
    synthAndPlan: !argv.includes('--no-synth-plan'),
    burstJobs: value('--burst-jobs', 500),
    burstCap: value('--burst-cap', 50),
    coldSamples: value('--cold-samples', 10),
    webhookEvents: value('--webhook-events', 10_000),
    out: argv.includes('--no-write') ? undefined : resolve(ROOT, outIndex >= 0 ? argv[outIndex + 1] : 'BENCHMARKS.md'),
  };
}

const step = (text: string) => process.stderr.write(`bench: ${text}\n`);

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  // The in-process measurements construct SDK clients; keep their Node 20 notice out of the report.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  process.env.AWS_REGION ??= 'eu-west-1';
  const machine = describeMachine(ROOT);
  const logs = join(ROOT, '.e2e', 'bench');
  mkdirSync(logs, { recursive: true });
  const bundlesDir = join(ROOT, 'dist', 'lambdas');

  step('npm run build');
  const build = await timeNpmScript('build', ROOT, join(logs, 'build.log'));
  if (!build.ok) throw new Error(`npm run build failed: ${build.failure} (log: ${build.logPath})`);
  const manifest = JSON.parse(readFileSync(join(bundlesDir, 'manifest.json'), 'utf8')) as { lambdas: Record<string, { bytes: number }> };
  const sizes = Object.entries(manifest.lambdas)
    .map(([name, entry]) => ({ name, bytes: entry.bytes }))
    .sort((a, b) => a.name.localeCompare(b.name));

  // The builds the shipped zips are compared with, from the same sources.
  const external = join(logs, 'builds', 'external');
  const bundledCjs = join(logs, 'builds', 'bundled-cjs');
  step('builds to compare: SDK external (index.js), SDK bundled without the ES entry (index.js)');
  await bundleAll(join(ROOT, 'lambdas'), external, { sdk: 'external', withoutEntry: true });
  await bundleAll(join(ROOT, 'lambdas'), bundledCjs, { withoutEntry: true });
  const cold = sizes.map(({ name }) => {
    step(`cold load of ${name} (${options.coldSamples} rounds of 3 builds x 2 loaders)`);
    return measureColdLoad({ external, 'bundled-cjs': bundledCjs, shipped: bundlesDir }, name, ROOT, options.coldSamples);
  });

  // In process, under aws-sdk-client-mock: the SDK-external test build of the same sources.
  const testBuild = await prepareBundles();
  step(`webhook handler, ${options.webhookEvents} events, no ledger (queued)`);
  const webhook = await measureWebhook(testBuild, options.webhookEvents);
  const webhookLedger: WebhookThroughputResult[] = [];
  for (const action of ['queued', 'in_progress', 'completed'] as const) {
    step(`webhook handler, ${options.webhookEvents} events, job ledger on (${action})`);
    webhookLedger.push(await measureWebhook(testBuild, options.webhookEvents, 1_000, { ledger: true, action }));
  }

  step(`burst of ${options.burstJobs} jobs, cap ${options.burstCap}`);
  // Warp 10: at the default 50 a 30 s invocation is 0.6 s of wall time, which a shared machine overruns.
  const burst = await runBurst({ bundlesDir: testBuild, jobs: options.burstJobs, cap: options.burstCap, timeWarp: 10 });

  step('control plane, one job at a time (wall clock)');
  // 10: the world's default type caps at 10 live runners, and these jobs never finish.
  const controlPlane = await measureControlPlane(testBuild, 10);

  let synth: BenchResults['synth'] = { skipped: '--no-synth-plan' };
  let plan: BenchResults['plan'] = { skipped: '--no-synth-plan' };
  if (options.synthAndPlan) {
    step('npm run synth');
    synth = await timeNpmScript('synth', ROOT, join(logs, 'synth.log'));
    if (!synth.ok) plan = { skipped: 'synth failed' };
    else if (!findPluginDir()) plan = { skipped: 'no local Terraform provider mirror (set TF_PLUGIN_DIR); init would need the registry' };
    else if (!existsSync(join(ROOT, 'cdktf.out', 'stacks'))) plan = { skipped: 'synth wrote no stacks' };
    else {
      step('npm run plan');
      const timed = await timeNpmScript('plan', ROOT, join(logs, 'plan.log'));
      plan = { ...timed, targets: timed.ok ? planTargetSeconds(timed.logPath) : {} };
    }
  }

  const results: BenchResults = { machine, build, sizes, cold, webhook, webhookLedger, burst, controlPlane, synth, plan };
  process.stdout.write(consoleReport(results) + '\n');
  if (options.out) {
    writeFileSync(options.out, markdownReport(results));
    step(`wrote ${options.out}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
