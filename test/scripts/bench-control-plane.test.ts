/**
 * The bench's control-plane measurement and the queue→online budget built on
 * it (issue #17 item 4): the figures are taken in the order the job travels,
 * and the budget's total is the sum of its rows, with the measured row the
 * measurement's warm p50.
 */
import { measureControlPlane } from '../../scripts/lib/bench/control-plane';
import { budgetRows, budgetSteps } from '../../scripts/lib/bench/report';
import { prepareBundles } from '../e2e/lib/bundles';

describe('bench: our control plane, one job at a time', () => {
  it('should time the webhook, CreateFleet and the stored JIT config of every job, in that order', async () => {
    const result = await measureControlPlane(await prepareBundles(), 3);
    expect(result.jobs).toBe(3);
    for (const s of [result.cold, result.warm.p50, result.warm.max]) {
      expect(s.webhookMs).toBeGreaterThan(0);
      expect(s.createFleetMs).toBeGreaterThan(s.webhookMs);
      expect(s.configStoredMs).toBeGreaterThan(s.createFleetMs);
    }
    expect(result.warm.max.configStoredMs).toBeGreaterThanOrEqual(result.warm.p50.configStoredMs);
  }, 120_000);

  it('should refuse fewer than two jobs (one cold, one warm)', async () => {
    await expect(measureControlPlane('unused', 1)).rejects.toThrow('at least 2 jobs');
  });
});

describe('bench: the queue→online budget', () => {
  const sample = { webhookMs: 1, createFleetMs: 2, configStoredMs: 250 };
  const result = { jobs: 5, cold: sample, warm: { p50: sample, max: sample } };

  it('should put the measured warm p50 in the control-plane row, the same on every path', () => {
    const row = budgetRows(result).find((r) => r[0].startsWith('control plane'))!;
    expect(row.slice(1, 4)).toEqual(['0.3', '0.3', '0.3']);
    expect(row[4]).toMatch(/^measured here/);
  });

  it('should round the measured time up, so a few milliseconds never show as 0.0', () => {
    const fast = { webhookMs: 0.5, createFleetMs: 1, configStoredMs: 21 };
    const row = budgetRows({ jobs: 5, cold: fast, warm: { p50: fast, max: fast } }).find((r) => r[0].startsWith('control plane'))!;
    expect(row.slice(1, 4)).toEqual(['0.1', '0.1', '0.1']);
  });

  it('should total each path as the sum of its rows, and give every other row a source', () => {
    const steps = budgetSteps(result);
    const rows = budgetRows(result);
    const total = rows[rows.length - 1];
    const sum = (path: number, end: 0 | 1) => steps.reduce((n, s) => n + s.seconds[path][end], 0);
    expect(total.slice(1, 4)).toEqual([0, 1, 2].map((p) => `${sum(p, 0).toFixed(1)} to ${sum(p, 1).toFixed(1)}`));
    for (const s of steps) expect(s.source).toMatch(/^(measured here|estimate|published|third-party)/);
    // The paths differ only where a baked image or a stopped instance changes the work.
    expect(sum(0, 1)).toBeGreaterThan(sum(1, 1));
    expect(sum(1, 1)).toBeGreaterThan(sum(2, 1));
  });
});
