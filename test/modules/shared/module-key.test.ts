import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { KmsKeyPolicy } from '@cdktf/provider-aws/lib/kms-key-policy';
import { TerraformOutput, TerraformVariable, Testing, Token } from 'cdktf';
import { Construct } from 'constructs';
import { ModuleKey } from '../../../modules/shared/module-key';
import { allStatements, logicalId, onlyResource, statementsOf, synth, validationError } from '../helpers';

Testing.setupJest();

describe('ModuleKey', () => {
  const { json, stack } = synth((scope) => {
    new ModuleKey(scope, 'key', { prefix: 'gh-ci', tags: { team: 'ci' } });
  });
  const keyId = onlyResource(stack, 'aws_kms_key').id;
  const regionId = logicalId(stack, 'aws_region', 'key_region', 'data');

  it('should create a key with rotation on and a 30-day deletion window by default', () => {
    expect(json).toHaveResourceWithProperties(KmsKey, {
      enable_key_rotation: true,
      deletion_window_in_days: 30,
      tags: { team: 'ci' },
    });
  });

  it('should name its alias alias/<prefix> and point it at the key', () => {
    expect(json).toHaveResourceWithProperties(KmsAlias, {
      name: 'alias/gh-ci',
      target_key_id: `\${aws_kms_key.${keyId}.key_id}`,
    });
  });

  it('should set the key policy from its policy document', () => {
    const documentId = logicalId(stack, 'aws_iam_policy_document', 'key_policy-document', 'data');
    expect(json).toHaveResourceWithProperties(KmsKeyPolicy, {
      key_id: `\${aws_kms_key.${keyId}.key_id}`,
      policy: `\${data.aws_iam_policy_document.${documentId}.json}`,
    });
  });

  describe('key policy', () => {
    const statements = statementsOf(stack, 'key_policy-document');
    const bySid = (sid: string) => statements.find((s) => s.sid === sid);

    it('should give key administration to the account root only, read from the key ARN', () => {
      const admin = bySid('KeyAdministration');
      expect(admin).toMatchObject({ effect: 'Allow', actions: ['kms:*'], resources: ['*'] });
      expect(admin?.principals).toEqual([
        {
          type: 'AWS',
          identifiers: [
            `arn:\${element(split(":", aws_kms_key.${keyId}.arn), 1)}:iam::\${element(split(":", aws_kms_key.${keyId}.arn), 4)}:root`,
          ],
        },
      ]);
    });

    it("should let CloudWatch Logs in the provider's region use the key only for this module's log groups", () => {
      const logs = bySid('KeyUseByCloudWatchLogs');
      expect(logs?.principals).toEqual([{ type: 'Service', identifiers: [`logs.\${data.aws_region.${regionId}.name}.amazonaws.com`] }]);
      expect(logs?.actions).toEqual(expect.arrayContaining(['kms:Encrypt*', 'kms:Decrypt*', 'kms:GenerateDataKey*']));
      expect(logs?.condition).toHaveLength(1);
      const [condition] = logs!.condition!;
      expect(condition.test).toBe('ArnLike');
      expect(condition.variable).toBe('kms:EncryptionContext:aws:logs:arn');
      // Each function's log group by name (test/modules/naming.test.ts checks them against the synthesized module).
      const groups = condition.values.map((v) => v.slice(v.indexOf(':log-group:') + ':log-group:'.length));
      expect(groups).toEqual([
        '/aws/lambda/gh-ci-webhook',
        '/aws/lambda/gh-ci-webhook-redelivery',
        '/aws/lambda/gh-ci-syncer',
        '/aws/lambda/gh-ci-scale-down',
        '/aws/lambda/gh-ci-termination-watcher',
        '/aws/lambda/gh-ci-pool',
        '/aws/lambda/gh-ci-runner-api',
        '/aws/lambda/gh-ci-scale-up_*',
        '/github-runners/gh-ci/*',
      ]);
      for (const v of condition.values) expect(v).toMatch(/:logs:\$\{data\.aws_region\.[^}]+\.name\}:.*:log-group:/);
    });

    it('should have no wildcard principal and no principal outside the account and CloudWatch Logs', () => {
      const principals = allStatements(stack).flatMap((s) => s.principals ?? []);
      const identifiers = principals.flatMap((p) => p.identifiers);
      expect(identifiers).not.toContain('*');
      for (const p of principals) {
        if (p.type === 'AWS') p.identifiers.forEach((id) => expect(id).toMatch(/:root$/));
        else expect(p).toEqual({ type: 'Service', identifiers: [expect.stringMatching(/^logs\..*\.amazonaws\.com$/)] });
      }
    });

    it('should hold exactly the administration and CloudWatch Logs statements', () => {
      expect(statements.map((s) => s.sid)).toEqual(['KeyAdministration', 'KeyUseByCloudWatchLogs']);
    });
  });

  describe('deletionWindowInDays', () => {
    it('should accept the bounds 7 and 30', () => {
      const { json: seven } = synth((scope) => new ModuleKey(scope, 'key', { prefix: 'p', deletionWindowInDays: 7 }));
      expect(seven).toHaveResourceWithProperties(KmsKey, { deletion_window_in_days: 7 });
    });

    it.each([6, 31, 0])('should reject %d, naming the value', (days) => {
      const error = validationError(() => synth((scope) => new ModuleKey(scope, 'key', { prefix: 'p', deletionWindowInDays: days })));
      expect(error.construct).toBe('ModuleKey');
      expect(error.problems).toEqual([`deletionWindowInDays must be 7 to 30, got ${days}`]);
      expect(error.message).toBe(`ModuleKey: deletionWindowInDays must be 7 to 30, got ${days}`);
    });

    it('should leave a Terraform value to Terraform', () => {
      const { json: fromVariable } = synth((scope) => {
        const days = new TerraformVariable(scope, 'days', { type: 'number' });
        new ModuleKey(scope, 'key', { prefix: 'p', deletionWindowInDays: days.numberValue });
      });
      expect(fromVariable).toHaveResourceWithProperties(KmsKey, { deletion_window_in_days: '${var.days}' });
    });
  });

  describe('parameterArn', () => {
    // Each ARN goes into an output, to read it as the synthesized JSON has it.
    const arns = (names: (scope: Construct) => string[]) =>
      synth((scope) => {
        const key = new ModuleKey(scope, 'key', { prefix: 'p' });
        names(scope).forEach((name, i) => new TerraformOutput(scope, `arn${i}`, { value: key.parameterArn(name) }));
      }).stack.output as Record<string, { value: string }>;
    const PREFIX = /^arn:\$\{element\(split\(":", aws_kms_key\.[^.]+\.arn\), 1\)\}:ssm:\$\{data\.aws_region\.[^.]+\.name\}:\$\{element\(split\(":", aws_kms_key\.[^.]+\.arn\), 4\)\}:parameter\//.source;

    it("should build the ARN of a parameter in the key's account and region, with or without a leading slash", () => {
      const out = arns(() => ['/ci/app-id', 'ci/app-id', '/ci/runners/*']);
      expect(out.arn0.value).toMatch(new RegExp(`${PREFIX}ci/app-id$`));
      expect(out.arn1.value).toMatch(new RegExp(`${PREFIX}ci/app-id$`));
      expect(out.arn2.value).toMatch(new RegExp(`${PREFIX}ci/runners/\\*$`));
    });

    it('should strip the slash of a Terraform value in Terraform', () => {
      const out = arns((scope) => [new TerraformVariable(scope, 'name', { type: 'string' }).stringValue]);
      expect(out.arn0.value).toMatch(new RegExp(`${PREFIX}\\$\\{trimprefix\\(var\\.name, "/"\\)\\}$`));
    });
  });

  describe('keyArn (bring your own key, issue #10 item 5)', () => {
    const GIVEN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

    it('should create no key, alias or key policy, and use the given ARN for everything', () => {
      const { stack: given } = synth((scope) => {
        const key = new ModuleKey(scope, 'key', { prefix: 'p', keyArn: GIVEN });
        new TerraformOutput(scope, 'arn', { value: key.arn });
        new TerraformOutput(scope, 'param', { value: key.parameterArn('/x') });
      });
      expect(given.resource?.aws_kms_key).toBeUndefined();
      expect(given.resource?.aws_kms_alias).toBeUndefined();
      expect(given.resource?.aws_kms_key_policy).toBeUndefined();
      expect(given.output?.arn.value).toBe(GIVEN);
      expect(given.output?.param.value).toMatch(/^arn:\$\{element\(split\(":", "arn:aws:kms:eu-west-1:123456789012:key\/[^"]+"\), 1\)\}:ssm:/);
      // The key must be in the module's region: a precondition checks it at plan.
      const check = Object.values(given.resource?.terraform_data ?? {})[0] as { lifecycle: { precondition: { condition: string; error_message: string }[] } };
      expect(check.lifecycle.precondition[0].condition).toMatch(/element\(split\(":", "arn:aws:kms:eu-west-1:[^)]+\), 3\) == data\.aws_region\.[^.]+\.name/);
      expect(check.lifecycle.precondition[0].error_message).toContain("kms_key_arn must be a key in the module's region");
    });

    it('should decide by count when the ARN is a Terraform input, every use through one conditional', () => {
      const { stack: fromVariable } = synth((scope) => {
        const arn = new TerraformVariable(scope, 'kms_key_arn', { type: 'string', default: Token.nullValue(), nullable: true });
        const key = new ModuleKey(scope, 'key', { prefix: 'p', keyArn: arn.stringValue });
        new TerraformOutput(scope, 'arn', { value: key.arn });
      });
      const created = '${(var.kms_key_arn == null) ? 1 : 0}';
      for (const type of ['aws_kms_key', 'aws_kms_alias', 'aws_kms_key_policy']) {
        expect({ type, count: (Object.values(fromVariable.resource?.[type] ?? {})[0] as { count?: string })?.count }).toEqual({ type, count: created });
      }
      expect(fromVariable.output?.arn.value).toMatch(/^\$\{\(var\.kms_key_arn == null\) \? aws_kms_key\.[^.]+\[0\]\.arn : var\.kms_key_arn\}$/);
    });

    it('should reject an alias or a key id, naming keyArn', () => {
      expect(validationError(() => synth((scope) => new ModuleKey(scope, 'key', { prefix: 'p', keyArn: 'alias/ci' }))).problems).toEqual([
        'keyArn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got "alias/ci"',
      ]);
    });
  });
});
