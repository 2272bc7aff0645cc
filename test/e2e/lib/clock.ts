/**
 * Simulated time for the bundles.
 *
 * The system paces itself in real time: GitHub writes at 170 a minute
 * (WritePacer), `retry-after` seconds, plugin-retry backoff, 120 s launch
 * locks. Run at wall-clock speed, a 500-job burst would take minutes. A
 * WarpClock runs `factor` times faster than the wall clock and can jump ahead
 * (`advance`), e.g. for a queue's visibility timeout or a runner's boot. Every
 * bundle container of a world gets the same clock (`globals()`), so the
 * system sees one consistent time, with no fake-timer driving loop: timers
 * still fire on their own, only sooner.
 *
 * The fakes that run in the test itself (EC2, DynamoDB, GitHub) keep the host
 * clock; where they record a time, the world stamps it from this clock.
 */
import type { ContainerClock } from './bundles';

export class WarpClock {
  private readonly realStart = Date.now();
  private offsetMs = 0;

  /**
   * @param factor simulated milliseconds per real millisecond, ≥ 1.
   * @param start simulated time at creation. @default now
   */
  constructor(
    readonly factor = 1,
    private readonly start = Date.now(),
  ) {
    if (!(factor >= 1)) throw new RangeError(`WarpClock factor must be ≥ 1, got ${factor}`);
  }

  /** Simulated milliseconds since the epoch. */
  now(): number {
    return this.start + (Date.now() - this.realStart) * this.factor + this.offsetMs;
  }

  /** Jump ahead; timers already set keep their real-time deadlines. */
  advance(ms: number): void {
    this.offsetMs += ms;
  }

  /** `Date` and the timer functions, bound to this clock, for a bundle container. */
  globals(): ContainerClock {
    const clock = this;
    const RealDate = Date;
    const SimDate = new Proxy(RealDate, {
      construct(target, args: unknown[]) {
        return args.length === 0 ? new target(clock.now()) : new (target as unknown as new (...a: unknown[]) => Date)(...args);
      },
      apply() {
        return new RealDate(clock.now()).toString();
      },
      get(target, property, receiver) {
        if (property === 'now') return () => clock.now();
        return Reflect.get(target, property, receiver);
      },
    });
    const scale = (ms: unknown) => Math.max(0, Number(ms) || 0) / clock.factor;
    return {
      Date: SimDate,
      setTimeout: ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => setTimeout(fn, scale(ms), ...args)) as typeof setTimeout,
      clearTimeout,
      setInterval: ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => setInterval(fn, scale(ms), ...args)) as typeof setInterval,
      clearInterval,
    };
  }
}
