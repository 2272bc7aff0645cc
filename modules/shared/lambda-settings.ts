/** Settings every Lambda of the module shares (philips names in brackets on the module variables). */
import { Fn, IResolvable, Token } from 'cdktf';
import { RoleSettings } from './iam';
import { LambdaVpcConfig } from './lambda-function';

/** Settings every Lambda of the module shares, for GitHubRunnersProps.lambda. */
export interface SharedFunctionSettings {
  /** "arm64" or "x86_64". @default "arm64" */
  readonly architecture?: string;
  /** "PassThrough" or "Active". @default "PassThrough" */
  readonly tracingMode?: string;
  /** Log retention in days. @default 180 */
  readonly logRetentionInDays?: number;
  /** VPC for the Lambdas. @default none */
  readonly vpc?: LambdaVpcConfig;
  /** Whether `vpc` applies, when a module input decides. @default vpc !== undefined */
  readonly vpcEnabled?: boolean | IResolvable;
  /** Path and permissions boundary of the functions' roles (and of every other role the module creates). @default none */
  readonly role?: RoleSettings;
}

/** What each of the module's constructs gets to configure its Lambda: GitHubRunnersProps.logLevel and .lambda, and the metrics namespace. */
export interface LambdaSettings {
  /** "debug", "info", "warn" or "error". @default "info" */
  readonly logLevel: string;
  /** CloudWatch namespace of the Lambdas' EMF metrics: `GitHubRunners/<prefix>`, so deployments sharing an account stay apart. */
  readonly metricsNamespace: string;
  /** GitHubRunnersProps.lambda, with the roles' settings (GitHubRunnersProps.roles). */
  readonly functionSettings: SharedFunctionSettings;
}

/** A boolean input as the Lambdas read it from their environment: "true" or "false". */
export function envFlag(value: boolean | IResolvable | undefined, fallback: boolean): string {
  if (value === undefined) return String(fallback);
  return typeof value === 'boolean' ? String(value) : Token.asString(Fn.tostring(value));
}
