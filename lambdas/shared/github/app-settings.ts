/**
 * The GitHub App settings every Lambda that talks to GitHub as the App reads
 * (scale-up, scale-down, the termination watcher), and the one way to turn
 * them into an adapter: credentials from SSM, once per container.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { CommonEnvironment, GitHubAppEnvironment, OrganizationRunnersEnvironment } from '../../../modules/contract/environment';
import type { EnvReader } from '../config';
import type { Logger } from '../logger';
import { ParameterCache } from '../ssm-parameters';
import { normalisePrivateKey } from './private-key';
import { GitHubAppApi, GitHubAppOptions, createGitHubApp } from './runners';

/** Where the App's credentials are, and where its runners live. */
export interface GitHubAppSettings {
  /** GITHUB_APP_ID_SSM_PARAMETER_NAME. */
  readonly appIdParameterName: string;
  /** GITHUB_APP_KEY_SSM_PARAMETER_NAME: PEM or base64 of a PEM. */
  readonly appKeyParameterName: string;
  /** GHES_URL: GHES or ghe.com URL; github.com when absent or empty. */
  readonly ghesUrl?: string;
  /**
   * ENABLE_ORGANIZATION_RUNNERS: scale-up registers organisation runners when
   * true, repository runners when false. @default false
   *
   * Scale-down and the watcher do not branch on it: each instance's
   * `ghr:owner` tag says where its runner registered (`org` or `owner/repo`),
   * so runners launched before the setting changed are still found.
   */
  readonly organizationRunners: boolean;
  /**
   * GHES_SSL_VERIFY (philips `ghes_ssl_verify`): false skips the GitHub
   * server's certificate check, for the GitHub client only. @default true
   */
  readonly tlsVerify: boolean;
}

/** The names readGitHubAppSettings reads (the pool has no ENABLE_ORGANIZATION_RUNNERS: its owner says where). */
export type GitHubAppReaderEnvironment = CommonEnvironment & GitHubAppEnvironment & Partial<OrganizationRunnersEnvironment>;

/** Read the App settings; problems go to `reader`, which the caller checks with `done()`. */
export function readGitHubAppSettings(reader: EnvReader<GitHubAppReaderEnvironment>): GitHubAppSettings {
  return {
    appIdParameterName: reader.string('GITHUB_APP_ID_SSM_PARAMETER_NAME'),
    appKeyParameterName: reader.string('GITHUB_APP_KEY_SSM_PARAMETER_NAME'),
    ghesUrl: reader.optionalHttpUrl('GHES_URL'),
    organizationRunners: reader.bool('ENABLE_ORGANIZATION_RUNNERS', false),
    tlsVerify: reader.bool('GHES_SSL_VERIFY', true),
  };
}

/**
 * The App adapter, with the App id and private key read (decrypted) from SSM
 * in one GetParameters call. Throws MissingParameterError or
 * InvalidPrivateKeyError, naming the parameter, never its value.
 */
export async function loadGitHubApp(
  settings: GitHubAppSettings,
  ssm: SSMClient,
  logger: Logger,
  options: Omit<GitHubAppOptions, 'appId' | 'privateKey' | 'ghesUrl' | 'logger'> = {},
): Promise<GitHubAppApi> {
  const secrets = await new ParameterCache(ssm).get([settings.appIdParameterName, settings.appKeyParameterName]);
  warnUnverifiedTls(settings.tlsVerify, logger);
  return createGitHubApp({
    appId: secrets[settings.appIdParameterName].trim(),
    privateKey: normalisePrivateKey(secrets[settings.appKeyParameterName]),
    ghesUrl: settings.ghesUrl,
    tlsVerify: settings.tlsVerify,
    logger,
    ...options,
  });
}

let warned = false;

/** Once per container (cold start): say that the GitHub server's certificate is not checked. */
export function warnUnverifiedTls(tlsVerify: boolean, logger: Logger): void {
  if (tlsVerify || warned) return;
  warned = true;
  logger.warn('ghes_ssl_verify is false: the GitHub server certificate is not verified for GitHub API calls (AWS calls still verify)');
}
