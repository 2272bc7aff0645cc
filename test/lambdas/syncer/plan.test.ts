import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { MissingAssetsError, ReleaseLookupError } from '../../../lambdas/syncer/errors';
import { MAX_PART_BYTES, MIN_PART_BYTES, toParts } from '../../../lambdas/syncer/parts';
import { GitHubRelease, isCurrent, parseDigest, planRunnerBinaries, releaseVersion, runnerAssetName, runnerObjectKey } from '../../../lambdas/syncer/plan';

const HEX = 'ab'.repeat(32);

function release(tag: string, assets: Array<Partial<GitHubRelease['assets'][number]> & { name: string }>): GitHubRelease {
  return {
    tag_name: tag,
    assets: assets.map((a, i) => ({ id: 100 + i, state: 'uploaded', size: 10, digest: null, browser_download_url: `https://github.com/d/${a.name}`, ...a })),
  } as unknown as GitHubRelease;
}

describe('runner binary names', () => {
  it('should name assets as GitHub does and keys without a version', () => {
    expect(runnerAssetName('arm64', '2.329.0')).toBe('actions-runner-linux-arm64-2.329.0.tar.gz');
    expect(runnerObjectKey('actions-runner/', 'x64')).toBe('actions-runner/actions-runner-linux-x64.tar.gz');
  });

  it('should name the Windows runner as the release does: a win-x64 zip', () => {
    // actions/runner releases publish actions-runner-win-x64-<version>.zip next to the Linux tarballs.
    expect(runnerAssetName('win-x64', '2.329.0')).toBe('actions-runner-win-x64-2.329.0.zip');
    expect(runnerObjectKey('actions-runner/', 'win-x64')).toBe('actions-runner/actions-runner-win-x64.zip');
  });

  it('should read the version from a release tag', () => {
    expect(releaseVersion('v2.329.0')).toBe('2.329.0');
    expect(() => releaseVersion('v2.329.0-beta')).toThrow(ReleaseLookupError);
  });
});

describe('parseDigest', () => {
  it.each([
    [null, { kind: 'none' }],
    [undefined, { kind: 'none' }],
    [`sha256:${HEX}`, { kind: 'sha256', hex: HEX }],
    [`SHA256:${HEX.toUpperCase()}`, { kind: 'sha256', hex: HEX }],
    ['sha512:abc', { kind: 'unsupported', raw: 'sha512:abc' }],
    ['sha256:short', { kind: 'unsupported', raw: 'sha256:short' }],
  ])('should read %s', (digest, parsed) => {
    expect(parseDigest(digest)).toEqual(parsed);
  });
});

describe('planRunnerBinaries', () => {
  it('should pick each architecture asset in the configured order', () => {
    const plan = planRunnerBinaries(
      release('v2.330.0', [
        { name: 'actions-runner-linux-x64-2.330.0.tar.gz', digest: `sha256:${HEX}`, size: 5 },
        { name: 'actions-runner-linux-arm64-2.330.0.tar.gz' },
        { name: 'actions-runner-osx-x64-2.330.0.tar.gz' },
      ]),
      ['arm64', 'x64'],
      'p/',
    );
    expect(plan).toEqual([
      expect.objectContaining({ arch: 'arm64', assetId: 101, key: 'p/actions-runner-linux-arm64.tar.gz', digest: { kind: 'none' } }),
      expect.objectContaining({ arch: 'x64', assetId: 100, version: '2.330.0', size: 5, digest: { kind: 'sha256', hex: HEX } }),
    ]);
  });

  it('should pick the Windows zip, not a Linux tarball, for win-x64', () => {
    const plan = planRunnerBinaries(
      release('v2.330.0', [
        { name: 'actions-runner-linux-x64-2.330.0.tar.gz' },
        { name: 'actions-runner-win-x64-2.330.0.zip', size: 7 },
        { name: 'actions-runner-win-arm64-2.330.0.zip' },
      ]),
      ['x64', 'win-x64'],
      'p/',
    );
    expect(plan.map((b) => [b.arch, b.assetName, b.key, b.size])).toEqual([
      ['x64', 'actions-runner-linux-x64-2.330.0.tar.gz', 'p/actions-runner-linux-x64.tar.gz', 10],
      ['win-x64', 'actions-runner-win-x64-2.330.0.zip', 'p/actions-runner-win-x64.zip', 7],
    ]);
    expect(() => planRunnerBinaries(release('v2.330.0', [{ name: 'actions-runner-linux-x64-2.330.0.tar.gz' }]), ['win-x64'], '')).toThrow(
      'no uploaded asset named actions-runner-win-x64-2.330.0.zip',
    );
  });

  it('should list every missing, unfinished or empty tarball in one error', () => {
    const call = () =>
      planRunnerBinaries(
        release('v2.330.0', [
          { name: 'actions-runner-linux-x64-2.330.0.tar.gz', state: 'open' },
          { name: 'actions-runner-linux-arm64-2.330.0.tar.gz', size: 0 },
        ]),
        ['x64', 'arm64'],
        '',
      );
    expect(call).toThrow(MissingAssetsError);
    expect(call).toThrow('release v2.330.0 of actions/runner has no uploaded asset named actions-runner-linux-x64-2.330.0.tar.gz, actions-runner-linux-arm64-2.330.0.tar.gz');
  });
});

describe('isCurrent', () => {
  const [binary] = planRunnerBinaries(release('v2.330.0', [{ name: 'actions-runner-linux-x64-2.330.0.tar.gz', size: 42 }]), ['x64'], '');

  it('should hold only for the same version, asset id and size', () => {
    expect(isCurrent(undefined, binary)).toBe(false);
    expect(isCurrent({ metadata: { 'runner-version': '2.330.0', 'asset-id': '100' }, contentLength: 42 }, binary)).toBe(true);
    expect(isCurrent({ metadata: { 'runner-version': '2.330.0', 'asset-id': '100' } }, binary)).toBe(true);
    expect(isCurrent({ metadata: { 'runner-version': '2.329.0', 'asset-id': '100' }, contentLength: 42 }, binary)).toBe(false);
    expect(isCurrent({ metadata: { 'runner-version': '2.330.0', 'asset-id': '7' }, contentLength: 42 }, binary)).toBe(false);
    expect(isCurrent({ metadata: { 'runner-version': '2.330.0', 'asset-id': '100' }, contentLength: 41 }, binary)).toBe(false);
    expect(isCurrent({ metadata: {} }, binary)).toBe(false);
  });
});

describe('toParts', () => {
  async function* from(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
    for (const c of chunks) yield c;
  }

  it('should reject part sizes outside 5–16 MiB', async () => {
    await expect(toParts(from([]), MIN_PART_BYTES - 1).next()).rejects.toThrow(RangeError);
    await expect(toParts(from([]), MAX_PART_BYTES + 1).next()).rejects.toThrow(RangeError);
  });

  it('should yield nothing for an empty stream', async () => {
    const parts: Buffer[] = [];
    for await (const p of toParts(from([new Uint8Array(0)]), MIN_PART_BYTES)) parts.push(p);
    expect(parts).toEqual([]);
  });

  it('should cut any chunking into full parts plus a shorter last part, preserving the bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 3 * 1024 * 1024 }), { maxLength: 6 }), fc.integer({ min: 0, max: 255 }), async (sizes, seed) => {
        const chunks = sizes.map((n, i) => Buffer.alloc(n, (seed + i) % 256));
        const input = Buffer.concat(chunks);
        const parts: Buffer[] = [];
        for await (const p of toParts(from(chunks), MIN_PART_BYTES)) parts.push(p);
        const total = input.length;
        expect(parts.length).toBe(Math.ceil(total / MIN_PART_BYTES));
        parts.slice(0, -1).forEach((p) => expect(p.length).toBe(MIN_PART_BYTES));
        if (parts.length > 0) expect(parts[parts.length - 1].length).toBeGreaterThan(0);
        const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
        expect(digest(Buffer.concat(parts))).toBe(digest(input));
      }),
      { numRuns: 30 },
    );
  });
});
