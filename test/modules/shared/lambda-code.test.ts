import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { TerraformVariable, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { ModuleFunction } from '../../../modules/shared/lambda-function';
import { makeBundleDir, onlyResource, synth, testKey, validationError } from '../helpers';

Testing.setupJest();

/** One function per code, named fn-0, fn-1, … */
function synthCode(codes: (scope: Construct) => LambdaCode[]) {
  return synth((scope) => {
    const key = testKey(scope);
    codes(scope).forEach((code, i) => new ModuleFunction(scope, `fn-${i}`, { functionName: `gh-ci-fn-${i}`, description: 'd', code, key, statements: [] }));
  });
}

const ASSET_PATH = String.raw`"assets/lambda-bundle-webhook/[0-9A-F]+/webhook\.zip"`;

describe('LambdaCode', () => {
  const bundle = makeBundleDir(['webhook', 'scale-up']);

  describe('fromS3', () => {
    const { json, stack } = synthCode(() => [LambdaCode.fromS3({ bucket: 'artifacts', key: 'lambdas/webhook-abc.zip', objectVersion: '3HL4kqtJlcpXroDTDmJ' })]);

    it('should deploy the pinned object version', () => {
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        s3_bucket: 'artifacts',
        s3_key: 'lambdas/webhook-abc.zip',
        s3_object_version: '3HL4kqtJlcpXroDTDmJ',
      });
    });

    it('should set no filename and no source_code_hash', () => {
      const fn = onlyResource(stack, 'aws_lambda_function').config;
      expect(fn.filename).toBeUndefined();
      expect(fn.source_code_hash).toBeUndefined();
    });

    it('should reject empty bucket, key and version in one error', () => {
      const error = validationError(() => LambdaCode.fromS3({ bucket: '', key: '', objectVersion: '' }));
      expect(error.construct).toBe('LambdaCode.fromS3');
      expect(error.problems).toEqual(['bucket must not be empty', 'key must not be empty', 'objectVersion must not be empty']);
    });
  });

  describe('fromBundle', () => {
    const { json, stack } = synthCode(() => [LambdaCode.fromBundle('webhook', bundle.dir)]);

    it('should point filename at the asset below path.module', () => {
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        filename: expect.stringMatching(new RegExp(String.raw`^\$\{format\("%s/%s", path\.module, ${ASSET_PATH}\)\}$`)),
      });
    });

    it("should set source_code_hash to the base64 of the manifest's sha256", () => {
      const expected = Buffer.from(bundle.sha256.webhook, 'hex').toString('base64');
      expect(json).toHaveResourceWithProperties(LambdaFunction, { source_code_hash: expected });
    });

    it('should set no S3 attributes', () => {
      const fn = onlyResource(stack, 'aws_lambda_function').config;
      expect([fn.s3_bucket, fn.s3_key, fn.s3_object_version]).toEqual([undefined, undefined, undefined]);
    });

    it('should share one asset between the functions that run the same bundle', () => {
      const { stack: two } = synthCode(() => [LambdaCode.fromBundle('webhook', bundle.dir), LambdaCode.fromBundle('webhook', bundle.dir)]);
      const filenames = Object.values(two.resource!.aws_lambda_function).map((f: any) => f.filename);
      expect(filenames).toHaveLength(2);
      expect(filenames[0]).toBe(filenames[1]);
    });

    it('should give each bundle its own hash', () => {
      const { stack: two } = synthCode(() => [LambdaCode.fromBundle('webhook', bundle.dir), LambdaCode.fromBundle('scale-up', bundle.dir)]);
      const hashes = Object.values(two.resource!.aws_lambda_function).map((f: any) => f.source_code_hash);
      expect(new Set(hashes).size).toBe(2);
    });

    it('should say to run `npm run build` when there is no manifest', () => {
      const empty = mkdtempSync(join(tmpdir(), 'no-bundles-'));
      expect(() => synthCode(() => [LambdaCode.fromBundle('webhook', empty)])).toThrow(
        `Lambda bundles not found at ${join(empty, 'manifest.json')}: run \`npm run build\` first (\`npm run synth\` does).`,
      );
    });

    it('should name the bundles it has when the one asked for is missing', () => {
      expect(() => synthCode(() => [LambdaCode.fromBundle('syncer', bundle.dir)])).toThrow(/no bundle named "syncer" in .*manifest\.json; built: webhook, scale-up/);
    });

    it('should fail on a manifest that lists a zip that is not there', () => {
      const dir = mkdtempSync(join(tmpdir(), 'bad-bundles-'));
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ runtime: 'nodejs22.x', lambdas: { webhook: { file: 'webhook.zip', sha256: 'ab', bytes: 1 } } }));
      expect(() => synthCode(() => [LambdaCode.fromBundle('webhook', dir)])).toThrow(/ENOENT.*webhook\.zip/);
    });
  });

  describe('fromBundleOrS3', () => {
    const { json } = synthCode((scope) => {
      const v = (name: string) => new TerraformVariable(scope, name, { type: 'string', nullable: true }).stringValue;
      return [LambdaCode.fromBundleOrS3('webhook', { bucket: v('bucket'), key: v('s3_key'), objectVersion: v('version') }, bundle.dir)];
    });
    const hash = Buffer.from(bundle.sha256.webhook, 'hex').toString('base64');

    it('should use the local bundle when the bucket, key or version is null', () => {
      const partial = String.raw`\(\(var\.bucket == null\) \|\| \(\(var\.s3_key == null\) \|\| \(var\.version == null\)\)\)`;
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        filename: expect.stringMatching(new RegExp(String.raw`^\$\{${partial} \? format\("%s/%s", path\.module, ${ASSET_PATH}\) : null\}$`)),
        source_code_hash: `\${((var.bucket == null) || ((var.s3_key == null) || (var.version == null))) ? "${hash}" : null}`,
      });
    });

    it('should use the S3 object when the bucket, key and version are all set', () => {
      const whole = '((var.bucket == null) || ((var.s3_key == null) || (var.version == null)))';
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        s3_bucket: `\${${whole} ? null : var.bucket}`,
        s3_key: `\${${whole} ? null : var.s3_key}`,
        s3_object_version: `\${${whole} ? null : var.version}`,
      });
    });

    it('should still need the local bundle, since both branches are synthesized', () => {
      const empty = mkdtempSync(join(tmpdir(), 'no-bundles-'));
      expect(() =>
        synthCode((scope) => {
          const bucket = new TerraformVariable(scope, 'bucket', { type: 'string', nullable: true }).stringValue;
          return [LambdaCode.fromBundleOrS3('webhook', { bucket, key: 'k', objectVersion: 'v' }, empty)];
        }),
      ).toThrow(/run `npm run build` first/);
    });
  });
});
