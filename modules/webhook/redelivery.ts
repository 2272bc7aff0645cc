/**
 * Webhook redelivery: a scheduled function that reads the GitHub App's
 * webhook delivery log and redelivers failed workflow_job deliveries once
 * (lambdas/redelivery). GitHub itself never redelivers a failed delivery,
 * so without it a job whose `queued` delivery was answered 429 or 5xx (or
 * timed out) waits for a runner that never comes.
 *
 * The delivery endpoints take the App's JWT only, so the function needs
 * nothing in AWS beyond reading (and decrypting) the App id and private key.
 */
import { IResolvable, Token } from 'cdktf';
import { Construct } from 'constructs';
import { runOnSchedule } from '../shared/event-trigger';
import { REDELIVERY_LIMITS, type RedeliveryEnvironment } from '../contract/environment';
import { ModuleFunction } from '../shared/lambda-function';
import { commonEnvironment, gitHubAppEnvironment, GitHubAppFunctionSettings, grantReadGitHubApp } from '../shared/github-app';
import { validate, whenKnown } from '../shared/validation';
import { FUNCTION_KINDS, functionName } from '../shared/naming';

/** Default schedule: every 5 minutes, so a failed delivery waits at most about 5 minutes for its redelivery. */
export const DEFAULT_REDELIVERY_SCHEDULE = 'cron(*/5 * * * ? *)';

export interface WebhookRedeliveryProps extends GitHubAppFunctionSettings {
  /**
   * Whether the schedule fires. A Terraform expression keeps the function and
   * disables its schedule when false (the HCL module's input); pass `false`
   * literally to leave the construct out instead. @default true
   */
  readonly enabled?: boolean | IResolvable;
  /** When a run starts (EventBridge rate or cron expression). @default "cron(*\/5 * * * ? *)" */
  readonly scheduleExpression?: string;
  /**
   * Minutes of the delivery log each run reads, 5 to 4320 (GitHub keeps 3 days).
   * Keep it well above the schedule's interval: a failure older than the window is not redelivered. @default 60
   */
  readonly lookbackMinutes?: number;
  /** Pages of 100 deliveries read per run, 1 to 100. @default 10 */
  readonly maxPages?: number;
  /** Redeliveries per run, 1 to 500; the rest wait for the next run. @default 100 */
  readonly maxRedeliveriesPerRun?: number;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class WebhookRedelivery extends Construct {
  readonly function: ModuleFunction;

  constructor(scope: Construct, id: string, props: WebhookRedeliveryProps) {
    super(scope, id);
    const l = REDELIVERY_LIMITS;
    const lookback = props.lookbackMinutes ?? l.lookbackMinutes.default;
    const pages = props.maxPages ?? l.maxPages.default;
    const perRun = props.maxRedeliveriesPerRun ?? l.maxRedeliveries.default;
    const whole = (name: string, value: number, limits: { min: number; max: number }) =>
      whenKnown(value, () => Number.isInteger(value) && value >= limits.min && value <= limits.max, `${name} must be a whole number from ${limits.min} to ${limits.max}, got ${value}`);
    validate('WebhookRedelivery', [
      whole('lookbackMinutes', lookback, l.lookbackMinutes),
      whole('maxPages', pages, l.maxPages),
      whole('maxRedeliveriesPerRun', perRun, l.maxRedeliveries),
    ]);

    this.function = new ModuleFunction(this, 'lambda', {
      functionName: functionName(props.prefix, FUNCTION_KINDS.redelivery),
      description: "Redelivers failed workflow_job webhook deliveries once, from the GitHub App's delivery log",
      code: props.code,
      key: props.key,
      timeoutSeconds: 120,
      memorySizeMb: 256,
      // One run at a time: two overlapping runs could both redeliver a guid before either redelivery is logged.
      reservedConcurrentExecutions: 1,
      environment: {
        ...gitHubAppEnvironment(props),
        REDELIVERY_LOOKBACK_MINUTES: Token.asString(lookback),
        REDELIVERY_MAX_PAGES: Token.asString(pages),
        REDELIVERY_MAX_PER_RUN: Token.asString(perRun),
        ...commonEnvironment(props.lambda),
      } satisfies RedeliveryEnvironment,
      statements: [
        grantReadGitHubApp(props),
        { sid: 'DecryptSecrets', actions: ['kms:Decrypt'], resources: [props.key.arn] },
      ],
      ...props.lambda.functionSettings,
      tags: props.tags,
    });

    // A failed run is not retried: the next run reads the same log.
    runOnSchedule(this, {
      name: `${props.prefix}-webhook-redelivery`,
      description: 'Runs the webhook redelivery',
      target: this.function,
      scheduleExpression: props.scheduleExpression ?? DEFAULT_REDELIVERY_SCHEDULE,
      enabled: props.enabled,
      tags: props.tags,
    });
  }
}
