/**
 * The redelivery Lambda's configuration, from the environment its construct
 * (modules/webhook/redelivery.ts) writes. Read once per container; every
 * problem is reported in one ConfigError.
 */
import { EnvReader } from '../shared/config';
import type { LogLevel } from '../shared/logger';
import { MAX_PER_PAGE } from './deliveries';
import type { RedeliverySettings } from './redelivery';

/** The environment names, shared with the construct. */
export const REDELIVERY_ENV = {
  appIdParameterName: 'GITHUB_APP_ID_SSM_PARAMETER_NAME',
  appKeyParameterName: 'GITHUB_APP_KEY_SSM_PARAMETER_NAME',
  ghesUrl: 'GHES_URL',
  tlsVerify: 'GHES_SSL_VERIFY',
  lookbackMinutes: 'REDELIVERY_LOOKBACK_MINUTES',
  maxPages: 'REDELIVERY_MAX_PAGES',
  maxRedeliveries: 'REDELIVERY_MAX_PER_RUN',
} as const;

/** Limits, the same in the construct's validation. */
export const REDELIVERY_LIMITS = {
  /** GitHub keeps (and redelivers) deliveries of the past 3 days. */
  lookbackMinutes: { min: 5, max: 3 * 24 * 60, default: 60 },
  maxPages: { min: 1, max: 100, default: 10 },
  /** 180 writes per minute per endpoint is GitHub's secondary limit; one run stays well under it. */
  maxRedeliveries: { min: 1, max: 500, default: 100 },
} as const;

export interface RedeliveryConfig extends RedeliverySettings {
  readonly appIdParameterName: string;
  readonly appKeyParameterName: string;
  /** GHES or ghe.com URL; github.com when absent. */
  readonly ghesUrl?: string;
  /** GHES_SSL_VERIFY (philips `ghes_ssl_verify`). @default true */
  readonly tlsVerify: boolean;
  readonly logLevel: LogLevel;
}

/** Read and check the environment; throws ConfigError listing every problem. */
export function loadRedeliveryConfig(env: NodeJS.ProcessEnv): RedeliveryConfig {
  const reader = new EnvReader(env);
  const e = REDELIVERY_ENV;
  const l = REDELIVERY_LIMITS;
  const config: RedeliveryConfig = {
    appIdParameterName: reader.string(e.appIdParameterName),
    appKeyParameterName: reader.string(e.appKeyParameterName),
    ghesUrl: reader.optionalHttpUrl(e.ghesUrl),
    tlsVerify: reader.bool(e.tlsVerify, true),
    lookbackMinutes: reader.int(e.lookbackMinutes, l.lookbackMinutes.default, l.lookbackMinutes.min, l.lookbackMinutes.max),
    maxPages: reader.int(e.maxPages, l.maxPages.default, l.maxPages.min, l.maxPages.max),
    maxRedeliveries: reader.int(e.maxRedeliveries, l.maxRedeliveries.default, l.maxRedeliveries.min, l.maxRedeliveries.max),
    metricsNamespace: reader.metricsNamespace(),
    logLevel: reader.logLevel(),
  };
  reader.done();
  return config;
}

export { MAX_PER_PAGE };
