/**
 * The launch template hands templatefile() every variable the user-data
 * template references, and takes the per-type boot settings from the runner
 * type (issue #10 items 5, 6). The offline plans cannot show this: there the
 * user data is only known after apply (it names the log group and bucket).
 */
import { GitHubRunners } from '../../../modules/github-runners';
import { RunnerTypes } from '../../../modules/runners/runner-types';
import { USER_DATA_TEMPLATE_VARIABLES, WINDOWS_USER_DATA_TEMPLATE_VARIABLES } from '../../../modules/runners/user-data';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { makeBundleDir, resources, synth } from '../helpers';

const NAMES = ['webhook', 'scale-up', 'scale-down', 'termination-watcher', 'syncer'] as const;
const bundle = makeBundleDir([...NAMES]);
const code = (name: (typeof NAMES)[number]) => LambdaCode.fromBundle(name, bundle.dir);

describe('launch template user data', () => {
  const { stack } = synth((scope) => {
    new GitHubRunners(scope, 'runners', {
      prefix: 'gh-ci',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0'],
      githubApp: { appId: '/gh-ci/github/app-id', privateKey: '/gh-ci/github/private-key', webhookSecret: '/gh-ci/github/webhook-secret' },
      lambdaCode: { webhook: code('webhook'), scaleUp: code('scale-up'), scaleDown: code('scale-down'), terminationWatcher: code('termination-watcher'), syncer: code('syncer') },
      runnerTypes: RunnerTypes.fromList([{ name: 'lean', labels: ['linux'], enableRunnerPackages: false, runnerExtraPackages: ['make'], userdataPostInstall: "echo 'hi'" }]),
    });
  });
  const [template] = Object.values(resources(stack, 'aws_launch_template')) as Array<{ user_data: string }>;
  // Windows types: the PowerShell template, sent plain; the others: the bash one, gzipped.
  const choice = /^\$\{\(each\.value\.runner_os == "windows"\) \? base64encode\(templatefile\([^{]*user-data\.ps1"\), \{(.*)\}\)\) : base64gzip\(templatefile\([^{]*user-data\.sh"\), \{(.*)\}\)\)\}$/s.exec(template.user_data);
  const windowsVars = choice?.[1] ?? '';
  const vars = choice?.[2] ?? '';
  const keysOf = (map: string) => [...map.matchAll(/"?([a-z0-9_]+)"?\s*=/g)].map((m) => m[1]).sort();

  it('should pass templatefile() exactly the variables the template references', () => {
    expect(keysOf(vars)).toEqual([...USER_DATA_TEMPLATE_VARIABLES].sort());
  });

  it('should pass the Windows template exactly its variables, with the syncer\'s win-x64 zip', () => {
    expect(keysOf(windowsVars)).toEqual([...WINDOWS_USER_DATA_TEMPLATE_VARIABLES].sort());
    expect(windowsVars).toMatch(/"runner_binaries_s3_location" = format\("s3:\/\/%s\/actions-runner\/actions-runner-win-x64\.zip", aws_s3_bucket\.[^)]+\)/);
  });

  it('should take the boot settings from the runner type, the snippets base64-encoded', () => {
    expect(vars).toMatch(/enable_runner_packages"?\s*=\s*each\.value\.enable_runner_packages/);
    expect(vars).toMatch(/runner_extra_packages"?\s*=\s*join\(" ", each\.value\.runner_extra_packages\)/);
    expect(vars).toMatch(/userdata_pre_install_base64"?\s*=\s*base64encode\(each\.value\.userdata_pre_install\)/);
    expect(vars).toMatch(/userdata_post_install_base64"?\s*=\s*base64encode\(each\.value\.userdata_post_install\)/);
  });
});
