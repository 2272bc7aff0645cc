export * from './github-runners';
export * from './runners/runner-types';
export * from './shared/lambda-code';
export * from './shared/lambda-settings';
export { PropsValidationError } from './shared/validation';
export { MODULE_VERSION, MODULE_VERSION_TAG } from './shared/version';
