/**
 * Lambda entry for GitHub webhook deliveries behind an API Gateway HTTP API
 * (payload format 2.0).
 *
 * Thin on purpose: turn the event into a WebhookRequest, load config and
 * container-scoped clients once, call handleWebhook, map errors to answers.
 *
 * Environment (set by the construct):
 * - PREFIX (required)
 * - WEBHOOK_SECRET_SSM_PARAMETER_NAME (required): SecureString with the webhook secret
 * - RUNNER_TYPES_CONFIG (required): JSON routing table, see RunnerTypeRoutes in modules/contract/runner-types.ts
 * - REPOSITORY_ALLOW_LIST (optional): JSON array of "owner/repo"; absent or empty allows all
 * - METRICS_NAMESPACE (optional, default GitHubRunners)
 * - LOG_LEVEL (optional: debug, info, warn, error; default info)
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { once } from '../shared/config';
import { LogSink, Logger } from '../shared/logger';
import { ParameterCache } from '../shared/ssm-parameters';
import { WebhookConfig, loadWebhookConfig, logLevelFrom } from './config';
import { LogScope } from './log-scope';
import { JobQueue, sqsJobQueue } from './queue';
import { JobProgressRecorder, createJobLedger } from '../shared/aws/job-ledger';
import { HeaderMap, WebhookRequest, deliveryIdOf } from './request';
import { WebhookResponse, errorResponse } from './responses';
import { handleWebhook } from './webhook';
import { SecretReader, WebhookSecretVerifier } from './webhook-secret';

/** What a container can be given instead of the real AWS clients and stdout. All optional. */
export interface HandlerDependencies {
  /** Environment to read config from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** SQS client for the runner-type queues. @default a new SQSClient */
  readonly sqs?: SQSClient;
  /** DynamoDB client for the job ledger. @default a new DynamoDBClient */
  readonly dynamodb?: DynamoDBClient;
  /** Cached reader of the webhook secret. @default a new ParameterCache */
  readonly parameters?: SecretReader;
  /** Where log lines go. @default stdout */
  readonly sink?: LogSink;
  /** Milliseconds since the epoch; drives the secret refresh rate limit. @default Date.now */
  readonly now?: () => number;
}

/** The Lambda handler's type. */
export type WebhookHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** What one container builds once: config and the clients that depend on it. */
interface Container {
  readonly config: WebhookConfig;
  readonly verifier: WebhookSecretVerifier;
  readonly queue: JobQueue;
  readonly ledger?: JobProgressRecorder;
  readonly logger: Logger;
}

/** Build a handler; each call is one "container" with its own config, caches and clients. */
export function createHandler(deps: HandlerDependencies = {}): WebhookHandler {
  const env = deps.env ?? process.env;
  const baseLog = new Logger('webhook', {}, deps.sink, logLevelFrom(env.LOG_LEVEL));
  const container = once((): Container => {
    const config = loadWebhookConfig(env);
    const parameters = deps.parameters ?? new ParameterCache();
    return {
      config,
      verifier: new WebhookSecretVerifier(parameters, config.webhookSecretParameterName, deps.now ?? Date.now),
      queue: sqsJobQueue(deps.sqs ?? new SQSClient({})),
      ...(config.jobLedgerTableName && { ledger: createJobLedger(deps.dynamodb ?? new DynamoDBClient({}), { tableName: config.jobLedgerTableName }) }),
      logger: new Logger('webhook', { prefix: config.prefix }, deps.sink, config.logLevel),
    };
  });

  return async (event) => {
    const request = toWebhookRequest(event);
    const deliveryId = deliveryIdOf(request.headers);
    // Until config loads, errors (a ConfigError) are logged without the prefix key.
    let scope = new LogScope(baseLog.withKeys({ deliveryId }));
    try {
      const c = container();
      scope = new LogScope(c.logger.withKeys({ deliveryId }));
      return toResult(await handleWebhook(request, { config: c.config, verifier: c.verifier, queue: c.queue, ledger: c.ledger, log: scope }));
    } catch (error) {
      return toResult(errorResponse(error, scope.logger));
    }
  };
}

/** The handler Lambda invokes. */
export const handler: WebhookHandler = createHandler();

/** The parts of an HTTP API v2 event the webhook reads; tolerant of missing fields. */
function toWebhookRequest(event: APIGatewayProxyEventV2): WebhookRequest {
  return {
    headers: new HeaderMap(event?.headers),
    body: typeof event?.body === 'string' ? event.body : undefined,
    isBase64Encoded: event?.isBase64Encoded === true,
  };
}

function toResult(response: WebhookResponse): APIGatewayProxyStructuredResultV2 {
  return { statusCode: response.statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: response.body };
}
