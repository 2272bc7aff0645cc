/**
 * Where a Lambda's code comes from: the local zip that `npm run build` made
 * (dist/lambdas/<name>.zip, shipped as a Terraform asset and referenced from
 * `path.module`), or an S3 object at a given **object version**. The version is
 * part of the function's configuration, so uploading a new version and passing
 * it in redeploys the function; a new object under the same key alone would not.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetType, Fn, Op, ref, TerraformAsset, TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import { validate } from './validation';

/** The attributes of `aws_lambda_function` that say where the code is. */
export interface LambdaCodeConfig {
  /** Path of the local zip, under `path.module`. @default none (the code is in S3) */
  readonly filename?: string;
  /** Base64 sha256 of the local zip, so a changed zip redeploys. @default none (the code is in S3) */
  readonly sourceCodeHash?: string;
  /** Bucket of the zip. @default none (the code is a local zip) */
  readonly s3Bucket?: string;
  /** Key of the zip. @default none (the code is a local zip) */
  readonly s3Key?: string;
  /** Object version of the zip. @default none (the code is a local zip) */
  readonly s3ObjectVersion?: string;
}

/** An S3 object holding a Lambda zip. */
export interface LambdaS3Location {
  /** The bucket (versioning enabled). A token whose value may be null selects the local zip at apply time. */
  readonly bucket: string;
  /** The object key, e.g. `lambdas/webhook/<sha256>.zip` (as `npm run publish-lambdas` writes it). */
  readonly key: string;
  /** The object version to deploy; required, so a new upload is an explicit, reviewable change. */
  readonly objectVersion: string;
}

/** The folder `npm run build` writes to; overridable for tests. */
export const DEFAULT_BUNDLE_DIR = join(__dirname, '..', '..', 'dist', 'lambdas');

/**
 * Where one Lambda's code comes from, for GitHubRunnersProps.lambdaCode: the
 * zip shipped in the package (`fromBundle`), or a zip in S3 at a pinned
 * object version (`fromS3`).
 */
export abstract class LambdaCode {
  /** The zip of `lambdas/<name>/` in `bundleDir`: dist/lambdas of the installed package (`npm run build` makes it in a checkout). */
  static fromBundle(name: string, bundleDir: string = DEFAULT_BUNDLE_DIR): LambdaCode {
    return new BundleCode(name, bundleDir);
  }

  /** An object in S3 at a pinned version. */
  static fromS3(location: LambdaS3Location): LambdaCode {
    return new S3Code(location);
  }

  /**
   * For module inputs that choose at plan time: S3 when `location.bucket`,
   * `key` and `objectVersion` are all not null, otherwise the local bundle. Both branches are synthesized.
   */
  static fromBundleOrS3(name: string, location: LambdaS3Location, bundleDir: string = DEFAULT_BUNDLE_DIR): LambdaCode {
    return new SwitchedCode(new BundleCode(name, bundleDir), location);
  }

  /** The `aws_lambda_function` attributes for this code, in `scope`'s stack. */
  abstract bind(scope: Construct): LambdaCodeConfig;
}

interface BundleManifest {
  readonly lambdas: Record<string, { file: string; sha256: string }>;
}

class BundleCode extends LambdaCode {
  constructor(readonly name: string, private readonly bundleDir: string) {
    super();
  }

  bind(scope: Construct): LambdaCodeConfig {
    const entry = this.manifestEntry();
    const asset = bundleAsset(scope, this.name, join(this.bundleDir, entry.file));
    return {
      // path.module keeps the path valid when the stack is consumed as a child module.
      filename: Fn.format('%s/%s', [ref('path.module'), asset.path]),
      // The sha256 of a deterministic zip, computed once at build time.
      sourceCodeHash: Buffer.from(entry.sha256, 'hex').toString('base64'),
    };
  }

  private manifestEntry(): { file: string; sha256: string } {
    const manifestPath = join(this.bundleDir, 'manifest.json');
    if (!existsSync(manifestPath)) {
      throw new Error(`Lambda bundles not found at ${manifestPath}: run \`npm run build\` first (\`npm run synth\` does).`);
    }
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BundleManifest;
    const entry = manifest.lambdas[this.name];
    if (!entry) {
      throw new Error(`no bundle named "${this.name}" in ${manifestPath}; built: ${Object.keys(manifest.lambdas).join(', ')}`);
    }
    return entry;
  }
}

class S3Code extends LambdaCode {
  constructor(private readonly location: LambdaS3Location) {
    super();
    validate('LambdaCode.fromS3', [
      { ok: location.bucket !== '', message: 'bucket must not be empty' },
      { ok: location.key !== '', message: 'key must not be empty' },
      { ok: location.objectVersion !== '', message: 'objectVersion must not be empty' },
    ]);
  }

  bind(): LambdaCodeConfig {
    return { s3Bucket: this.location.bucket, s3Key: this.location.key, s3ObjectVersion: this.location.objectVersion };
  }
}

class SwitchedCode extends LambdaCode {
  constructor(private readonly local: BundleCode, private readonly location: LambdaS3Location) {
    super();
  }

  bind(scope: Construct): LambdaCodeConfig {
    const local = this.local.bind(scope);
    // S3 only when the whole location is given. A partial one keeps the
    // function valid for the provider, so the module's own precondition (that
    // names the missing inputs) is the error plan shows.
    const isNull = (value: string) => Op.eq(value, Token.nullValue());
    const useLocal = Op.or(isNull(this.location.bucket), Op.or(isNull(this.location.key), isNull(this.location.objectVersion)));
    const pick = (whenLocal: unknown, whenS3: unknown) => Token.asString(Fn.conditional(useLocal, whenLocal, whenS3));
    return {
      filename: pick(local.filename, Token.nullValue()),
      sourceCodeHash: pick(local.sourceCodeHash, Token.nullValue()),
      s3Bucket: pick(Token.nullValue(), this.location.bucket),
      s3Key: pick(Token.nullValue(), this.location.key),
      s3ObjectVersion: pick(Token.nullValue(), this.location.objectVersion),
    };
  }
}

/** One asset per bundle per stack, shared by every function that runs it. */
const assets = new WeakMap<TerraformStack, Map<string, TerraformAsset>>();

function bundleAsset(scope: Construct, name: string, path: string): TerraformAsset {
  const stack = TerraformStack.of(scope);
  let perStack = assets.get(stack);
  if (!perStack) {
    perStack = new Map();
    assets.set(stack, perStack);
  }
  let asset = perStack.get(name);
  if (!asset) {
    asset = new TerraformAsset(stack, `lambda-bundle-${name}`, { path, type: AssetType.FILE });
    perStack.set(name, asset);
  }
  return asset;
}
