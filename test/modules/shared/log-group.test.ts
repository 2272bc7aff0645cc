import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { TerraformVariable, Testing } from 'cdktf';
import { EncryptedLogGroup, LOG_RETENTION_DAYS } from '../../../modules/shared/log-group';
import { PropsValidationError } from '../../../modules/shared/validation';
import { logicalId, onlyResource, synth, testKey, validationError } from '../helpers';

Testing.setupJest();

describe('EncryptedLogGroup', () => {
  const { json, stack } = synth((scope) => {
    new EncryptedLogGroup(scope, 'logs', { name: '/github-runners/gh-ci/things', key: testKey(scope), tags: { team: 'ci' } });
  });
  const keyId = logicalId(stack, 'aws_kms_key', 'key');
  const keyPolicyId = logicalId(stack, 'aws_kms_key_policy', 'key_key-policy');

  it('should encrypt the log group with the module key', () => {
    expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, {
      name: '/github-runners/gh-ci/things',
      kms_key_id: `\${aws_kms_key.${keyId}.arn}`,
      tags: { team: 'ci' },
    });
  });

  it('should keep logs for 180 days by default', () => {
    expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, { retention_in_days: 180 });
  });

  it('should be created after the key policy that admits CloudWatch Logs', () => {
    expect(onlyResource(stack, 'aws_cloudwatch_log_group').config.depends_on).toEqual([`aws_kms_key_policy.${keyPolicyId}`]);
  });

  it('should accept every retention CloudWatch Logs offers', () => {
    // GIVEN one log group per allowed value
    const { stack: all } = synth((scope) => {
      const key = testKey(scope);
      LOG_RETENTION_DAYS.forEach((days) => new EncryptedLogGroup(scope, `logs-${days}`, { name: `/x/${days}`, key, retentionInDays: days }));
    });
    // THEN each one keeps its value
    const retentions = Object.values(all.resource!.aws_cloudwatch_log_group).map((g: any) => g.retention_in_days);
    expect(retentions.sort((a, b) => a - b)).toEqual(LOG_RETENTION_DAYS);
  });

  it.each([0, 2, 200, -1])('should reject a retention of %d with a PropsValidationError naming the value', (days) => {
    const error = validationError(() =>
      synth((scope) => new EncryptedLogGroup(scope, 'logs', { name: '/x', key: testKey(scope), retentionInDays: days })),
    );
    expect(error).toBeInstanceOf(PropsValidationError);
    expect(error.construct).toBe('EncryptedLogGroup');
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(new RegExp(`^retentionInDays must be one of 1, 3, .*, 3653, got ${days}$`));
  });

  it('should leave a Terraform value to Terraform', () => {
    const { json: fromVariable } = synth((scope) => {
      const days = new TerraformVariable(scope, 'days', { type: 'number' });
      new EncryptedLogGroup(scope, 'logs', { name: '/x', key: testKey(scope), retentionInDays: days.numberValue });
    });
    expect(fromVariable).toHaveResourceWithProperties(CloudwatchLogGroup, { retention_in_days: '${var.days}' });
  });
});
