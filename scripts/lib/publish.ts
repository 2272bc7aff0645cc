/**
 * Publishes the Lambda zips that `npm run build` made to a versioned S3 bucket
 * and produces the tfvars that point the Terraform module at them:
 * `lambda_s3_bucket` plus `<name>_lambda_s3_key` / `<name>_lambda_s3_object_version`
 * for every bundle (with `-` in the bundle name written as `_`).
 *
 * Keys are content-addressed (`<prefix><name>/<sha256>.zip`), so publishing
 * the same build twice reuses the object version it already has. The object
 * version is what redeploys a function, which is why the bucket must keep
 * versions.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { GetBucketVersioningCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Manifest } from './lambda-bundles';

/** A failure the CLI reports as one line, without a stack trace. */
export class PublishError extends Error {
  override readonly name = 'PublishError';
}

/** A zip from the manifest whose bytes were checked against the recorded sha256. */
export interface VerifiedBundle {
  /** The bundle name: the `lambdas/<name>/` folder, e.g. `scale-up`. */
  readonly name: string;
  readonly path: string;
  /** Lower-case hex, as in the manifest. */
  readonly sha256: string;
  readonly body: Buffer;
}

export type PublishAction = 'uploaded' | 'reused' | 'would-upload' | 'would-reuse';

export interface PublishedBundle {
  readonly name: string;
  readonly key: string;
  readonly action: PublishAction;
  /** The S3 object version to deploy; null in a dry run. */
  readonly versionId: string | null;
}

/** The tfvars object, keys sorted. Object versions are null only in a dry run. */
export type Tfvars = Record<string, string | null>;

export interface PublishOptions {
  readonly bucket: string;
  /** Prepended verbatim to `<name>/<sha256>.zip`. @default 'lambdas/' */
  readonly prefix?: string;
  /** The folder holding manifest.json and the zips. */
  readonly distDir: string;
  /** Read from S3 (GetBucketVersioning, HeadObject) but write nothing. @default false */
  readonly dryRun?: boolean;
  readonly s3: S3Client;
  /** Where progress lines go. @default no output */
  readonly log?: (line: string) => void;
}

export interface PublishResult {
  readonly bundles: PublishedBundle[];
  readonly tfvars: Tfvars;
}

export const DEFAULT_PREFIX = 'lambdas/';
const BUNDLE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** `scale-up` → `scale_up`: the stem of the module's per-Lambda variables. */
export function variableStem(name: string): string {
  return name.replace(/-/g, '_');
}

export function objectKey(prefix: string, name: string, sha256: string): string {
  return `${prefix}${name}/${sha256}.zip`;
}

/** S3's `x-amz-checksum-sha256` is the base64 of the raw digest. */
export function checksumSha256(sha256Hex: string): string {
  return Buffer.from(sha256Hex, 'hex').toString('base64');
}

/**
 * Reads dist/lambdas/manifest.json and checks every zip against its recorded
 * sha256, so nothing is uploaded unless the whole build is consistent.
 */
export function readVerifiedBundles(distDir: string): VerifiedBundle[] {
  const manifestPath = join(distDir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new PublishError(`no Lambda bundles at ${manifestPath}: run \`npm run build\` first`);
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch (err) {
    throw new PublishError(`${manifestPath} is not valid JSON (${oneLine(err)}): run \`npm run build\` again`);
  }
  const entries = manifest && typeof manifest.lambdas === 'object' && manifest.lambdas !== null ? Object.entries(manifest.lambdas) : [];
  if (entries.length === 0) throw new PublishError(`${manifestPath} lists no Lambdas: run \`npm run build\` again`);

  const problems: string[] = [];
  const stems = new Map<string, string>();
  const bundles: VerifiedBundle[] = [];
  for (const [name, entry] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!BUNDLE_NAME.test(name)) {
      problems.push(`bundle name "${name}" cannot become a Terraform variable name`);
      continue;
    }
    const stem = variableStem(name);
    const clash = stems.get(stem);
    if (clash) problems.push(`bundles "${clash}" and "${name}" would share the variables ${stem}_lambda_s3_*`);
    stems.set(stem, name);
    const file = entry?.file;
    const expected = entry?.sha256;
    if (typeof file !== 'string' || basename(file) !== file || file === '' || file === '.' || file === '..') {
      problems.push(`${name}: "file" must be a file name inside ${distDir}, got ${JSON.stringify(file)}`);
      continue;
    }
    if (typeof expected !== 'string' || !SHA256_HEX.test(expected)) {
      problems.push(`${name}: "sha256" must be 64 lower-case hex digits, got ${JSON.stringify(expected)}`);
      continue;
    }
    const path = join(distDir, file);
    if (!existsSync(path)) {
      problems.push(`${name}: ${path} is missing`);
      continue;
    }
    const body = readFileSync(path);
    const actual = createHash('sha256').update(body).digest('hex');
    if (actual !== expected) {
      problems.push(`${name}: ${path} has sha256 ${actual}, the manifest says ${expected}`);
      continue;
    }
    bundles.push({ name, path, sha256: expected, body });
  }
  if (problems.length > 0) {
    throw new PublishError(`${manifestPath} does not match the zips (${problems.join('; ')}): run \`npm run build\` again`);
  }
  return bundles;
}

/** Refuses a bucket that does not keep versions: the object version is what Terraform pins. */
export async function assertVersioningEnabled(s3: S3Client, bucket: string): Promise<void> {
  const res = await callS3(`reading the versioning of s3://${bucket}`, () => s3.send(new GetBucketVersioningCommand({ Bucket: bucket })));
  if (res.Status !== 'Enabled') {
    const status = res.Status ? `is ${res.Status}` : 'has never been enabled';
    throw new PublishError(
      `versioning on s3://${bucket} ${status}; the module pins Lambda code by S3 object version, so enable it first ` +
        `(aws s3api put-bucket-versioning --bucket ${bucket} --versioning-configuration Status=Enabled)`,
    );
  }
}

interface ExistingObject {
  /** A real version id, or null when the object predates versioning (version "null"). */
  readonly versionId: string | null;
}

/** HeadObject on the content-addressed key; null when there is no current object. */
async function findExisting(s3: S3Client, bucket: string, bundle: VerifiedBundle, key: string): Promise<ExistingObject | null> {
  let head;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
  } catch (err) {
    if (isNotFound(err)) return null;
    if (httpStatus(err) === 403) {
      throw new PublishError(
        `access denied on HeadObject s3://${bucket}/${key}; the caller needs s3:GetObject, and s3:ListBucket so that a missing object reads as 404`,
      );
    }
    throw new PublishError(`checking s3://${bucket}/${key} failed: ${oneLine(err)}`);
  }
  // The key names the content, but anyone with write access could have put other bytes there.
  const wanted = { hex: bundle.sha256, base64: checksumSha256(bundle.sha256) };
  const recorded = head.Metadata?.sha256;
  const checksum = head.ChecksumSHA256;
  const mismatch =
    (recorded !== undefined && recorded !== wanted.hex) ||
    (checksum !== undefined && !checksum.includes('-') && checksum !== wanted.base64) ||
    (head.ContentLength !== undefined && head.ContentLength !== bundle.body.length);
  if (mismatch) {
    throw new PublishError(
      `s3://${bucket}/${key} exists but is not ${basename(bundle.path)} (sha256 ${bundle.sha256}); refusing to reuse it: delete that object or publish under another --prefix`,
    );
  }
  const versionId = head.VersionId && head.VersionId !== 'null' ? head.VersionId : null;
  return { versionId };
}

async function upload(s3: S3Client, bucket: string, bundle: VerifiedBundle, key: string): Promise<string> {
  const res = await callS3(`uploading s3://${bucket}/${key}`, () =>
    s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: bundle.body,
        ContentType: 'application/zip',
        // S3 recomputes this and rejects the upload if the bytes it received differ.
        ChecksumSHA256: checksumSha256(bundle.sha256),
        Metadata: { sha256: bundle.sha256 },
      }),
    ),
  );
  if (!res.VersionId || res.VersionId === 'null') {
    throw new PublishError(`S3 returned no object version for s3://${bucket}/${key}: was versioning on s3://${bucket} suspended meanwhile?`);
  }
  return res.VersionId;
}

/** The module's inputs for these bundles, keys sorted. */
export function toTfvars(bucket: string, bundles: readonly PublishedBundle[]): Tfvars {
  const vars: Tfvars = { lambda_s3_bucket: bucket };
  for (const b of bundles) {
    const stem = variableStem(b.name);
    vars[`${stem}_lambda_s3_key`] = b.key;
    vars[`${stem}_lambda_s3_object_version`] = b.versionId;
  }
  return Object.fromEntries(Object.entries(vars).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function renderTfvars(tfvars: Tfvars): string {
  return JSON.stringify(tfvars, null, 2) + '\n';
}

export async function publishLambdas(options: PublishOptions): Promise<PublishResult> {
  const { bucket, distDir, s3 } = options;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const dryRun = options.dryRun ?? false;
  const log = options.log ?? (() => undefined);
  validateTarget(bucket, prefix);

  const bundles = readVerifiedBundles(distDir);
  log(`verified ${bundles.length} zip(s) against ${join(distDir, 'manifest.json')}`);
  await assertVersioningEnabled(s3, bucket);
  log(`s3://${bucket} has versioning enabled${dryRun ? ' (dry run: nothing will be written)' : ''}`);

  const published: PublishedBundle[] = [];
  for (const bundle of bundles) {
    const key = objectKey(prefix, bundle.name, bundle.sha256);
    const where = `s3://${bucket}/${key}`;
    const size = `${(bundle.body.length / 1024).toFixed(1)} KiB`;
    const existing = await findExisting(s3, bucket, bundle, key);
    if (existing?.versionId) {
      published.push({ name: bundle.name, key, action: dryRun ? 'would-reuse' : 'reused', versionId: dryRun ? null : existing.versionId });
      log(`${bundle.name}: ${where} already there, ${dryRun ? 'would reuse' : 'reusing'} version ${existing.versionId}`);
      continue;
    }
    const why = existing ? ' (the object there predates versioning)' : '';
    if (dryRun) {
      published.push({ name: bundle.name, key, action: 'would-upload', versionId: null });
      log(`${bundle.name}: would upload ${basename(bundle.path)} (${size}) to ${where}${why}`);
      continue;
    }
    const versionId = await upload(s3, bucket, bundle, key);
    published.push({ name: bundle.name, key, action: 'uploaded', versionId });
    log(`${bundle.name}: uploaded ${basename(bundle.path)} (${size}) to ${where}${why}, version ${versionId}`);
  }
  return { bundles: published, tfvars: toTfvars(bucket, published) };
}

function validateTarget(bucket: string, prefix: string): void {
  const problems = [
    { ok: bucket.trim() !== '', message: '--bucket must not be empty' },
    { ok: !bucket.includes('/') && !bucket.startsWith('s3:'), message: `--bucket takes a bucket name, not a URL or path, got "${bucket}"` },
    { ok: !prefix.startsWith('/'), message: `--prefix must not start with "/", got "${prefix}"` },
  ].filter((r) => !r.ok);
  if (problems.length > 0) throw new PublishError(problems.map((p) => p.message).join('; '));
}

// ---------------------------------------------------------------------------
// The command line.

export interface CliOptions {
  readonly bucket: string;
  readonly prefix: string;
  readonly out?: string;
  readonly dryRun: boolean;
}

/** How the command is run: in a checkout, or from the installed package (scripts/bin/publish-lambdas.ts). */
export const CHECKOUT_COMMAND = 'npm run -s publish-lambdas --';

export function usage(command: string = CHECKOUT_COMMAND): string {
  return `usage: ${command} --bucket <name> [--prefix lambdas/] [--out lambdas.tfvars.json] [--dry-run]`;
}

export const USAGE = usage();

/** Returns null for --help. */
export function parseCliArgs(argv: readonly string[], command: string = CHECKOUT_COMMAND): CliOptions | null {
  const USAGE = usage(command);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        bucket: { type: 'string' },
        prefix: { type: 'string', default: DEFAULT_PREFIX },
        out: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new PublishError(`${oneLine(err)}; ${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) return null;
  if (v.bucket === undefined) throw new PublishError(`--bucket is required; ${USAGE}`);
  // terraform reads a -var-file as JSON only when its name ends in .json.
  if (v.out !== undefined && !v.out.endsWith('.json')) {
    throw new PublishError(`--out must end in .json so that terraform -var-file reads it as JSON, got "${v.out}"`);
  }
  return { bucket: v.bucket, prefix: v.prefix ?? DEFAULT_PREFIX, out: v.out, dryRun: v['dry-run'] ?? false };
}

export interface CliDeps {
  readonly distDir: string;
  /** Built lazily so that argument errors need no AWS configuration. */
  readonly s3: () => S3Client;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** How the user ran it, for the usage line. @default CHECKOUT_COMMAND */
  readonly command?: string;
}

/** Runs the CLI and returns its exit code. Only the tfvars go to stdout. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const progress = (line: string) => deps.stderr(`${line}\n`);
  try {
    const cli = parseCliArgs(argv, deps.command);
    if (!cli) {
      deps.stdout(`${usage(deps.command)}\n`);
      return 0;
    }
    const result = await publishLambdas({ bucket: cli.bucket, prefix: cli.prefix, distDir: deps.distDir, dryRun: cli.dryRun, s3: deps.s3(), log: progress });
    const json = renderTfvars(result.tfvars);
    if (cli.dryRun) {
      if (cli.out) progress(`dry run: not writing ${cli.out}; the tfvars it would hold (object versions unknown until upload):`);
      deps.stdout(json);
    } else if (cli.out) {
      writeAtomically(cli.out, json);
      progress(`wrote ${cli.out}: pass it to terraform with -var-file=${cli.out}`);
    } else {
      deps.stdout(json);
    }
    const counts = countActions(result.bundles);
    progress(cli.dryRun ? `dry run: ${counts.upload} to upload, ${counts.reuse} already published` : `${counts.upload} uploaded, ${counts.reuse} reused`);
    return 0;
  } catch (err) {
    deps.stderr(`publish-lambdas: ${err instanceof PublishError ? err.message : oneLine(err)}\n`);
    return 1;
  }
}

function countActions(bundles: readonly PublishedBundle[]): { upload: number; reuse: number } {
  const upload = bundles.filter((b) => b.action === 'uploaded' || b.action === 'would-upload').length;
  return { upload, reuse: bundles.length - upload };
}

/** A failed run must never leave a half-written tfvars file behind. */
function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

// ---------------------------------------------------------------------------
// S3 errors.

async function callS3<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new PublishError(`${what} failed: ${oneLine(err)}`);
  }
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'NotFound' || name === 'NoSuchKey' || httpStatus(err) === 404;
}

/** `Name: message` on one line; SDK messages can span several. */
function oneLine(err: unknown): string {
  if (!(err instanceof Error)) return String(err).replace(/\s+/g, ' ').trim();
  const message = err.message.replace(/\s+/g, ' ').trim();
  return err.name && err.name !== 'Error' && !message.startsWith(err.name) ? `${err.name}: ${message}` : message || err.name;
}
