/**
 * Wiring for syncer tests: the real GitHub adapter against a FakeGitHub, the
 * real S3 adapter over an aws-sdk-client-mock S3Client, a capturing logger.
 */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  NotFound,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Logger } from '../../../lambdas/shared/logger';
import { createGitHubReleases } from '../../../lambdas/syncer/github-releases';
import { createS3BinaryStore } from '../../../lambdas/syncer/s3-binaries';
import { SyncDependencies, SyncSettings } from '../../../lambdas/syncer/syncer';
import { FakeGitHub } from './fake-github';

export const MiB = 1024 * 1024;
export const BUCKET = 'gh-ci-runner-binaries';

/** One 20 MiB body shared by the tests (random: incompressible, like a tarball). */
export const BODY_20_MIB = randomBytes(20 * MiB);

/** The S3 mock every S3Client in a test file talks to. */
export const s3 = mockClient(S3Client);

/** Reset the S3 mock to a bucket in which nothing exists yet and every write succeeds. */
export function freshS3(onUploadPart: (partNumber: number) => void = () => undefined): void {
  s3.reset();
  s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  s3.on(UploadPartCommand).callsFake((input: { PartNumber?: number }) => {
    onUploadPart(input.PartNumber ?? 0);
    return { ETag: `"etag-${input.PartNumber}"` };
  });
  s3.on(CompleteMultipartUploadCommand).resolves({ VersionId: 'version-2' });
  s3.on(AbortMultipartUploadCommand).resolves({});
  s3.on(PutObjectTaggingCommand).resolves({});
}

/** Settings for one run; `over` replaces fields. */
export function settings(over: Partial<SyncSettings> = {}): SyncSettings {
  return { keyPrefix: 'actions-runner/', architectures: ['x64'], metricsNamespace: 'GitHubRunners', ...over };
}

/** A run's adapters and what it logged. */
export interface Wiring {
  readonly deps: SyncDependencies;
  readonly lines: string[];
  /** Parsed log lines. */
  logs(): Record<string, unknown>[];
  /** The EMF line. */
  metrics(): Record<string, unknown> | undefined;
}

export function wire(github: FakeGitHub, options: { token?: string } = {}): Wiring {
  const lines: string[] = [];
  const logger = new Logger('syncer', {}, (line) => lines.push(line), 'debug');
  const deps: SyncDependencies = {
    releases: createGitHubReleases({ apiUrl: github.url, token: options.token, retryDelayMs: 1, idleTimeoutMs: 5_000 }),
    store: createS3BinaryStore(new S3Client({ region: 'eu-west-1' }), BUCKET, logger),
    logger,
  };
  const logs = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { deps, lines, logs, metrics: () => logs().find((l) => l._aws !== undefined) };
}
