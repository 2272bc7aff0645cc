/**
 * What every handler does first: build its context (configuration and
 * adapters, memoised per container by `init`).
 */
import { Logger } from './logger';

/**
 * The handler's context from `init`. When it cannot be built, the reason is
 * logged under `service` and the invocation fails: nothing can be done
 * without it, and failing keeps the work (queue messages come back, async
 * events are retried or kept) and shows in the function's error alarm.
 */
export async function startContext<T>(service: string, init: () => Promise<T>): Promise<T> {
  try {
    return await init();
  } catch (error) {
    new Logger(service).error(`${service} could not start`, { error });
    throw error;
  }
}
