/**
 * The syncer's typed errors. Each one ends the invocation with an error, so
 * the function's Errors metric (and its alarm) sees it; the previous object in
 * the bucket stays as it was.
 */

/** The runner release could not be read from GitHub, or is not usable. */
export class ReleaseLookupError extends Error {
  /**
   * @param message what went wrong, naming the release asked for
   * @param status the HTTP status GitHub answered with, when there was one
   */
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ReleaseLookupError';
  }
}

/** The release exists but lacks the tarball of one or more architectures. */
export class MissingAssetsError extends ReleaseLookupError {
  /**
   * @param tag the release's tag, e.g. `v2.329.0`
   * @param missing the asset names that were expected and not found
   */
  constructor(
    readonly tag: string,
    readonly missing: readonly string[],
  ) {
    super(`release ${tag} of actions/runner has no uploaded asset named ${missing.join(', ')}`);
    this.name = 'MissingAssetsError';
  }
}

/** Downloading a runner tarball failed, was cut short, or had the wrong size. */
export class DownloadError extends Error {
  /**
   * @param message what went wrong
   * @param assetName the tarball being downloaded
   * @param status the HTTP status of the download, when it was not a success
   */
  constructor(
    message: string,
    readonly assetName: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DownloadError';
  }
}

/** The tarball downloaded completely, but its SHA-256 differs from the digest GitHub published. */
export class DigestMismatchError extends DownloadError {
  /**
   * @param assetName the tarball
   * @param expected the hex SHA-256 from the asset's `digest`
   * @param actual the hex SHA-256 of the bytes received
   */
  constructor(
    assetName: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${assetName}: SHA-256 of the download is ${actual}, but GitHub published ${expected}`, assetName);
    this.name = 'DigestMismatchError';
  }
}
