/**
 * The npm package as a user meets it: `npm pack`, then `npm install` of the
 * tarball into a fresh CDKTF app in a temp folder outside this repository
 * (its own package.json, no path into this checkout), a TypeScript main.ts
 * compiled against the shipped declarations, synth, and an offline
 * terraform init/validate/plan of what it synthesized; then the package's
 * own command publishes its zips to moto_server, as the promotion pipeline
 * (examples/promotion/workflow.yml) does.
 *
 * The pack runs with --ignore-scripts after `npm run build:lib`: prepack would
 * also rebuild dist/lambdas/ in place while other jest workers read it. The
 * zips packed are the ones `npm run synth` built before jest.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetObjectCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { findPluginDir, planOffline } from '../../scripts/lib/terraform';
import { startMoto } from '../cloud/moto';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
  bin?: Record<string, string>;
};
const manifest = JSON.parse(readFileSync(join(root, 'dist', 'lambdas', 'manifest.json'), 'utf8')) as {
  lambdas: Record<string, { file: string; sha256: string }>;
};

interface PackResult {
  filename: string;
  size: number;
  files: { path: string }[];
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

async function pack(destination: string): Promise<PackResult> {
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], { cwd: root, env: npmEnv, maxBuffer: 64 * 1024 * 1024 });
  return (JSON.parse(stdout) as PackResult[])[0];
}

describe('the npm package', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'ghr-package-'));
  const app = join(scratch, 'app');
  let packed: PackResult;
  let tarball: string;

  beforeAll(async () => {
    const started = Date.now();
    execFileSync(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', join(root, 'scripts', 'build-package.ts')], { cwd: root, stdio: 'pipe' });
    mkdirSync(join(scratch, 'pack'));
    packed = await pack(join(scratch, 'pack'));
    tarball = join(scratch, 'pack', packed.filename);
    console.log(`built lib/ and packed ${packed.filename} (${(packed.size / 1024).toFixed(0)} KiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 120_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('should hold the compiled constructs, their declarations, the user-data templates, the zips, the manifest and the licence, and nothing else', () => {
    const paths = packed.files.map((f) => f.path).sort();
    expect([...new Set(paths.map((p) => p.split('/')[0]))].sort()).toEqual(['LICENSE', 'README.md', 'dist', 'lib', 'package.json']);
    const zips = Object.values(manifest.lambdas).map((e) => `dist/lambdas/${e.file}`);
    expect(paths.filter((p) => p.startsWith('dist/')).sort()).toEqual(['dist/lambdas/manifest.json', ...zips].sort());
    expect(zips.length).toBeGreaterThanOrEqual(6);
    // The user-data templates the constructs read at synth: every one, and nothing else beside the code.
    const templates = readdirSync(join(root, 'modules', 'runners', 'templates')).map((f) => `lib/runners/templates/${f}`);
    expect(templates.length).toBeGreaterThanOrEqual(1);
    expect(paths.filter((p) => p.startsWith('lib/runners/templates/')).sort()).toEqual([...templates].sort());
    const unexpected = paths.filter(
      (p) => !/^lib\/.+\.(js|d\.ts)$/.test(p) && !templates.includes(p) && !p.startsWith('dist/lambdas/') && !['README.md', 'LICENSE', 'package.json'].includes(p),
    );
    expect(unexpected).toEqual([]);
    expect(paths.filter((p) => /\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    expect(paths.filter((p) => /(^|\/)test\/|\.test\./.test(p))).toEqual([]);
    // Every module compiled, each with its declarations.
    const sources = (readdirSync(join(root, 'modules'), { recursive: true }) as string[]).filter((p) => p.endsWith('.ts')).map((p) => p.split('\\').join('/'));
    for (const source of sources) {
      expect(paths).toContain(`lib/${source.replace(/\.ts$/, '.js')}`);
      expect(paths).toContain(`lib/${source.replace(/\.ts$/, '.d.ts')}`);
    }
    // The zips bundle the AWS SDK (#12 item 4) and are already compressed, so they dominate the tarball; everything
    // else (compiled constructs, declarations, the template, README) stays under 512 KiB. A stray node_modules or
    // source tree would break this bound.
    const zipBytes = zips.reduce((sum, zip) => sum + statSync(join(root, zip)).size, 0);
    expect(packed.size).toBeLessThan(zipBytes + 512 * 1024);
  });

  it('should declare entry points that exist in the package, and peers a user can satisfy', () => {
    const paths = packed.files.map((f) => f.path);
    const shipped = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(paths).toContain(String(shipped.main));
    expect(paths).toContain(String(shipped.types));
    expect(shipped.dependencies ?? {}).toEqual({});
    const optional = (name: string) => pkg.peerDependenciesMeta?.[name]?.optional === true;
    expect(Object.keys(pkg.peerDependencies).filter((n) => !optional(n)).sort()).toEqual(['@cdktf/provider-aws', 'cdktf', 'constructs']);
    // Only the publish command needs the S3 client; constructs-only users never install it.
    expect(Object.keys(pkg.peerDependencies).filter(optional)).toEqual(['@aws-sdk/client-s3']);
    expect(pkg.bin).toEqual({ 'cdktf-github-runners-publish-lambdas': 'lib/bin/publish-lambdas.js' });
    expect(paths).toContain('lib/bin/publish-lambdas.js');
  });

  it('should name its licence, repository, homepage and issue tracker as a published package does, all on one GitHub repository', () => {
    const shipped = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      private?: boolean;
      license?: string;
      repository?: { type?: string; url?: string };
      homepage?: string;
      bugs?: { url?: string };
    };
    expect(shipped.private).toBeUndefined();
    expect(shipped.license).toBe('MIT');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
    // npm provenance compares repository.url with the repository that publishes (scripts/lib/release-check.ts).
    expect(shipped.repository?.type).toBe('git');
    const repo = /^git\+(https:\/\/github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)\.git$/.exec(shipped.repository?.url ?? '')?.[1];
    expect(repo).toBeDefined();
    expect(shipped.homepage).toBe(`${repo}#readme`);
    expect(shipped.bugs?.url).toBe(`${repo}/issues`);
  });

  it('should be reproducible: packing again gives the same bytes', async () => {
    mkdirSync(join(scratch, 'again'));
    const again = await pack(join(scratch, 'again'));
    expect(sha256(join(scratch, 'again', again.filename))).toBe(sha256(tarball));
  }, 60_000);

  it('should install into a fresh CDKTF app outside the repository, synthesize GitHubRunners from the installed package, and plan offline', async () => {
    const started = Date.now();
    expect(relative(root, app).startsWith('..')).toBe(true);
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'ops-runners', version: '1.0.0', private: true }, null, 2));
    // The peers at the versions this repo tests, resolved from the npm cache `npm ci` filled.
    const peers = ['cdktf', 'constructs', '@cdktf/provider-aws'].map((name) => `${name}@${pkg.devDependencies[name].replace(/^[\^~]/, '')}`);
    const install = (mode: string) => run('npm', ['install', mode, '--no-audit', '--no-fund', '--ignore-scripts', tarball, ...peers], { cwd: app, env: npmEnv, maxBuffer: 64 * 1024 * 1024 });
    let mode = '--offline';
    await install(mode).catch(() => install((mode = '--prefer-offline')));
    const installed = join(app, 'node_modules', pkg.name);
    expect(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).version).toBe(pkg.version);
    expect(readFileSync(join(app, 'package.json'), 'utf8')).not.toContain(root);
    const installSeconds = (Date.now() - started) / 1000;

    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'commonjs', moduleResolution: 'node', strict: true, skipLibCheck: true, types: [] }, files: ['main.ts'] }),
    );
    writeFileSync(
      join(app, 'main.ts'),
      [
        "import { App, TerraformStack } from 'cdktf';",
        "import { Construct } from 'constructs';",
        "import { AwsProvider } from '@cdktf/provider-aws/lib/provider';",
        "import { GitHubRunners, GitHubRunnersProps, RunnerTypes } from 'cdktf-github-runners';",
        '',
        'class Runners extends TerraformStack {',
        '  constructor(scope: Construct, id: string) {',
        '    super(scope, id);',
        "    new AwsProvider(this, 'aws', { region: 'eu-west-1' });",
        '    const props: GitHubRunnersProps = {',
        "      prefix: 'gh-ci',",
        "      vpcId: 'vpc-0123456789abcdef0',",
        "      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],",
        '      enableOrganizationRunners: true,',
        "      githubApp: { appId: '/ops/github/runner/dev/app-id', privateKey: '/ops/github/runner/dev/private-key', webhookSecret: '/ops/github/runner/dev/webhook-secret' },",
        "      runnerTypes: RunnerTypes.fromList([{ name: 'x64', labels: ['self-hosted', 'linux', 'x64'], runnersMaximumCount: 20 }]),",
        '    };',
        "    new GitHubRunners(this, 'runners', props);",
        '  }',
        '}',
        '',
        "const app = new App({ outdir: 'cdktf.out' });",
        "new Runners(app, 'runners');",
        'app.synth();',
        '',
      ].join('\n'),
    );
    // The repo's TypeScript compiles the app: a tool, not a path the app depends on.
    await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', app], { cwd: app }).catch((e: { stdout?: string; message: string }) => {
      throw new Error(`tsc of the consumer app failed:\n${e.stdout ?? e.message}`);
    });
    await run(process.execPath, ['main.js'], { cwd: app, env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
    const { stdout } = await run(process.execPath, ['-p', "require.resolve('cdktf-github-runners')"], { cwd: app });
    expect(stdout.trim()).toBe(join(installed, 'lib', 'index.js'));

    const stackDir = join(app, 'cdktf.out', 'stacks', 'runners');
    // The zips the stack ships are the package's, byte for byte.
    const assetZips = (readdirSync(join(stackDir, 'assets'), { recursive: true }) as string[]).filter((p) => p.endsWith('.zip'));
    expect(assetZips.length).toBeGreaterThanOrEqual(5); // every Lambda but the warm pool, which this stack does not configure
    for (const p of assetZips) {
      const name = p.split(/[\\/]/).pop()!.replace(/\.zip$/, '');
      expect(sha256(join(stackDir, 'assets', p))).toBe(manifest.lambdas[name].sha256);
    }
    const synthSeconds = (Date.now() - started) / 1000 - installSeconds;

    mkdirSync(join(scratch, 'plans'));
    const plan = await planOffline({ name: 'npm-consumer', dir: stackDir, provider: 'override' }, join(scratch, 'plans'), findPluginDir());
    const planned = JSON.parse(readFileSync(plan.planJsonPath, 'utf8')) as { resource_changes?: { type: string; change: { after?: { tags?: Record<string, string> } } }[] };
    const functions = planned.resource_changes?.filter((r) => r.type === 'aws_lambda_function') ?? [];
    expect(functions.length).toBeGreaterThanOrEqual(5);
    // The installed package reads its own package.json for the version (#13 item 4).
    for (const f of functions) expect(f.change.after?.tags?.['ghr:module-version']).toBe(pkg.version);
    console.log(`consumer app: install (${mode}) ${installSeconds.toFixed(1)} s, tsc + synth ${synthSeconds.toFixed(1)} s, offline plan ${plan.seconds.toFixed(1)} s`);
  }, 240_000);

  /**
   * The promotion pipeline's publish step (examples/promotion/workflow.yml):
   * the installed package's own command uploads the zips it ships, with no
   * checkout or build of this repository, against moto_server.
   */
  it('should publish the zips of the installed package with its own command, and ask for the S3 client when it is missing', async () => {
    const bin = join(app, 'node_modules', '.bin', 'cdktf-github-runners-publish-lambdas');
    const missing = await run(bin, ['--bucket', 'acme-ci-artifacts'], { cwd: app, env: npmEnv }).then(
      () => undefined,
      (e: { stderr?: string; code?: number }) => e,
    );
    expect(missing?.code).toBe(1);
    expect(missing?.stderr).toContain('needs @aws-sdk/client-s3 (an optional peer dependency of cdktf-github-runners): npm install --save-dev @aws-sdk/client-s3@3');

    const sdk = `@aws-sdk/client-s3@${pkg.devDependencies['@aws-sdk/client-s3'].replace(/^[\^~]/, '')}`;
    const install = (mode: string) => run('npm', ['install', mode, '--no-audit', '--no-fund', '--ignore-scripts', '--save-dev', sdk], { cwd: app, env: npmEnv, maxBuffer: 64 * 1024 * 1024 });
    await install('--offline').catch(() => install('--prefer-offline'));

    const moto = await startMoto();
    try {
      const aws = { AWS_ENDPOINT_URL_S3: moto.url, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };
      const s3 = new S3Client({ endpoint: moto.url, region: 'eu-west-1', forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
      await s3.send(new CreateBucketCommand({ Bucket: 'acme-ci-artifacts', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
      await s3.send(new PutBucketVersioningCommand({ Bucket: 'acme-ci-artifacts', VersioningConfiguration: { Status: 'Enabled' } }));
      const env = { ...npmEnv, ...aws, AWS_S3_FORCE_PATH_STYLE: 'true' };
      const publish = () => run(bin, ['--bucket', 'acme-ci-artifacts', '--out', 'lambdas.tfvars.json'], { cwd: app, env });
      const first = await publish();
      expect(first.stderr).toContain(`${Object.keys(manifest.lambdas).length} uploaded, 0 reused`);
      const tfvars = JSON.parse(readFileSync(join(app, 'lambdas.tfvars.json'), 'utf8')) as Record<string, string>;
      expect(tfvars.lambda_s3_bucket).toBe('acme-ci-artifacts');
      for (const [name, entry] of Object.entries(manifest.lambdas)) {
        const stem = name.replace(/-/g, '_');
        expect(tfvars[`${stem}_lambda_s3_key`]).toBe(`lambdas/${name}/${entry.sha256}.zip`);
        // The version pinned holds the zip the package shipped, byte for byte.
        const object = await s3.send(new GetObjectCommand({ Bucket: 'acme-ci-artifacts', Key: tfvars[`${stem}_lambda_s3_key`], VersionId: tfvars[`${stem}_lambda_s3_object_version`] }));
        expect(object.VersionId).toBe(tfvars[`${stem}_lambda_s3_object_version`]);
        const body = Buffer.from(await object.Body!.transformToByteArray());
        expect(createHash('sha256').update(body).digest('hex')).toBe(entry.sha256);
      }
      // Publishing the same release again changes nothing: dev and prod get the same versions.
      const again = await publish();
      expect(again.stderr).toContain(`0 uploaded, ${Object.keys(manifest.lambdas).length} reused`);
      expect(JSON.parse(readFileSync(join(app, 'lambdas.tfvars.json'), 'utf8'))).toEqual(tfvars);
      s3.destroy();
    } finally {
      await moto.stop();
    }
  }, 120_000);
});
