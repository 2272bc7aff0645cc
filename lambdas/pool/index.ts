/**
 * Warm-pool Lambda: invoked (asynchronously) by one EventBridge Scheduler
 * schedule per pool window, with the input
 * `{ "runnerType": "<name>", "size": <n>, "scheduledTime": "<aws.scheduler.scheduled-time>" }`.
 *
 * The handler loads configuration and adapters once per container, checks the
 * event, runs `topUpPool`, and returns its result. It throws when it cannot
 * start, when the event is invalid, and when the run failed before launching
 * anything, so the function's error alarm fires. Nothing retries a failed
 * tick (the schedule and the function allow no retries): the next tick
 * recounts and does the same work, and no job waits on a pool.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createEc2Runners } from '../shared/aws/ec2-runners';
import { createRunnerConfigStore } from '../shared/aws/jit-config-store';
import { onceAsync } from '../shared/config';
import { startContext } from '../shared/handler';
import { loadGitHubApp } from '../shared/github/app-settings';
import { Logger } from '../shared/logger';
import { PoolConfig, loadPoolConfig } from './config';
import { parsePoolEvent } from './plan';
import { PoolDependencies, PoolResult, topUpPool } from './pool';

/** Configuration and adapters, built once per container. */
export interface PoolContext {
  readonly config: PoolConfig;
  readonly deps: PoolDependencies;
}

/** A handler over `init`, which is called on every invocation and should memoise. */
export function createHandler(init: () => Promise<PoolContext>): (event: unknown) => Promise<PoolResult> {
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
      return await topUpPool(poolEvent, config, deps);
    } catch (error) {
      deps.logger.error('pool top-up failed', { error, runnerType: poolEvent.runnerType, scheduledTime: poolEvent.scheduledTime });
      throw error;
    }
  };
}

/** Build the production context from the environment. */
export async function createDefaultContext(env: NodeJS.ProcessEnv = process.env): Promise<PoolContext> {
  const config = loadPoolConfig(env);
  const logger = new Logger('pool', { prefix: config.prefix }, undefined, config.logLevel);
  const ssm = new SSMClient({ retryMode: 'adaptive', maxAttempts: 5 });
  const github = await loadGitHubApp(config, ssm, logger);
  return {
    config,
    deps: {
      ec2: createEc2Runners(new EC2Client({ retryMode: 'adaptive', maxAttempts: 4 })),
      github,
      configStore: createRunnerConfigStore(ssm, { ssmConfigPath: config.ssmConfigPath, kmsKeyId: config.kmsKeyId, instanceArnPrefix: config.instanceArnPrefix }),
      logger,
    },
  };
}

/** The Lambda entry point. */
export const handler = createHandler(onceAsync(() => createDefaultContext()));
