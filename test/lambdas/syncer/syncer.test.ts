import { createHash, randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DigestMismatchError, DownloadError, MissingAssetsError, ReleaseLookupError } from '../../../lambdas/syncer/errors';
import { MAX_PART_BYTES, MIN_PART_BYTES } from '../../../lambdas/syncer/parts';
import { syncRunnerBinaries } from '../../../lambdas/syncer/syncer';
import { FakeGitHub } from './fake-github';
import { BODY_20_MIB, BUCKET, MiB, freshS3, s3, settings, wire } from './harness';

const X64_KEY = 'actions-runner/actions-runner-linux-x64.tar.gz';
const ARM64_KEY = 'actions-runner/actions-runner-linux-arm64.tar.gz';
const SMALL = randomBytes(6 * MiB);

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

describe('syncRunnerBinaries', () => {
  let github: FakeGitHub;

  beforeEach(async () => {
    github = new FakeGitHub();
    await github.start();
    freshS3();
  });

  afterEach(async () => {
    await github.stop();
  });

  describe('when the stored objects already hold the release', () => {
    it('should neither download nor upload', async () => {
      // GIVEN release v2.330.0 and objects tagged with its version and asset ids
      github.latestTag = 'v2.330.0';
      github.addRelease('v2.330.0', [
        { id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: SMALL },
        { id: 102, name: 'actions-runner-linux-arm64-2.330.0.tar.gz', body: SMALL },
      ]);
      s3.on(HeadObjectCommand, { Key: X64_KEY }).resolves({ Metadata: { 'runner-version': '2.330.0', 'asset-id': '101' }, ContentLength: SMALL.length });
      s3.on(HeadObjectCommand, { Key: ARM64_KEY }).resolves({ Metadata: { 'runner-version': '2.330.0', 'asset-id': '102' }, ContentLength: SMALL.length });
      const run = wire(github);

      // WHEN
      const result = await syncRunnerBinaries(settings({ architectures: ['x64', 'arm64'] }), run.deps);

      // THEN
      expect(result.binaries.map((b) => b.action)).toEqual(['up-to-date', 'up-to-date']);
      expect(github.assetRequests()).toEqual([]);
      expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
      expect(s3.commandCalls(UploadPartCommand)).toHaveLength(0);
      expect(s3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input)).toEqual([
        { Bucket: BUCKET, Key: X64_KEY },
        { Bucket: BUCKET, Key: ARM64_KEY },
      ]);
      expect(run.metrics()).toMatchObject({ RunnerBinariesSynced: 0, RunnerBinaryUpToDate: 2 });
    });

    it('should upload again when the asset id differs (asset re-published under the same version)', async () => {
      github.latestTag = 'v2.330.0';
      github.addRelease('v2.330.0', [{ id: 999, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: SMALL }]);
      s3.on(HeadObjectCommand).resolves({ Metadata: { 'runner-version': '2.330.0', 'asset-id': '101' }, ContentLength: SMALL.length });
      const run = wire(github);

      const result = await syncRunnerBinaries(settings(), run.deps);

      expect(result.binaries[0]).toMatchObject({ action: 'uploaded', bytes: SMALL.length });
      expect(s3.commandCalls(CreateMultipartUploadCommand)[0].args[0].input.Metadata).toMatchObject({ 'asset-id': '999' });
    });
  });

  describe('when the release changed', () => {
    it('should stream the tarball into a multipart upload with its metadata, overlapping download and upload', async () => {
      // GIVEN a 20 MiB asset with a published digest, and the previous version in the bucket
      github.latestTag = 'v2.330.0';
      github.addRelease('v2.330.0', [{ id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: BODY_20_MIB }]);
      const sentAtFirstPart: number[] = [];
      freshS3((partNumber) => {
        if (partNumber === 1) {
          sentAtFirstPart.push(github.bytesSent);
          github.resume();
        }
      });
      s3.on(HeadObjectCommand).resolves({ Metadata: { 'runner-version': '2.329.0', 'asset-id': '55' }, ContentLength: 1 });
      // The server holds back the rest after 12 MiB until the first part reaches S3:
      // an implementation that buffered the whole file would stall here until the timeout.
      github.pauseAt(12 * MiB, 5_000);
      const run = wire(github);

      // WHEN
      const result = await syncRunnerBinaries(settings(), run.deps);

      // THEN the upload started while most of the body was still on the server
      expect(github.pauseTimedOut).toBe(false);
      expect(sentAtFirstPart[0]).toBeLessThan(BODY_20_MIB.length);

      // AND the object was written by multipart upload with the release's metadata
      const create = s3.commandCalls(CreateMultipartUploadCommand)[0].args[0].input;
      expect(create).toMatchObject({
        Bucket: BUCKET,
        Key: X64_KEY,
        ContentType: 'application/gzip',
        Metadata: { 'runner-version': '2.330.0', 'asset-id': '101', sha256: sha256(BODY_20_MIB) },
      });
      // Encryption is the bucket's default KMS key: the syncer names none.
      expect(create.ServerSideEncryption).toBeUndefined();
      expect(create.SSEKMSKeyId).toBeUndefined();

      const parts = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
      expect(parts.map((p) => p.PartNumber)).toEqual([1, 2, 3]);
      const bodies = parts.map((p) => p.Body as Buffer);
      for (const body of bodies) expect(body.length).toBeLessThanOrEqual(MAX_PART_BYTES);
      for (const body of bodies.slice(0, -1)) expect(body.length).toBeGreaterThanOrEqual(MIN_PART_BYTES);
      expect(Buffer.concat(bodies).equals(BODY_20_MIB)).toBe(true);
      expect(parts.every((p) => p.UploadId === 'upload-1')).toBe(true);

      const complete = s3.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input;
      expect(complete.MultipartUpload?.Parts?.map((p) => [p.PartNumber, p.ETag])).toEqual([
        [1, '"etag-1"'],
        [2, '"etag-2"'],
        [3, '"etag-3"'],
      ]);
      expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
      expect(s3.commandCalls(PutObjectTaggingCommand)).toHaveLength(0);

      // AND the download followed GitHub's redirect to the CDN
      expect(github.assetRequests().map((r) => r.path)).toEqual(['/actions/runner/releases/download/v2.330.0/actions-runner-linux-x64-2.330.0.tar.gz', '/cdn/101']);

      // AND it was logged and counted
      expect(result.binaries[0]).toMatchObject({ action: 'uploaded', bytes: BODY_20_MIB.length, parts: 3, verified: true, versionId: 'version-2' });
      const synced = run.logs().find((l) => l.message === 'runner binary synced');
      expect(synced).toMatchObject({ version: '2.330.0', arch: 'x64', key: X64_KEY, bytes: BODY_20_MIB.length, parts: 3 });
      expect(typeof synced?.seconds).toBe('number');
      expect(run.metrics()).toMatchObject({ RunnerBinariesSynced: 1, RunnerBinaryUpToDate: 0 });
    });

    it('should tag the new version with the computed sha256 when GitHub published no digest', async () => {
      github.latestTag = 'v2.330.0';
      github.addRelease('v2.330.0', [{ id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: SMALL, digest: null }]);
      const run = wire(github);

      const result = await syncRunnerBinaries(settings(), run.deps);

      expect(s3.commandCalls(CreateMultipartUploadCommand)[0].args[0].input.Metadata).toEqual({ 'runner-version': '2.330.0', 'asset-id': '101' });
      expect(s3.commandCalls(PutObjectTaggingCommand)[0].args[0].input).toEqual({
        Bucket: BUCKET,
        Key: X64_KEY,
        VersionId: 'version-2',
        Tagging: { TagSet: [{ Key: 'sha256', Value: sha256(SMALL) }] },
      });
      expect(result.binaries[0]).toMatchObject({ verified: false, sha256: sha256(SMALL), parts: 1 });
    });
  });

  describe('with a pinned version', () => {
    it('should read the release from the tag endpoint, not latest', async () => {
      github.latestTag = 'v2.330.0';
      github.addRelease('v2.329.0', [{ id: 77, name: 'actions-runner-linux-arm64-2.329.0.tar.gz', body: SMALL }]);
      const run = wire(github);

      await syncRunnerBinaries(settings({ runnerVersion: '2.329.0', architectures: ['arm64'] }), run.deps);

      const apiPaths = github.requests.map((r) => r.path).filter((p) => p.startsWith('/repos/'));
      expect(apiPaths).toEqual(['/repos/actions/runner/releases/tags/v2.329.0']);
      expect(s3.commandCalls(CreateMultipartUploadCommand)[0].args[0].input).toMatchObject({ Key: ARM64_KEY, Metadata: { 'runner-version': '2.329.0', 'asset-id': '77' } });
    });

    it('should throw ReleaseLookupError naming the version when the tag does not exist', async () => {
      const run = wire(github);
      const error = await syncRunnerBinaries(settings({ runnerVersion: '2.1.0' }), run.deps).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReleaseLookupError);
      expect(error).toMatchObject({ status: 404, message: expect.stringContaining('v2.1.0') });
      // 404 is final: no retries.
      expect(github.requests).toHaveLength(1);
      expect(s3.calls()).toHaveLength(0);
    });
  });

  describe('when GitHub fails', () => {
    it('should retry a 5xx release lookup, then throw ReleaseLookupError without touching S3', async () => {
      github.releaseStatus = 500;
      const run = wire(github);

      const error = await syncRunnerBinaries(settings(), run.deps).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ReleaseLookupError);
      expect(error).toMatchObject({ status: 500 });
      expect(github.requests).toHaveLength(3);
      expect(s3.calls()).toHaveLength(0);
      expect(run.metrics()).toMatchObject({ RunnerBinariesSynced: 0, RunnerBinaryUpToDate: 0 });
    });

    it('should throw MissingAssetsError listing every missing tarball before writing anything', async () => {
      github.latestTag = 'v2.330.0';
      github.addRelease('v2.330.0', [{ id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: SMALL }]);
      const run = wire(github);

      const error = await syncRunnerBinaries(settings({ architectures: ['x64', 'arm64'] }), run.deps).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MissingAssetsError);
      expect(error).toBeInstanceOf(ReleaseLookupError);
      expect((error as MissingAssetsError).missing).toEqual(['actions-runner-linux-arm64-2.330.0.tar.gz']);
      expect(s3.calls()).toHaveLength(0);
    });

    it('should abort the multipart upload and throw DownloadError when the download is cut mid-stream', async () => {
      // GIVEN the connection closes after 10 MiB of a 20 MiB body
      github.latestTag = 'v2.330.0';
      github.addRelease('v2.330.0', [{ id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: BODY_20_MIB, cutAfter: 10 * MiB }]);
      const run = wire(github);

      // WHEN
      const error = await syncRunnerBinaries(settings(), run.deps).catch((e: unknown) => e);

      // THEN
      expect(error).toBeInstanceOf(DownloadError);
      expect((error as DownloadError).message).toMatch(/broke off after \d+ bytes/);
      expect(s3.commandCalls(UploadPartCommand).length).toBeLessThanOrEqual(1);
      expect(s3.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: BUCKET, Key: X64_KEY, UploadId: 'upload-1' }]);
      expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
      expect(run.metrics()).toMatchObject({ RunnerBinariesSynced: 0 });
    });

    it('should abort when a chunked download ends cleanly but short', async () => {
      github.latestTag = 'v2.330.0';
      github.addRelease('v2.330.0', [{ id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: SMALL, endAfter: 3 * MiB }]);
      const run = wire(github);

      const error = await syncRunnerBinaries(settings(), run.deps).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(DownloadError);
      expect((error as Error).message).toContain(`received ${3 * MiB} bytes, GitHub lists ${SMALL.length}`);
      expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
      expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    });

    it('should throw DownloadError without starting an upload when the download answers with an error status', async () => {
      github.latestTag = 'v2.330.0';
      github.addRelease('v2.330.0', [{ id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: SMALL, downloadStatus: 503 }]);
      const run = wire(github);

      const error = await syncRunnerBinaries(settings(), run.deps).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(DownloadError);
      expect(error).toMatchObject({ status: 503 });
      expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
    });

    it('should abort, not complete, when the SHA-256 differs from the published digest', async () => {
      github.latestTag = 'v2.330.0';
      const published = 'sha256:' + '0'.repeat(64);
      github.addRelease('v2.330.0', [{ id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: BODY_20_MIB, digest: published }]);
      const run = wire(github);

      const error = await syncRunnerBinaries(settings(), run.deps).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(DigestMismatchError);
      expect(error).toMatchObject({ expected: '0'.repeat(64), actual: sha256(BODY_20_MIB) });
      expect(s3.commandCalls(UploadPartCommand)).toHaveLength(3);
      expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
      expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    });
  });

  describe('when S3 fails', () => {
    it('should abort the upload, stop the download and rethrow the S3 error', async () => {
      // Large enough that socket buffers cannot hide whether the download was cancelled.
      const body = randomBytes(48 * MiB);
      github.latestTag = 'v2.330.0';
      github.addRelease('v2.330.0', [{ id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body, digest: null }]);
      s3.on(UploadPartCommand).rejects(Object.assign(new Error('slow down'), { name: 'SlowDown' }));
      const run = wire(github);

      const error = await syncRunnerBinaries(settings(), run.deps).catch((e: unknown) => e);

      expect(error).toMatchObject({ name: 'SlowDown' });
      expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
      expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
      // No part after the failed one was sent, and the download was cancelled rather than drained.
      expect(s3.commandCalls(UploadPartCommand)).toHaveLength(1);
      expect(github.bytesSent).toBeLessThan(body.length);
    });

    it('should let a HeadObject access error fail the run', async () => {
      github.latestTag = 'v2.330.0';
      github.addRelease('v2.330.0', [{ id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: SMALL }]);
      s3.on(HeadObjectCommand).rejects(Object.assign(new Error('Forbidden'), { name: '403', $metadata: { httpStatusCode: 403 } }));
      const run = wire(github);

      await expect(syncRunnerBinaries(settings(), run.deps)).rejects.toMatchObject({ name: '403' });
      expect(github.assetRequests()).toEqual([]);
    });
  });

  it('should still sync the other architectures when one fails, then throw the failure', async () => {
    github.latestTag = 'v2.330.0';
    github.addRelease('v2.330.0', [
      { id: 101, name: 'actions-runner-linux-x64-2.330.0.tar.gz', body: SMALL, cutAfter: 1 * MiB },
      { id: 102, name: 'actions-runner-linux-arm64-2.330.0.tar.gz', body: SMALL },
    ]);
    const run = wire(github);

    const error = await syncRunnerBinaries(settings({ architectures: ['x64', 'arm64'] }), run.deps).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DownloadError);
    expect(s3.commandCalls(CompleteMultipartUploadCommand).map((c) => c.args[0].input.Key)).toEqual([ARM64_KEY]);
    expect(run.logs().find((l) => l.message === 'runner binary not synced; the previous object is unchanged')).toMatchObject({ arch: 'x64', error: { name: 'DownloadError' } });
    expect(run.metrics()).toMatchObject({ RunnerBinariesSynced: 1, RunnerBinaryUpToDate: 0 });
  });
});
