/**
 * How resource names are made, so that two instances of the module in one
 * account can never name the same resource (issue #10 item 8).
 *
 * Every name starts with the prefix. A resource of the module as a whole is
 * `<prefix>-<kind>` (`gh-ci-webhook`); a resource of one runner type is
 * `<prefix>-<kind>_<type>` (`gh-ci-scale-up_linux-x64`), with `_` between the
 * kind and the type. Neither the prefix nor a type name may contain `_`, so
 * the first `_` of a per-type name ends `<prefix>-<kind>`: prefix `a` with type
 * `b-c` (`a-runner_b-c`) and prefix `a-b` with type `c` (`a-b-runner_c`) differ,
 * and no per-type name (it has a `_`) equals a module-wide one (it has none).
 * Each `<prefix>-<kind>` ends in its kind, and no kind of a namespace ends in
 * `-<another kind>` of it, so distinct prefixes give distinct names
 * (test/modules/naming.test.ts enumerates every named resource and checks it).
 * Every AWS name the module sets allows `_` (Lambda, IAM, SQS, EC2 launch
 * templates, EventBridge Scheduler, CloudWatch Logs and alarms).
 */

/** Separates `<prefix>-<kind>` from the runner type in a per-type name; no prefix or type name contains it. */
export const TYPE_SEPARATOR = '_';

/** The prefix: 1 to 20 lower-case letters, digits or hyphens, starting with a letter or digit (never `_`). */
export const PREFIX_PATTERN = /^[a-z0-9][a-z0-9-]{0,19}$/;

/** A runner type name: 1 to 32 lower-case letters, digits or hyphens, starting with a letter or digit (never `_`). */
export const RUNNER_TYPE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** The name of one runner type's resource of `kind`: `<prefix>-<kind>_<type>`. */
export function perTypeName(prefix: string, kind: string, type: string): string {
  return `${prefix}-${kind}${TYPE_SEPARATOR}${type}`;
}

/**
 * The kind of each module-wide Lambda function: the function, its role and
 * its log group `/aws/lambda/<prefix>-<kind>` are named from it. The module
 * key serves exactly these log groups (module-key.ts), so a new function
 * must be listed here.
 */
export const FUNCTION_KINDS = {
  webhook: 'webhook',
  redelivery: 'webhook-redelivery',
  syncer: 'syncer',
  scaleDown: 'scale-down',
  terminationWatcher: 'termination-watcher',
  pool: 'pool',
  runnerApi: 'runner-api',
} as const;

/** The kind of each per-type Lambda function, named `<prefix>-<kind>_<type>`. */
export const PER_TYPE_FUNCTION_KINDS = {
  scaleUp: 'scale-up',
} as const;

/** The name of the module-wide function of `kind`: `<prefix>-<kind>`. */
export function functionName(prefix: string, kind: (typeof FUNCTION_KINDS)[keyof typeof FUNCTION_KINDS]): string {
  return `${prefix}-${kind}`;
}
