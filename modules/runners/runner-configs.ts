/**
 * The runner config path: the SSM parameters `<path>/<instance-id>` that hold
 * each instance's JIT config (SecureString, module key). RunnerInstances owns
 * it (its launch templates tell the instances where to read); the functions
 * that write, read or clean up the configs get their statements here, with
 * the key, rather than writing statements on the path themselves.
 */
import { Statement } from '../shared/iam';
import { ModuleKey } from '../shared/module-key';
import { RUNNER_TAGS as TAGS } from '../contract/tags';

export class RunnerConfigs {
  /**
   * @param path parent path of the configs, starting with "/" (RunnerInstances validates it)
   * @param key the module key the SecureStrings are encrypted with
   */
  constructor(
    readonly path: string,
    private readonly key: ModuleKey,
  ) {}

  /** ARN of the parameters under the path. */
  private get configArns(): string {
    return this.key.parameterArn(`${this.path}/*`);
  }

  /**
   * What a launcher needs to write a new instance's config and tag it with
   * the instance's ARN (the runner role reads only the config so tagged).
   * The key: SSM encrypts a SecureString with the caller's permissions,
   * `kms:Encrypt` for standard parameters, `kms:GenerateDataKey` for advanced
   * ones (AWS Systems Manager User Guide, "SecureString parameters and AWS
   * KMS encryption").
   */
  grantWrite(): Statement[] {
    return [
      { sid: 'WriteRunnerConfigs', actions: ['ssm:PutParameter', 'ssm:AddTagsToResource'], resources: [this.configArns] },
      { sid: 'EncryptRunnerConfigs', actions: ['kms:Encrypt', 'kms:GenerateDataKey'], resources: [this.key.arn] },
    ];
  }

  /**
   * What the housekeeper (scale-down) needs to list the configs and delete
   * those left behind. It lists without decryption, so it needs no key.
   */
  grantHousekeeping(): Statement[] {
    return [
      {
        sid: 'CleanUpRunnerConfigs',
        actions: ['ssm:GetParametersByPath', 'ssm:DeleteParameters'],
        resources: [this.key.parameterArn(this.path), this.configArns],
      },
    ];
  }

  /**
   * What an instance needs to read and then delete its own config, and only
   * its own: the parameter tagged with the instance's ARN, which
   * `ec2:SourceInstanceARN` gives in a role of an EC2 instance. `&{…}` is an
   * IAM policy variable, written so Terraform does not interpolate it. The key
   * only through SSM.
   */
  grantReadAndDeleteOwn(): Statement[] {
    return [
      {
        sid: 'ReadAndDeleteOwnRunnerConfig',
        actions: ['ssm:GetParameter', 'ssm:DeleteParameter'],
        resources: [this.configArns],
        conditions: [{ test: 'StringEquals', variable: `ssm:resourceTag/${TAGS.instanceArn}`, values: ['&{ec2:SourceInstanceARN}'] }],
      },
      {
        sid: 'DecryptRunnerConfig',
        actions: ['kms:Decrypt'],
        resources: [this.key.arn],
        conditions: [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`ssm.${this.key.region}.amazonaws.com`] }],
      },
    ];
  }
}
