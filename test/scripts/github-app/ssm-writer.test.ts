import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { SSMClient } from '@aws-sdk/client-ssm';
import { sameKmsKey, SecureParameter, SecureParameterStore, SsmParameterError } from '../../../scripts/lib/github-app/ssm-writer';
import { fakeSsm, mockSsmClient } from './fakes';

const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ssmMock = mockSsmClient();

const parameter = (name: string, value: string): SecureParameter => ({ label: 'app id', name, value, description: 'd' });

describe('SecureParameterStore', () => {
  it('should create a missing parameter as a SecureString under the KMS key, with Overwrite', async () => {
    const ssm = fakeSsm(ssmMock);
    const outcome = await new SecureParameterStore(new SSMClient({})).write(parameter('/gh-ci/github/app-id', '42'), KEY);
    expect(outcome).toBe('created');
    expect(ssm.puts()).toEqual([{ Name: '/gh-ci/github/app-id', Value: '42', Type: 'SecureString', KeyId: KEY, Overwrite: true, Description: 'd' }]);
  });

  it('should skip a parameter that already holds the value as a SecureString under the same key', async () => {
    const ssm = fakeSsm(ssmMock, { '/p': { value: '42', type: 'SecureString', keyId: KEY } });
    expect(await new SecureParameterStore(new SSMClient({})).write(parameter('/p', '42'), KEY)).toBe('unchanged');
    expect(await new SecureParameterStore(new SSMClient({})).write(parameter('/p', '42'), undefined)).toBe('unchanged');
    expect(ssm.puts()).toEqual([]);
  });

  it.each([
    ['a different value', { value: '41', type: 'SecureString', keyId: KEY }],
    ['a plain String', { value: '42', type: 'String', keyId: undefined }],
    ['another KMS key', { value: '42', type: 'SecureString', keyId: 'alias/aws/ssm' }],
  ])('should write a new version over %s', async (_what, stored) => {
    const ssm = fakeSsm(ssmMock, { '/p': stored });
    expect(await new SecureParameterStore(new SSMClient({})).write(parameter('/p', '42'), KEY)).toBe('updated');
    expect(ssm.puts()).toEqual([expect.objectContaining({ Name: '/p', Type: 'SecureString', KeyId: KEY, Overwrite: true })]);
  });

  it('should name the parameter but not the value when a write fails', async () => {
    fakeSsm(ssmMock);
    ssmMock.on(PutParameterCommand).rejects(Object.assign(new Error('User is not authorized to perform ssm:PutParameter'), { name: 'AccessDeniedException' }));
    const write = new SecureParameterStore(new SSMClient({})).write(parameter('/p', 'very-secret-value'), KEY);
    await expect(write).rejects.toBeInstanceOf(SsmParameterError);
    await expect(write).rejects.toThrow('writing /p failed: AccessDeniedException');
    await expect(write).rejects.not.toThrow(/very-secret-value/);
  });
});

describe('sameKmsKey', () => {
  it('should match a key id with its ARN and nothing else', () => {
    expect(sameKmsKey(KEY, KEY)).toBe(true);
    expect(sameKmsKey('1234abcd-12ab-34cd-56ef-1234567890ab', KEY)).toBe(true);
    expect(sameKmsKey('alias/aws/ssm', KEY)).toBe(false);
    expect(sameKmsKey(undefined, KEY)).toBe(false);
  });
});
