/**
 * What every construct whose Lambda talks to GitHub as the App shares: the
 * props that say where the App's credentials and the GitHub server are, the
 * environment the Lambdas read them from (the contract's
 * `GitHubAppEnvironment` and `CommonEnvironment`), and the grant to read the
 * two parameters.
 */
import { IResolvable } from 'cdktf';
import type { CommonEnvironment, GitHubAppEnvironment } from '../contract/environment';
import { Statement } from './iam';
import { LambdaCode } from './lambda-code';
import { LambdaSettings, envFlag } from './lambda-settings';
import { ModuleKey } from './module-key';

/** The props of a construct that deploys one of the module's Lambdas. */
export interface ModuleFunctionSettings {
  readonly prefix: string;
  readonly key: ModuleKey;
  readonly code: LambdaCode;
  readonly lambda: LambdaSettings;
}

/** Where the GitHub App's credentials and the GitHub server are. */
export interface GitHubAppSettings {
  /** SSM parameter name of the App id. */
  readonly appIdParameterName: string;
  /** SSM parameter name of the App's private key (SecureString). */
  readonly privateKeyParameterName: string;
  /** @default github.com */
  readonly ghesUrl?: string;
  /** Verify the GitHub server's TLS certificate (GHES_SSL_VERIFY; terraform-aws-github-runner `ghes_ssl_verify`). @default true */
  readonly ghesSslVerify?: boolean | IResolvable;
}

/** The props of a construct whose Lambda talks to GitHub as the App. */
export interface GitHubAppFunctionSettings extends ModuleFunctionSettings, GitHubAppSettings {}

/** What every function of the module holds in its environment. */
export function commonEnvironment(lambda: LambdaSettings): CommonEnvironment {
  return {
    LOG_LEVEL: lambda.logLevel,
    METRICS_NAMESPACE: lambda.metricsNamespace,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Where a function finds the App and the server, as the Lambdas' config loaders read it. */
export function gitHubAppEnvironment(settings: GitHubAppSettings): GitHubAppEnvironment {
  return {
    GITHUB_APP_ID_SSM_PARAMETER_NAME: settings.appIdParameterName,
    GITHUB_APP_KEY_SSM_PARAMETER_NAME: settings.privateKeyParameterName,
    GHES_URL: settings.ghesUrl ?? '',
    GHES_SSL_VERIFY: envFlag(settings.ghesSslVerify, true),
  };
}

/**
 * Reading the App's two parameters (`ssm:GetParameters`, as the Lambdas read
 * both in one call), and nothing else of SSM. The key's `kms:Decrypt` is the
 * caller's: some functions need it for more than the private key.
 */
export function grantReadGitHubApp(settings: GitHubAppSettings & { readonly key: ModuleKey }): Statement {
  return {
    sid: 'ReadGitHubApp',
    actions: ['ssm:GetParameters'],
    resources: [settings.key.parameterArn(settings.appIdParameterName), settings.key.parameterArn(settings.privateKeyParameterName)],
  };
}
