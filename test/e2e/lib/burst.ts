/**
 * The burst: `jobs` jobs queued at once for one runner type capped at `cap`
 * runners, served round by round until every job ran. Shared by
 * test/e2e/burst.test.ts (which asserts) and scripts/bench.ts (which reports).
 */
import { World } from './world';

/** Options of {@link runBurst}. */
export interface BurstOptions {
  readonly bundlesDir: string;
  readonly jobs: number;
  /** runners_maximum_count. */
  readonly cap: number;
  /** @default 10 */
  readonly batchSize?: number;
  /**
   * job_retry.max_attempts, which also turns the job ledger on (the webhook
   * records in_progress and completed in DynamoDB). @default 2, the module's
   * default (job_retry enabled); 0 runs without the ledger.
   */
  readonly jobRetryMaxAttempts?: number;
  /**
   * Simulated ms per real ms (WorldOptions.timeWarp). At 50 a 30 s scale-up
   * invocation has 0.6 s of wall time, which a loaded machine overruns: the
   * budget then returns jobs and terminates instances it could not register.
   * @default 10
   */
  readonly timeWarp?: number;
}

/** Queued to in_progress per job, in simulated seconds (GitHub's created_at to started_at). */
export interface QueueWait {
  readonly p50Seconds: number;
  readonly p95Seconds: number;
  readonly maxSeconds: number;
  /** Jobs measured (those that started). */
  readonly jobs: number;
}

/** Burst size from the environment: E2E_BURST_JOBS and E2E_BURST_CAP, default 100 and 10. */
export function burstSizeFromEnv(env: NodeJS.ProcessEnv = process.env): { jobs: number; cap: number } {
  const read = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
    return n;
  };
  return { jobs: read('E2E_BURST_JOBS', 100), cap: read('E2E_BURST_CAP', 10) };
}

/** Averages over scale-up invocations, split by what the batch did. */
export interface Ec2CallsPerBatch {
  /** Every invocation. */
  readonly all: number;
  /** Invocations that launched at least one runner. */
  readonly launching: number;
  /** Invocations that launched nothing and hit no error (the cap was full). */
  readonly atCap: number;
  /** How many invocations of each kind. */
  readonly counts: { readonly all: number; readonly launching: number; readonly atCap: number };
}

/** What the burst did. */
export interface BurstReport {
  readonly jobs: number;
  readonly cap: number;
  readonly rounds: number;
  readonly realSeconds: number;
  readonly simulatedMinutes: number;
  readonly scaleUpInvocations: number;
  readonly runnersLaunched: number;
  readonly instancesCreated: number;
  /** Most live runner instances seen after any scale-up invocation. */
  readonly peakLiveInstances: number;
  /** GitHub API calls made by scale-up, per runner launched. */
  readonly githubCallsPerRunner: number;
  readonly githubCallsByKind: Record<string, number>;
  readonly ec2CallsPerBatch: Ec2CallsPerBatch;
  /** Jobs not completed, or taken by other than one runner. */
  readonly badlyServedJobs: number;
  /** Runners that took more than one job. */
  readonly reusedRunners: number;
  readonly leftovers: ReturnType<World['leftovers']>;
  readonly leakedSecrets: string[];
  /** Webhook answers other than 202. */
  readonly webhookErrors: number;
  /** Time from queued to in progress, simulated clock. */
  readonly queueWait: QueueWait;
  /** Simulated ms per real ms the bundles saw. */
  readonly timeWarp: number;
  /** Whether the webhook wrote the job ledger. */
  readonly ledger: boolean;
  /** Jobs whose ledger entry ended `completed` (0 without the ledger). */
  readonly ledgerCompleted: number;
}

/** Nearest-rank quantile. */
function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1];
}

const average = (values: number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);

/** Run the burst in a fresh world and report. */
export async function runBurst(options: BurstOptions): Promise<BurstReport> {
  const world = await World.create({
    bundlesDir: options.bundlesDir,
    batchSize: options.batchSize ?? 10,
    runnerTypes: [{ name: 'linux-x64', labels: ['self-hosted', 'linux', 'x64'], maximumCount: options.cap }],
    jobRetryMaxAttempts: options.jobRetryMaxAttempts ?? 2,
    timeWarp: options.timeWarp,
  });
  try {
    const started = Date.now();
    const simulatedStart = world.clock.now();
    for (let i = 0; i < options.jobs; i++) await world.queueJob();

    const rounds = await world.serveAll(Math.ceil(options.jobs / options.cap) * 3 + 10);

    const inv = world.invocations;
    const ec2Total = (i: (typeof inv)[number]) => Object.values(i.ec2Calls).reduce((a, b) => a + b, 0);
    const launching = inv.filter((i) => i.launched > 0);
    const atCap = inv.filter((i) => i.launched === 0 && !i.threw && i.returned === i.records);
    const githubCallsByKind: Record<string, number> = {};
    for (const c of world.github.api.calls) {
      const kind = `${c.method} ${c.route.replace(/\/\d+(?=\/|$)/g, '/{id}').replace(/^\/orgs\/[^/]+/, '/orgs/{org}')}`;
      githubCallsByKind[kind] = (githubCallsByKind[kind] ?? 0) + 1;
    }
    const runnersLaunched = inv.reduce((n, i) => n + i.launched, 0);
    const waits = [...world.github.jobs.values()]
      .filter((j) => j.startedAt !== undefined)
      .map((j) => (Date.parse(j.startedAt!) - Date.parse(j.createdAt)) / 1000);
    const ledger = (options.jobRetryMaxAttempts ?? 2) > 0;
    const ledgerCompleted = [...world.table.items.values()].filter((item) => item.job_state?.S === 'completed').length;
    return {
      jobs: options.jobs,
      cap: options.cap,
      rounds,
      realSeconds: (Date.now() - started) / 1000,
      simulatedMinutes: (world.clock.now() - simulatedStart) / 60_000,
      scaleUpInvocations: inv.length,
      runnersLaunched,
      instancesCreated: world.ec2.instances.size,
      peakLiveInstances: world.peakLiveInstances,
      githubCallsPerRunner: runnersLaunched === 0 ? 0 : inv.reduce((n, i) => n + i.githubCalls, 0) / runnersLaunched,
      githubCallsByKind,
      ec2CallsPerBatch: {
        all: average(inv.map(ec2Total)),
        launching: average(launching.map(ec2Total)),
        atCap: average(atCap.map(ec2Total)),
        counts: { all: inv.length, launching: launching.length, atCap: atCap.length },
      },
      badlyServedJobs: world.badlyServedJobs().length,
      reusedRunners: world.reusedRunners().length,
      leftovers: world.leftovers(),
      leakedSecrets: world.leakedSecrets(),
      webhookErrors: world.webhookAnswers.filter((s) => s !== 202).length,
      queueWait: { p50Seconds: quantile(waits, 0.5), p95Seconds: quantile(waits, 0.95), maxSeconds: Math.max(...waits), jobs: waits.length },
      timeWarp: options.timeWarp ?? 10,
      ledger,
      ledgerCompleted,
    };
  } finally {
    await world.close();
  }
}
