/**
 * Scale-up Lambda: one function per runner type, fed by that type's queue.
 *
 * The handler parses the event, loads configuration and adapters once per
 * container, runs `scaleUp`, and maps what must be retried to
 * `batchItemFailures` (the event source mapping needs
 * `function_response_types = ["ReportBatchItemFailures"]`).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { budgetedClientConfig } from '../shared/aws/budgeted-client';
import { createEc2Runners } from '../shared/aws/ec2-runners';
import { createJobLocks } from '../shared/aws/idempotency';
import { createApiRunnerRecords } from '../shared/aws/api-runner-records';
import { createRunnerConfigStore } from '../shared/aws/jit-config-store';
import { onceAsync } from '../shared/config';
import { InvocationBudget } from '../shared/deadline';
import { startContext } from '../shared/handler';
import { Logger } from '../shared/logger';
import { loadGitHubApp } from '../shared/github/app-settings';
import { ScaleUpConfig, loadScaleUpConfig } from './config';
import { ScaleUpDependencies, scaleUp } from './scale-up';

/** Configuration and adapters, built once per container. */
export interface ScaleUpContext {
  readonly config: ScaleUpConfig;
  readonly deps: ScaleUpDependencies;
}

/**
 * A handler over `init`, which is called on every invocation and should
 * memoise. `budget`, the one `init` gives the clients and `deps.budget`, is
 * started with the invocation's remaining time before anything else runs.
 */
export function createHandler(
  init: () => Promise<ScaleUpContext>,
  budget?: InvocationBudget,
): (event: SQSEvent, invocation?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<SQSBatchResponse> {
  return async (event, invocation) => {
    budget?.start(invocation?.getRemainingTimeInMillis());
    const context: ScaleUpContext = await startContext('scale-up', init);
    const records = event.Records.map((r) => ({ messageId: r.messageId, body: r.body }));
    try {
      const result = await scaleUp(records, context.config, context.deps);
      return { batchItemFailures: result.retry.map((id) => ({ itemIdentifier: id })) };
    } catch (error) {
      context.deps.logger.error('scale-up failed unexpectedly; returning the batch to the queue', { error });
      return { batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })) };
    }
  };
}

/** Build the production context from the environment. */
export async function createDefaultContext(env: NodeJS.ProcessEnv = process.env, budget: InvocationBudget = new InvocationBudget()): Promise<ScaleUpContext> {
  const config = loadScaleUpConfig(env);
  const logger = new Logger('scale-up', { prefix: config.prefix }, undefined, config.logLevel);
  // The clients below keep to the budget the handler starts per invocation.
  const ssm = new SSMClient(budgetedClientConfig(budget, { maxAttempts: 5 }));
  const github = await loadGitHubApp(config, ssm, logger, { budget });
  const dynamodb = new DynamoDBClient(budgetedClientConfig(budget));
  return {
    config,
    deps: {
      budget,
      ec2: createEc2Runners(new EC2Client(budgetedClientConfig(budget, { maxAttempts: 4 }))),
      github,
      configStore: createRunnerConfigStore(ssm, { ssmConfigPath: config.ssmConfigPath, kmsKeyId: config.kmsKeyId, instanceArnPrefix: config.instanceArnPrefix }),
      locks: createJobLocks(dynamodb, { tableName: config.idempotencyTableName }),
      // The runner API's records share the launch-lock table (`pk = api#<name>`).
      apiRunners: createApiRunnerRecords(dynamodb, config.idempotencyTableName),
      logger,
    },
  };
}

/** One per container, like the clients. */
const containerBudget = new InvocationBudget();

/** The Lambda entry point. */
export const handler = createHandler(
  onceAsync(() => createDefaultContext(process.env, containerBudget)),
  containerBudget,
);
