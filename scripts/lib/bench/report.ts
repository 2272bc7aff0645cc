/**
 * The bench's results as a console table and as BENCHMARKS.md. Targets are
 * reported as PASS or MISS; a miss is information, never a failure.
 */
import type { BurstReport } from '../../../test/e2e/lib/burst';
import { COLD_LOADERS, coldRatio, type ColdLoadResult } from './cold-load';
import type { TimedCommand } from './commands';
import type { ControlPlaneResult } from './control-plane';
import type { MachineDescription } from './machine';
import { fixed, kib, markdownTable, textTable } from './stats';
import type { WebhookThroughputResult } from './webhook-throughput';

/** Everything one bench run measured. */
export interface BenchResults {
  readonly machine: MachineDescription;
  readonly build: TimedCommand;
  readonly sizes: readonly { readonly name: string; readonly bytes: number }[];
  readonly cold: readonly ColdLoadResult[];
  readonly webhook: WebhookThroughputResult;
  /** The webhook with JOB_LEDGER_TABLE_NAME set: queued, in_progress, completed. */
  readonly webhookLedger: readonly WebhookThroughputResult[];
  readonly burst: BurstReport;
  /** One job at a time, wall clock: delivery → webhook answered → CreateFleet → JIT config stored. */
  readonly controlPlane: ControlPlaneResult;
  readonly synth: TimedCommand | { readonly skipped: string };
  readonly plan: (TimedCommand & { readonly targets: Record<string, number> }) | { readonly skipped: string };
}

/** The targets, in bytes, milliseconds and calls. */
export const TARGETS = {
  webhookZipBytes: 150_000,
  coldLoadMs: 100,
  webhookP99Ms: 5,
  githubCallsPerRunner: 1.2,
  ec2CallsPerBatch: 2,
} as const;

type Row = [metric: string, measured: string, target: string, result: string];

const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

/** Rows of the targets table. */
export function targetRows(r: BenchResults): Row[] {
  const rows: Row[] = [];
  const webhookZip = r.sizes.find((s) => s.name === 'webhook');
  if (webhookZip) {
    rows.push(['webhook.zip size', `${kib(webhookZip.bytes)} (${webhookZip.bytes} B)`, '≤ 150 KB (150,000 B)', verdict(webhookZip.bytes <= TARGETS.webhookZipBytes)]);
  }
  for (const c of r.cold) {
    const worst = Math.max(...COLD_LOADERS.map((l) => c.cells.shipped[l].medianMs));
    rows.push([`cold load, ${c.name}.zip as shipped (slower loader, median of ${c.samples})`, `${fixed(worst)} ms`, `≤ ${TARGETS.coldLoadMs} ms`, verdict(worst <= TARGETS.coldLoadMs)]);
  }
  rows.push(['webhook handler p99 latency', `${fixed(r.webhook.p99Ms, 3)} ms`, `≤ ${TARGETS.webhookP99Ms} ms`, verdict(r.webhook.p99Ms <= TARGETS.webhookP99Ms)]);
  for (const w of r.webhookLedger) {
    rows.push([`webhook handler p99 latency, job ledger on, ${w.action}`, `${fixed(w.p99Ms, 3)} ms`, `≤ ${TARGETS.webhookP99Ms} ms`, verdict(w.p99Ms <= TARGETS.webhookP99Ms)]);
  }
  rows.push([
    `GitHub API calls per runner launched (burst ${r.burst.jobs}/${r.burst.cap})`,
    fixed(r.burst.githubCallsPerRunner, 3),
    `≤ ${TARGETS.githubCallsPerRunner}`,
    verdict(r.burst.githubCallsPerRunner <= TARGETS.githubCallsPerRunner),
  ]);
  rows.push([
    'EC2 calls per launching scale-up batch (one runner type)',
    fixed(r.burst.ec2CallsPerBatch.launching, 2),
    `≤ ${TARGETS.ec2CallsPerBatch}`,
    verdict(r.burst.ec2CallsPerBatch.launching <= TARGETS.ec2CallsPerBatch),
  ]);
  return rows;
}

/** Rows of measurements that have no target. */
export function infoRows(r: BenchResults): [string, string][] {
  const rows: [string, string][] = [];
  for (const s of r.sizes) rows.push([`${s.name}.zip size`, `${kib(s.bytes)} (${s.bytes} B)`]);
  rows.push(['webhook throughput (one handler, in process)', `${Math.round(r.webhook.eventsPerSecond)} events/s`]);
  rows.push(['webhook latency p50 / max', `${fixed(r.webhook.p50Ms, 3)} ms / ${fixed(r.webhook.maxMs, 2)} ms`]);
  const q = r.burst.queueWait;
  rows.push([
    `burst queued → in progress per job (simulated clock${r.burst.ledger ? ', job ledger on' : ''})`,
    `p50 ${fixed(q.p50Seconds, 1)} s / p95 ${fixed(q.p95Seconds, 1)} s / max ${fixed(q.maxSeconds, 1)} s over ${q.jobs} jobs`,
  ]);
  const e = r.burst.ec2CallsPerBatch;
  rows.push(['EC2 calls per batch at the cap / over all batches', `${fixed(e.atCap, 2)} / ${fixed(e.all, 2)} (${e.counts.atCap} at cap, ${e.counts.launching} launching, ${e.counts.all} in all)`]);
  rows.push([
    `burst ${r.burst.jobs} jobs, cap ${r.burst.cap}`,
    `${r.burst.rounds} rounds, ${r.burst.scaleUpInvocations} scale-up invocations, ${fixed(r.burst.realSeconds, 1)} s real (${fixed(r.burst.simulatedMinutes, 1)} min simulated)`,
  ]);
  rows.push(['npm run build', commandCell(r.build)]);
  rows.push(['npm run synth (wall clock, build included)', 'skipped' in r.synth ? `skipped: ${r.synth.skipped}` : commandCell(r.synth)]);
  if ('skipped' in r.plan) rows.push(['npm run plan (wall clock, all targets)', `skipped: ${r.plan.skipped}`]);
  else {
    rows.push(['npm run plan (wall clock, all targets, 2 at a time)', commandCell(r.plan)]);
    for (const [target, seconds] of Object.entries(r.plan.targets)) rows.push([`  plan of ${target} (its own timing, in parallel with another)`, `${fixed(seconds)} s`]);
  }
  return rows;
}

export const WEBHOOK_HEADER = [
  'delivery',
  'job ledger',
  'ledger writes per call',
  'warm p50 / p99 / max, ms',
  'warm events/s',
  'first call of a fresh container, median / max, ms',
  'warm p50 / p99 against no ledger (queued)',
];

/** The webhook without the ledger (the baseline) and with it, per action; ratios against the baseline of the same run. */
export function webhookRows(r: BenchResults): string[][] {
  const base = r.webhook;
  return [base, ...r.webhookLedger].map((w) => [
    `workflow_job ${w.action}`,
    w.ledger ? 'on' : 'off',
    fixed(w.ledgerWritesPerCall, 2),
    `${fixed(w.p50Ms, 3)} / ${fixed(w.p99Ms, 3)} / ${fixed(w.maxMs, 2)}`,
    String(Math.round(w.eventsPerSecond)),
    `${fixed(w.coldMedianMs, 2)} / ${fixed(w.coldMaxMs, 2)} (${w.coldSamples})`,
    w === base ? '1 / 1' : `${fixed(w.p50Ms / base.p50Ms, 2)} / ${fixed(w.p99Ms / base.p99Ms, 2)}`,
  ]);
}

/** The cold-load comparison: shipped (SDK bundled, ES entry) against the SDK-external build, same run. */
export function coldRows(r: BenchResults): string[][] {
  const ms = (x: { medianMs: number }) => fixed(x.medianMs);
  return r.cold.map((c) => [
    c.name,
    `${ms(c.cells.external.require)} / ${ms(c.cells.external.import)}`,
    `${ms(c.cells.shipped.require)} / ${ms(c.cells.shipped.import)}`,
    `${fixed(coldRatio(c, 'require'), 2)} / ${fixed(coldRatio(c, 'import'), 2)}`,
    `${ms(c.cells['bundled-cjs'].require)} / ${ms(c.cells['bundled-cjs'].import)}`,
    `${fixed(c.cells.external.import.rssMiB, 0)} → ${fixed(c.cells.shipped.import.rssMiB, 0)}`,
  ]);
}

export const COLD_HEADER = [
  'bundle',
  'SDK external, ms (require / import())',
  'shipped: SDK bundled + ES entry, ms (require / import())',
  'ratio shipped / external (require / import())',
  'SDK bundled, no ES entry, ms (require / import())',
  'peak RSS MiB, external → shipped (import())',
];

/** Why each MISS misses, from the numbers measured. */
export function missNotes(r: BenchResults): string[] {
  const notes: string[] = [];
  for (const c of r.cold.filter((x) => Math.max(...COLD_LOADERS.map((l) => x.cells.shipped[l].medianMs)) > TARGETS.coldLoadMs)) {
    notes.push(
      `cold load of ${c.name}: the shipped zip loads in ${fixed(c.cells.shipped.require.medianMs)} / ${fixed(c.cells.shipped.import.medianMs)} ms ` +
        `(require / import() loader), ${fixed(coldRatio(c, 'require'), 2)} / ${fixed(coldRatio(c, 'import'), 2)} of the SDK-external build in the same run; ` +
        'what remains is mostly the AWS SDK clients themselves, now bundled.',
    );
  }
  const e = r.burst.ec2CallsPerBatch;
  if (e.launching > TARGETS.ec2CallsPerBatch) {
    notes.push(
      `EC2 calls: a batch that launches makes ${fixed(e.launching, 2)} calls, DescribeInstances (count and dedupe), CreateFleet and ` +
        `CreateTags (the job-id tags, written after registration); a batch at the cap makes ${fixed(e.atCap, 2)} (DescribeInstances only). ` +
        `Over all ${e.counts.all} batches of the burst the average is ${fixed(e.all, 2)}.`,
    );
  }
  if (r.burst.githubCallsPerRunner > TARGETS.githubCallsPerRunner) {
    notes.push(`GitHub calls per runner: see the calls by endpoint below.`);
  }
  if (r.webhook.p99Ms > TARGETS.webhookP99Ms) notes.push(`webhook p99: max ${fixed(r.webhook.maxMs, 2)} ms, p50 ${fixed(r.webhook.p50Ms, 3)} ms.`);
  return notes;
}

function commandCell(c: TimedCommand): string {
  return c.ok ? `${fixed(c.seconds)} s` : `failed after ${fixed(c.seconds)} s: ${c.failure ?? 'see ' + c.logPath}`;
}

/** The console report. */
export function consoleReport(r: BenchResults): string {
  const m = r.machine;
  return [
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, ${m.date}${m.commit ? `, commit ${m.commit}` : ''}`,
    '',
    textTable(['measurement', 'measured', 'target', 'result'], targetRows(r)),
    ...missNotes(r).map((n) => `MISS: ${n}`),
    '',
    textTable(['measurement', 'value'], infoRows(r)),
    '',
    'Cold loads (medians):',
    textTable(COLD_HEADER, coldRows(r)),
    '',
    'Webhook, without and with the job ledger:',
    textTable(WEBHOOK_HEADER, webhookRows(r)),
  ].join('\n');
}

/** BENCHMARKS.md. */
export function markdownReport(r: BenchResults): string {
  const m = r.machine;
  const b = r.burst;
  return `# Benchmarks

Written by \`npm run bench\`; run it again to refresh this file. The numbers
depend on the machine below, so compare runs on the same machine.

## Machine

${markdownTable(
  ['', 'value'],
  [
    ['CPU', m.cpuModel],
    ['cores', String(m.cores)],
    ['memory', `${m.memoryGiB} GiB`],
    ['OS', m.os],
    ['Node.js', `${m.node} (the Lambdas run on nodejs22.x)`],
    ['date', m.date],
    ...(m.commit ? [['commit', m.commit]] : []),
  ],
)}

## Targets

A MISS is reported, not failed: nothing here breaks a build.

${markdownTable(['measurement', 'measured', 'target', 'result'], targetRows(r))}

${missNotes(r)
  .map((n) => `- ${n}`)
  .join('\n')}

## Cold loads: the AWS SDK bundled against the SDK left external

Medians of ${r.cold[0]?.samples ?? 10} rounds, all builds and loaders interleaved in this one run (issue #12 item 4).
The machine is shared and noisy: compare the ratios, which come from the same run, more than the milliseconds.

${markdownTable(COLD_HEADER, coldRows(r))}

- **SDK external**: the zips as shipped before #12, one CommonJS \`index.js\`, the SDK required from
  \`node_modules\` (standing in for the runtime's copy). **Shipped**: \`dist/lambdas\`, the SDK bundled
  from its ES sources into \`handler.cjs\`, loaded through the \`index.mjs\` entry; no \`node_modules\` in reach.
  **SDK bundled, no ES entry**: the same bundle as a lone CommonJS \`index.js\`.
- **Loaders**: \`require\` is aws-lambda-nodejs-runtime-interface-client's UserFunction.js (3.x: \`require()\` of
  \`index.js\`, else \`import()\` of \`index.mjs\`); \`import()\` is its newer module loader (\`import()\` of the
  first of \`index.js\`, \`index.mjs\`, \`index.cjs\`). Under \`import()\`, a large CommonJS file is first
  scanned for its export names, which is what the column without the ES entry shows.

## The webhook and the job ledger

The webhook bundle in process (see "How it is measured"), ${r.webhook.events} timed calls per row after a warm-up,
then the first call of ${r.webhook.coldSamples} fresh containers each (handler init and first request; not the module
load, which the cold-load rows measure). With the job ledger on (JOB_LEDGER_TABLE_NAME, as job_retry sets it),
DynamoDB is the stateful fake table of \`test/lambdas/shared/fake-dynamodb.ts\`, which evaluates the UpdateItem the
webhook sends, seeded with a launched entry per job: \`in_progress\` and \`completed\` each cost one ledger write,
\`queued\` none (the ledger entry is scale-up's). The table answers in process, so the DynamoDB round trip
(single-digit ms in a region) is not in these numbers. Ratios are against the first row, from this run.

${markdownTable(WEBHOOK_HEADER, webhookRows(r))}

## Our control plane, one job at a time

From the signed \`queued\` delivery reaching the webhook to CreateFleet reaching EC2 and to the JIT config
stored in SSM, through the shipped bundles in the e2e world (\`scripts/lib/bench/control-plane.ts\`), with
its clock at real speed: wall time of this machine, ${r.controlPlane.jobs} jobs one after the other. AWS and GitHub
answer in process, so their own latencies are not in these numbers (the budget below adds them).

${markdownTable(['', 'webhook answered', 'CreateFleet sent', 'JIT config stored'], controlPlaneRows(r.controlPlane))}

## Queue to online: the budget of the three paths

What a queued job waits for until its runner is online, in seconds. **Only the "control plane" row is
measured here** (the table above, warm p50, rounded up); every other figure is an estimate or a published
figure from outside this repository, marked in the last column. A real deployment measures its own: the
runners' user data writes each boot step as \`RunnerBootSeconds\` (with \`enable_cloudwatch_agent\`), and the
webhook's \`QueueWaitSeconds\` is queued to in progress as GitHub reports it.

${markdownTable(['step', 'stock AL2023 image', 'baked image (enable_prebaked_ami)', 'stopped pool (not built: issue #17 item 3)', 'source'], budgetRows(r.controlPlane))}

The stock path is dominated by installing packages and the runner (3a and 3b run side by side); a baked
image removes both; a stopped pool also removes most of EC2's launch and the OS boot, which is why it is
the path to build next. RunsOn, for comparison, publishes under 25 s cold, under 15 s from a stopped pool
and under 6 s hot (its documentation, as quoted in issue #17).

## Other measurements

${markdownTable(['measurement', 'value'], infoRows(r))}

GitHub calls of scale-up in the burst, by endpoint:

${markdownTable(
  ['endpoint', 'calls'],
  Object.entries(b.githubCallsByKind).map(([k, v]) => [k, String(v)]),
)}

The burst served ${b.jobs} jobs with ${b.runnersLaunched} runners: ${b.badlyServedJobs} jobs served other than exactly once,
${b.reusedRunners} runners reused, at most ${b.peakLiveInstances} runners live at once; it left ${b.leftovers.instances.length} instances,
${b.leftovers.parameters.length} runner configs, ${b.leftovers.registrations.length} registrations and ${b.leftovers.messages} messages behind.

## How it is measured

- **Sizes** are the zips \`npm run build\` writes to \`dist/lambdas/\` (deterministic, deflated).
- **Cold load** (\`scripts/lib/bench/cold-load.ts\`): per bundle, ${r.cold[0]?.samples ?? 10} rounds; each round starts one fresh
  \`node\` process per build and loader, which loads the extracted zip's handler file as that loader would and
  calls nothing. The number is the median of the load time measured inside the child; peak RSS is the child's
  \`maxRSS\` after the load. The zips are extracted outside the repository.
- **Webhook handler**: the webhook bundle's handler (the SDK-external test build of the same sources, so that
  aws-sdk-client-mock can answer for SQS and SSM), in one process, called ${r.webhook.events} times back to back
  (after a warm-up) with signed \`workflow_job queued\` deliveries of ${r.webhook.bodyBytes} bytes, built from
  @octokit/webhooks-examples. HMAC verification, parsing, routing and the SQS send through the SDK client
  are included; SQS and SSM answer in process through aws-sdk-client-mock, so no network time is.
- **Burst** (\`test/e2e/lib/burst.ts\`, the same code as the e2e test): ${b.jobs} queued jobs, one runner type with
  \`runners_maximum_count = ${b.cap}\`, batches of 10, reserved concurrency 1 (one warm scale-up container),
  ${b.ledger ? 'job_retry on (the module default): the webhook writes each job\'s in_progress and completed to the job ledger' : 'no job ledger'}
  (${b.ledgerCompleted} ledger entries ended completed). The queued → in progress time is each job's GitHub
  \`started_at − created_at\` on the simulated clock (what \`QueueWaitSeconds\` reports), nearest-rank quantiles.
  The bundles (the SDK-external test build) run in process. AWS is aws-sdk-client-mock on the SDK client classes, backed by stateful
  fakes of EC2, DynamoDB, SQS and SSM: no local AWS endpoint exists on this machine. GitHub is a fake REST
  API on 127.0.0.1 that checks App JWTs and installation tokens. The bundles see a clock that runs ${b.timeWarp} times
  faster than the wall clock, and visibility timeouts pass as jumps of that clock, so GitHub write pacing
  and \`retry-after\` waits take simulated, not real, time; every call still happens. GitHub calls per runner = scale-up's GitHub requests
  / runners launched; EC2 calls per batch count the fake EC2's calls during each invocation.
- **Synth** is the wall clock of \`npm run synth\` (which builds first). **Plan** is the wall clock of
  \`npm run plan\`, which covers every synthesized stack and \`examples/hcl-consumer\`, two at a time, from
  the local provider mirror; the per-target seconds are the plan script's own, measured while another plan
  ran beside it.
`;
}

const ms = (v: number) => `${fixed(v, 1)} ms`;

/** The control-plane table: cold first job, then warm p50 and max. */
export function controlPlaneRows(c: ControlPlaneResult): string[][] {
  const row = (label: string, s: ControlPlaneResult['cold']) => [label, ms(s.webhookMs), ms(s.createFleetMs), ms(s.configStoredMs)];
  return [row('first job (fresh containers)', c.cold), row(`warm p50 (${c.jobs - 1} jobs)`, c.warm.p50), row('warm max', c.warm.max)];
}

/** Seconds, as a range; [x, x] for one figure. */
type Range = readonly [low: number, high: number];

/** One step of the budget: its seconds on the stock, baked and stopped-pool paths, and where the figure comes from. */
interface BudgetStep {
  readonly step: string;
  readonly seconds: readonly [stock: Range, baked: Range, stopped: Range];
  readonly source: string;
}

const same = (r: Range): BudgetStep['seconds'] => [r, r, r];
const range = ([low, high]: Range) => (low === high ? fixed(low, 1) : `${fixed(low, 1)} to ${fixed(high, 1)}`);

/**
 * The queue→online budget. Published and estimated figures are constants
 * here, each with its source; the control plane is this run's measurement;
 * the total is the sum of the rows.
 */
export function budgetSteps(c: ControlPlaneResult): BudgetStep[] {
  // Rounded up to the tenth of a second the table shows: 21 ms is 0.1, never 0.0.
  const measured = Math.ceil(c.warm.p50.configStoredMs / 100) / 10;
  return [
    { step: 'GitHub sends the `workflow_job` delivery', seconds: same([0.5, 2]), source: 'estimate: GitHub publishes no delivery latency (its docs ask for an answer within 10 s)' },
    { step: 'SQS to scale-up (event source mapping, batching window 0)', seconds: same([0, 1]), source: 'estimate from the AWS Lambda developer guide (the SQS event source long-polls and invokes as messages arrive)' },
    { step: 'scale-up cold start (first job after idle)', seconds: same([0.1, 1]), source: 'published: AWS Compute Blog, "Operating Lambda: Performance optimization – Part 1" (cold starts vary from under 100 ms to over 1 second)' },
    { step: 'control plane: webhook → CreateFleet → JIT config stored', seconds: same([measured, measured]), source: 'measured here (above, warm p50), without AWS and GitHub latency' },
    { step: 'AWS and GitHub API round trips (CreateFleet, JIT config, PutParameter)', seconds: same([1, 3]), source: 'estimate: not published' },
    {
      step: 'EC2 launch to the OS running user data',
      seconds: [[15, 40], [15, 40], [3, 10]],
      source: 'third-party measurements: depot.dev "Making EC2 boot time 8x faster" (2024; a stopped instance starts in seconds), martysweet.co.uk "EC2 Launch Times" (2023)',
    },
    { step: 'packages and runner download (3a and 3b side by side)', seconds: [[20, 40], [0, 0], [0, 0]], source: 'estimate: docs/ARCHITECTURE.md, "The boot, step by step"' },
    { step: 'JIT config read, runner started and online at GitHub', seconds: same([3, 5]), source: 'estimate: docs/ARCHITECTURE.md, step 7' },
    { step: 'GitHub assigns the queued job to the online runner', seconds: same([1, 10]), source: 'estimate: GitHub publishes no figure' },
  ];
}

/** The budget table's rows, with the total. */
export function budgetRows(c: ControlPlaneResult): string[][] {
  const steps = budgetSteps(c);
  const total = [0, 1, 2].map((i) => [steps.reduce((n, s) => n + s.seconds[i][0], 0), steps.reduce((n, s) => n + s.seconds[i][1], 0)] as const);
  return [
    ...steps.map((s) => [s.step, ...s.seconds.map(range), s.source]),
    ['**total**', ...total.map(range), 'the sum of the rows above'],
  ];
}
