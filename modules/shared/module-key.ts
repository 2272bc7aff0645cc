/**
 * The module's one customer-managed KMS key. It encrypts the queues, the log
 * groups, the SSM parameters the module writes, Lambda environments and (later)
 * the runner volumes and the binaries bucket.
 *
 * With `keyArn` (bring your own key) the module creates no key, alias or
 * policy, and every use below is the given ARN.
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
import { DataResource, Fn, Op, ref, Token } from 'cdktf';
import { Construct } from 'constructs';
import { policyDocument } from './iam';
import { address } from './iteration';
import { validate, whenKnown } from './validation';
import { FUNCTION_KINDS, PER_TYPE_FUNCTION_KINDS, functionName, perTypeName } from './naming';

export interface ModuleKeyProps {
  /** Names the alias `alias/<prefix>` and scopes the log groups the key serves. */
  readonly prefix: string;
  /** Days before a scheduled key deletion completes, 7 to 30. @default 30 */
  readonly deletionWindowInDays?: number;
  /**
   * Bring your own key (philips `kms_key_arn`): the ARN of a symmetric KMS key
   * in the module's account and region. The module then creates no key, alias
   * or key policy, and every encryption setting and grant uses this ARN. Its
   * key policy must allow what the module's key policy allows (see the README,
   * "Bring your own KMS key"). @default the module creates its own key
   */
  readonly keyArn?: string;
  /** Tags for the key. @default {} */
  readonly tags?: Record<string, string>;
}

/** A KMS key ARN (not an alias: IAM grants and key policies need the key). */
export const KMS_KEY_ARN_PATTERN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/;

export class ModuleKey extends Construct {
  /** The key's ARN (the module's, or the one given), for `kms_master_key_id`, `kms_key_id` and IAM grants. */
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
  readonly policy?: KmsKeyPolicy;

  constructor(scope: Construct, id: string, props: ModuleKeyProps) {
    super(scope, id);
    const window = props.deletionWindowInDays ?? 30;
    const given = props.keyArn;
    validate('ModuleKey', [
      whenKnown(window, () => window >= 7 && window <= 30, `deletionWindowInDays must be 7 to 30, got ${window}`),
      whenKnown(given, () => given === undefined || KMS_KEY_ARN_PATTERN.test(given), `keyArn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got "${given}"`),
    ]);
    this.region = new DataAwsRegion(this, 'region').name;
    // Known now (a typed prop): create the key or not. A Terraform input
    // (kms_key_arn): count decides, and every use goes through one conditional.
    const create = given === undefined ? true : Token.isUnresolved(given) ? Op.eq(given, Token.nullValue()) : false;
    let keyPolicy: { keyId: string; count?: number } | undefined;
    if (create === false) {
      this.arn = given!;
      this.keyId = given!;
    } else {
      const count = create === true ? undefined : Token.asNumber(Fn.conditional(create, 1, 0));
      const key = new KmsKey(this, 'key', {
        description: `${props.prefix}: GitHub runners (queues, logs, SSM parameters, Lambda environments)`,
        enableKeyRotation: true,
        deletionWindowInDays: window,
        tags: props.tags,
        count,
      });
      // With count, the one instance is [0] (Terraform moves an existing key there by itself).
      const attr = (name: string) => (count === undefined ? (name === 'arn' ? key.arn : key.keyId) : Token.asString(ref(`${address(key)}[0].${name}`)));
      new KmsAlias(this, 'alias', { name: `alias/${props.prefix}`, targetKeyId: attr('key_id'), count });
      this.arn = count === undefined ? key.arn : Token.asString(Fn.conditional(create, attr('arn'), given!));
      this.keyId = count === undefined ? key.keyId : Token.asString(Fn.conditional(create, attr('key_id'), given!));
      keyPolicy = { keyId: attr('key_id'), count };
    }
    this.accountId = Fn.element(Fn.split(':', this.arn), 4);
    this.partition = Fn.element(Fn.split(':', this.arn), 1);
    if (keyPolicy) this.policy = this.keyPolicy(props.prefix, keyPolicy.keyId, keyPolicy.count);
    if (given !== undefined) {
      // Queues, logs and Lambda environments need a key in their own region.
      const keyRegion = Fn.element(Fn.split(':', given), 3);
      new DataResource(this, 'given-key-check', {
        lifecycle: {
          precondition: [
            {
              condition: Token.asString(Fn.conditional(Op.eq(given, Token.nullValue()), true, Op.eq(keyRegion, this.region))),
              errorMessage: `kms_key_arn must be a key in the module's region (${this.region}), got one in ${Token.asString(Fn.conditional(Op.eq(given, Token.nullValue()), '', keyRegion))}.`,
            },
          ],
        },
      });
    }
    this.parameterArnPrefix = `arn:${this.partition}:ssm:${this.region}:${this.accountId}:parameter`;
  }

  /** The module key's policy: the account root (so IAM grants work) and CloudWatch Logs for this module's groups. */
  private keyPolicy(prefix: string, keyId: string, count: number | undefined): KmsKeyPolicy {
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
            // Each function's group by name: `/aws/lambda/<prefix>-*` would also
            // match the groups of a module with a longer prefix (`gh` and `gh-ci`).
            values: [
              ...Object.values(FUNCTION_KINDS).map((kind) => logGroupArn(`/aws/lambda/${functionName(prefix, kind)}`)),
              ...Object.values(PER_TYPE_FUNCTION_KINDS).map((kind) => logGroupArn(`/aws/lambda/${perTypeName(prefix, kind, '*')}`)),
              logGroupArn(`/github-runners/${prefix}/*`),
            ],
          },
        ],
      },
    ]);
    return new KmsKeyPolicy(this, 'key-policy', { keyId, policy: document.json, count });
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
