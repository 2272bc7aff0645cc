/**
 * The front door: an API Gateway HTTP API with `POST /webhook`, wired to the
 * webhook Lambda (payload format 2.0), throttled, with access logs in an
 * encrypted log group. The Lambda verifies the signature and routes each
 * queued job to its runner type's queue.
 */
import { Apigatewayv2Api } from '@cdktf/provider-aws/lib/apigatewayv2-api';
import { Apigatewayv2Integration } from '@cdktf/provider-aws/lib/apigatewayv2-integration';
import { Apigatewayv2Route } from '@cdktf/provider-aws/lib/apigatewayv2-route';
import { Apigatewayv2Stage } from '@cdktf/provider-aws/lib/apigatewayv2-stage';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import { BoundRunnerTypes } from '../runners/runner-types';
import { JobQueues } from '../runners/job-queues';
import { address } from '../shared/iteration';
import { LambdaCode } from '../shared/lambda-code';
import { LambdaSettings } from '../shared/lambda-settings';
import { ModuleFunction } from '../shared/lambda-function';
import { EncryptedLogGroup } from '../shared/log-group';
import { ModuleKey } from '../shared/module-key';
import { validate, whenKnown } from '../shared/validation';
import type { JobLedgerTable } from '../runners/scale-up';
import type { WebhookEnvironment } from '../contract/environment';
import type { RunnerTypeRoute } from '../contract/runner-types';
import { FUNCTION_KINDS, functionName } from '../shared/naming';

export const WEBHOOK_ROUTE = 'POST /webhook';

/**
 * Route throttling defaults. API Gateway throttles with a token bucket: the
 * burst is the bucket size, the rate its refill per second, and a request
 * that finds the bucket empty is answered 429
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html).
 * GitHub does not redeliver a failed delivery by itself, so a 429 is a job
 * with no runner. A burst of 2,000 takes a 1,000-job matrix queued at once;
 * both stay under the account-level default (10,000 rps, burst 5,000).
 */
export const DEFAULT_WEBHOOK_THROTTLING = { rateLimit: 1000, burstLimit: 2000 } as const;

/**
 * The webhook's reserved concurrency. Warm, the function answers in tens of
 * milliseconds, so 100 concurrent executions serve well over 1,000
 * deliveries a second while leaving the rest of the account's default 1,000
 * to scale-up and the other functions.
 */
export const DEFAULT_WEBHOOK_RESERVED_CONCURRENCY = 100;

export interface WebhookProps {
  readonly prefix: string;
  readonly key: ModuleKey;
  readonly runnerTypes: BoundRunnerTypes;
  readonly queues: JobQueues;
  /** Name of the SSM SecureString holding the webhook secret. */
  readonly webhookSecretParameterName: string;
  /** The webhook Lambda's code. */
  readonly code: LambdaCode;
  /** Accept queued jobs only from these repositories ("owner/repo"); others get 403. @default [] (all) */
  readonly repositoryAllowList?: string[];
  /**
   * Steady-state requests per second on the route (API Gateway token bucket
   * refill rate). High by default: GitHub does not redeliver a delivery that
   * got a 429, so a throttle that bites loses jobs. @default 1000
   */
  readonly throttlingRateLimit?: number;
  /** Burst of requests on the route (token bucket size); a 1,000-job matrix fits. @default 2000 */
  readonly throttlingBurstLimit?: number;
  /**
   * Reserved concurrency of the webhook function: a floor it always gets and
   * a ceiling, so a delivery flood cannot take the account's concurrency from
   * scale-up and the other functions. -1: unreserved. @default 100
   */
  readonly reservedConcurrentExecutions?: number;
  /** Settings shared by the module's Lambdas. */
  readonly lambda: LambdaSettings;
  /** Where in_progress and completed are recorded. @default none: not recorded */
  readonly jobLedger?: JobLedgerTable;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class Webhook extends Construct {
  /** The URL to enter in the GitHub App's webhook settings. */
  readonly endpoint: string;
  readonly function: ModuleFunction;
  readonly api: Apigatewayv2Api;

  constructor(scope: Construct, id: string, props: WebhookProps) {
    super(scope, id);
    const rate = props.throttlingRateLimit ?? DEFAULT_WEBHOOK_THROTTLING.rateLimit;
    const burst = props.throttlingBurstLimit ?? DEFAULT_WEBHOOK_THROTTLING.burstLimit;
    const reserved = props.reservedConcurrentExecutions ?? DEFAULT_WEBHOOK_RESERVED_CONCURRENCY;
    validate('Webhook', [
      whenKnown(rate, () => rate > 0, `throttlingRateLimit must be > 0, got ${rate}`),
      whenKnown(burst, () => burst > 0, `throttlingBurstLimit must be > 0, got ${burst}`),
      whenKnown(reserved, () => reserved === -1 || reserved >= 1, `reservedConcurrentExecutions must be -1 or at least 1, got ${reserved}`),
    ]);
    const tags = props.tags;
    const queue = props.queues.queues.queue;
    // The routing table, built from the same map that drives the queues, so
    // the Lambda and Terraform never disagree about the runner types.
    // `key` and `val` are the for-expression's variables; the fields are the contract's RunnerTypeRoute.
    const routeFields = {
      labels: 'val.labels',
      exact_match: 'val.exact_match',
      priority: 'val.priority',
      queue_url: `${address(queue)}[key].url`,
    } satisfies Record<keyof RunnerTypeRoute, string>;
    const routes = Fn.jsonencode(
      props.runnerTypes
        .iterator()
        .forExpressionForMap(
          'key',
          `{ ${Object.entries(routeFields).map(([field, value]) => `${field} = ${value}`).join(', ')} }`,
        ),
    );

    this.function = new ModuleFunction(this, 'lambda', {
      functionName: functionName(props.prefix, FUNCTION_KINDS.webhook),
      description: 'Verifies GitHub workflow_job webhooks and routes queued jobs to their runner type queue',
      code: props.code,
      key: props.key,
      timeoutSeconds: 10,
      memorySizeMb: 256,
      reservedConcurrentExecutions: reserved,
      environment: {
        PREFIX: props.prefix,
        WEBHOOK_SECRET_SSM_PARAMETER_NAME: props.webhookSecretParameterName,
        RUNNER_TYPES_CONFIG: routes,
        REPOSITORY_ALLOW_LIST: Fn.jsonencode(props.repositoryAllowList ?? []),
        LOG_LEVEL: props.lambda.logLevel,
        METRICS_NAMESPACE: props.lambda.metricsNamespace,
        ...(props.jobLedger && { JOB_LEDGER_TABLE_NAME: props.jobLedger.tableName }),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      } satisfies WebhookEnvironment,
      statements: [
        {
          sid: 'ReadWebhookSecret',
          actions: ['ssm:GetParameters'],
          resources: [props.key.parameterArn(props.webhookSecretParameterName)],
        },
        { sid: 'DecryptSecrets', actions: ['kms:Decrypt'], resources: [props.key.arn] },
        ...props.queues.grantSendMessages('SendJobs', 'EncryptJobs'),
        ...(props.jobLedger?.recordProgressStatements ?? []),
      ],
      ...props.lambda.functionSettings,
      tags,
    });

    const accessLogs = new EncryptedLogGroup(this, 'access-logs', {
      name: `/github-runners/${props.prefix}/webhook-access-logs`,
      key: props.key,
      retentionInDays: props.lambda.functionSettings.logRetentionInDays,
      tags,
    });

    this.api = new Apigatewayv2Api(this, 'api', {
      name: `${props.prefix}-webhook`,
      protocolType: 'HTTP',
      description: 'GitHub App webhook endpoint for self-hosted runners',
      tags,
    });
    const integration = new Apigatewayv2Integration(this, 'integration', {
      apiId: this.api.id,
      integrationType: 'AWS_PROXY',
      integrationUri: this.function.function.invokeArn,
      payloadFormatVersion: '2.0',
      // GitHub waits 10 s for an answer; the function's timeout is 10 s too.
      timeoutMilliseconds: 10000,
    });
    const route = new Apigatewayv2Route(this, 'route', {
      apiId: this.api.id,
      routeKey: WEBHOOK_ROUTE,
      target: `integrations/${integration.id}`,
    });
    new Apigatewayv2Stage(this, 'stage', {
      apiId: this.api.id,
      name: '$default',
      autoDeploy: true,
      defaultRouteSettings: { throttlingRateLimit: rate, throttlingBurstLimit: burst },
      routeSettings: [{ routeKey: route.routeKey, throttlingRateLimit: rate, throttlingBurstLimit: burst }],
      accessLogSettings: {
        destinationArn: accessLogs.arn,
        // Request metadata only: never the body or the signature header.
        format: JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          requestTime: '$context.requestTime',
          routeKey: '$context.routeKey',
          status: '$context.status',
          responseLength: '$context.responseLength',
          integrationLatency: '$context.integrationLatency',
          integrationError: '$context.integrationErrorMessage',
        }),
      },
      tags,
    });
    new LambdaPermission(this, 'invoke', {
      statementId: 'AllowApiGatewayInvoke',
      action: 'lambda:InvokeFunction',
      functionName: this.function.function.functionName,
      principal: 'apigateway.amazonaws.com',
      // Only this API's POST /webhook route may invoke the function (CKV_AWS_364).
      sourceArn: `${this.api.executionArn}/*/POST/webhook`,
    });
    this.endpoint = `${this.api.apiEndpoint}/webhook`;
  }
}

