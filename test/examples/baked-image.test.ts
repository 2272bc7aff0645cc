/**
 * The baked-image example (examples/baked-image): each runner type launches
 * the AMI its image pipeline publishes, with the prebaked user data path, and
 * its launching roles may read that parameter (resolve:ssm: checks it for the
 * caller; PITFALLS, terraform-aws-github-runner PR #5016).
 */
import { Testing } from 'cdktf';
import { BakedImageExampleStack } from '../../examples/baked-image/baked-image-stack';

interface Synthesized {
  resource: Record<string, Record<string, any>>;
  locals?: Record<string, unknown>;
}

describe('the baked-image example', () => {
  const stack = JSON.parse(Testing.synth(new BakedImageExampleStack(Testing.app(), 'baked'))) as Synthesized;
  const published = Object.values(stack.resource.aws_imagebuilder_distribution_configuration).map((d) => d.distribution[0].ssm_parameter_configuration[0].parameter_name as string);
  const types = JSON.stringify(Object.values(stack.locals ?? {}));

  it('should build one image per architecture and publish each to its own parameter', () => {
    expect(published.sort()).toEqual(['/gh-baked/images/al2023-arm64/ami-id', '/gh-baked/images/al2023-x64/ami-id']);
    const parents = Object.values(stack.resource.aws_imagebuilder_image_recipe).map((r) => r.parent_image as string);
    expect(parents.sort()).toEqual([
      'ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
      'ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
    ]);
  });

  it('should give each runner type the parameter of its architecture\'s image and enable_prebaked_ami', () => {
    for (const arch of ['x64', 'arm64']) {
      expect(types).toContain(`"ami_id_ssm_parameter_name":"/gh-baked/images/al2023-${arch}/ami-id"`);
    }
    expect(types.match(/"enable_prebaked_ami":true/g)).toHaveLength(2);
    expect(types).not.toContain('"enable_prebaked_ami":false');
  });

  it('should build in the runners\' subnet with their outbound-only security group', () => {
    for (const infra of Object.values(stack.resource.aws_imagebuilder_infrastructure_configuration)) {
      expect(infra.subnet_id).toBe('subnet-0123456789abcdef0');
      expect(JSON.stringify(infra.security_group_ids)).toContain('aws_security_group.runners_instances_security-group');
    }
  });
});
