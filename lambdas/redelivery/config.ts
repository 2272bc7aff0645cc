/**
 * The redelivery Lambda's configuration, from the environment its construct
 * (modules/webhook/redelivery.ts) writes. Read once per container; every
 * problem is reported in one ConfigError.
 */
import { REDELIVERY_LIMITS, type RedeliveryEnvironment } from '../../modules/contract/environment';
import { EnvReader } from '../shared/config';
import type { LogLevel } from '../shared/logger';
import type { RedeliverySettings } from './redelivery';

export interface RedeliveryConfig extends RedeliverySettings {
  readonly appIdParameterName: string;
  readonly appKeyParameterName: string;
  /** GHES or ghe.com URL; github.com when absent. */
  readonly ghesUrl?: string;
  /** Verify the GitHub server's TLS certificate (GHES_SSL_VERIFY). */
  readonly tlsVerify: boolean;
  readonly logLevel: LogLevel;
}

/** Read and check the environment; throws ConfigError listing every problem. */
export function loadRedeliveryConfig(env: NodeJS.ProcessEnv): RedeliveryConfig {
  const reader = new EnvReader<RedeliveryEnvironment>(env);
  const l = REDELIVERY_LIMITS;
  const config: RedeliveryConfig = {
    appIdParameterName: reader.string('GITHUB_APP_ID_SSM_PARAMETER_NAME'),
    appKeyParameterName: reader.string('GITHUB_APP_KEY_SSM_PARAMETER_NAME'),
    ghesUrl: reader.optionalHttpUrl('GHES_URL'),
    tlsVerify: reader.bool('GHES_SSL_VERIFY', true),
    lookbackMinutes: reader.int('REDELIVERY_LOOKBACK_MINUTES', l.lookbackMinutes.default, l.lookbackMinutes.min, l.lookbackMinutes.max),
    maxPages: reader.int('REDELIVERY_MAX_PAGES', l.maxPages.default, l.maxPages.min, l.maxPages.max),
    maxRedeliveries: reader.int('REDELIVERY_MAX_PER_RUN', l.maxRedeliveries.default, l.maxRedeliveries.min, l.maxRedeliveries.max),
    metricsNamespace: reader.metricsNamespace(),
    logLevel: reader.logLevel(),
  };
  reader.done();
  return config;
}
