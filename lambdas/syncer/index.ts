/**
 * Syncer Lambda: on a schedule, copy the actions/runner Linux tarballs into
 * the module's bucket, where runner user data fetches them
 * (`runner_binaries_s3_location = s3://<bucket>/<KEY_PREFIX>actions-runner-linux-<arch>.tar.gz`).
 *
 * The handler loads configuration and adapters once per container, runs
 * `syncRunnerBinaries`, and lets its typed errors fail the invocation so the
 * function's error alarm fires. Downloads are cancelled shortly before the
 * Lambda's own deadline, so a slow GitHub ends in an aborted multipart upload
 * rather than a killed process.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { onceAsync } from '../shared/config';
import { startContext } from '../shared/handler';
import { Logger } from '../shared/logger';
import { ParameterCache } from '../shared/ssm-parameters';
import { SyncerConfig, loadSyncerConfig } from './config';
import { createGitHubReleases } from './github-releases';
import { createS3BinaryStore } from './s3-binaries';
import { SyncDependencies, SyncResult, syncRunnerBinaries } from './syncer';

/** Stop downloading this long before the Lambda's deadline, leaving time to abort the upload and log. */
export const DEADLINE_MARGIN_MS = 15_000;

/** Configuration and adapters, built once per container. */
export interface SyncerContext {
  readonly config: SyncerConfig;
  readonly deps: SyncDependencies;
}

/** The Lambda's answer: a short summary for the console; errors are thrown instead. */
export interface SyncerResponse {
  readonly version: string;
  readonly uploaded: number;
  readonly upToDate: number;
}

/** A handler over `init`, which is called on every invocation and should memoise. */
export function createHandler(init: () => Promise<SyncerContext>): (event: ScheduledEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<SyncerResponse> {
  return async (_event, lambdaContext) => {
    const context: SyncerContext = await startContext('syncer', init);
    const signal = lambdaContext ? AbortSignal.timeout(Math.max(1_000, lambdaContext.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS)) : undefined;
    let result: SyncResult;
    try {
      result = await syncRunnerBinaries(context.config, context.deps, signal);
    } catch (error) {
      context.deps.logger.error('runner binary sync failed', { error });
      throw error;
    }
    return {
      version: result.version,
      uploaded: result.binaries.filter((b) => b.action === 'uploaded').length,
      upToDate: result.binaries.filter((b) => b.action === 'up-to-date').length,
    };
  };
}

/** Build the production context from the environment. */
export async function createDefaultContext(env: NodeJS.ProcessEnv = process.env): Promise<SyncerContext> {
  const config = loadSyncerConfig(env);
  const logger = new Logger('syncer', { bucket: config.bucketName }, undefined, config.logLevel);
  const token = config.githubTokenParameterName
    ? (await new ParameterCache(new SSMClient({})).getOne(config.githubTokenParameterName)).trim()
    : undefined;
  return {
    config,
    deps: {
      releases: createGitHubReleases({ apiUrl: config.githubApiUrl, token }),
      store: createS3BinaryStore(new S3Client({ retryMode: 'adaptive', maxAttempts: 4 }), config.bucketName, logger),
      logger,
    },
  };
}

/** The Lambda entry point. */
export const handler = createHandler(onceAsync(() => createDefaultContext()));
