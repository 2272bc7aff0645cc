/**
 * scripts/publish-lambdas: content-addressed keys, pinned object versions,
 * tfvars named exactly like the Terraform module's variables.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetBucketVersioningCommand, HeadObjectCommand, NotFound, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { AwsStub, mockClient } from 'aws-sdk-client-mock';
import { createZip } from '../../scripts/lib/deterministic-zip';
import { checksumSha256, publishLambdas, readVerifiedBundles, runCli } from '../../scripts/lib/publish';

const ROOT = join(__dirname, '..', '..');
const BUCKET = 'acme-lambda-artifacts';

type S3Mock = AwsStub<any, any, any>;

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'publish-lambdas-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

interface Dist {
  readonly dir: string;
  readonly sha: Record<string, string>;
  readonly zip: Record<string, Buffer>;
}

/** A dist/lambdas folder as `npm run build` writes it, with one small zip per name. */
function makeDist(names: readonly string[] = ['scale-up', 'webhook']): Dist {
  const dir = tempDir();
  const sha: Record<string, string> = {};
  const zip: Record<string, Buffer> = {};
  const lambdas: Record<string, { file: string; sha256: string; bytes: number }> = {};
  for (const name of names) {
    const data = createZip([{ name: 'index.js', data: Buffer.from(`exports.handler = async () => ${JSON.stringify(name)};\n`) }]);
    writeFileSync(join(dir, `${name}.zip`), data);
    zip[name] = data;
    sha[name] = createHash('sha256').update(data).digest('hex');
    lambdas[name] = { file: `${name}.zip`, sha256: sha[name], bytes: data.length };
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ runtime: 'nodejs22.x', lambdas }, null, 2));
  return { dir, sha, zip };
}

function newS3(): { s3: S3Client; mock: S3Mock } {
  const s3 = new S3Client({});
  return { s3, mock: mockClient(s3) };
}

const notFound = () => new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });

/** A versioned bucket holding nothing yet; each upload gets version `v-<n>`. */
function emptyVersionedBucket(mock: S3Mock): void {
  let n = 0;
  mock.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
  mock.on(HeadObjectCommand).rejects(notFound());
  mock.on(PutObjectCommand).callsFake(() => ({ VersionId: `v-${++n}`, ETag: '"e"' }));
}

/** Runs the CLI with captured streams. */
async function cli(argv: string[], distDir: string, s3: S3Client) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { distDir, s3: () => s3, stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

describe('checksumSha256', () => {
  it('should give the base64 of the raw digest, as x-amz-checksum-sha256 expects', () => {
    // The sha256 of the empty string, in hex and in base64.
    expect(checksumSha256('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });
});

describe('readVerifiedBundles', () => {
  it('should tell to run npm run build when there is no manifest', () => {
    const dir = tempDir();
    expect(() => readVerifiedBundles(dir)).toThrow(/manifest\.json: run `npm run build` first/);
  });

  it('should name every zip whose bytes differ from the manifest', () => {
    const dist = makeDist();
    writeFileSync(join(dist.dir, 'webhook.zip'), Buffer.from('tampered'));
    expect(() => readVerifiedBundles(dist.dir)).toThrow(/webhook: .*webhook\.zip has sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
  });

  it('should refuse a manifest entry that points outside the dist folder', () => {
    const dist = makeDist(['webhook']);
    const manifest = JSON.parse(readFileSync(join(dist.dir, 'manifest.json'), 'utf8'));
    manifest.lambdas.webhook.file = '../webhook.zip';
    writeFileSync(join(dist.dir, 'manifest.json'), JSON.stringify(manifest));
    expect(() => readVerifiedBundles(dist.dir)).toThrow(/"file" must be a file name inside/);
  });
});

describe('publishLambdas', () => {
  it('should put the content hash in every key, under <prefix><name>/', async () => {
    const dist = makeDist();
    const { s3, mock } = newS3();
    emptyVersionedBucket(mock);

    const { bundles } = await publishLambdas({ bucket: BUCKET, prefix: 'ci/lambdas/', distDir: dist.dir, s3 });

    expect(bundles.map((b) => b.key)).toEqual([`ci/lambdas/scale-up/${dist.sha['scale-up']}.zip`, `ci/lambdas/webhook/${dist.sha.webhook}.zip`]);
    expect(mock.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.Key)).toEqual(bundles.map((b) => b.key));
  });

  it('should upload a new zip with its SHA-256 checksum and pin the returned version', async () => {
    // GIVEN a versioned bucket without the zip
    const dist = makeDist(['webhook']);
    const { s3, mock } = newS3();
    mock.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    mock.on(HeadObjectCommand).rejects(notFound());
    mock.on(PutObjectCommand).resolves({ VersionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' });

    // WHEN publishing
    const { tfvars, bundles } = await publishLambdas({ bucket: BUCKET, distDir: dist.dir, s3 });

    // THEN S3 gets the bytes with a checksum it verifies, and the tfvars pin the new version
    const put = mock.commandCalls(PutObjectCommand);
    expect(put).toHaveLength(1);
    const input = put[0].args[0].input;
    expect(input).toMatchObject({
      Bucket: BUCKET,
      Key: `lambdas/webhook/${dist.sha.webhook}.zip`,
      ContentType: 'application/zip',
      ChecksumSHA256: Buffer.from(dist.sha.webhook, 'hex').toString('base64'),
      Metadata: { sha256: dist.sha.webhook },
    });
    expect(Buffer.compare(input.Body as Buffer, dist.zip.webhook)).toBe(0);
    expect(bundles[0].action).toBe('uploaded');
    expect(tfvars.webhook_lambda_s3_object_version).toBe('3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY');
  });

  it('should reuse the version of an object that is already there, without uploading', async () => {
    const dist = makeDist(['webhook']);
    const { s3, mock } = newS3();
    mock.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    mock.on(HeadObjectCommand).resolves({
      VersionId: 'v-existing',
      ContentLength: dist.zip.webhook.length,
      Metadata: { sha256: dist.sha.webhook },
      ChecksumSHA256: checksumSha256(dist.sha.webhook),
    });

    const { tfvars, bundles } = await publishLambdas({ bucket: BUCKET, distDir: dist.dir, s3 });

    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(bundles[0].action).toBe('reused');
    expect(tfvars.webhook_lambda_s3_object_version).toBe('v-existing');
  });

  it('should upload again when the existing object predates versioning (version "null")', async () => {
    const dist = makeDist(['webhook']);
    const { s3, mock } = newS3();
    mock.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    mock.on(HeadObjectCommand).resolves({ VersionId: 'null', ContentLength: dist.zip.webhook.length });
    mock.on(PutObjectCommand).resolves({ VersionId: 'v-real' });

    const { tfvars } = await publishLambdas({ bucket: BUCKET, distDir: dist.dir, s3 });

    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(tfvars.webhook_lambda_s3_object_version).toBe('v-real');
  });

  it('should refuse to reuse an object whose recorded sha256 is not the zip', async () => {
    const dist = makeDist(['webhook']);
    const { s3, mock } = newS3();
    mock.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    mock.on(HeadObjectCommand).resolves({ VersionId: 'v-other', Metadata: { sha256: 'f'.repeat(64) } });

    await expect(publishLambdas({ bucket: BUCKET, distDir: dist.dir, s3 })).rejects.toThrow(/exists but is not webhook\.zip .*refusing to reuse it/);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it.each([
    ['Suspended', 'is Suspended'],
    [undefined, 'has never been enabled'],
  ])('should refuse a bucket whose versioning status is %s, before touching any object', async (status, wording) => {
    const dist = makeDist();
    const { s3, mock } = newS3();
    mock.on(GetBucketVersioningCommand).resolves({ Status: status as 'Suspended' | undefined });

    await expect(publishLambdas({ bucket: BUCKET, distDir: dist.dir, s3 })).rejects.toThrow(
      `versioning on s3://${BUCKET} ${wording}; the module pins Lambda code by S3 object version`,
    );
    expect(mock.commandCalls(HeadObjectCommand)).toHaveLength(0);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('should fail when S3 returns no version for an upload', async () => {
    const dist = makeDist(['webhook']);
    const { s3, mock } = newS3();
    mock.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    mock.on(HeadObjectCommand).rejects(notFound());
    mock.on(PutObjectCommand).resolves({ ETag: '"e"' });

    await expect(publishLambdas({ bucket: BUCKET, distDir: dist.dir, s3 })).rejects.toThrow(/S3 returned no object version for s3:\/\/.*webhook/);
  });

  it('should check every zip against the manifest before any S3 call', async () => {
    const dist = makeDist();
    writeFileSync(join(dist.dir, 'webhook.zip'), Buffer.from('not the zip that was built'));
    const { s3, mock } = newS3();
    emptyVersionedBucket(mock);

    await expect(publishLambdas({ bucket: BUCKET, distDir: dist.dir, s3 })).rejects.toThrow(/does not match the zips .*webhook: .*run `npm run build` again/);
    expect(mock.calls()).toHaveLength(0);
  });

  it('should explain a 403 on HeadObject instead of uploading blindly', async () => {
    const dist = makeDist(['webhook']);
    const { s3, mock } = newS3();
    mock.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    mock.on(HeadObjectCommand).rejects(new S3ServiceException({ name: 'Forbidden', $fault: 'client', message: 'Forbidden', $metadata: { httpStatusCode: 403 } }));

    await expect(publishLambdas({ bucket: BUCKET, distDir: dist.dir, s3 })).rejects.toThrow(/access denied on HeadObject .*s3:ListBucket/);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe('publish-lambdas CLI', () => {
  it('should print only the tfvars JSON on stdout, keys sorted, named like the module variables', async () => {
    const dist = makeDist();
    const { s3, mock } = newS3();
    emptyVersionedBucket(mock);

    const { code, stdout, stderr } = await cli(['--bucket', BUCKET], dist.dir, s3);

    expect(code).toBe(0);
    const tfvars = JSON.parse(stdout);
    expect(Object.keys(tfvars)).toEqual([
      'lambda_s3_bucket',
      'scale_up_lambda_s3_key',
      'scale_up_lambda_s3_object_version',
      'webhook_lambda_s3_key',
      'webhook_lambda_s3_object_version',
    ]);
    expect(tfvars).toEqual({
      lambda_s3_bucket: BUCKET,
      scale_up_lambda_s3_key: `lambdas/scale-up/${dist.sha['scale-up']}.zip`,
      scale_up_lambda_s3_object_version: 'v-1',
      webhook_lambda_s3_key: `lambdas/webhook/${dist.sha.webhook}.zip`,
      webhook_lambda_s3_object_version: 'v-2',
    });
    expect(stderr).toMatch(/webhook: uploaded webhook\.zip \(\d+\.\d KiB\) to s3:\/\/acme-lambda-artifacts\/lambdas\/webhook\/[0-9a-f]{64}\.zip, version v-2/);
    expect(stderr).not.toMatch(/AKIA|fake-secret/);
  });

  it('should write the tfvars to --out and keep stdout empty', async () => {
    const dist = makeDist(['webhook']);
    const out = join(dist.dir, 'lambdas.tfvars.json');
    const { s3, mock } = newS3();
    emptyVersionedBucket(mock);

    const { code, stdout } = await cli(['--bucket', BUCKET, '--out', out], dist.dir, s3);

    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ webhook_lambda_s3_object_version: 'v-1' });
  });

  it('should write nothing in a dry run and show null object versions', async () => {
    // GIVEN one zip already published and one new
    const dist = makeDist();
    const out = join(dist.dir, 'lambdas.tfvars.json');
    const { s3, mock } = newS3();
    mock.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    mock.on(HeadObjectCommand).rejects(notFound());
    mock.on(HeadObjectCommand, { Key: `lambdas/webhook/${dist.sha.webhook}.zip` }).resolves({ VersionId: 'v-existing' });

    // WHEN running with --dry-run
    const { code, stdout, stderr } = await cli(['--bucket', BUCKET, '--out', out, '--dry-run'], dist.dir, s3);

    // THEN nothing is uploaded or written, and the preview cannot be applied by mistake
    expect(code).toBe(0);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(existsSync(out)).toBe(false);
    expect(JSON.parse(stdout)).toEqual({
      lambda_s3_bucket: BUCKET,
      scale_up_lambda_s3_key: `lambdas/scale-up/${dist.sha['scale-up']}.zip`,
      scale_up_lambda_s3_object_version: null,
      webhook_lambda_s3_key: `lambdas/webhook/${dist.sha.webhook}.zip`,
      webhook_lambda_s3_object_version: null,
    });
    expect(stderr).toMatch(/scale-up: would upload scale-up\.zip/);
    expect(stderr).toMatch(/webhook: .* already there, would reuse version v-existing/);
  });

  it.each([
    [['--prefix', 'x/'], /--bucket is required/],
    [['--bucket', BUCKET, '--out', 'lambdas.tfvars'], /--out must end in \.json/],
    [['--bucket', BUCKET, '--bukcet', 'x'], /Unknown option '--bukcet'/],
  ])('should exit 1 with a one-line error for bad arguments %j', async (argv, message) => {
    const { s3, mock } = newS3();
    const { code, stdout, stderr } = await cli(argv, makeDist().dir, s3);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(mock.calls()).toHaveLength(0);
  });

  it('should exit 1 with a one-line error when S3 fails', async () => {
    const dist = makeDist();
    const { s3, mock } = newS3();
    mock.on(GetBucketVersioningCommand).rejects(new S3ServiceException({ name: 'NoSuchBucket', $fault: 'client', message: 'The specified bucket\ndoes not exist', $metadata: { httpStatusCode: 404 } }));

    const { code, stdout, stderr } = await cli(['--bucket', BUCKET], dist.dir, s3);

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.split('\n').filter((l) => l.startsWith('publish-lambdas:'))).toEqual([
      `publish-lambdas: reading the versioning of s3://${BUCKET} failed: NoSuchBucket: The specified bucket does not exist`,
    ]);
    expect(stderr.endsWith('does not exist\n')).toBe(true);
  });
});

describe('tfvars and the Terraform module', () => {
  const synthesized = join(ROOT, 'cdktf.out', 'stacks', 'terraform-module', 'cdk.tf.json');
  const manifest = join(ROOT, 'dist', 'lambdas', 'manifest.json');
  // `npm test` synthesizes before jest; under plain jest a missing synth is a failure that says what to run, never a skip.
  beforeAll(() => {
    const missing = [synthesized, manifest].filter((f) => !existsSync(f));
    if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}: run \`npm run synth\` first (npm test does)`);
  });

  it('should produce exactly the S3 variables the synthesized module declares for the built Lambdas', async () => {
    // GIVEN the Lambda names that `npm run build` produced, as small stand-in zips
    // (the real ones may be rebuilt by a concurrent build while this runs)
    const names = Object.keys(JSON.parse(readFileSync(manifest, 'utf8')).lambdas as Record<string, unknown>);
    const dist = makeDist(names);
    const { s3, mock } = newS3();
    emptyVersionedBucket(mock);

    // WHEN publishing them
    const { tfvars } = await publishLambdas({ bucket: BUCKET, distDir: dist.dir, s3 });

    // THEN every tfvars key is a module variable, and every per-Lambda S3 variable of the module is set
    const declared = Object.keys(JSON.parse(readFileSync(synthesized, 'utf8')).variable as Record<string, unknown>);
    const declaredS3 = declared.filter((v) => v === 'lambda_s3_bucket' || /_lambda_s3_(key|object_version)$/.test(v)).sort();
    expect(Object.keys(tfvars)).toEqual(declaredS3);
  });
});
