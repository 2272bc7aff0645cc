/**
 * The runner binary syncer: a versioned, KMS-encrypted, private, TLS-only
 * bucket, and a scheduled function that copies the actions/runner release for
 * linux x64 and arm64 into it when the release changed. Runners download from
 * the bucket (falling back to GitHub until the first sync).
 */
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { Fn, Token } from 'cdktf';
import { Construct } from 'constructs';
import { EventTrigger } from '../shared/event-trigger';
import { policyDocument } from '../shared/iam';
import { LambdaCode } from '../shared/lambda-code';
import { ModuleFunction } from '../shared/lambda-function';
import { LambdaSettings } from '../shared/lambda-settings';
import { ModuleKey } from '../shared/module-key';
import type { SyncerEnvironment } from '../contract/environment';
import { FUNCTION_KINDS, functionName } from '../shared/naming';

/** Where in the bucket the runner tarballs go; one stable key per architecture. */
export const RUNNER_BINARIES_KEY_PREFIX = 'actions-runner/';

export interface RunnerBinariesSyncerProps {
  readonly prefix: string;
  readonly key: ModuleKey;
  readonly code: LambdaCode;
  readonly lambda: LambdaSettings;
  /** The actions/runner version to keep in the bucket; runners install the same version. */
  readonly runnerVersion: string;
  /** The runner platforms to keep (the syncer's ARCHITECTURES): x64, arm64 (Linux tarballs), win-x64 (the Windows zip); may be a Terraform list. @default ["x64", "arm64"] */
  readonly architectures?: string[];
  /** When the syncer runs. @default "cron(27 * * * ? *)" (hourly) */
  readonly scheduleExpression?: string;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class RunnerBinariesSyncer extends Construct {
  readonly bucket: S3Bucket;
  readonly function: ModuleFunction;

  constructor(scope: Construct, id: string, props: RunnerBinariesSyncerProps) {
    super(scope, id);
    const tags = props.tags;
    this.bucket = new S3Bucket(this, 'bucket', {
      // A generated suffix keeps the name globally unique.
      bucketPrefix: `${props.prefix}-runner-binaries-`,
      forceDestroy: true,
      tags,
    });
    const bucket = this.bucket.id;
    new S3BucketVersioningA(this, 'versioning', { bucket, versioningConfiguration: { status: 'Enabled' } });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: props.key.arn }, bucketKeyEnabled: true }],
    });
    new S3BucketPublicAccessBlock(this, 'public-access', {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'ownership', { bucket, rule: { objectOwnership: 'BucketOwnerEnforced' } });
    new S3BucketLifecycleConfiguration(this, 'lifecycle', {
      bucket,
      rule: [
        {
          id: 'expire-old-runner-versions',
          status: 'Enabled',
          filter: [{ prefix: RUNNER_BINARIES_KEY_PREFIX }],
          noncurrentVersionExpiration: [{ noncurrentDays: 30 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
    });
    new S3BucketPolicy(this, 'policy', {
      bucket,
      policy: policyDocument(this, 'tls-only', [
        {
          sid: 'DenyInsecureTransport',
          effect: 'Deny',
          principals: [{ type: 'AWS', identifiers: ['*'] }],
          // Every action: a TLS-only bucket refuses any plain-HTTP request (AWS Config s3-bucket-ssl-requests-only).
          actions: ['s3:*'],
          resources: [this.bucket.arn, `${this.bucket.arn}/*`],
          conditions: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
        },
      ]).json,
    });

    const objects = `${this.bucket.arn}/${RUNNER_BINARIES_KEY_PREFIX}*`;
    this.function = new ModuleFunction(this, 'lambda', {
      functionName: functionName(props.prefix, FUNCTION_KINDS.syncer),
      description: 'Copies the actions/runner release into the runner binaries bucket when it changed',
      code: props.code,
      key: props.key,
      timeoutSeconds: 300,
      memorySizeMb: 512,
      reservedConcurrentExecutions: 1,
      environment: {
        BUCKET_NAME: this.bucket.id,
        KEY_PREFIX: RUNNER_BINARIES_KEY_PREFIX,
        ARCHITECTURES: Fn.jsonencode(props.architectures ?? ['x64', 'arm64']),
        RUNNER_VERSION: props.runnerVersion,
        LOG_LEVEL: props.lambda.logLevel,
        METRICS_NAMESPACE: props.lambda.metricsNamespace,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      } satisfies SyncerEnvironment,
      statements: [
        {
          sid: 'SyncRunnerBinaries',
          // The sha256 tag goes on the uploaded version: with a versionId, S3 authorises PutObjectTagging as
          // s3:PutObjectVersionTagging (S3 API Reference, PutObjectTagging: "You also need permission for the
          // s3:PutObjectVersionTagging action").
          actions: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging', 's3:PutObjectVersionTagging', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [objects],
        },
        // Without ListBucket, HeadObject answers 403 instead of 404 for a key not yet synced.
        {
          sid: 'FindRunnerBinaries',
          actions: ['s3:ListBucket'],
          resources: [this.bucket.arn],
        },
        { sid: 'EncryptRunnerBinaries', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.key.arn] },
      ],
      ...props.lambda.functionSettings,
      tags,
    });
    new EventTrigger(this, 'schedule', {
      name: `${props.prefix}-syncer`,
      description: 'Runs the runner binary syncer',
      target: this.function,
      scheduleExpression: props.scheduleExpression ?? 'cron(27 * * * ? *)',
      tags,
    });
  }

  /** The S3 URL of the tarball for an architecture expression (x64 or arm64). */
  locationFor(architecture: string): string {
    // Fn.format, not a template string: the result is passed into templatefile().
    return Token.asString(Fn.format(`s3://%s/${RUNNER_BINARIES_KEY_PREFIX}actions-runner-linux-%s.tar.gz`, [this.bucket.id, architecture]));
  }

  /** The S3 URL of the Windows runner zip (synced when ARCHITECTURES lists win-x64). */
  get windowsLocation(): string {
    return Token.asString(Fn.format(`s3://%s/${RUNNER_BINARIES_KEY_PREFIX}actions-runner-win-x64.zip`, [this.bucket.id]));
  }

  /** The object ARNs runners may read. */
  get objectsArn(): string {
    return `${this.bucket.arn}/${RUNNER_BINARIES_KEY_PREFIX}*`;
  }
}
