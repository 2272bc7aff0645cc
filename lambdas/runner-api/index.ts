/**
 * Runner API Lambda (issue #15): `POST /runners` and `GET /runners/{name}` on
 * the webhook's HTTP API (payload format 2.0). Thin: turn the event into an
 * ApiRequest, load config and adapters once per container, call
 * handleRunnerApi. The Authorization header is never logged.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { budgetedClientConfig } from '../shared/aws/budgeted-client';
import { createApiRunnerRecords } from '../shared/aws/api-runner-records';
import { onceAsync } from '../shared/config';
import { InvocationBudget } from '../shared/deadline';
import { loadGitHubApp } from '../shared/github/app-settings';
import { Logger } from '../shared/logger';
import { appApiGitHub, ec2ApiInstances, sqsRequestQueue } from './adapters';
import { RunnerApiConfig, loadRunnerApiConfig } from './config';
import { OidcVerifier, httpFetchJson } from './oidc';
import type { ApiRequest } from './request';
import { RunnerApiDependencies, handleRunnerApi } from './runner-api';

export interface RunnerApiContext {
  readonly config: RunnerApiConfig;
  readonly deps: RunnerApiDependencies;
}

export type RunnerApiHandler = (event: APIGatewayProxyEventV2, invocation?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<APIGatewayProxyStructuredResultV2>;

export function createHandler(init: () => Promise<RunnerApiContext>, budget?: InvocationBudget): RunnerApiHandler {
  return async (event, invocation) => {
    budget?.start(invocation?.getRemainingTimeInMillis());
    let context: RunnerApiContext;
    try {
      context = await init();
    } catch (error) {
      new Logger('runner-api').error('runner-api could not start', { error });
      return { statusCode: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: 'internal', message: 'internal error' }) };
    }
    const response = await handleRunnerApi(toApiRequest(event), context.config, context.deps);
    return { statusCode: response.statusCode, headers: { ...response.headers }, body: response.body };
  };
}

function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const headers = event?.headers ?? {};
  const authorization = Object.entries(headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  const raw = typeof event?.body === 'string' ? event.body : undefined;
  return {
    method: event?.requestContext?.http?.method ?? '',
    path: event?.rawPath ?? '',
    ...(authorization !== undefined && { authorization }),
    ...(raw !== undefined && { body: event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw }),
  };
}

export async function createDefaultContext(env: NodeJS.ProcessEnv = process.env, budget: InvocationBudget = new InvocationBudget()): Promise<RunnerApiContext> {
  const config = loadRunnerApiConfig(env);
  const logger = new Logger('runner-api', { prefix: config.prefix }, undefined, config.logLevel);
  const ssm = new SSMClient(budgetedClientConfig(budget, { maxAttempts: 3 }));
  const app = await loadGitHubApp(config, ssm, logger, { budget });
  return {
    config,
    deps: {
      verifier: new OidcVerifier({ issuer: config.issuer, audience: config.audience ?? '', fetchJson: httpFetchJson() }),
      github: appApiGitHub(app),
      instances: ec2ApiInstances(new EC2Client(budgetedClientConfig(budget, { maxAttempts: 3 }))),
      records: createApiRunnerRecords(new DynamoDBClient(budgetedClientConfig(budget)), config.idempotencyTableName),
      queue: sqsRequestQueue(new SQSClient(budgetedClientConfig(budget, { maxAttempts: 3 }))),
      logger,
    },
  };
}

const containerBudget = new InvocationBudget();

export const handler = createHandler(
  onceAsync(() => createDefaultContext(process.env, containerBudget)),
  containerBudget,
);
