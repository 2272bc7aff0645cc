import { ParameterAlreadyExists, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createRunnerConfigStore, runnerConfigParameterName } from '../../../lambdas/shared/aws/jit-config-store';

const ssmMock = mockClient(SSMClient);

describe('runner config store', () => {
  beforeEach(() => ssmMock.reset());

  it('should name parameters after the instance under the config path', () => {
    expect(runnerConfigParameterName('/gh-ci/runners/config/', 'i-1')).toBe('/gh-ci/runners/config/i-1');
  });

  it('should put a tagged SecureString encrypted with the module key', async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    const store = createRunnerConfigStore(new SSMClient({}), { ssmConfigPath: '/gh-ci/runners/config', kmsKeyId: 'arn:aws:kms:eu-west-1:1:key/k', instanceArnPrefix: 'arn:aws:ec2:eu-west-1:123456789012:instance/' });
    await store.putRunnerConfig('i-1', { mode: 'jit', jit_config: 'ENCODED' });
    expect(ssmMock.commandCalls(PutParameterCommand)[0].args[0].input).toEqual({
      Name: '/gh-ci/runners/config/i-1',
      Value: '{"mode":"jit","jit_config":"ENCODED"}',
      Type: 'SecureString',
      KeyId: 'arn:aws:kms:eu-west-1:1:key/k',
      Tier: 'Intelligent-Tiering',
      // The runner policy matches ghr:instance-arn against ec2:SourceInstanceARN.
      Tags: [
        { Key: 'ghr:instance-id', Value: 'i-1' },
        { Key: 'ghr:instance-arn', Value: 'arn:aws:ec2:eu-west-1:123456789012:instance/i-1' },
      ],
    });
  });

  it('should overwrite, without tags, a parameter that already exists', async () => {
    ssmMock
      .on(PutParameterCommand)
      .rejectsOnce(new ParameterAlreadyExists({ message: 'exists', $metadata: {} }))
      .resolves({ Version: 2 });
    const store = createRunnerConfigStore(new SSMClient({}), { ssmConfigPath: '/p', kmsKeyId: 'k', instanceArnPrefix: 'arn:aws:ec2:eu-west-1:123456789012:instance/' });
    await store.putRunnerConfig('i-1', { mode: 'token', token: 't', url: 'https://github.com/o', labels: 'a,b', name: 'n' });
    const second = ssmMock.commandCalls(PutParameterCommand)[1].args[0].input;
    expect(second).toMatchObject({ Name: '/p/i-1', Overwrite: true, Type: 'SecureString', KeyId: 'k' });
    expect(second.Tags).toBeUndefined();
  });

  it('should propagate other errors', async () => {
    ssmMock.on(PutParameterCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const store = createRunnerConfigStore(new SSMClient({}), { ssmConfigPath: '/p', kmsKeyId: 'k', instanceArnPrefix: 'arn:aws:ec2:eu-west-1:123456789012:instance/' });
    await expect(store.putRunnerConfig('i-1', { mode: 'jit', jit_config: 'x' })).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});
