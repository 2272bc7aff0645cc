/**
 * Scale-down Lambda: run on a schedule (EventBridge), no input needed.
 *
 * The handler loads configuration and adapters once per container, runs
 * `scaleDown`, and returns its summary. It throws only when it cannot start
 * (broken configuration, unreadable App credentials), so the function's error
 * alarm means "scale-down is not running". Everything else is logged,
 * counted, and retried by the next scheduled run.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createEc2Runners } from '../shared/aws/ec2-runners';
import { createRunnerConfigHousekeeping } from '../shared/aws/jit-config-store';
import { onceAsync } from '../shared/config';
import { WritePacer } from '../shared/github/write-pacer';
import { Logger } from '../shared/logger';
import { loadGitHubApp } from '../shared/github/app-settings';
import { ScaleDownConfig, loadScaleDownConfig } from './config';
import { ScaleDownDependencies, ScaleDownSummary, emptyMemory, scaleDown } from './scale-down';

/**
 * DeleteParameters calls per second (each removes up to 10 parameters).
 * Parameter Store's throughput quotas for calls other than reads are low and
 * shared with scale-up's PutParameter, so housekeeping stays well under them.
 */
export const SSM_DELETES_PER_SECOND = 2;

/** Configuration and adapters, built once per container. */
export interface ScaleDownContext {
  readonly config: ScaleDownConfig;
  readonly deps: ScaleDownDependencies;
}

/** A handler over `init`, which is called on every invocation and should memoise. */
export function createHandler(init: () => Promise<ScaleDownContext>): (event?: unknown) => Promise<ScaleDownSummary> {
  return async () => {
    let context: ScaleDownContext;
    try {
      context = await init();
    } catch (error) {
      // Broken configuration or credentials: fail loudly so the error alarm fires.
      new Logger('scale-down').error('scale-down could not start', { error });
      throw error;
    }
    return scaleDown(context.config, context.deps);
  };
}

/** Build the production context from the environment. */
export async function createDefaultContext(env: NodeJS.ProcessEnv = process.env): Promise<ScaleDownContext> {
  const config = loadScaleDownConfig(env);
  const logger = new Logger('scale-down', { prefix: config.prefix }, undefined, config.logLevel);
  const ssm = new SSMClient({ retryMode: 'adaptive', maxAttempts: 5 });
  const github = await loadGitHubApp(config, ssm, logger);
  return {
    config,
    deps: {
      ec2: createEc2Runners(new EC2Client({ retryMode: 'adaptive', maxAttempts: 4 })),
      github,
      configs: createRunnerConfigHousekeeping(ssm, { ssmConfigPath: config.ssmConfigPath }),
      logger,
      // A token bucket of one call, refilled SSM_DELETES_PER_SECOND times a second.
      ssmPacer: new WritePacer({ burst: 1, perMinute: SSM_DELETES_PER_SECOND * 60 }),
      memory: emptyMemory(),
    },
  };
}

/** The Lambda entry point. */
export const handler = createHandler(onceAsync(() => createDefaultContext()));
