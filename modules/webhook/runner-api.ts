/**
 * The runner API (issue #15 item 1): `POST /runners` and `GET /runners/{name}`
 * on the webhook's HTTP API, served by their own function with its own role
 * (lambdas/runner-api). Requests are authenticated with the calling job's
 * GitHub Actions OIDC token; the function records each runner in the
 * launch-lock table (`pk = api#<name>`) and puts a runner request on the
 * type's job queue, where scale-up, the one launcher of the type, serves it.
 */
import { Apigatewayv2Api } from '@cdktf/provider-aws/lib/apigatewayv2-api';
import { Apigatewayv2Integration } from '@cdktf/provider-aws/lib/apigatewayv2-integration';
import { Apigatewayv2Route } from '@cdktf/provider-aws/lib/apigatewayv2-route';
import { DynamodbTable } from '@cdktf/provider-aws/lib/dynamodb-table';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { Fn, IResolvable, Op, Token } from 'cdktf';
import { Construct } from 'constructs';
import { RUNNER_API_LIMITS } from '../contract/api-runner';
import type { RunnerApiEnvironment } from '../contract/environment';
import { JobQueues } from '../runners/job-queues';
import { BoundRunnerTypes } from '../runners/runner-types';
import { address } from '../shared/iteration';
import { ModuleFunction } from '../shared/lambda-function';
import { commonEnvironment, gitHubAppEnvironment, GitHubAppFunctionSettings, grantReadGitHubApp } from '../shared/github-app';
import { envFlag } from '../shared/lambda-settings';
import { validate, whenKnown } from '../shared/validation';
import { FUNCTION_KINDS, functionName } from '../shared/naming';

/** The API's routes (HTTP API route keys). */
export const RUNNER_API_ROUTES = { start: 'POST /runners', state: 'GET /runners/{name}' } as const;

export interface RunnerApiProps extends GitHubAppFunctionSettings {
  readonly runnerTypes: BoundRunnerTypes;
  readonly queues: JobQueues;
  /** The launch-lock table (ScaleUp.idempotencyTable), where the API's records live. */
  readonly table: DynamodbTable;
  /** The webhook's HTTP API, which gets the routes. */
  readonly api: Apigatewayv2Api;
  /** @default false */
  readonly enableOrganizationRunners?: boolean | IResolvable;
  /** "owner/repo" names that may start runners; empty allows every repository the App is installed on. @default [] */
  readonly repositoryAllowList?: string[];
  /** The `aud` every token must carry (request it with `&audience=` on ACTIONS_ID_TOKEN_REQUEST_URL). Required, not empty. */
  readonly audience: string;
  /** The accepted OIDC issuer. @default github.com's, or `<ghesUrl>/_services/token` */
  readonly oidcIssuer?: string;
  /** Minutes a runner waits for a job when the request names none, 1 to 1440. @default 15 */
  readonly defaultTimeoutMinutes?: number;
  /**
   * Whether the routes exist. A Terraform boolean (the HCL module's
   * enable_runner_api) keeps the function and creates the routes only when
   * true; the construct is left out when the API is not wanted. @default true
   */
  readonly enabled?: boolean | IResolvable;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class RunnerApi extends Construct {
  readonly function: ModuleFunction;
  /** The API's base URL: `<api endpoint>/runners`. */
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: RunnerApiProps) {
    super(scope, id);
    const t = RUNNER_API_LIMITS.timeoutMinutes;
    const timeout = props.defaultTimeoutMinutes ?? t.default;
    validate('RunnerApi', [
      whenKnown(props.audience, () => props.audience.trim() !== '', 'runnerApi.audience must not be empty: tokens are checked against it'),
      whenKnown(timeout, () => Number.isInteger(timeout) && timeout >= t.min && timeout <= t.max, `runnerApi.defaultTimeoutMinutes must be a whole number from ${t.min} to ${t.max}, got ${timeout}`),
      whenKnown(props.oidcIssuer, () => props.oidcIssuer === undefined || /^https:\/\/[^\s]+$/.test(props.oidcIssuer), `runnerApi.oidcIssuer must be an https URL, got "${props.oidcIssuer}"`),
    ]);
    const types = `local.${props.runnerTypes.local.friendlyUniqueId}`;
    const queue = props.queues.queues.queue;
    const issuer = props.oidcIssuer === undefined ? '' : Token.isUnresolved(props.oidcIssuer) ? Token.asString(Fn.conditional(Op.neq(props.oidcIssuer, Token.nullValue()), props.oidcIssuer, '')) : props.oidcIssuer;

    this.function = new ModuleFunction(this, 'lambda', {
      functionName: functionName(props.prefix, FUNCTION_KINDS.runnerApi),
      description: 'Starts runners on request of a workflow (OIDC-authenticated) and tells their state',
      code: props.code,
      key: props.key,
      timeoutSeconds: 10,
      memorySizeMb: 256,
      environment: {
        PREFIX: props.prefix,
        OIDC_ISSUER: issuer,
        OIDC_AUDIENCE: props.audience,
        REPOSITORY_ALLOW_LIST: Fn.jsonencode(props.repositoryAllowList ?? []),
        JOB_QUEUE_URLS: Fn.jsonencode(props.runnerTypes.iterator().forExpressionForMap('key', `${address(queue)}[key].url`)),
        RUNNER_MAXIMUM_COUNTS: Fn.jsonencode(props.runnerTypes.iterator().forExpressionForMap('key', `${types}[key].runners_maximum_count`)),
        IDEMPOTENCY_TABLE_NAME: props.table.name,
        DEFAULT_TIMEOUT_MINUTES: Token.asString(timeout),
        ...gitHubAppEnvironment(props),
        ENABLE_ORGANIZATION_RUNNERS: envFlag(props.enableOrganizationRunners, false),
        ...commonEnvironment(props.lambda),
      } satisfies RunnerApiEnvironment,
      statements: [
        grantReadGitHubApp(props),
        { sid: 'DecryptSecrets', actions: ['kms:Decrypt'], resources: [props.key.arn] },
        {
          // Only the API's own items (`api#<name>`), never the job locks beside them.
          sid: 'ApiRunnerRecords',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
          resources: [props.table.arn],
          conditions: [{ test: 'ForAllValues:StringLike', variable: 'dynamodb:LeadingKeys', values: ['api#*'] }],
        },
        // DescribeInstances supports no resource-level permissions.
        { sid: 'DescribeInstances', actions: ['ec2:DescribeInstances'], resources: ['*'] },
        // The job queues' owner gives the producer statements, with the key (#14 item 6).
        ...props.queues.grantSendMessages('SendRunnerRequests', 'EncryptRunnerRequests'),
      ],
      ...props.lambda.functionSettings,
      tags: props.tags,
    });

    const count = props.enabled === undefined || props.enabled === true ? undefined : Token.asNumber(Fn.conditional(props.enabled as IResolvable, 1, 0));
    const integration = new Apigatewayv2Integration(this, 'integration', {
      ...(count !== undefined && { count }),
      apiId: props.api.id,
      integrationType: 'AWS_PROXY',
      integrationUri: this.function.function.invokeArn,
      payloadFormatVersion: '2.0',
      timeoutMilliseconds: 10000,
    });
    const target = count === undefined ? `integrations/${integration.id}` : `integrations/\${${address(integration)}[0].id}`;
    for (const [name, routeKey] of Object.entries(RUNNER_API_ROUTES)) {
      new Apigatewayv2Route(this, `route-${name}`, { ...(count !== undefined && { count }), apiId: props.api.id, routeKey, target });
    }
    // Only this API's two routes may invoke the function (CKV_AWS_364).
    const sources = { start: `${props.api.executionArn}/*/POST/runners`, state: `${props.api.executionArn}/*/GET/runners/*` };
    for (const [name, sourceArn] of Object.entries(sources)) {
      new LambdaPermission(this, `invoke-${name}`, {
        ...(count !== undefined && { count }),
        statementId: `AllowApiGatewayInvoke-${name}`,
        action: 'lambda:InvokeFunction',
        functionName: this.function.function.functionName,
        principal: 'apigateway.amazonaws.com',
        sourceArn,
      });
    }
    this.endpoint = `${props.api.apiEndpoint}/runners`;
  }
}
