/**
 * The module's one customer-managed KMS key. It encrypts the queues, the log
 * groups, the SSM parameters the module writes, Lambda environments and (later)
 * the runner volumes and the binaries bucket.
 *
 * No data source is needed to learn the account: the key is created with
 * KMS's default policy, and `aws_kms_key_policy` then sets the real policy,
 * reading the account and partition from the key's own ARN. So the offline plan
 * never calls AWS.
 */
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsKeyPolicy } from '@cdktf/provider-aws/lib/kms-key-policy';
import { Fn, Token } from 'cdktf';
import { Construct } from 'constructs';
import { policyDocument } from './iam';
import { validate, whenKnown } from './validation';

export interface ModuleKeyProps {
  /** Names the alias `alias/<prefix>` and scopes the log groups the key serves. */
  readonly prefix: string;
  /** Days before a scheduled key deletion completes, 7 to 30. @default 30 */
  readonly deletionWindowInDays?: number;
  /** Tags for the key. @default {} */
  readonly tags?: Record<string, string>;
}

export class ModuleKey extends Construct {
  /** The key's ARN, for `kms_master_key_id`, `kms_key_id` and IAM grants. */
  readonly arn: string;
  /** The key's id, for SDK calls such as SSM PutParameter's KeyId. */
  readonly keyId: string;
  /** The account id, read from the key's ARN (known after apply). */
  readonly accountId: string;
  /** The partition (aws, aws-cn, aws-us-gov), read from the key's ARN. */
  readonly partition: string;
  /** The region of the provider that creates the module's resources. */
  readonly region: string;
  /** `arn:<partition>:ssm:<region>:<account>:parameter`, for {@link parameterArn}. */
  private readonly parameterArnPrefix: string;
  /**
   * The resource that sets the key policy. Log groups depend on it: CloudWatch
   * Logs refuses a key whose policy does not admit it yet.
   */
  readonly policy: KmsKeyPolicy;

  constructor(scope: Construct, id: string, props: ModuleKeyProps) {
    super(scope, id);
    const window = props.deletionWindowInDays ?? 30;
    validate('ModuleKey', [
      whenKnown(window, () => window >= 7 && window <= 30, `deletionWindowInDays must be 7 to 30, got ${window}`),
    ]);

    const key = new KmsKey(this, 'key', {
      description: `${props.prefix}: GitHub runners (queues, logs, SSM parameters, Lambda environments)`,
      enableKeyRotation: true,
      deletionWindowInDays: window,
      tags: props.tags,
    });
    new KmsAlias(this, 'alias', { name: `alias/${props.prefix}`, targetKeyId: key.keyId });

    this.arn = key.arn;
    this.keyId = key.keyId;
    this.accountId = Fn.element(Fn.split(':', key.arn), 4);
    this.partition = Fn.element(Fn.split(':', key.arn), 1);
    this.region = new DataAwsRegion(this, 'region').name;

    this.parameterArnPrefix = `arn:${this.partition}:ssm:${this.region}:${this.accountId}:parameter`;

    const logGroupArn = (pattern: string) =>
      `arn:${this.partition}:logs:${this.region}:${this.accountId}:log-group:${pattern}`;

    const document = policyDocument(this, 'policy-document', [
      {
        // The account root, and through it IAM: the module's roles get their
        // key permissions from their own narrow IAM statements.
        sid: 'KeyAdministration',
        principals: [{ type: 'AWS', identifiers: [`arn:${this.partition}:iam::${this.accountId}:root`] }],
        actions: ['kms:*'],
        resources: ['*'],
      },
      {
        sid: 'KeyUseByCloudWatchLogs',
        principals: [{ type: 'Service', identifiers: [`logs.${this.region}.amazonaws.com`] }],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: [
          {
            test: 'ArnLike',
            variable: 'kms:EncryptionContext:aws:logs:arn',
            values: [logGroupArn(`/aws/lambda/${props.prefix}-*`), logGroupArn(`/github-runners/${props.prefix}/*`)],
          },
        ],
      },
    ]);
    this.policy = new KmsKeyPolicy(this, 'key-policy', { keyId: key.keyId, policy: document.json });
  }

  /**
   * The ARN of an SSM parameter (or a pattern such as `/path/*`) in this
   * module's account and region. Names may omit the leading `/`, as SSM allows.
   */
  parameterArn(name: string): string {
    const relative = Token.isUnresolved(name) ? Fn.trimprefix(name, '/') : name.replace(/^\//, '');
    return `${this.parameterArnPrefix}/${relative}`;
  }

}
