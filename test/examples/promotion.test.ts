/**
 * The promotion example (examples/promotion): dev and prod deploy the Lambda
 * zips published once, so every function of the module must come from the
 * published artifacts. The list is checked against the Lambdas the build
 * discovers (lambdas/<name>/index.ts), so the next new Lambda cannot be left
 * on a local build (the redelivery Lambda was, when it came).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { parse } from 'yaml';
import { PROMOTED_LAMBDAS, PromotionEnvironmentStack, codesFrom, readArtifacts } from '../../examples/promotion/promotion-stacks';
import { discoverLambdas } from '../../scripts/lib/lambda-bundles';
import { objectKey, variableStem } from '../../scripts/lib/publish';

const root = join(__dirname, '..', '..');
const discovered = discoverLambdas(join(root, 'lambdas'));

interface LambdaFunction {
  filename?: string;
  s3_bucket?: string;
  s3_key?: string;
  s3_object_version?: string;
}

describe('the promotion example', () => {
  const artifacts = readArtifacts();

  it('should list every Lambda the build discovers, no more and no fewer', () => {
    expect(discovered.length).toBeGreaterThanOrEqual(7);
    expect(Object.values(PROMOTED_LAMBDAS).sort()).toEqual(discovered);
  });

  it('should have artifacts shaped like the publish-lambdas output: the bucket and a key and object version for every discovered Lambda', () => {
    const expected = ['lambda_s3_bucket', ...discovered.flatMap((n) => [`${variableStem(n)}_lambda_s3_key`, `${variableStem(n)}_lambda_s3_object_version`])];
    expect(Object.keys(artifacts).sort()).toEqual(expected.sort());
    for (const name of discovered) {
      const key = artifacts[`${variableStem(name)}_lambda_s3_key`];
      // Content-addressed as scripts/lib/publish.ts names them.
      expect(key).toBe(objectKey('lambdas/', name, /\/([0-9a-f]{64})\.zip$/.exec(key)?.[1] ?? 'not a sha256'));
      expect(artifacts[`${variableStem(name)}_lambda_s3_object_version`]).toMatch(/^[A-Za-z0-9._-]+$/);
    }
  });

  it('should give every function S3 code from the artifacts, and none a local zip', () => {
    const codes = codesFrom(artifacts);
    expect(Object.keys(codes).sort()).toEqual(Object.keys(PROMOTED_LAMBDAS).sort());
    for (const [name, bundle] of Object.entries(PROMOTED_LAMBDAS)) {
      const stem = variableStem(bundle);
      expect(codes[name as keyof typeof codes].bind(Testing.app())).toEqual({
        s3Bucket: artifacts.lambda_s3_bucket,
        s3Key: artifacts[`${stem}_lambda_s3_key`],
        s3ObjectVersion: artifacts[`${stem}_lambda_s3_object_version`],
      });
    }
  });

  it('should synthesize a stack whose functions all deploy the published object versions', () => {
    const stack = new PromotionEnvironmentStack(Testing.app(), 'promotion-dev', { environment: 'dev', region: 'eu-west-1', artifacts, runnersMaximumCount: 5 });
    const synthesized = JSON.parse(Testing.synth(stack)) as { resource: { aws_lambda_function: Record<string, LambdaFunction> } };
    const functions = Object.values(synthesized.resource.aws_lambda_function);
    // Every Lambda but the warm pool and the runner API, which this stack does not configure.
    expect(functions.length).toBe(discovered.length - 2);
    const published = new Set(discovered.map((n) => `${artifacts[`${variableStem(n)}_lambda_s3_key`]}@${artifacts[`${variableStem(n)}_lambda_s3_object_version`]}`));
    for (const f of functions) {
      expect(f.filename).toBeUndefined();
      expect(f.s3_bucket).toBe(artifacts.lambda_s3_bucket);
      expect(published.has(`${f.s3_key}@${f.s3_object_version}`)).toBe(true);
    }
  });

  it('should fail, naming the variables, when the artifacts lack a Lambda', () => {
    const { redelivery_lambda_s3_key: _dropped, ...without } = artifacts;
    expect(_dropped).toBeDefined();
    expect(() => codesFrom(without)).toThrow('artifacts lack redelivery_lambda_s3_key or redelivery_lambda_s3_object_version');
  });

  it('should read the example artifacts file as JSON', () => {
    expect(readArtifacts()).toEqual(JSON.parse(readFileSync(join(root, 'examples', 'promotion', 'artifacts.example.json'), 'utf8')));
  });
});

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  'working-directory'?: string;
}
interface Job {
  needs?: string | string[];
  environment?: string;
  steps: Step[];
}

describe('the promotion workflow', () => {
  const workflow = parse(readFileSync(join(root, 'examples', 'promotion', 'workflow.yml'), 'utf8')) as { jobs: Record<string, Job> };
  const jobs = workflow.jobs;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
  const runs = (job: Job) => job.steps.map((s) => s.run ?? '');
  const needs = (job: Job) => [job.needs ?? []].flat();

  it('should build, test or pack nothing of cdktf-github-runners: it uses the release', () => {
    for (const [name, job] of Object.entries(jobs)) {
      for (const run of runs(job)) {
        expect({ job: name, run: /\bnpm (run|test|pack|start|exec)\b|\bcdktf synth\b|\bts-node\b/.test(run) ? run : '' }).toEqual({ job: name, run: '' });
      }
      // The only checkout is the ops repo's own.
      for (const step of job.steps.filter((s) => s.uses?.startsWith('actions/checkout@'))) expect(step.with?.repository).toBeUndefined();
    }
  });

  it('should publish the installed package\'s zips with the package\'s own command, after npm ci', () => {
    const publish = jobs.publish;
    const [command] = Object.keys(pkg.bin);
    const publishAt = runs(publish).findIndex((r) => r.includes(`npx ${command} --bucket `));
    expect(publishAt).toBeGreaterThan(0);
    expect(runs(publish).findIndex((r) => /^npm ci\b/.test(r))).toBeGreaterThanOrEqual(0);
    expect(runs(publish).findIndex((r) => /^npm ci\b/.test(r))).toBeLessThan(publishAt);
    expect(runs(publish)[publishAt]).toContain('--out lambdas.tfvars.json');
    const upload = publish.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.with).toEqual({ name: 'lambdas-tfvars', path: 'lambdas.tfvars.json' });
  });

  it('should plan dev, then prod behind its environment, each with the one published tfvars', () => {
    expect(needs(jobs['deploy-dev'])).toEqual(['publish']);
    expect(needs(jobs['deploy-prod']).sort()).toEqual(['deploy-dev', 'publish']);
    expect(jobs['deploy-prod'].environment).toBe('prod');
    for (const name of ['deploy-dev', 'deploy-prod']) {
      const job = jobs[name];
      expect(job.steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))?.with).toEqual({ name: 'lambdas-tfvars' });
      const plan = runs(job).find((r) => r.includes('terraform plan')) ?? '';
      expect(plan).toContain('-var-file=../../lambdas.tfvars.json');
      expect(job.steps.find((s) => s.run === plan)?.['working-directory']).toBe(`environments/${name.replace('deploy-', '')}`);
    }
  });
});
