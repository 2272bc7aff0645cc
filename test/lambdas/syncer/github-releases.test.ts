import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand } from '@aws-sdk/client-s3';
import { DownloadError, ReleaseLookupError } from '../../../lambdas/syncer/errors';
import { createGitHubReleases } from '../../../lambdas/syncer/github-releases';
import { syncRunnerBinaries } from '../../../lambdas/syncer/syncer';
import { FakeGitHub } from './fake-github';
import { BODY_20_MIB, MiB, freshS3, s3, settings, wire } from './harness';

const X64 = 'actions-runner-linux-x64-2.330.0.tar.gz';

describe('createGitHubReleases', () => {
  let github: FakeGitHub;

  beforeEach(async () => {
    github = new FakeGitHub();
    await github.start();
    freshS3();
  });

  afterEach(async () => {
    await github.stop();
  });

  it('should send the token to the API only, never to the download hosts', async () => {
    github.latestTag = 'v2.330.0';
    github.addRelease('v2.330.0', [{ id: 101, name: X64, body: Buffer.alloc(6 * MiB, 1) }]);
    const run = wire(github, { token: 'ghp_test_token' });

    await syncRunnerBinaries(settings(), run.deps);

    expect(github.requests.find((r) => r.path.endsWith('/latest'))?.authorization).toBe('Bearer ghp_test_token');
    expect(github.assetRequests()).toHaveLength(2);
    expect(github.assetRequests().every((r) => r.authorization === undefined)).toBe(true);
    expect(run.lines.join('\n')).not.toContain('ghp_test_token');
  });

  it('should explain a rate limit and not retry it', async () => {
    github.releaseStatus = 403;
    github.releaseHeaders = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1767225600' };
    const releases = createGitHubReleases({ apiUrl: github.url, retryDelayMs: 1 });

    const error = await releases.getRelease(undefined).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ReleaseLookupError);
    expect((error as Error).message).toBe(
      'GitHub rate-limited the lookup of the latest release of actions/runner until 2026-01-01T00:00:00.000Z (HTTP 403); consider GITHUB_TOKEN_SSM_PARAMETER_NAME',
    );
    expect(github.requests).toHaveLength(1);
  });

  it('should reject an answer that is not a release', async () => {
    github.releaseBody = { message: 'hello' };
    const releases = createGitHubReleases({ apiUrl: github.url });
    await expect(releases.getRelease('2.329.0')).rejects.toThrow(new ReleaseLookupError('GitHub answered the lookup of release v2.329.0 of actions/runner with something that is not a release'));
  });

  it('should turn an unreachable API into ReleaseLookupError after its attempts', async () => {
    const url = github.url;
    await github.stop();
    const releases = createGitHubReleases({ apiUrl: url, retryDelayMs: 1, lookupAttempts: 2 });
    await expect(releases.getRelease(undefined)).rejects.toThrow(/could not reach GitHub to look up the latest release of actions\/runner/);
  });

  it('should refuse a plain-http download URL on another origin', async () => {
    const releases = createGitHubReleases({ apiUrl: github.url });
    await expect(releases.download('http://example.com/x.tar.gz', X64)).rejects.toThrow(DownloadError);
    expect(github.requests).toHaveLength(0);
  });

  it('should fail a download that stalls, and abort the upload', async () => {
    // GIVEN a server that stops sending after 9 MiB (one part is uploaded by then)
    github.latestTag = 'v2.330.0';
    github.addRelease('v2.330.0', [{ id: 101, name: X64, body: BODY_20_MIB }]);
    github.pauseAt(9 * MiB, 10_000);
    const run = wire(github);
    // 2 s: long enough that a busy machine still delivers the first 9 MiB in time, far below the 10 s pause.
    const deps = { ...run.deps, releases: createGitHubReleases({ apiUrl: github.url, idleTimeoutMs: 2_000 }) };

    // WHEN
    const error = await syncRunnerBinaries(settings(), deps).catch((e: unknown) => e);

    // THEN
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/broke off after \d+ bytes: no data for 2000 ms/);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('should stop a download when the run is cancelled (the Lambda deadline), and abort the upload', async () => {
    github.latestTag = 'v2.330.0';
    github.addRelease('v2.330.0', [{ id: 101, name: X64, body: BODY_20_MIB }]);
    github.pauseAt(12 * MiB, 10_000);
    const deadline = new AbortController();
    freshS3(() => deadline.abort());
    const run = wire(github);

    const error = await syncRunnerBinaries(settings(), run.deps, deadline.signal).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/: cancelled$/);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });
});
