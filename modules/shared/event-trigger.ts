/**
 * An EventBridge rule that invokes a module function: on a schedule, or on an
 * event pattern. The permission is scoped to the rule's ARN (CKV_AWS_364).
 */
import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { CloudwatchEventTarget } from '@cdktf/provider-aws/lib/cloudwatch-event-target';
import { LambdaFunctionEventInvokeConfig } from '@cdktf/provider-aws/lib/lambda-function-event-invoke-config';
import { LambdaPermission } from '@cdktf/provider-aws/lib/lambda-permission';
import { Fn, IResolvable, Token } from 'cdktf';
import { Construct } from 'constructs';
import { ModuleFunction } from './lambda-function';
import { isScheduleExpression } from './schedule';
import { validate, whenKnown } from './validation';

export interface EventTriggerProps {
  /** Rule name, e.g. `<prefix>-scale-down`. */
  readonly name: string;
  readonly description: string;
  readonly target: ModuleFunction;
  /** `rate(…)` or `cron(…)`. Give this or `eventPattern`. */
  readonly scheduleExpression?: string;
  /** An EventBridge event pattern. Give this or `scheduleExpression`. */
  readonly eventPattern?: Record<string, unknown>;
  /** Whether the rule fires; a Terraform boolean expression when a module input decides. @default true */
  readonly enabled?: boolean | IResolvable;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class EventTrigger extends Construct {
  readonly rule: CloudwatchEventRule;

  constructor(scope: Construct, id: string, props: EventTriggerProps) {
    super(scope, id);
    const schedule = props.scheduleExpression;
    validate('EventTrigger', [
      { ok: (schedule === undefined) !== (props.eventPattern === undefined), message: `${props.name}: give exactly one of scheduleExpression and eventPattern` },
      whenKnown(
        schedule,
        () => schedule === undefined || isScheduleExpression(schedule),
        `${props.name}: scheduleExpression must be rate(1 minute), rate(N minutes|hours|days) or a six-field cron(…) with "?" in day-of-month or day-of-week, got "${schedule}"`,
      ),
    ]);
    this.rule = new CloudwatchEventRule(this, 'rule', {
      name: props.name,
      description: props.description,
      scheduleExpression: schedule,
      eventPattern: props.eventPattern ? JSON.stringify(props.eventPattern) : undefined,
      state: ruleState(props.enabled),
      tags: props.tags,
    });
    new CloudwatchEventTarget(this, 'target', { rule: this.rule.name, arn: props.target.function.arn });
    new LambdaPermission(this, 'invoke', {
      // A prefix, not a fixed id: one function may have several rules.
      statementIdPrefix: 'eventbridge-',
      action: 'lambda:InvokeFunction',
      functionName: props.target.function.functionName,
      principal: 'events.amazonaws.com',
      sourceArn: this.rule.arn,
    });
  }
}

/** EventBridge rule state for `enabled`: undefined (the provider's ENABLED) when always on. */
function ruleState(enabled: boolean | IResolvable | undefined): string | undefined {
  if (enabled === undefined || enabled === true) return undefined;
  if (enabled === false) return 'DISABLED';
  return Token.asString(Fn.conditional(enabled, 'ENABLED', 'DISABLED'));
}

/**
 * A function run on a schedule whose failed run is not retried: the next
 * scheduled run does the same work with fresh listings, and a retry would only
 * overlap it. Adds to `scope` the asynchronous-invocation config `async` (no
 * retries) and the rule `schedule`.
 */
export function runOnSchedule(scope: Construct, props: Omit<EventTriggerProps, 'eventPattern'> & { readonly scheduleExpression: string }): EventTrigger {
  new LambdaFunctionEventInvokeConfig(scope, 'async', {
    functionName: props.target.function.functionName,
    maximumRetryAttempts: 0,
  });
  return new EventTrigger(scope, 'schedule', props);
}
