import { HookDelivery, planRedeliveries } from '../../../lambdas/redelivery/plan';

const T0 = Date.parse('2026-12-07T10:00:00Z');
let nextId = 1;
function entry(guid: string, statusCode: number, minutes: number, fields: Partial<HookDelivery> = {}): HookDelivery {
  return {
    id: String(nextId++),
    guid,
    deliveredAt: new Date(T0 + minutes * 60_000).toISOString(),
    redelivery: false,
    status: statusCode >= 200 && statusCode < 300 ? 'OK' : `Invalid HTTP Response: ${statusCode}`,
    statusCode,
    event: 'workflow_job',
    action: 'queued',
    ...fields,
  };
}
const options = { notBefore: T0 - 60 * 60_000, maxRedeliveries: 100 };

describe('planRedeliveries', () => {
  it('should redeliver a failed workflow_job delivery once', () => {
    const failed = entry('g-1', 502, 0);
    const plan = planRedeliveries([failed], options);
    expect(plan.redeliver).toEqual([{ id: failed.id, guid: 'g-1' }]);
  });

  it('should treat 429, 5xx and no answer alike as failures', () => {
    const plan = planRedeliveries([entry('a', 429, 0), entry('b', 503, 1), entry('c', 0, 2, { status: 'failed to connect' })], options);
    expect(plan.redeliver.map((r) => r.guid)).toEqual(['a', 'b', 'c']);
  });

  it('should not redeliver a delivery that succeeded', () => {
    const plan = planRedeliveries([entry('ok', 202, 0)], options);
    expect(plan).toMatchObject({ redeliver: [], succeeded: 1 });
  });

  it('should not redeliver a guid that was already redelivered and succeeded', () => {
    // newest first, as GitHub lists them
    const plan = planRedeliveries([entry('g', 202, 5, { redelivery: true }), entry('g', 502, 0)], options);
    expect(plan).toMatchObject({ redeliver: [], succeeded: 1 });
  });

  it('should not redeliver again a redelivery that failed again', () => {
    const plan = planRedeliveries([entry('g', 500, 5, { redelivery: true }), entry('g', 502, 0)], options);
    expect(plan).toMatchObject({ redeliver: [], alreadyRedelivered: 1 });
  });

  it('should not redeliver when only a redelivery entry is in the window (the original aged out)', () => {
    const plan = planRedeliveries([entry('g', 500, 0, { redelivery: true }), entry('g', 502, -120)], options);
    expect(plan).toMatchObject({ redeliver: [], alreadyRedelivered: 1 });
  });

  it.each([400, 401, 403, 404, 413])('should not redeliver a delivery the webhook refused on purpose (%i): it would be refused again', (code) => {
    const plan = planRedeliveries([entry('r', code, 0)], options);
    expect(plan).toMatchObject({ redeliver: [], refused: 1 });
  });

  it('should redeliver a 408', () => {
    expect(planRedeliveries([entry('t', 408, 0)], options).redeliver).toHaveLength(1);
  });

  it('should not redeliver other events', () => {
    const plan = planRedeliveries([entry('p', 502, 0, { event: 'push', action: null }), entry('i', 500, 0, { event: 'installation', action: 'created' })], options);
    expect(plan.redeliver).toEqual([]);
  });

  it('should redeliver failed in_progress and completed deliveries too (the webhook acts on them)', () => {
    const plan = planRedeliveries([entry('c', 502, 1, { action: 'completed' }), entry('q', 502, 0)], options);
    expect(plan.redeliver.map((r) => r.guid)).toEqual(['q', 'c']);
  });

  it('should ignore deliveries older than the window', () => {
    const plan = planRedeliveries([entry('old', 502, -61)], options);
    expect(plan.redeliver).toEqual([]);
  });

  it('should take the oldest failures first and defer the rest beyond the per-run limit', () => {
    const list = [entry('new', 502, 3), entry('mid', 502, 2), entry('old', 502, 1)];
    const plan = planRedeliveries(list, { ...options, maxRedeliveries: 2 });
    expect(plan.redeliver.map((r) => r.guid)).toEqual(['old', 'mid']);
    expect(plan.deferred).toBe(1);
  });

  it('should ignore entries whose time does not parse', () => {
    const plan = planRedeliveries([entry('x', 502, 0, { deliveredAt: 'yesterday' })], options);
    expect(plan.redeliver).toEqual([]);
  });
});
