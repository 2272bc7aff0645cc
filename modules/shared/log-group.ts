/** A CloudWatch log group encrypted with the module key, with a retention. */
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { ITerraformIterator } from 'cdktf';
import { Construct } from 'constructs';
import { ModuleKey } from './module-key';
import { validate, whenKnown } from './validation';

/** The retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

export interface EncryptedLogGroupProps {
  /** The log group name. Lambda log groups are `/aws/lambda/<prefix>-<name>`; others `/github-runners/<prefix>/<name>`. */
  readonly name: string;
  readonly key: ModuleKey;
  /** Days to keep log events; one of LOG_RETENTION_DAYS. @default 180 */
  readonly retentionInDays?: number;
  /** Creates one log group per element. @default one log group */
  readonly forEach?: ITerraformIterator;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class EncryptedLogGroup extends Construct {
  readonly logGroup: CloudwatchLogGroup;
  readonly arn: string;
  readonly name: string;

  constructor(scope: Construct, id: string, props: EncryptedLogGroupProps) {
    super(scope, id);
    const retention = props.retentionInDays ?? 180;
    validate('EncryptedLogGroup', [
      whenKnown(retention, () => LOG_RETENTION_DAYS.includes(retention), `retentionInDays must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${retention}`),
    ]);
    this.logGroup = new CloudwatchLogGroup(this, 'log-group', {
      name: props.name,
      kmsKeyId: props.key.arn,
      retentionInDays: retention,
      forEach: props.forEach,
      tags: props.tags,
      // CloudWatch Logs checks the key policy when the group is created.
      dependsOn: props.key.policy ? [props.key.policy] : undefined,
    });
    this.arn = this.logGroup.arn;
    this.name = this.logGroup.name;
  }
}
