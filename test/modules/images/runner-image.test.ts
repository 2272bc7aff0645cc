/**
 * RunnerImage (issue #17 item 2): the Image Builder recipe bakes what the user
 * data would install on a stock image, the distribution publishes the AMI id
 * to the parameter a runner type resolves, and a lifecycle policy expires old
 * images under a role of its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { parse } from 'yaml';
import { BAKED_RUNNER_DIR, componentDocument, IMAGE_EXTRA_PACKAGES, IMAGE_TAG, RUNNER_LIBRARIES, RunnerImage, RunnerImageProps, WORKFLOW_PACKAGES } from '../../../modules/images/runner-image';
import { DEFAULT_RUNNER_VERSION } from '../../../modules/runners/runner-instances';
import { onlyResource, resources, statementsOf, synth, validationError } from '../helpers';

Testing.setupJest();

const USER_DATA = readFileSync(join(__dirname, '..', '..', '..', 'modules', 'runners', 'templates', 'user-data.sh'), 'utf8');

/** A `readonly NAME=(a b c)` array of the user-data template. */
function bashArray(name: string): string[] {
  const match = new RegExp(`^readonly ${name}=\\(([^)]*)\\)`, 'm').exec(USER_DATA);
  expect({ name, found: match !== null }).toEqual({ name, found: true });
  return match![1].trim().split(/\s+/);
}

function synthImage(props: Partial<RunnerImageProps> = {}) {
  return synth((scope) => {
    new RunnerImage(scope, 'image', { prefix: 'gh-ci', name: 'al2023-x64', tags: { team: 'ci' }, ...props });
  }).stack;
}

describe('RunnerImage', () => {
  it('should bake exactly the packages the user data installs at boot on a stock image, so a prebaked type installs nothing', () => {
    expect(RUNNER_LIBRARIES).toEqual(bashArray('RUNNER_LIBRARIES'));
    expect(WORKFLOW_PACKAGES).toEqual(bashArray('WORKFLOW_PACKAGES'));
    // The user data refuses a prebaked AMI without run.sh in its RUNNER_DIR default.
    expect(USER_DATA).toContain(`RUNNER_DIR:-${BAKED_RUNNER_DIR}}`);
    expect(USER_DATA).toContain('[ -x "$RUNNER_DIR/run.sh" ] || die "prebaked AMI expected');
  });

  it('should install the packages and the runner release for the architecture in the build phase, and check run.sh in the test phase', () => {
    const doc = parse(componentDocument('arm64', '2.330.0', ['make'])) as { phases: { name: string; steps: { inputs: { commands: string[] } }[] }[] };
    const commands = (phase: string) => doc.phases.find((p) => p.name === phase)!.steps.flatMap((s) => s.inputs.commands).join('\n');
    expect(commands('build')).toContain(`dnf install -y -q ${[...RUNNER_LIBRARIES, ...WORKFLOW_PACKAGES, ...IMAGE_EXTRA_PACKAGES, 'make'].join(' ')}`);
    expect(commands('build')).toContain('https://github.com/actions/runner/releases/download/v2.330.0/actions-runner-linux-arm64-2.330.0.tar.gz');
    expect(commands('build')).toContain(`tar -xzf /tmp/actions-runner.tar.gz -C ${BAKED_RUNNER_DIR}`);
    expect(commands('test')).toContain(`test -x ${BAKED_RUNNER_DIR}/run.sh`);
  });

  it('should build from the public AL2023 parameter of the architecture, with an encrypted gp3 root volume', () => {
    const stack = synthImage({ runnerArchitecture: 'arm64', name: 'al2023-arm64' });
    const recipe = onlyResource(stack, 'aws_imagebuilder_image_recipe').config;
    expect(recipe.parent_image).toBe('ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64');
    expect(recipe.block_device_mapping).toEqual([{ device_name: '/dev/xvda', ebs: { volume_size: 30, volume_type: 'gp3', encrypted: 'true', delete_on_termination: 'true' } }]);
    expect(recipe.version).toMatch(/^1\.0\.\d+$/);
    expect(recipe.lifecycle).toEqual({ create_before_destroy: true });
    const component = onlyResource(stack, 'aws_imagebuilder_component').config;
    expect(component.data).toContain(`actions-runner-linux-arm64-${DEFAULT_RUNNER_VERSION}.tar.gz`);
    expect(onlyResource(stack, 'aws_imagebuilder_infrastructure_configuration').config.instance_types).toEqual(['m7g.large', 'm6g.large']);
  });

  it('should give a changed component a new version, so the recipe can be created before the old one goes', () => {
    const version = (v: string) => onlyResource(synthImage({ runnerVersion: v }), 'aws_imagebuilder_component').config.version;
    expect(version('2.329.0')).not.toEqual(version('2.330.0'));
    expect(version('2.329.0')).toEqual(version('2.329.0'));
  });

  it('should publish the AMI id to the SSM parameter a runner type reads, as an aws:ec2:image', () => {
    const stack = synthImage();
    const [distribution] = onlyResource(stack, 'aws_imagebuilder_distribution_configuration').config.distribution;
    expect(distribution.ssm_parameter_configuration).toEqual([{ parameter_name: '/gh-ci/images/al2023-x64/ami-id', data_type: 'aws:ec2:image' }]);
    expect(distribution.ami_distribution_configuration.name).toBe('gh-ci-image-al2023-x64-{{ imagebuilder:buildDate }}');
  });

  it('should hand a runner type the parameter, the architecture and enablePrebakedAmi', () => {
    let props: unknown;
    synth((scope) => {
      props = new RunnerImage(scope, 'image', { prefix: 'gh-ci', name: 'arm', runnerArchitecture: 'arm64', amiIdSsmParameterName: '/ci/ami' }).runnerTypeProps();
    });
    expect(props).toEqual({ runnerArchitecture: 'arm64', amiIdSsmParameterName: '/ci/ami', enablePrebakedAmi: true });
  });

  it('should build on the schedule with image tests, IMDSv2 and termination on failure', () => {
    const stack = synthImage({ scheduleExpression: 'cron(0 2 * * ? *)' });
    const pipeline = onlyResource(stack, 'aws_imagebuilder_image_pipeline').config;
    expect(pipeline.schedule).toEqual({ schedule_expression: 'cron(0 2 * * ? *)', pipeline_execution_start_condition: 'EXPRESSION_MATCH_ONLY' });
    expect(pipeline.image_tests_configuration.image_tests_enabled).toBe(true);
    const infra = onlyResource(stack, 'aws_imagebuilder_infrastructure_configuration').config;
    expect(infra.instance_metadata_options).toEqual({ http_tokens: 'required', http_put_response_hop_limit: 1 });
    expect(infra.terminate_instance_on_failure).toBe(true);
  });

  it('should delete AMIs and snapshots older than the retention, keep the newest, and select the pipeline\'s images by its tag', () => {
    const stack = synthImage({ retentionDays: 14, retainAtLeast: 3 });
    const policy = onlyResource(stack, 'aws_imagebuilder_lifecycle_policy').config;
    expect(policy.resource_type).toBe('AMI_IMAGE');
    expect(policy.policy_detail).toEqual([
      { action: [{ type: 'DELETE', include_resources: [{ amis: true, snapshots: true }] }], filter: [{ type: 'AGE', value: 14, unit: 'DAYS', retain_at_least: 3 }] },
    ]);
    expect(policy.resource_selection).toEqual([{ tag_map: { [IMAGE_TAG]: 'gh-ci-image-al2023-x64' } }]);
    expect(onlyResource(stack, 'aws_imagebuilder_image_pipeline').config.tags).toEqual({ team: 'ci', [IMAGE_TAG]: 'gh-ci-image-al2023-x64' });
    expect(policy.execution_role).toContain('aws_iam_role.image_lifecycle-role');
  });

  it('should trust EC2 with the build role and Image Builder with the lifecycle role, each with only AWS\'s documented policies', () => {
    const stack = synthImage();
    expect(statementsOf(stack, 'image_instance-assume-role')).toEqual([expect.objectContaining({ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['ec2.amazonaws.com'] }] })]);
    expect(statementsOf(stack, 'image_lifecycle-assume-role')).toEqual([expect.objectContaining({ actions: ['sts:AssumeRole'], principals: [{ type: 'Service', identifiers: ['imagebuilder.amazonaws.com'] }] })]);
    const attached = Object.values(resources(stack, 'aws_iam_role_policy_attachment')).map((a: any) => ({ role: a.role, policy: a.policy_arn.replace(/^arn:\$\{[^}]+\}/, 'arn:aws') }));
    expect(attached).toEqual(
      expect.arrayContaining([
        { role: expect.stringContaining('instance-role'), policy: 'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore' },
        { role: expect.stringContaining('instance-role'), policy: 'arn:aws:iam::aws:policy/EC2InstanceProfileForImageBuilder' },
        { role: expect.stringContaining('lifecycle-role'), policy: 'arn:aws:iam::aws:policy/service-role/EC2ImageBuilderLifecycleExecutionPolicy' },
      ]),
    );
    expect(attached).toHaveLength(3);
    expect(resources(stack, 'aws_iam_role_policy')).toEqual({});
  });

  it('should give its roles the module\'s path and boundary', () => {
    const stack = synthImage({ roles: { path: '/ci/', permissionsBoundary: 'arn:aws:iam::123456789012:policy/b' }, instanceProfilePath: '/ci/profiles/' });
    for (const role of Object.values(resources(stack, 'aws_iam_role')) as any[]) expect({ path: role.path, boundary: role.permissions_boundary }).toEqual({ path: '/ci/', boundary: 'arn:aws:iam::123456789012:policy/b' });
    expect(onlyResource(stack, 'aws_iam_instance_profile').config.path).toBe('/ci/profiles/');
  });

  it.each([
    [{ name: 'Bad_Name' }, 'name must be lower-case letters'],
    [{ runnerArchitecture: 'riscv' }, 'runnerArchitecture must be x64 or arm64, got "riscv"'],
    [{ runnerVersion: 'latest' }, 'runnerVersion must look like 2.329.0'],
    [{ packages: ['-x'] }, 'packages must be dnf package names'],
    [{ amiIdSsmParameterName: 'no-slash' }, 'amiIdSsmParameterName must be a parameter path'],
    [{ amiIdSsmParameterName: '/aws/service/x' }, 'not under /aws/'],
    [{ volumeSize: 4 }, 'volumeSize must be 8 to 16384 GiB, got 4'],
    [{ retentionDays: 0 }, 'retentionDays must be 1 to 365, got 0'],
    [{ retainAtLeast: 0 }, 'retainAtLeast must be 1 to 10, got 0'],
    [{ scheduleExpression: 'rate(1 day)' }, 'scheduleExpression must be an Image Builder cron(…) expression'],
    // Five fields (Unix cron) are not Image Builder's six.
    [{ scheduleExpression: 'cron(0 4 * * 0)' }, 'with six fields'],
    [{ subnetId: 'subnet-1' }, 'securityGroupIds are required with subnetId'],
  ] as [Partial<RunnerImageProps>, string][])('should refuse %j naming the setting', (props, message) => {
    expect(validationError(() => synthImage(props)).message).toContain(message);
  });
});
