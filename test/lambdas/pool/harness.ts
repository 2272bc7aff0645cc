/**
 * Wiring for warm-pool tests: real adapters over mocked AWS clients (the
 * stateful fake EC2 and SSM) and the fake GitHub over real HTTP.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createEc2Runners } from '../../../lambdas/shared/aws/ec2-runners';
import { createRunnerConfigStore } from '../../../lambdas/shared/aws/jit-config-store';
import { createGitHubApp } from '../../../lambdas/shared/github/runners';
import { InstallationTokenCache } from '../../../lambdas/shared/github/token-cache';
import { Logger } from '../../../lambdas/shared/logger';
import { loadPoolConfig } from '../../../lambdas/pool/config';
import { parsePoolEvent } from '../../../lambdas/pool/plan';
import { type PoolDependencies, type PoolResult, topUpPool } from '../../../lambdas/pool/pool';
import type { FakeGitHub } from '../shared/fake-github';

export const APP_ID = 4343;
export const INSTALLATION_ID = 88;
export const PREFIX = 'gh-ci';
export const RUNNER_TYPE = 'linux-x64';
export const OTHER_TYPE = 'linux-arm64';
export const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/gh-ci-linux-x64';
export const SCHEDULED_TIME = '2026-03-02T08:00:00Z';

/** One runner type's entry of RUNNER_TYPES_CONFIG. */
export function runnerType(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    labels: ['linux', 'x64'],
    launch_template_id: 'lt-0123456789abcdef0',
    instance_types: ['m7i.large', 'm6i.large'],
    subnet_ids: ['subnet-a', 'subnet-b'],
    instance_target_capacity_type: 'spot',
    runners_maximum_count: 10,
    enable_on_demand_failover_for_errors: ['InsufficientInstanceCapacity'],
    ...overrides,
  };
}

/** RUNNER_TYPES_CONFIG with the tests' two types; `overrides` change the first. */
export function runnerTypesConfig(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    [RUNNER_TYPE]: runnerType(overrides),
    [OTHER_TYPE]: runnerType({ labels: ['linux', 'arm64'], instance_types: ['m7g.large'], instance_target_capacity_type: 'on-demand' }),
  });
}

/** The environment the construct sets. */
export function poolEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PREFIX,
    GITHUB_APP_ID_SSM_PARAMETER_NAME: '/gh-ci/github-app/id',
    GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/gh-ci/github-app/key',
    POOL_RUNNER_OWNER: 'octo',
    JOB_QUEUE_URLS: JSON.stringify({ [RUNNER_TYPE]: QUEUE_URL, [OTHER_TYPE]: `${QUEUE_URL}-arm64` }),
    RUNNER_TYPES_CONFIG: runnerTypesConfig(),
    SSM_CONFIG_PATH: '/gh-ci/runners/config',
    KMS_KEY_ID: 'alias/gh-ci',
    INSTANCE_ARN_PREFIX: 'arn:aws:ec2:eu-west-1:123456789012:instance/',
    METRICS_NAMESPACE: 'GitHubRunners/gh-ci',
    ...overrides,
  };
}

/** The scheduler's input. */
export function poolEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { runnerType: RUNNER_TYPE, size: 3, scheduledTime: SCHEDULED_TIME, ...overrides };
}

/** What a test needs around the handler. */
export interface TestBed {
  readonly gh: FakeGitHub;
  readonly privateKeyPem: string;
  readonly logs: string[];
}

/** Options of {@link makeHandler}. */
export interface HandlerOptions {
  readonly env?: Record<string, string>;
  /** Clock of the run. @default Date.now */
  readonly now?: () => number;
}

/**
 * The pool top-up (which scale-up runs for a pool top-up message, issue #11
 * item 5) over real adapters, built once (one "container"), driven by the
 * scheduler's event as the pool function receives it.
 */
export function makeHandler(bed: TestBed, options: HandlerOptions = {}): (event: unknown) => Promise<PoolResult> {
  const config = loadPoolConfig(poolEnv(options.env));
  const logger = new Logger('pool', {}, (line) => bed.logs.push(line), 'debug');
  const context: { deps: PoolDependencies } = {
    deps: {
      ec2: createEc2Runners(new EC2Client({})),
      github: createGitHubApp({
        appId: APP_ID,
        privateKey: bed.privateKeyPem,
        baseUrl: bed.gh.url,
        logger,
        tokenCache: new InstallationTokenCache(),
        retries: { retryAfterBaseMs: 1 },
      }),
      configStore: createRunnerConfigStore(new SSMClient({}), { ssmConfigPath: config.ssmConfigPath, kmsKeyId: config.kmsKeyId, instanceArnPrefix: config.instanceArnPrefix }),
      logger,
      now: options.now,
    },
  };
  return async (event) => {
    const poolEvent = parsePoolEvent(event, Object.keys(config.runnerTypes));
    try {
      return await topUpPool(poolEvent, config, context.deps);
    } catch (error) {
      logger.error('pool top-up failed', { error, runnerType: poolEvent.runnerType });
      throw error;
    }
  };
}

/** Parsed log lines. */
export function parsedLogs(logs: readonly string[]): Record<string, unknown>[] {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The EMF metrics lines. */
export function metricsLines(logs: readonly string[]): Record<string, unknown>[] {
  return parsedLogs(logs).filter((l) => l._aws !== undefined);
}
