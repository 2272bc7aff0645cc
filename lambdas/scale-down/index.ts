/**
 * Scale-down Lambda: run on a schedule (EventBridge), no input needed.
 *
 * The handler loads configuration and adapters once per container, runs
 * `scaleDown` with a deadline taken from the Lambda context, and returns its
 * summary. It throws, so that the function's error alarm means "scale-down is
 * not working", when
 * - it cannot start (broken configuration, unreadable App credentials), or
 * - a run could see nothing: DescribeInstances failed, or the runners of every
 *   owner could not be listed (an App key rotated under a warm container,
 *   say). It throws {@link ScaleDownIncompleteError} after the run, and
 *   forgets the loaded configuration and adapters, so the next invocation
 *   reads the credentials from SSM again.
 * Everything else is logged, counted, and retried by the next scheduled run.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { createEc2Runners } from '../shared/aws/ec2-runners';
import { createJobLedger } from '../shared/aws/job-ledger';
import { createRerunLedger } from '../shared/aws/rerun-ledger';
import { createRunnerConfigHousekeeping } from '../shared/aws/jit-config-store';
import { WritePacer } from '../shared/concurrency';
import { startContext } from '../shared/handler';
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

/** Configuration and adapters, built once per container (memory and deadline are the handler's). */
export interface ScaleDownContext {
  readonly config: ScaleDownConfig;
  readonly deps: Omit<ScaleDownDependencies, 'memory' | 'deadline'>;
}

/** A run that could see nothing to act on. Its message names what failed; never credentials. */
export class ScaleDownIncompleteError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`scale-down run incomplete: ${problems.join('; ')}`);
    this.name = 'ScaleDownIncompleteError';
  }
}

/** Why a run counts as failed: it could not list the instances, or there were owners and none could be listed. Empty when fine. */
export function incompleteRunProblems(summary: ScaleDownSummary): string[] {
  const problems: string[] = [];
  if (!summary.instancesListed) problems.push('could not list instances (DescribeInstances)');
  if (summary.owners > 0 && summary.ownersFailed === summary.owners) problems.push(`could not list the runners of any owner (${summary.ownersFailed} of ${summary.owners} failed)`);
  return problems;
}

/**
 * A handler over `load`, which builds the context. The handler memoises it
 * per container, and forgets it when loading fails or a run is incomplete
 * (credentials may be stale), so the next invocation loads again.
 * (`onceAsync` of shared/config cannot be reset from outside, hence the
 * variable here.) What runs remember lives as long as the handler, across reloads.
 */
export function createHandler(load: () => Promise<ScaleDownContext>): (event?: unknown, invocation?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<ScaleDownSummary> {
  let loaded: Promise<ScaleDownContext> | undefined;
  const memory = emptyMemory();
  return async (_event, invocation) => {
    let context: ScaleDownContext;
    try {
      context = await startContext('scale-down', () => (loaded ??= load()));
    } catch (error) {
      loaded = undefined;
      throw error;
    }
    const now = context.deps.now ?? Date.now;
    const deadline = invocation ? now() + invocation.getRemainingTimeInMillis() : undefined;
    const summary = await scaleDown(context.config, { ...context.deps, memory, deadline });
    const problems = incompleteRunProblems(summary);
    if (problems.length > 0) {
      loaded = undefined;
      const error = new ScaleDownIncompleteError(problems);
      context.deps.logger.error('scale-down run incomplete; configuration and credentials are reloaded on the next invocation', { error });
      throw error;
    }
    return summary;
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
      ...(config.jobRetry && { relaunch: relaunchDeps(config.jobRetry) }),
      ...(config.spotInterruptionRerun && {
        rerun: { ledger: createRerunLedger(new DynamoDBClient({ retryMode: 'adaptive', maxAttempts: 4 }), { tableName: config.spotInterruptionRerun.tableName }) },
      }),
    },
  };
}

/** The ledger and the job queues, for relaunching jobs still waiting. */
function relaunchDeps(jobRetry: NonNullable<ScaleDownConfig['jobRetry']>): NonNullable<ScaleDownDependencies['relaunch']> {
  const sqs = new SQSClient({ retryMode: 'adaptive', maxAttempts: 4 });
  return {
    ledger: createJobLedger(new DynamoDBClient({ retryMode: 'adaptive', maxAttempts: 4 }), { tableName: jobRetry.tableName }),
    runnerTypes: Object.keys(jobRetry.queueUrls),
    maxAttempts: jobRetry.maxAttempts,
    strandedMinutes: jobRetry.strandedMinutes,
    requeue: {
      async send(runnerType, message) {
        const url = jobRetry.queueUrls[runnerType];
        if (!url) throw new Error(`no job queue for runner type ${runnerType}`);
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: message }));
      },
    },
  };
}

/** The Lambda entry point. */
export const handler = createHandler(() => createDefaultContext());
