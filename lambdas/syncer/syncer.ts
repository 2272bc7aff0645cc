/**
 * One sync run: make the bucket hold the chosen runner release for every
 * configured architecture.
 *
 * 1. Resolve the release (latest, or the pinned tag) and find its tarballs;
 *    a missing tarball fails the run before anything is written.
 * 2. Per architecture, skip the download when the object at the stable key
 *    already carries this release's version and asset id.
 * 3. Otherwise stream the tarball from GitHub into a multipart upload,
 *    hashing it on the way, and complete the upload only when the size and
 *    (when GitHub published one) the SHA-256 digest match.
 *
 * Architectures are handled one after the other and independently: a failure
 * of one is logged and the next still runs; the run then throws the first
 * failure, typed, so the invocation errors.
 */
import { createHash } from 'node:crypto';
import { Logger } from '../shared/logger';
import { DigestMismatchError, DownloadError, ReleaseLookupError } from './errors';
import type { RunnerReleaseSource } from './github-releases';
import { DEFAULT_PART_BYTES, toParts } from './parts';
import { METADATA, RunnerArchitecture, RunnerBinary, isCurrent, planRunnerBinaries, releaseVersion } from './plan';
import type { BinaryStore } from './s3-binaries';

/** Content type of every object written. */
export const TARBALL_CONTENT_TYPE = 'application/gzip';
/** Content type of the Windows runner zip. */
export const ZIP_CONTENT_TYPE = 'application/zip';

/** The settings a run needs (a subset of SyncerConfig). */
export interface SyncSettings {
  readonly keyPrefix: string;
  readonly architectures: readonly RunnerArchitecture[];
  /** Pinned version; undefined means the latest release. */
  readonly runnerVersion?: string;
  readonly metricsNamespace: string;
  /** Multipart part size in bytes, 5–16 MiB. @default 8 MiB */
  readonly partBytes?: number;
}

/** The adapters a run uses. */
export interface SyncDependencies {
  readonly releases: RunnerReleaseSource;
  readonly store: BinaryStore;
  readonly logger: Logger;
  /** Milliseconds clock for durations. @default Date.now */
  readonly now?: () => number;
}

/** What happened to one architecture. */
export type BinaryOutcome =
  | { readonly arch: RunnerArchitecture; readonly key: string; readonly action: 'up-to-date' }
  | {
      readonly arch: RunnerArchitecture;
      readonly key: string;
      readonly action: 'uploaded';
      readonly bytes: number;
      readonly seconds: number;
      readonly parts: number;
      readonly sha256: string;
      /** Whether the SHA-256 was checked against a digest GitHub published. */
      readonly verified: boolean;
      readonly versionId?: string;
    };

/** The result of a run in which every architecture succeeded. */
export interface SyncResult {
  readonly version: string;
  readonly binaries: readonly BinaryOutcome[];
}

/**
 * Run one sync. Throws ReleaseLookupError (or its MissingAssetsError) when the
 * release cannot be used, and otherwise the first per-architecture failure
 * (DownloadError, DigestMismatchError, or the S3 error) after trying them all.
 * `signal` cancels downloads still running, e.g. shortly before the Lambda's deadline.
 */
export async function syncRunnerBinaries(settings: SyncSettings, deps: SyncDependencies, signal?: AbortSignal): Promise<SyncResult> {
  const now = deps.now ?? Date.now;
  let uploaded = 0;
  let upToDate = 0;
  try {
    const release = await deps.releases.getRelease(settings.runnerVersion, signal);
    const version = releaseVersion(release.tag_name);
    if (settings.runnerVersion !== undefined && version !== settings.runnerVersion) {
      throw new ReleaseLookupError(`asked GitHub for runner ${settings.runnerVersion} and got release ${release.tag_name}`);
    }
    const binaries = planRunnerBinaries(release, settings.architectures, settings.keyPrefix);
    deps.logger.info('runner release resolved', { version, pinned: settings.runnerVersion !== undefined, architectures: settings.architectures });

    const outcomes: BinaryOutcome[] = [];
    const failures: unknown[] = [];
    for (const binary of binaries) {
      const log = deps.logger.withKeys({ version: binary.version, arch: binary.arch, key: binary.key });
      try {
        const outcome = await syncBinary(binary, settings, deps, log, now, signal);
        outcomes.push(outcome);
        if (outcome.action === 'uploaded') uploaded += 1;
        else upToDate += 1;
      } catch (error) {
        log.error('runner binary not synced; the previous object is unchanged', { error });
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
    return { version, binaries: outcomes };
  } finally {
    deps.logger.metrics(
      settings.metricsNamespace,
      {},
      {
        RunnerBinariesSynced: { value: uploaded, unit: 'Count' },
        RunnerBinaryUpToDate: { value: upToDate, unit: 'Count' },
      },
    );
  }
}

async function syncBinary(
  binary: RunnerBinary,
  settings: SyncSettings,
  deps: SyncDependencies,
  log: Logger,
  now: () => number,
  signal: AbortSignal | undefined,
): Promise<BinaryOutcome> {
  const stored = await deps.store.head(binary.key);
  if (isCurrent(stored, binary)) {
    log.info('runner binary up to date', { assetId: binary.assetId });
    return { arch: binary.arch, key: binary.key, action: 'up-to-date' };
  }
  log.info('syncing runner binary', {
    assetId: binary.assetId,
    size: binary.size,
    storedVersion: stored?.metadata[METADATA.runnerVersion],
    storedAssetId: stored?.metadata[METADATA.assetId],
  });
  if (binary.digest.kind === 'unsupported') log.warn('GitHub published a digest the syncer cannot check; uploading unverified', { digest: binary.digest.raw });
  const expected = binary.digest.kind === 'sha256' ? binary.digest.hex : undefined;

  const started = now();
  const download = await deps.releases.download(binary.downloadUrl, binary.assetName, signal);
  try {
    if (download.contentLength !== undefined && download.contentLength !== binary.size) {
      throw new DownloadError(`${binary.assetName}: the download is ${download.contentLength} bytes, GitHub lists ${binary.size}`, binary.assetName);
    }
    const hash = createHash('sha256');
    let bytes = 0;
    let sha256 = '';
    const counted = observe(download.chunks, (chunk) => {
      hash.update(chunk);
      bytes += chunk.byteLength;
    });
    const result = await deps.store.putMultipart({
      key: binary.key,
      contentType: binary.assetName.endsWith('.zip') ? ZIP_CONTENT_TYPE : TARBALL_CONTENT_TYPE,
      metadata: {
        [METADATA.runnerVersion]: binary.version,
        [METADATA.assetId]: String(binary.assetId),
        // Known before the first byte only when GitHub published it; it is
        // checked below before the object becomes visible.
        ...(expected ? { [METADATA.sha256]: expected } : {}),
      },
      parts: toParts(counted, settings.partBytes ?? DEFAULT_PART_BYTES),
      beforeComplete: () => {
        if (bytes !== binary.size) throw new DownloadError(`${binary.assetName}: received ${bytes} bytes, GitHub lists ${binary.size}`, binary.assetName);
        sha256 = hash.digest('hex');
        if (expected !== undefined && sha256 !== expected) throw new DigestMismatchError(binary.assetName, expected, sha256);
      },
    });
    if (expected === undefined) {
      // Metadata is fixed when the upload starts, before the hash exists; the
      // hash goes on the new version as a tag instead (tags do not create versions).
      try {
        await deps.store.tagVersion(binary.key, result.versionId, { [METADATA.sha256]: sha256 });
      } catch (error) {
        log.warn('uploaded, but could not tag the new version with its sha256', { versionId: result.versionId, error });
      }
    }
    const seconds = (now() - started) / 1000;
    log.info('runner binary synced', { assetId: binary.assetId, bytes, seconds, parts: result.parts, sha256, verified: expected !== undefined, versionId: result.versionId });
    return { arch: binary.arch, key: binary.key, action: 'uploaded', bytes, seconds, parts: result.parts, sha256, verified: expected !== undefined, versionId: result.versionId };
  } finally {
    download.cancel();
  }
}

async function* observe(chunks: AsyncIterable<Uint8Array>, onChunk: (chunk: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    onChunk(chunk);
    yield chunk;
  }
}
