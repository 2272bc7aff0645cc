/**
 * EventBridge schedule expressions and time zones, checked the same way in
 * TypeScript (construct props) and in Terraform (module variable validation).
 */

/**
 * EventBridge (rules and Scheduler) recurring expressions: `rate(1 minute)`,
 * `rate(N minutes)` (N ≥ 2; hours and days alike), or `cron(…)` with exactly
 * six fields, of which day-of-month or day-of-week (not both) is `?`.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 */
export const RATE_PATTERN = '^rate[(](1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))[)]$';
export const CRON_PATTERN = '^cron[(]([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+)[)]$';
/** IANA time zone names: UTC, or Area/Location (e.g. Europe/Amsterdam, America/Argentina/Salta, Etc/GMT+1). */
export const TIME_ZONE_PATTERN = '^(UTC|[A-Z][A-Za-z]+(/[A-Za-z0-9_+-]+)+)$';

/** True when `expression` is an EventBridge rate(…) or six-field cron(…) expression (see RATE_PATTERN). */
export function isScheduleExpression(expression: string): boolean {
  if (new RegExp(RATE_PATTERN).test(expression)) return true;
  const cron = new RegExp(CRON_PATTERN).exec(expression);
  return cron !== null && (cron[3] === '?') !== (cron[5] === '?');
}

/** The same test as {@link isScheduleExpression}, as a Terraform expression over `x`. */
export function scheduleExpressionCondition(x: string): string {
  return `(can(regex("${RATE_PATTERN}", ${x})) || try((regex("${CRON_PATTERN}", ${x})[2] == "?") != (regex("${CRON_PATTERN}", ${x})[4] == "?"), false))`;
}
