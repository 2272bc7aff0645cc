/**
 * Our share of a job's wait (issue #17 item 4): from the signed `queued`
 * delivery reaching the webhook to CreateFleet accepted and to the JIT config
 * stored in SSM, through the shipped bundles (SDK-external test build) in the
 * e2e world, one job at a time. The world's clock runs at real speed here
 * (timeWarp 1), so every figure is wall time; AWS and GitHub answer in
 * process, so their own latencies are not in it (the queue→online budget in
 * BENCHMARKS.md adds their published figures).
 */
import { performance } from 'node:perf_hooks';
import { World } from '../../../test/e2e/lib/world';

/** One job's control-plane times, in ms from the delivery's arrival. */
export interface ControlPlaneSample {
  /** The webhook answered (the job is on its queue). */
  readonly webhookMs: number;
  /** Scale-up's CreateFleet reached EC2. */
  readonly createFleetMs: number;
  /** Scale-up's PutParameter of the JIT config reached SSM. */
  readonly configStoredMs: number;
}

export interface ControlPlaneResult {
  readonly jobs: number;
  /** The first job: fresh webhook and scale-up containers (module load and cold start included). */
  readonly cold: ControlPlaneSample;
  /** The others, warm containers: p50 and max of each figure. */
  readonly warm: { readonly p50: ControlPlaneSample; readonly max: ControlPlaneSample };
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};

/** Serves `jobs` jobs one after the other (at least 2) and times each one's path to its JIT config. */
export async function measureControlPlane(bundlesDir: string, jobs: number): Promise<ControlPlaneResult> {
  if (jobs < 2) throw new Error(`measureControlPlane needs at least 2 jobs (a cold one and a warm one), got ${jobs}`);
  const world = await World.create({ bundlesDir, timeWarp: 1, logLevel: 'warn' });
  try {
    const samples: ControlPlaneSample[] = [];
    for (let i = 0; i < jobs; i++) {
      const job = world.github.queueJob();
      const fleetsBefore = world.ec2.callsOf('CreateFleet').length;
      const putsBefore = world.ssm.calls.filter((c) => c.command === 'PutParameter').length;
      const start = performance.now();
      const answer = await world.post(world.delivery(job, 'queued'));
      const webhookMs = performance.now() - start;
      if (answer.statusCode !== 202) throw new Error(`job ${i}: the webhook answered ${answer.statusCode}`);
      const invocations = await world.drain();
      const returned = invocations.reduce((n, inv) => n + inv.returned, 0);
      const fleet = world.ec2.callsOf('CreateFleet')[fleetsBefore];
      const put = world.ssm.calls.filter((c) => c.command === 'PutParameter')[putsBefore];
      if (returned > 0 || !fleet || !put) throw new Error(`job ${i}: scale-up did not launch and register it (returned ${returned}, CreateFleet ${fleet ? 'made' : 'missing'}, config ${put ? 'stored' : 'missing'})`);
      samples.push({ webhookMs, createFleetMs: fleet.at - start, configStoredMs: put.at - start });
    }
    const [cold, ...warm] = samples;
    const of = (f: (p: number[]) => number): ControlPlaneSample => ({
      webhookMs: f(warm.map((s) => s.webhookMs)),
      createFleetMs: f(warm.map((s) => s.createFleetMs)),
      configStoredMs: f(warm.map((s) => s.configStoredMs)),
    });
    return { jobs, cold, warm: { p50: of((v) => percentile(v, 50)), max: of((v) => Math.max(...v)) } };
  } finally {
    await world.close();
  }
}
