/**
 * Pure decisions of the syncer: which asset of a release serves which
 * architecture, where it lives in the bucket, and whether the object already
 * there is current. No I/O.
 */
import type { components } from '@octokit/openapi-types';
import { MissingAssetsError, ReleaseLookupError } from './errors';

/** A release of actions/runner as the REST API returns it. */
export type GitHubRelease = components['schemas']['release'];
/** One asset of a {@link GitHubRelease}. */
export type GitHubReleaseAsset = components['schemas']['release-asset'];

/**
 * The runner platforms the syncer keeps, in GitHub's spelling: the Linux
 * tarballs by CPU architecture (`x64`, `arm64`, the names the ARCHITECTURES
 * setting has always had) and the Windows zip (`win-x64`, synced when a
 * runner type has `runner_os = "windows"`).
 */
export type RunnerArchitecture = 'x64' | 'arm64' | 'win-x64';

/** Every platform the syncer knows. */
export const RUNNER_ARCHITECTURES: readonly RunnerArchitecture[] = ['x64', 'arm64', 'win-x64'];

/** The platforms synced when ARCHITECTURES is not set: the Linux ones. */
export const DEFAULT_RUNNER_ARCHITECTURES: readonly RunnerArchitecture[] = ['x64', 'arm64'];

/** GitHub's asset stem and archive type of a platform: `linux-x64` + `tar.gz`, `win-x64` + `zip`. */
function assetParts(arch: RunnerArchitecture): { readonly platform: string; readonly extension: string } {
  return arch === 'win-x64' ? { platform: 'win-x64', extension: 'zip' } : { platform: `linux-${arch}`, extension: 'tar.gz' };
}

/** User-metadata keys on each object (S3 returns them lower-cased, as written here). */
export const METADATA = {
  runnerVersion: 'runner-version',
  assetId: 'asset-id',
  sha256: 'sha256',
} as const;

const VERSION = /^\d+\.\d+\.\d+$/;
const SHA256_DIGEST = /^sha256:([0-9a-f]{64})$/i;

/** True when `value` looks like a runner version such as `2.329.0`. */
export function isRunnerVersion(value: string): boolean {
  return VERSION.test(value);
}

/** The asset name GitHub uses, e.g. `actions-runner-linux-x64-2.329.0.tar.gz` or `actions-runner-win-x64-2.329.0.zip`. */
export function runnerAssetName(arch: RunnerArchitecture, version: string): string {
  const { platform, extension } = assetParts(arch);
  return `actions-runner-${platform}-${version}.${extension}`;
}

/**
 * The stable object key user data points at, e.g.
 * `actions-runner/actions-runner-linux-x64.tar.gz` (Windows:
 * `actions-runner/actions-runner-win-x64.zip`). It carries no version: the
 * bucket is versioned, and each sync writes a new version of the same key.
 */
export function runnerObjectKey(keyPrefix: string, arch: RunnerArchitecture): string {
  const { platform, extension } = assetParts(arch);
  return `${keyPrefix}actions-runner-${platform}.${extension}`;
}

/** The version in a release tag (`v2.329.0` → `2.329.0`); throws ReleaseLookupError for anything else. */
export function releaseVersion(tag: string): string {
  const version = tag.startsWith('v') ? tag.slice(1) : tag;
  if (!isRunnerVersion(version)) throw new ReleaseLookupError(`release tag "${tag}" of actions/runner is not a version like v2.329.0`);
  return version;
}

/** What a digest field says, in the terms the syncer can act on. */
export type ParsedDigest =
  | { readonly kind: 'sha256'; readonly hex: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'unsupported'; readonly raw: string };

/** Interpret an asset's `digest` (`"sha256:<hex>"` on current API versions; null or absent on older assets). */
export function parseDigest(digest: string | null | undefined): ParsedDigest {
  if (digest === null || digest === undefined || digest === '') return { kind: 'none' };
  const match = SHA256_DIGEST.exec(digest);
  return match ? { kind: 'sha256', hex: match[1].toLowerCase() } : { kind: 'unsupported', raw: digest };
}

/** One tarball to keep in the bucket. */
export interface RunnerBinary {
  readonly arch: RunnerArchitecture;
  /** Runner version, without the `v`. */
  readonly version: string;
  /** Object key in the bucket. */
  readonly key: string;
  /** GitHub's asset id; a re-uploaded asset gets a new one. */
  readonly assetId: number;
  readonly assetName: string;
  /** Where the bytes are; GitHub answers with a redirect to its CDN. */
  readonly downloadUrl: string;
  /** Bytes, as GitHub reports them. */
  readonly size: number;
  /** The asset's digest as GitHub published it. */
  readonly digest: ParsedDigest;
}

/**
 * The binaries to keep for `architectures`, in that order. Throws
 * MissingAssetsError naming every tarball that is absent, not yet uploaded
 * (`state: "open"`) or empty.
 */
export function planRunnerBinaries(release: GitHubRelease, architectures: readonly RunnerArchitecture[], keyPrefix: string): RunnerBinary[] {
  const version = releaseVersion(release.tag_name);
  const binaries: RunnerBinary[] = [];
  const missing: string[] = [];
  for (const arch of architectures) {
    const assetName = runnerAssetName(arch, version);
    const asset = release.assets.find((a) => a.name === assetName && a.state === 'uploaded' && a.size > 0);
    if (!asset) {
      missing.push(assetName);
      continue;
    }
    binaries.push({
      arch,
      version,
      key: runnerObjectKey(keyPrefix, arch),
      assetId: asset.id,
      assetName,
      downloadUrl: asset.browser_download_url,
      size: asset.size,
      digest: parseDigest(asset.digest),
    });
  }
  if (missing.length > 0) throw new MissingAssetsError(release.tag_name, missing);
  return binaries;
}

/** What HeadObject tells us about the object already at a binary's key. */
export interface StoredObject {
  /** User metadata, keys lower-case. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly contentLength?: number;
}

/**
 * True when `stored` already holds `binary`: same runner version, same asset
 * id and, when S3 reported it, the same size. A missing object is never current.
 */
export function isCurrent(stored: StoredObject | undefined, binary: RunnerBinary): boolean {
  if (!stored) return false;
  return (
    stored.metadata[METADATA.runnerVersion] === binary.version &&
    stored.metadata[METADATA.assetId] === String(binary.assetId) &&
    (stored.contentLength === undefined || stored.contentLength === binary.size)
  );
}
