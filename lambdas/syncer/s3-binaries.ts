/**
 * S3 adapter of the syncer: read an object's metadata, write an object by
 * multipart upload from a stream of parts, tag one version.
 *
 * A multipart upload becomes visible only at CompleteMultipartUpload. Any
 * failure before that (the source, a part, the caller's final check) aborts
 * the upload, so readers keep getting the previous version of the key.
 *
 * Encryption is left to the bucket: its default (SSE-KMS with the module's
 * key) applies, and a bucket policy that insists on it is satisfied without
 * the syncer knowing the key.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CompletedPart,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Logger } from '../shared/logger';
import type { StoredObject } from './plan';

/** Upper bound S3 sets on the number of parts. */
const MAX_PARTS = 10_000;

/** A request to write one object from parts. */
export interface MultipartPutRequest {
  readonly key: string;
  readonly contentType: string;
  /** User metadata, fixed when the upload starts. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The parts, in order; all but the last at least 5 MiB. */
  readonly parts: AsyncIterable<Buffer>;
  /** Runs after the last part is uploaded and before the object is completed; throw to abort instead. */
  readonly beforeComplete?: () => void | Promise<void>;
}

/** What a completed multipart upload produced. */
export interface MultipartPutResult {
  /** The new version of the key (the bucket is versioned). */
  readonly versionId?: string;
  readonly parts: number;
}

/** Where the tarballs are kept. */
export interface BinaryStore {
  /** Metadata and size of the object at `key`, or undefined when there is none. */
  head(key: string): Promise<StoredObject | undefined>;
  /** Write `key` from `request.parts`; aborts the multipart upload on any failure and rethrows it. */
  putMultipart(request: MultipartPutRequest): Promise<MultipartPutResult>;
  /** Replace the tags of one version of `key` (the current one when `versionId` is undefined). */
  tagVersion(key: string, versionId: string | undefined, tags: Readonly<Record<string, string>>): Promise<void>;
}

/** A {@link BinaryStore} on one bucket. */
export function createS3BinaryStore(s3: S3Client, bucket: string, logger: Logger): BinaryStore {
  async function head(key: string): Promise<StoredObject | undefined> {
    try {
      const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { metadata: out.Metadata ?? {}, contentLength: out.ContentLength };
    } catch (error) {
      // A missing key is a 404 only with s3:ListBucket; without it S3 says 403, which we let through.
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async function putMultipart(request: MultipartPutRequest): Promise<MultipartPutResult> {
    const { key } = request;
    const created = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ContentType: request.contentType,
        Metadata: { ...request.metadata },
        // One explicit algorithm for the whole upload: S3 checks every part on arrival.
        ChecksumAlgorithm: 'CRC32',
      }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`CreateMultipartUpload for ${key} returned no UploadId`);

    const completed: CompletedPart[] = [];
    const uploadPart = async (partNumber: number, body: Buffer): Promise<void> => {
      const out = await s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.byteLength, ChecksumAlgorithm: 'CRC32' }),
      );
      completed.push({ PartNumber: partNumber, ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32 });
    };

    // One part uploads while the next one is read: download and upload overlap,
    // and at most two parts are in memory.
    let inFlight: Promise<void> | undefined;
    try {
      let partNumber = 0;
      for await (const body of request.parts) {
        partNumber += 1;
        if (partNumber > MAX_PARTS) throw new Error(`${key}: more than ${MAX_PARTS} parts`);
        if (inFlight) await inFlight;
        inFlight = uploadPart(partNumber, body);
        // Observed by the await above or in the catch below; this only keeps a
        // rejection that lands while the next part is read from being "unhandled".
        inFlight.catch(() => undefined);
      }
      if (inFlight) await inFlight;
      if (completed.length === 0) throw new Error(`${key}: nothing to upload`);
      await request.beforeComplete?.();
      const done = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: [...completed].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0)) },
        }),
      );
      return { versionId: done.VersionId, parts: completed.length };
    } catch (error) {
      // Let a part that is still uploading finish first: S3 may keep a part
      // that lands after the abort.
      await inFlight?.catch(() => undefined);
      try {
        await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
      } catch (abortError) {
        // The bucket's AbortIncompleteMultipartUpload lifecycle rule cleans up after us.
        logger.warn('could not abort multipart upload', { key, error: abortError });
      }
      throw error;
    }
  }

  async function tagVersion(key: string, versionId: string | undefined, tags: Readonly<Record<string, string>>): Promise<void> {
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: bucket,
        Key: key,
        VersionId: versionId,
        Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      }),
    );
  }

  return { head, putMultipart, tagVersion };
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
