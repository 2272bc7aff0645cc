/**
 * The syncer keeps the Windows runner zip only when a runner type runs
 * Windows (issue #16): GitHubRunners hands it ARCHITECTURES as a Terraform
 * expression over the runner types, so a map variable decides at plan too.
 * The expression is evaluated by `terraform console` with the types' map.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitHubRunners } from '../../../modules/github-runners';
import { RunnerTypeProps, RunnerTypes } from '../../../modules/runners/runner-types';
import { LambdaCode } from '../../../modules/shared/lambda-code';
import { validateArchitectures } from '../../../lambdas/syncer/config';
import { makeBundleDir, resources, synth } from '../helpers';

const NAMES = ['webhook', 'scale-up', 'scale-down', 'termination-watcher', 'syncer'] as const;
const bundle = makeBundleDir([...NAMES]);
const code = (name: (typeof NAMES)[number]) => LambdaCode.fromBundle(name, bundle.dir);

/** ARCHITECTURES as Terraform evaluates it for these types. */
function architectures(types: RunnerTypeProps[]): unknown {
  const { stack } = synth((scope) => {
    new GitHubRunners(scope, 'runners', {
      prefix: 'gh-ci',
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0'],
      githubApp: { appId: '/gh-ci/github/app-id', privateKey: '/gh-ci/github/private-key', webhookSecret: '/gh-ci/github/webhook-secret' },
      lambdaCode: { webhook: code('webhook'), scaleUp: code('scale-up'), scaleDown: code('scale-down'), terminationWatcher: code('termination-watcher'), syncer: code('syncer') },
      runnerTypes: RunnerTypes.fromList(types),
    });
  });
  const syncer = Object.entries(resources(stack, 'aws_lambda_function')).find(([id]) => id.includes('syncer'))![1] as { environment: { variables: Record<string, string> } };
  const expression = syncer.environment.variables.ARCHITECTURES;
  const [local, map] = Object.entries(stack.locals ?? {}).find(([id]) => /^runners_runner_types_[A-Z0-9]+$/.test(id))! as [string, unknown];
  const hcl = expression
    .replace(/^\$\{/, '')
    .replace(/\}$/, '')
    .replace(new RegExp(`local\\.${local}\\b`, 'g'), JSON.stringify(map).replace(/"([a-z_0-9-]+)":/g, '"$1" = '));
  const result = spawnSync('terraform', ['console'], { cwd: mkdtempSync(join(tmpdir(), 'syncer-arch-')), encoding: 'utf8', input: `${hcl}\n`, env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
  if (result.error) throw new Error(`terraform is required to evaluate ARCHITECTURES: ${result.error.message}`);
  expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
  return JSON.parse(JSON.parse(result.stdout.trim()));
}

describe('syncer ARCHITECTURES from the runner types', () => {
  it('should keep the Linux tarballs only when no type runs Windows', () => {
    expect(architectures([{ name: 'x64', labels: ['linux'] }, { name: 'arm', labels: ['arm64'], runnerArchitecture: 'arm64' }])).toEqual(['x64', 'arm64']);
  });

  it('should add the win-x64 zip when a type runs Windows, in a form the syncer accepts', () => {
    const value = architectures([{ name: 'x64', labels: ['linux'] }, { name: 'win', labels: ['windows'], runnerOs: 'windows' }]);
    expect(value).toEqual(['x64', 'arm64', 'win-x64']);
    expect(validateArchitectures(value)).toEqual([]);
  });
});
