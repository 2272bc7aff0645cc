export * from './github-runners';
export * from './runners/runner-types';
export * from './images/runner-image';
export * from './shared/lambda-code';
export * from './shared/lambda-settings';
export { PropsValidationError } from './shared/validation';
export { MODULE_VERSION, MODULE_VERSION_TAG } from './shared/version';
// The types of props a user writes, defined with the constructs that use them.
export type { ObservabilitySettings } from './observability/observability';
export type { EgressRule } from './runners/runner-instances';
export type { RoleSettings } from './shared/iam';
export type { LambdaVpcConfig } from './shared/lambda-function';
