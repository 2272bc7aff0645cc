/**
 * Webhook redelivery Lambda: invoked by an EventBridge schedule. It reads the
 * App's delivery log and redelivers failed workflow_job deliveries once
 * (see redelivery.ts). It throws only when it cannot start or cannot read
 * the log at all, so the function's error alarm fires; nothing retries a
 * failed run, the next scheduled run does the same work.
 */
import type { Context } from 'aws-lambda';
import { SSMClient } from '@aws-sdk/client-ssm';
import { onceAsync } from '../shared/config';
import { InvocationBudget } from '../shared/deadline';
import { normalisePrivateKey } from '../shared/github/private-key';
import { warnUnverifiedTls } from '../shared/github/app-settings';
import { startContext } from '../shared/handler';
import { Logger } from '../shared/logger';
import { ParameterCache } from '../shared/ssm-parameters';
import { RedeliveryConfig, loadRedeliveryConfig } from './config';
import { DeliveryLogOptions, createDeliveryLog } from './deliveries';
import { RedeliveryDependencies, RedeliveryResult, redeliverFailedDeliveries } from './redelivery';

export interface RedeliveryContext {
  readonly config: RedeliveryConfig;
  readonly deps: RedeliveryDependencies;
}

/** A handler over `init`, which is called on every invocation and should memoise. */
export function createHandler(init: () => Promise<RedeliveryContext>): (event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<RedeliveryResult> {
  return async (_event, lambdaContext) => {
    const { config, deps } = await startContext('redelivery', init);
    deps.budget.start(lambdaContext?.getRemainingTimeInMillis());
    try {
      return await redeliverFailedDeliveries(config, deps);
    } catch (error) {
      deps.logger.error('redelivery run failed', { error });
      throw error;
    }
  };
}

/** Build the production context from the environment. */
export async function createDefaultContext(
  env: NodeJS.ProcessEnv = process.env,
  options: { ssm?: SSMClient; client?: Partial<Pick<DeliveryLogOptions, 'baseUrl' | 'retries' | 'writePacing'>> } = {},
): Promise<RedeliveryContext> {
  const config = loadRedeliveryConfig(env);
  const logger = new Logger('redelivery', {}, undefined, config.logLevel);
  const ssm = options.ssm ?? new SSMClient({ retryMode: 'adaptive', maxAttempts: 5 });
  const secrets = await new ParameterCache(ssm).get([config.appIdParameterName, config.appKeyParameterName]);
  warnUnverifiedTls(config.tlsVerify, logger);
  const budget = new InvocationBudget();
  const deliveries = createDeliveryLog({
    appId: secrets[config.appIdParameterName].trim(),
    privateKey: normalisePrivateKey(secrets[config.appKeyParameterName]),
    ghesUrl: config.ghesUrl,
    tlsVerify: config.tlsVerify,
    logger,
    budget,
    ...options.client,
  });
  return { config, deps: { deliveries, logger, budget } };
}

/** The Lambda entry point. */
export const handler = createHandler(onceAsync(() => createDefaultContext()));
