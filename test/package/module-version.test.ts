/**
 * The module's version is package.json's (#13 item 4): the HCL module's
 * `module_version` output and the `ghr:module-version` tag on its Lambda
 * functions, as synthesized to dist/terraform-module by `npm run synth`, and
 * the same on a construct synthesized here. The tag is on the functions only
 * (they change with every release anyway), so no other resource may carry it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { App, TerraformStack, Testing } from 'cdktf';
import { GitHubRunners, MODULE_VERSION, MODULE_VERSION_TAG } from '../../modules';

const root = join(__dirname, '..', '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

type Resources = Record<string, Record<string, { tags?: unknown }>>;

/** [type, name, tags] of every resource that declares tags. */
function taggedResources(resources: Resources): [string, string, unknown][] {
  return Object.entries(resources).flatMap(([type, byName]) => Object.entries(byName).filter(([, r]) => r.tags !== undefined).map(([name, r]) => [type, name, r.tags] as [string, string, unknown]));
}

describe('the module version', () => {
  it('should be a semantic version, and the one package.json gives', () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(MODULE_VERSION).toBe(version);
    expect(MODULE_VERSION_TAG).toBe('ghr:module-version');
  });

  describe('in the synthesized HCL module (dist/terraform-module)', () => {
    const module = JSON.parse(readFileSync(join(root, 'dist', 'terraform-module', 'cdk.tf.json'), 'utf8')) as {
      output: Record<string, { value: unknown; description?: string }>;
      resource: Resources;
    };

    it('should be the module_version output', () => {
      expect(module.output.module_version.value).toBe(version);
      expect(module.output.module_version.description).toMatch(/ghr:module-version/);
    });

    it('should tag every Lambda function ghr:module-version, merged over var.tags, and nothing else', () => {
      const tagged = taggedResources(module.resource);
      const functions = tagged.filter(([type]) => type === 'aws_lambda_function');
      expect(functions.length).toBe(Object.keys(module.resource.aws_lambda_function).length);
      for (const [, name, tags] of functions) {
        expect([name, tags]).toEqual([name, `\${merge(var.tags, {"ghr:module-version" = "${version}"})}`]);
      }
      const others = tagged.filter(([type, , tags]) => type !== 'aws_lambda_function' && JSON.stringify(tags).includes(MODULE_VERSION_TAG));
      expect(others).toEqual([]);
    });
  });

  it('should tag the functions of a GitHubRunners construct, over the user tags', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app as App, 'stack');
    new AwsProvider(stack, 'aws', { region: 'eu-west-1' });
    new GitHubRunners(stack, 'runners', {
      prefix: 'gh-ci',
      vpcId: 'vpc-1',
      subnetIds: ['subnet-1'],
      githubApp: { appId: '/gh/app-id', privateKey: '/gh/key', webhookSecret: '/gh/secret' },
      tags: { team: 'platform' },
    });
    const synth = JSON.parse(Testing.synth(stack)) as { resource: Resources };
    const functions = Object.values(synth.resource.aws_lambda_function);
    expect(functions.length).toBeGreaterThanOrEqual(5);
    for (const f of functions) expect(f.tags).toEqual({ team: 'platform', 'ghr:module-version': version });
    const roles = Object.values(synth.resource.aws_iam_role);
    for (const r of roles) expect(r.tags).toEqual({ team: 'platform' });
  });
});
