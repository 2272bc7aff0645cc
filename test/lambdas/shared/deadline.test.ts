import { InvocationBudget, RETURN_MARGIN_MS } from '../../../lambdas/shared/deadline';

describe('InvocationBudget', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => {
    now = 1_000_000;
  });

  it('should have no limit before an invocation starts, or when started without a remaining time', () => {
    const budget = new InvocationBudget(clock);
    expect(budget.untilEnd()).toBe(Number.POSITIVE_INFINITY);
    expect(budget.remainingMs()).toBe(Number.POSITIVE_INFINITY);
    budget.start(undefined);
    expect(budget.remainingMs()).toBe(Number.POSITIVE_INFINITY);
  });

  it('should count down from the remaining time, keeping the return margin out of what calls may use', () => {
    const budget = new InvocationBudget(clock);
    budget.start(30_000);
    now += 4_000;
    expect(budget.untilEnd()).toBe(26_000);
    expect(budget.remainingMs()).toBe(26_000 - RETURN_MARGIN_MS);
  });

  it('should start afresh on every invocation (one budget per container)', () => {
    const budget = new InvocationBudget(clock);
    budget.start(1_000);
    now += 5_000;
    expect(budget.untilEnd()).toBe(-4_000);
    budget.start(30_000);
    expect(budget.untilEnd()).toBe(30_000);
  });

  it('should leave the reserve to what follows inside within(), and restore the outer cutoff after it', async () => {
    const budget = new InvocationBudget(clock);
    budget.start(30_000);
    const seen: number[] = [];
    await budget.within(3_000, async () => {
      seen.push(budget.remainingMs());
      // A nested reserve that is smaller cannot lengthen the cutoff in force.
      await budget.within(1_000, async () => {
        seen.push(budget.remainingMs());
      });
      // A larger one shortens it.
      await budget.within(10_000, async () => {
        seen.push(budget.remainingMs());
      });
    });
    seen.push(budget.remainingMs());
    expect(seen).toEqual([27_000, 27_000, 20_000, 30_000 - RETURN_MARGIN_MS]);
  });

  it('should keep each concurrent branch on its own cutoff across awaits', async () => {
    const budget = new InvocationBudget(clock);
    budget.start(30_000);
    const tick = () => new Promise((r) => setImmediate(r));
    const [a, b] = await Promise.all([
      budget.within(5_000, async () => {
        await tick();
        return budget.remainingMs();
      }),
      budget.within(15_000, async () => {
        await tick();
        return budget.remainingMs();
      }),
    ]);
    expect([a, b]).toEqual([25_000, 15_000]);
  });
});
