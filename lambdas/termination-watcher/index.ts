/**
 * Termination-watcher Lambda.
 *
 * Invoked two ways (see events.ts):
 * - asynchronously by EventBridge, with a spot interruption warning or an
 *   instance state change. Errors fail the invocation, so Lambda retries it
 *   (twice) and then keeps the event in the on-failure destination (DLQ);
 * - by its own retry queue (event source mapping with
 *   `ReportBatchItemFailures`). Records that fail are returned in
 *   `batchItemFailures`, so SQS redelivers them (the queue's DLQ keeps them
 *   after 5 receives).
 *
 * The handler parses the event, loads configuration and adapters once per
 * container, calls the domain (termination-watcher.ts) and maps its errors.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { SQSBatchResponse } from 'aws-lambda';
import { createEc2Runners } from '../shared/aws/ec2-runners';
import { createRerunLedger } from '../shared/aws/rerun-ledger';
import { onceAsync } from '../shared/config';
import { startContext } from '../shared/handler';
import { Logger } from '../shared/logger';
import { loadGitHubApp } from '../shared/github/app-settings';
import { TerminationWatcherConfig, loadTerminationWatcherConfig } from './config';
import { InstanceNotice, RetryRecord, WatcherEvent, classifyEvent, parseRetryMessage, redrivenNotice } from './events';
import { createRetryQueue } from './retry-queue';
import { NoticeOutcome, TerminationWatcherDependencies, handleInstanceNotice, handleRetry } from './termination-watcher';

const SERVICE = 'termination-watcher';

/** Configuration and adapters, built once per container. */
export interface TerminationWatcherContext {
  readonly config: TerminationWatcherConfig;
  readonly deps: TerminationWatcherDependencies;
}

/** What an EventBridge invocation returns (Lambda ignores it for async invocations; tests and operators read it). */
export type InstanceEventResult = NoticeOutcome | { readonly status: 'ignored'; readonly reason: 'state-not-watched' };

/** What the handler returns: a batch response for SQS, an outcome for EventBridge. */
export type TerminationWatcherResult = SQSBatchResponse | InstanceEventResult;

/** A handler over `init`, which is called on every invocation and should memoise. */
export function createHandler(init: () => Promise<TerminationWatcherContext>): (event: unknown) => Promise<TerminationWatcherResult> {
  return async (event) => {
    const context: TerminationWatcherContext = await startContext(SERVICE, init);
    const log = context.deps.logger;
    let parsed: WatcherEvent;
    try {
      parsed = classifyEvent(event);
    } catch (error) {
      // Not ours to judge: fail, so the event lands in the DLQ for a human.
      log.error('unsupported event; failing the invocation', { error });
      throw error;
    }
    switch (parsed.kind) {
      case 'retries':
        return handleRetryBatch(parsed.records, context);
      case 'other-state':
        log.debug('instance state the watcher does not act on; ignored', { instanceId: parsed.instanceId, state: parsed.state });
        return { status: 'ignored', reason: 'state-not-watched' };
      case 'instance':
        return handleNotice(parsed.notice, context);
    }
  };
}

async function handleNotice(notice: InstanceNotice, { config, deps }: TerminationWatcherContext): Promise<NoticeOutcome> {
  try {
    return await handleInstanceNotice(notice, config, deps);
  } catch (error) {
    // Never swallowed: the failed invocation is retried by Lambda, then kept in the DLQ.
    deps.logger.error('could not deregister the runner of an instance; failing the invocation', { error, instanceId: notice.instanceId, reason: notice.reason });
    throw error;
  }
}

/** Every record at once (batch size 10); a record that fails is returned to the queue, the others are acknowledged. */
async function handleRetryBatch(records: readonly RetryRecord[], { config, deps }: TerminationWatcherContext): Promise<SQSBatchResponse> {
  const failed = await Promise.all(
    records.map(async (record): Promise<string | undefined> => {
      const logger = deps.logger.withKeys({ messageId: record.messageId });
      const notice = redrivenNotice(record.body);
      if (notice) {
        try {
          await handleInstanceNotice(notice, config, { ...deps, logger });
          return undefined;
        } catch (error) {
          logger.error('redriven event failed; the message returns to the queue', { error, instanceId: notice.instanceId, reason: notice.reason });
          return record.messageId;
        }
      }
      const parsed = parseRetryMessage(record.body);
      if (!parsed.ok) {
        // A poison message: only this function writes to the queue (retry
        // messages, and its own failed events redriven from the DLQ, handled
        // above), so a body it cannot read will not become readable on redelivery. Returning it
        // would only cycle it into the DLQ five receives later with nothing
        // learnt, so it is acknowledged on purpose and logged (problems and
        // size only: never the body). Scale-down's ghost sweep still removes
        // whatever registration it was about.
        logger.error('malformed retry message acknowledged without action', { problems: parsed.problems, bodyBytes: Buffer.byteLength(record.body) });
        return undefined;
      }
      try {
        await handleRetry(parsed.message, config, { ...deps, logger });
        return undefined;
      } catch (error) {
        logger.error('retry failed; the message returns to the queue', { error, instanceId: parsed.message.instanceId, attempt: parsed.message.attempt });
        return record.messageId;
      }
    }),
  );
  return { batchItemFailures: failed.filter((id): id is string => id !== undefined).map((itemIdentifier) => ({ itemIdentifier })) };
}

/** Build the production context from the environment. */
export async function createDefaultContext(env: NodeJS.ProcessEnv = process.env): Promise<TerminationWatcherContext> {
  const config = loadTerminationWatcherConfig(env);
  const logger = new Logger(SERVICE, { prefix: config.prefix }, undefined, config.logLevel);
  const ssm = new SSMClient({ retryMode: 'adaptive', maxAttempts: 5 });
  const github = await loadGitHubApp(config, ssm, logger);
  return {
    config,
    deps: {
      ec2: createEc2Runners(new EC2Client({ retryMode: 'adaptive', maxAttempts: 4 })),
      github,
      retryQueue: createRetryQueue(new SQSClient({ retryMode: 'adaptive', maxAttempts: 4 }), { queueUrl: config.retryQueueUrl, delaySeconds: config.retryDelaySeconds }),
      ...(config.spotInterruptionRerun && {
        interruptions: createRerunLedger(new DynamoDBClient({ retryMode: 'adaptive', maxAttempts: 4 }), { tableName: config.spotInterruptionRerun.tableName }),
      }),
      logger,
    },
  };
}

/** The Lambda entry point. */
export const handler = createHandler(onceAsync(() => createDefaultContext()));
