import { CloudwatchEventRule } from '@cdktf/provider-aws/lib/cloudwatch-event-rule';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktf/provider-aws/lib/s3-bucket-versioning';
import { TerraformOutput, TerraformVariable, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { RUNNER_BINARIES_KEY_PREFIX, RunnerBinariesSyncer, RunnerBinariesSyncerProps } from '../../../modules/syncer/syncer';
import { logicalId, makeBundleDir, onlyResource, resources, statementsOf, synth, testKey, validationError } from '../helpers';
import { MODULE_VERSION, MODULE_VERSION_TAG } from '../../../modules/shared/version';

Testing.setupJest();

const bundle = makeBundleDir(['syncer']);

/** A module key and the syncer; outputs show what locationFor and objectsArn render. */
function synthSyncer(props: Partial<RunnerBinariesSyncerProps> = {}) {
  return synth((scope: Construct) => {
    const syncer = new RunnerBinariesSyncer(scope, 'syncer', {
      prefix: 'gh-ci',
      key: testKey(scope),
      code: LambdaCode.fromBundle('syncer', bundle.dir),
      lambda: { logLevel: 'info', metricsNamespace: 'GitHubRunners/gh-ci', functionSettings: {} },
      runnerVersion: '2.330.0',
      tags: { team: 'ci' },
      ...props,
    });
    const architecture = new TerraformVariable(scope, 'architecture', { type: 'string' }).stringValue;
    new TerraformOutput(scope, 'x64', { value: syncer.locationFor('x64') });
    new TerraformOutput(scope, 'any', { value: syncer.locationFor(architecture) });
    new TerraformOutput(scope, 'objects', { value: syncer.objectsArn });
  });
}

describe('RunnerBinariesSyncer', () => {
  const { json, stack } = synthSyncer();
  const bucketId = onlyResource(stack, 'aws_s3_bucket').id;
  const bucket = `\${aws_s3_bucket.${bucketId}.id}`;
  const bucketArn = `\${aws_s3_bucket.${bucketId}.arn}`;
  const keyArn = `\${aws_kms_key.${logicalId(stack, 'aws_kms_key', 'key')}.arn}`;
  const functionId = onlyResource(stack, 'aws_lambda_function').id;

  describe('bucket', () => {
    it('should get a generated name after <prefix>-runner-binaries- and the tags', () => {
      expect(json).toHaveResourceWithProperties(S3Bucket, { bucket_prefix: 'gh-ci-runner-binaries-', force_destroy: true, tags: { team: 'ci' } });
      expect(onlyResource(stack, 'aws_s3_bucket').config.bucket).toBeUndefined();
    });

    it('should configure that bucket and no other', () => {
      for (const type of [
        'aws_s3_bucket_versioning',
        'aws_s3_bucket_server_side_encryption_configuration',
        'aws_s3_bucket_public_access_block',
        'aws_s3_bucket_ownership_controls',
        'aws_s3_bucket_lifecycle_configuration',
        'aws_s3_bucket_policy',
      ]) {
        expect({ type, bucket: onlyResource(stack, type).config.bucket }).toEqual({ type, bucket });
      }
    });

    it('should keep versions', () => {
      expect(json).toHaveResourceWithProperties(S3BucketVersioningA, { bucket, versioning_configuration: { status: 'Enabled' } });
    });

    it('should encrypt with the module key and an S3 bucket key (CKV2_AWS_73)', () => {
      expect(json).toHaveResourceWithProperties(S3BucketServerSideEncryptionConfigurationA, {
        bucket,
        rule: [{ apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: keyArn }, bucket_key_enabled: true }],
      });
    });

    it('should block every kind of public access', () => {
      expect(json).toHaveResourceWithProperties(S3BucketPublicAccessBlock, {
        bucket,
        block_public_acls: true,
        block_public_policy: true,
        ignore_public_acls: true,
        restrict_public_buckets: true,
      });
    });

    it('should disable ACLs (bucket owner enforced)', () => {
      expect(json).toHaveResourceWithProperties(S3BucketOwnershipControls, { bucket, rule: { object_ownership: 'BucketOwnerEnforced' } });
    });

    it('should expire old runner versions after 30 days and abort stale uploads after a day, under the key prefix only', () => {
      expect(json).toHaveResourceWithProperties(S3BucketLifecycleConfiguration, {
        bucket,
        rule: [
          {
            id: 'expire-old-runner-versions',
            status: 'Enabled',
            filter: [{ prefix: 'actions-runner/' }],
            noncurrent_version_expiration: [{ noncurrent_days: 30 }],
            abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }],
          },
        ],
      });
    });
  });

  describe('bucket policy', () => {
    const policy = onlyResource(stack, 'aws_s3_bucket_policy').config;
    const statements = statementsOf(stack, 'syncer_tls-only');

    it('should be the TLS-only document', () => {
      expect(policy.policy).toBe(`\${data.aws_iam_policy_document.${logicalId(stack, 'aws_iam_policy_document', 'syncer_tls-only', 'data')}.json}`);
      expect(statements.map((s) => s.sid)).toEqual(['DenyInsecureTransport']);
    });

    it('should deny everyone when aws:SecureTransport is false, on the bucket and its objects', () => {
      expect(statements[0]).toMatchObject({
        effect: 'Deny',
        principals: [{ type: 'AWS', identifiers: ['*'] }],
        resources: [bucketArn, `${bucketArn}/*`],
        condition: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
      });
    });

    // Every action, not a list: AWS Config s3-bucket-ssl-requests-only and
    // Control Tower CT.S3.PR.8 expect "s3:*", so no plain-HTTP call slips through.
    it('should deny every S3 action over plain HTTP', () => {
      expect(statements[0].actions).toEqual(['s3:*']);
    });
  });

  describe('schedule', () => {
    const ruleId = logicalId(stack, 'aws_cloudwatch_event_rule', 'syncer_schedule_rule');

    it('should run hourly at minute 27 by default, in one rule named <prefix>-syncer', () => {
      expect(onlyResource(stack, 'aws_cloudwatch_event_rule').config).toEqual({
        name: 'gh-ci-syncer',
        description: 'Runs the runner binary syncer',
        schedule_expression: 'cron(27 * * * ? *)',
        tags: { team: 'ci' },
      });
    });

    it('should run on the given schedule expression', () => {
      const { json: custom } = synthSyncer({ scheduleExpression: 'rate(1 day)' });
      expect(custom).toHaveResourceWithProperties(CloudwatchEventRule, { name: 'gh-ci-syncer', schedule_expression: 'rate(1 day)' });
    });

    it('should reject a schedule expression that is neither rate(…) nor cron(…)', () => {
      const error = validationError(() => synthSyncer({ scheduleExpression: '0 * * * *' }));
      expect(error.construct).toBe('EventTrigger');
      expect(error.problems).toEqual(['gh-ci-syncer: scheduleExpression must be rate(1 minute), rate(N minutes|hours|days) or a six-field cron(…) with "?" in day-of-month or day-of-week, got "0 * * * *"']);
    });

    it('should target the syncer function, which only this rule may invoke (CKV_AWS_364)', () => {
      expect(onlyResource(stack, 'aws_cloudwatch_event_target').config).toEqual({
        rule: `\${aws_cloudwatch_event_rule.${ruleId}.name}`,
        arn: `\${aws_lambda_function.${functionId}.arn}`,
      });
      expect(onlyResource(stack, 'aws_lambda_permission').config).toEqual({
        statement_id_prefix: 'eventbridge-',
        action: 'lambda:InvokeFunction',
        function_name: `\${aws_lambda_function.${functionId}.function_name}`,
        principal: 'events.amazonaws.com',
        source_arn: `\${aws_cloudwatch_event_rule.${ruleId}.arn}`,
      });
    });
  });

  describe('function', () => {
    it('should be named <prefix>-syncer and run one at a time for up to 5 minutes', () => {
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        function_name: 'gh-ci-syncer',
        timeout: 300,
        memory_size: 512,
        reserved_concurrent_executions: 1,
        kms_key_arn: keyArn,
        source_code_hash: Buffer.from(bundle.sha256.syncer, 'hex').toString('base64'),
        tags: { team: 'ci', [MODULE_VERSION_TAG]: MODULE_VERSION },
      });
    });

    it('should get the bucket, the key prefix, both architectures, the runner version and the metrics namespace', () => {
      expect(onlyResource(stack, 'aws_lambda_function').config.environment.variables).toEqual({
        BUCKET_NAME: bucket,
        KEY_PREFIX: 'actions-runner/',
        ARCHITECTURES: '${jsonencode(["x64", "arm64"])}',
        RUNNER_VERSION: '2.330.0',
        LOG_LEVEL: 'info',
        METRICS_NAMESPACE: 'GitHubRunners/gh-ci',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      });
    });
  });

  describe('grants', () => {
    const statements = statementsOf(stack, 'syncer_lambda_policy-document');
    const bySid = Object.fromEntries(statements.map((s) => [s.sid, s]));
    const s3 = statements.filter((s) => s.actions.some((a) => a.startsWith('s3:')));

    it('should grant exactly these statements', () => {
      expect(statements.map((s) => s.sid)).toEqual(['WriteOwnLogs', 'DecryptOwnEnvironment', 'SyncRunnerBinaries', 'FindRunnerBinaries', 'EncryptRunnerBinaries']);
      for (const s of statements) expect(s.effect).toBe('Allow');
    });

    it('should read and write objects only under the runner key prefix', () => {
      expect(RUNNER_BINARIES_KEY_PREFIX).toBe('actions-runner/');
      expect(bySid.SyncRunnerBinaries).toMatchObject({
        actions: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging', 's3:PutObjectVersionTagging', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [`${bucketArn}/actions-runner/*`],
      });
    });

    it('should list only the bucket itself', () => {
      expect(bySid.FindRunnerBinaries).toMatchObject({ actions: ['s3:ListBucket'], resources: [bucketArn] });
      expect(s3.map((s) => s.sid)).toEqual(['SyncRunnerBinaries', 'FindRunnerBinaries']);
    });

    it('should never delete objects or change the bucket', () => {
      const actions = s3.flatMap((s) => s.actions);
      expect(actions.filter((a) => /Delete|PutBucket|PutLifecycle|PutEncryption/.test(a))).toEqual([]);
    });

    it('should use the module key only', () => {
      const kms = statements.filter((s) => s.actions.some((a) => a.startsWith('kms:')));
      expect(kms.map((s) => s.sid)).toEqual(['DecryptOwnEnvironment', 'EncryptRunnerBinaries']);
      expect(bySid.EncryptRunnerBinaries.actions).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
      for (const s of kms) expect(s.resources).toEqual([keyArn]);
    });

    it('should use no wildcard action and no "*" resource', () => {
      for (const s of statements) {
        expect(s.actions.filter((a) => a.includes('*'))).toEqual([]);
        expect(s.resources).not.toContain('*');
      }
    });
  });

  describe('locations', () => {
    it('should render the S3 URL of an architecture with format(), for templatefile()', () => {
      expect(stack.output?.x64.value).toBe(`\${format("s3://%s/actions-runner/actions-runner-linux-%s.tar.gz", aws_s3_bucket.${bucketId}.id, "x64")}`);
    });

    it('should take the architecture as a Terraform expression', () => {
      expect(stack.output?.any.value).toBe(`\${format("s3://%s/actions-runner/actions-runner-linux-%s.tar.gz", aws_s3_bucket.${bucketId}.id, var.architecture)}`);
      expect(json).not.toContain('TfToken');
    });

    it('should give runners the same object ARNs the syncer writes', () => {
      expect(stack.output?.objects.value).toBe(`${bucketArn}/actions-runner/*`);
      const writes = statementsOf(stack, 'syncer_lambda_policy-document').filter((s) => s.sid === 'SyncRunnerBinaries');
      expect(writes.map((s) => s.resources)).toEqual([[stack.output?.objects.value]]);
    });
  });
});

describe('RunnerBinariesSyncer with a prefix that is a Terraform variable', () => {
  const { json, stack } = synth((scope: Construct) => {
    const prefix = new TerraformVariable(scope, 'prefix', { type: 'string' }).stringValue;
    new RunnerBinariesSyncer(scope, 'syncer', {
      prefix,
      key: testKey(scope, prefix),
      code: LambdaCode.fromS3({ bucket: 'artifacts', key: 'lambdas/syncer.zip', objectVersion: 'v1' }),
      lambda: { logLevel: 'info', metricsNamespace: `GitHubRunners/${prefix}`, functionSettings: {} },
      runnerVersion: '2.330.0',
    });
  });

  it('should interpolate the prefix into the bucket, function and rule names', () => {
    expect(json).not.toContain('TfToken');
    expect(onlyResource(stack, 'aws_s3_bucket').config.bucket_prefix).toBe('${var.prefix}-runner-binaries-');
    expect(onlyResource(stack, 'aws_lambda_function').config.function_name).toBe('${var.prefix}-syncer');
    expect(Object.values(resources(stack, 'aws_cloudwatch_event_rule')).map((r) => r.name)).toEqual(['${var.prefix}-syncer']);
  });
});
