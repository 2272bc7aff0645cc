import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { TerraformIterator, TerraformVariable, Testing } from 'cdktf';
import { Construct } from 'constructs';
import { Statement } from '../../../modules/shared/iam';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { LAMBDA_HANDLER, LAMBDA_RUNTIME, ModuleFunction, ModuleFunctionProps } from '../../../modules/shared/lambda-function';
import { ModuleKey } from '../../../modules/shared/module-key';
import { MODULE_VERSION, MODULE_VERSION_TAG } from '../../../modules/shared/version';
import { allStatements, dataSources, logicalId, onlyResource, statementsOf, synth, Synthesized, testKey, validationError } from '../helpers';

Testing.setupJest();

const S3_CODE = LambdaCode.fromS3({ bucket: 'artifacts', key: 'lambdas/fn-abc.zip', objectVersion: 'v1' });
const READ_QUEUE: Statement = { sid: 'ReadQueue', actions: ['sqs:ReceiveMessage'], resources: ['arn:aws:sqs:eu-west-1:123456789012:q'] };

/** A function named gh-ci-fn with S3 code and one grant, plus whatever `props` override. */
function synthFunction(props: Partial<ModuleFunctionProps> = {}, extra?: (scope: Construct, key: ModuleKey) => Partial<ModuleFunctionProps>) {
  return synth((scope) => {
    const key = testKey(scope);
    new ModuleFunction(scope, 'fn', {
      functionName: 'gh-ci-fn',
      description: 'test function',
      code: S3_CODE,
      key,
      statements: [READ_QUEUE],
      ...props,
      ...extra?.(scope, key),
    });
  });
}

const sids = (stack: Synthesized) => allStatements(stack).map((s) => s.sid);

describe('ModuleFunction', () => {
  const { json, stack } = synthFunction({
    environment: { LOG_LEVEL: 'info' },
    timeoutSeconds: 45,
    memorySizeMb: 512,
    reservedConcurrentExecutions: 3,
    tags: { team: 'ci' },
  });
  const keyArn = `\${aws_kms_key.${logicalId(stack, 'aws_kms_key', 'key')}.arn}`;
  const roleId = onlyResource(stack, 'aws_iam_role').id;
  const logGroupId = onlyResource(stack, 'aws_cloudwatch_log_group').id;

  describe('role', () => {
    it('should give the function its own role, named after it, that only Lambda may assume', () => {
      const assumeId = logicalId(stack, 'aws_iam_policy_document', 'fn_assume-role', 'data');
      expect(json).toHaveResourceWithProperties(IamRole, {
        name: 'gh-ci-fn',
        assume_role_policy: `\${data.aws_iam_policy_document.${assumeId}.json}`,
        tags: { team: 'ci' },
      });
      expect(json).toHaveDataSourceWithProperties(DataAwsIamPolicyDocument, {
        statement: [
          expect.objectContaining({
            effect: 'Allow',
            actions: ['sts:AssumeRole'],
            principals: [{ type: 'Service', identifiers: ['lambda.amazonaws.com'] }],
          }),
        ],
      });
    });

    it('should attach one inline policy rendered from its policy document', () => {
      const documentId = logicalId(stack, 'aws_iam_policy_document', 'fn_policy-document', 'data');
      expect(json).toHaveResourceWithProperties(IamRolePolicy, {
        role: `\${aws_iam_role.${roleId}.name}`,
        policy: `\${data.aws_iam_policy_document.${documentId}.json}`,
      });
    });

    it('should grant only the given statements, writing its own logs and decrypting its own environment', () => {
      const statements = statementsOf(stack, 'fn_policy-document');
      expect(statements.map((s) => s.sid)).toEqual(['WriteOwnLogs', 'DecryptOwnEnvironment', 'ReadQueue']);
      expect(statements[0]).toMatchObject({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`\${aws_cloudwatch_log_group.${logGroupId}.arn}:*`],
      });
      expect(statements[1]).toMatchObject({ actions: ['kms:Decrypt'], resources: [keyArn] });
      expect(statements[2]).toMatchObject({ actions: READ_QUEUE.actions, resources: READ_QUEUE.resources });
      // No conditional documents: PassThrough tracing and no VPC are decided now.
      expect(Object.keys(dataSources(stack, 'aws_iam_policy_document')).some((id) => id.includes('conditional'))).toBe(false);
      expect(statementsOf(stack, 'fn_policy-document').length).toBe(3);
    });
  });

  describe('function', () => {
    it('should log to its own encrypted log group, created before the function', () => {
      expect(json).toHaveResourceWithProperties(CloudwatchLogGroup, {
        name: '/aws/lambda/gh-ci-fn',
        kms_key_id: keyArn,
        retention_in_days: 180,
      });
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        depends_on: [`aws_cloudwatch_log_group.${logGroupId}`],
        logging_config: { log_format: 'Text', log_group: `\${aws_cloudwatch_log_group.${logGroupId}.name}` },
      });
    });

    it('should encrypt its environment with the module key', () => {
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        kms_key_arn: keyArn,
        environment: { variables: { LOG_LEVEL: 'info' } },
      });
    });

    it('should run on its own role with the given timeout, memory and reserved concurrency', () => {
      expect(json).toHaveResourceWithProperties(LambdaFunction, {
        function_name: 'gh-ci-fn',
        role: `\${aws_iam_role.${roleId}.arn}`,
        runtime: LAMBDA_RUNTIME,
        handler: LAMBDA_HANDLER,
        timeout: 45,
        memory_size: 512,
        reserved_concurrent_executions: 3,
        // The caller's tags, and the release the function runs (#13 item 4).
        tags: { team: 'ci', [MODULE_VERSION_TAG]: MODULE_VERSION },
      });
    });

    it('should default to arm64, 30 s, 256 MB, no reserved concurrency and PassThrough tracing', () => {
      const { json: defaults } = synthFunction();
      expect(defaults).toHaveResourceWithProperties(LambdaFunction, {
        architectures: ['arm64'],
        timeout: 30,
        memory_size: 256,
        reserved_concurrent_executions: -1,
        tracing_config: { mode: 'PassThrough' },
        environment: { variables: {} },
      });
    });
  });

  describe('tracing', () => {
    it('should add XRayWrite when tracing is Active', () => {
      const { json: active, stack: activeStack } = synthFunction({ tracingMode: 'Active' });
      expect(active).toHaveResourceWithProperties(LambdaFunction, { tracing_config: { mode: 'Active' } });
      const xray = statementsOf(activeStack, 'fn_policy-document').find((s) => s.sid === 'XRayWrite');
      expect(xray).toMatchObject({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] });
    });

    it('should not grant X-Ray on PassThrough', () => {
      expect(sids(stack)).not.toContain('XRayWrite');
    });

    it('should let Terraform decide when the mode is a Terraform value', () => {
      // GIVEN the mode from a variable
      const { json: decided, stack: decidedStack } = synthFunction({}, (scope) => ({
        tracingMode: new TerraformVariable(scope, 'tracing', { type: 'string' }).stringValue,
      }));
      // THEN XRayWrite sits in a second document, merged only when the variable says Active
      const conditionalId = logicalId(decidedStack, 'aws_iam_policy_document', 'fn_policy-document-conditional-0', 'data');
      expect(statementsOf(decidedStack, 'fn_policy-document-conditional-0').map((s) => s.sid)).toEqual(['XRayWrite']);
      expect(decided).toHaveDataSourceWithProperties(DataAwsIamPolicyDocument, {
        source_policy_documents: `\${flatten([(var.tracing == "Active") ? [data.aws_iam_policy_document.${conditionalId}.json] : []])}`,
      });
    });
  });

  describe('vpc', () => {
    it('should run in the VPC and grant VpcNetworkInterfaces when a VPC is given', () => {
      const { json: inVpc, stack: vpcStack } = synthFunction({ vpc: { subnetIds: ['subnet-1', 'subnet-2'], securityGroupIds: ['sg-1'] } });
      expect(inVpc).toHaveResourceWithProperties(LambdaFunction, {
        vpc_config: { subnet_ids: ['subnet-1', 'subnet-2'], security_group_ids: ['sg-1'] },
      });
      const eni = statementsOf(vpcStack, 'fn_policy-document').find((s) => s.sid === 'VpcNetworkInterfaces');
      expect(eni?.actions).toEqual(expect.arrayContaining(['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface']));
    });

    it('should have neither vpc_config nor VpcNetworkInterfaces without a VPC', () => {
      expect(onlyResource(stack, 'aws_lambda_function').config.vpc_config).toBeUndefined();
      expect(sids(stack)).not.toContain('VpcNetworkInterfaces');
    });

    it('should grant VpcNetworkInterfaces only when vpcEnabled holds, when Terraform decides', () => {
      const { json: decided, stack: decidedStack } = synthFunction({ vpc: { subnetIds: [], securityGroupIds: [] } }, (scope) => ({
        vpcEnabled: new TerraformVariable(scope, 'in_vpc', { type: 'bool' }).booleanValue,
      }));
      const conditionalId = logicalId(decidedStack, 'aws_iam_policy_document', 'fn_policy-document-conditional-1', 'data');
      expect(statementsOf(decidedStack, 'fn_policy-document-conditional-1').map((s) => s.sid)).toEqual(['VpcNetworkInterfaces']);
      expect(decided).toHaveDataSourceWithProperties(DataAwsIamPolicyDocument, {
        source_policy_documents: `\${flatten([var.in_vpc ? [data.aws_iam_policy_document.${conditionalId}.json] : []])}`,
      });
    });
  });

  describe('validation', () => {
    it('should list every bad setting in one error', () => {
      const error = validationError(() =>
        synthFunction({ timeoutSeconds: 0, memorySizeMb: 64, reservedConcurrentExecutions: -2, architecture: 'ia64', tracingMode: 'Off' }),
      );
      expect(error.construct).toBe('ModuleFunction');
      expect(error.problems).toEqual([
        'timeoutSeconds must be 1 to 900, got 0',
        'memorySizeMb must be 128 to 10240, got 64',
        'reservedConcurrentExecutions must be -1 or more, got -2',
        'architecture must be arm64 or x86_64, got ia64',
        'tracingMode must be PassThrough or Active, got Off',
      ]);
    });

    it.each<[Partial<ModuleFunctionProps>]>([[{ timeoutSeconds: 901 }], [{ memorySizeMb: 10241 }]])('should reject %j', (props) => {
      expect(validationError(() => synthFunction(props)).problems).toHaveLength(1);
    });
  });

  describe('with forEach', () => {
    const { json: perType, stack: perTypeStack } = synth((scope) => {
      const types = new TerraformVariable(scope, 'types', { type: 'map(any)' });
      const tracing = new TerraformVariable(scope, 'tracing', { type: 'string' });
      const it = TerraformIterator.fromMap(types.value);
      new ModuleFunction(scope, 'fn', {
        functionName: `gh-ci-scale-up-${it.key}`,
        description: 'per type',
        code: S3_CODE,
        key: testKey(scope),
        statements: [READ_QUEUE],
        tracingMode: tracing.stringValue,
        forEach: it,
      });
    });
    const perTypeRole = onlyResource(perTypeStack, 'aws_iam_role').id;
    const perTypeLogs = onlyResource(perTypeStack, 'aws_cloudwatch_log_group').id;

    it('should create one function, role and log group per element, each using the same key', () => {
      expect(perType).toHaveResourceWithProperties(LambdaFunction, {
        for_each: '${var.types}',
        function_name: 'gh-ci-scale-up-${each.key}',
        role: `\${aws_iam_role.${perTypeRole}[each.key].arn}`,
        logging_config: { log_format: 'Text', log_group: `\${aws_cloudwatch_log_group.${perTypeLogs}[each.key].name}` },
      });
      expect(perType).toHaveResourceWithProperties(IamRole, { for_each: '${var.types}', name: 'gh-ci-scale-up-${each.key}' });
      expect(perType).toHaveResourceWithProperties(CloudwatchLogGroup, { for_each: '${var.types}', name: '/aws/lambda/gh-ci-scale-up-${each.key}' });
      expect(perType).toHaveResourceWithProperties(IamRolePolicy, { for_each: '${var.types}', role: `\${aws_iam_role.${perTypeRole}[each.key].name}` });
      expect(statementsOf(perTypeStack, 'fn_policy-document')[0].resources).toEqual([`\${aws_cloudwatch_log_group.${perTypeLogs}[each.key].arn}:*`]);
    });

    // Regression: before the fix these rendered as `data.aws_iam_policy_document.<id>.*.json`,
    // which `terraform plan` rejects for a for_each data source.
    it('should reference the policy documents of the same key (`[each.key].json`)', () => {
      const documentId = logicalId(perTypeStack, 'aws_iam_policy_document', 'fn_policy-document', 'data');
      const conditionalId = logicalId(perTypeStack, 'aws_iam_policy_document', 'fn_policy-document-conditional-0', 'data');
      expect(perType).toHaveResourceWithProperties(IamRolePolicy, {
        policy: `\${data.aws_iam_policy_document.${documentId}[each.key].json}`,
      });
      expect(perType).toHaveDataSourceWithProperties(DataAwsIamPolicyDocument, {
        source_policy_documents: `\${flatten([(var.tracing == "Active") ? [data.aws_iam_policy_document.${conditionalId}[each.key].json] : []])}`,
      });
    });
  });
});
