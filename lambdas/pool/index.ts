/**
 * Warm-pool Lambda: invoked (asynchronously) by one EventBridge Scheduler
 * schedule per pool window, with the input
 * `{ "runnerType": "<name>", "size": <n>, "scheduledTime": "<aws.scheduler.scheduled-time>" }`.
 *
 * The handler loads configuration once per container, checks the event, and
 * sends the top-up to the type's job queue (pool.ts, `requestTopUp`): the
 * type's scale-up function launches pool runners, so one launcher per type
 * keeps runners_maximum_count (issue #11 item 5). It throws when it cannot
 * start, when the event is invalid, and when the send failed, so the
 * function's error alarm fires. Nothing retries a failed tick (the schedule
 * and the function allow no retries): the next tick asks again, and no job
 * waits on a pool.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { onceAsync } from '../shared/config';
import { startContext } from '../shared/handler';
import { Logger } from '../shared/logger';
import { PoolConfig, loadPoolConfig } from './config';
import { parsePoolEvent } from './plan';
import { RequestTopUpDependencies, TopUpRequest, requestTopUp } from './pool';

/** Configuration and adapters, built once per container. */
export interface PoolContext {
  readonly config: PoolConfig;
  readonly deps: RequestTopUpDependencies;
}

/** A handler over `init`, which is called on every invocation and should memoise. */
export function createHandler(init: () => Promise<PoolContext>): (event: unknown) => Promise<TopUpRequest> {
  return async (event) => {
    const context: PoolContext = await startContext('pool', init);
    const { config, deps } = context;
    let poolEvent;
    try {
      poolEvent = parsePoolEvent(event, Object.keys(config.runnerTypes));
    } catch (error) {
      // The reasons name the fields; the event itself is not logged.
      deps.logger.error('invalid pool event', { error });
      throw error;
    }
    try {
      return await requestTopUp(poolEvent, config, deps);
    } catch (error) {
      deps.logger.error('pool top-up request failed', { error, runnerType: poolEvent.runnerType, scheduledTime: poolEvent.scheduledTime });
      throw error;
    }
  };
}

/** Build the production context from the environment. */
export async function createDefaultContext(env: NodeJS.ProcessEnv = process.env): Promise<PoolContext> {
  const config = loadPoolConfig(env);
  const logger = new Logger('pool', { prefix: config.prefix }, undefined, config.logLevel);
  const sqs = new SQSClient({ maxAttempts: 4 });
  return {
    config,
    deps: {
      queue: {
        async send(queueUrl, body) {
          await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
        },
      },
      logger,
    },
  };
}

/** The Lambda entry point. */
export const handler = createHandler(onceAsync(() => createDefaultContext()));
