/**
 * The runner config path and the runner role offer the grants of the
 * functions that use them (aws-cdk style), with the module key: a launcher
 * writes configs and passes the role, scale-down cleans up, an instance reads
 * and deletes only its own config.
 */
import { Testing } from 'cdktf';
import { RunnerConfigs } from '../../../modules/runners/runner-configs';
import { RunnerInstances } from '../../../modules/runners/runner-instances';
import { RunnerTypes } from '../../../modules/runners/runner-types';
import { policyDocument } from '../../../modules/shared/iam';
import { dataSources, logicalId, synth, SynthStatement, testKey } from '../helpers';

Testing.setupJest();

const PATH = '/gh-ci/runners/config';

describe('RunnerConfigs and the runner role grants', () => {
  // GIVEN the runner instances, and a grantee's policy document per grant
  const { stack } = synth((scope) => {
    const key = testKey(scope);
    const runnerTypes = RunnerTypes.default().bind(scope);
    const instances = new RunnerInstances(scope, 'instances', { prefix: 'gh-ci', key, runnerTypes, vpcId: 'vpc-0123456789abcdef0', ssmConfigPath: PATH });
    policyDocument(scope, 'writer', instances.configs.grantWrite());
    policyDocument(scope, 'housekeeper', instances.configs.grantHousekeeping());
    policyDocument(scope, 'launcher', instances.grantPassRole());
    policyDocument(scope, 'other-path', new RunnerConfigs('/elsewhere', key).grantWrite());
  });
  const documents = dataSources(stack, 'aws_iam_policy_document');
  const statementsOf = (id: string) => Object.fromEntries((documents[id].statement as SynthStatement[]).map((s) => [s.sid, s]));
  const keyId = logicalId(stack, 'aws_kms_key', 'key');
  const keyArn = `\${aws_kms_key.${keyId}.arn}`;
  const parameterArn = (name: string) => expect.stringMatching(new RegExp(`^arn:.*:ssm:.*:parameter${name.replace(/[*/]/g, (c) => `\\${c}`)}$`));

  it('should let a launcher write and tag configs under the path only, and encrypt them with the module key', () => {
    const bySid = statementsOf('writer');
    expect(Object.keys(bySid)).toEqual(['WriteRunnerConfigs', 'EncryptRunnerConfigs']);
    expect(bySid.WriteRunnerConfigs).toMatchObject({ actions: ['ssm:PutParameter', 'ssm:AddTagsToResource'], resources: [parameterArn(`${PATH}/*`)] });
    expect(bySid.EncryptRunnerConfigs).toMatchObject({ actions: ['kms:Encrypt', 'kms:GenerateDataKey'], resources: [keyArn] });
  });

  it('should scope the grants to the configs\' own path', () => {
    expect(statementsOf('other-path').WriteRunnerConfigs.resources).toEqual([parameterArn('/elsewhere/*')]);
  });

  it('should let the housekeeper list the path and delete configs, without the key or any write', () => {
    const bySid = statementsOf('housekeeper');
    expect(Object.keys(bySid)).toEqual(['CleanUpRunnerConfigs']);
    expect(bySid.CleanUpRunnerConfigs).toMatchObject({
      actions: ['ssm:GetParametersByPath', 'ssm:DeleteParameters'],
      resources: [parameterArn(PATH), parameterArn(`${PATH}/*`)],
    });
  });

  it('should let a launcher pass the runner role, and only to EC2', () => {
    const roleId = logicalId(stack, 'aws_iam_role', 'instances_role');
    expect(statementsOf('launcher').PassRunnerRole).toMatchObject({
      actions: ['iam:PassRole'],
      resources: [`\${aws_iam_role.${roleId}.arn}`],
      condition: [{ test: 'StringEquals', variable: 'iam:PassedToService', values: ['ec2.amazonaws.com'] }],
    });
  });

  it('should let the runner role read and delete only the config tagged with its own instance ARN, decrypting through SSM only', () => {
    const id = logicalId(stack, 'aws_iam_policy_document', 'instances_policy-document', 'data');
    const bySid = statementsOf(id);
    expect(bySid.ReadAndDeleteOwnRunnerConfig).toMatchObject({
      actions: ['ssm:GetParameter', 'ssm:DeleteParameter'],
      resources: [parameterArn(`${PATH}/*`)],
      condition: [{ test: 'StringEquals', variable: 'ssm:resourceTag/ghr:instance-arn', values: ['&{ec2:SourceInstanceARN}'] }],
    });
    expect(bySid.DecryptRunnerConfig).toMatchObject({
      actions: ['kms:Decrypt'],
      resources: [keyArn],
      condition: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [expect.stringMatching(/^ssm\..+\.amazonaws\.com$/)] }],
    });
  });
});
