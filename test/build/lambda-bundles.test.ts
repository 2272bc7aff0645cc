/**
 * The packaging pipeline: esbuild bundles, deterministic zips, the manifest.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { builtinModules } from 'node:module';
import { BUNDLE_FILE, bundleAll, discoverLambdas, ENTRY_FILE, LAMBDA_HANDLER, pinnedAwsSdkVersion } from '../../scripts/lib/lambda-bundles';
import { LAMBDA_HANDLER as CONSTRUCT_HANDLER } from '../../modules/shared/lambda-function';
import { createZip } from '../../scripts/lib/deterministic-zip';
import { extractBundle, loadBundle } from '../e2e/lib/bundles';

const ROOT = join(__dirname, '..', '..');
const LAMBDAS = join(ROOT, 'lambdas');
const PACKAGE_JSON = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };

/** Reads the entries of a zip we wrote (no extra fields, no data descriptors). */
function readZip(zip: Buffer): Record<string, Buffer> {
  const entries: Record<string, Buffer> = {};
  let offset = 0;
  while (zip.readUInt32LE(offset) === 0x04034b50) {
    const compressedSize = zip.readUInt32LE(offset + 18);
    const nameLength = zip.readUInt16LE(offset + 26);
    const extraLength = zip.readUInt16LE(offset + 28);
    const name = zip.subarray(offset + 30, offset + 30 + nameLength).toString('utf8');
    const start = offset + 30 + nameLength + extraLength;
    entries[name] = inflateRawSync(zip.subarray(start, start + compressedSize));
    offset = start + compressedSize;
  }
  return entries;
}

describe('createZip', () => {
  it('should give byte-identical archives for the same entries in any order', () => {
    const a = createZip([{ name: 'b.js', data: Buffer.from('b') }, { name: 'a.js', data: Buffer.from('a') }]);
    const b = createZip([{ name: 'a.js', data: Buffer.from('a') }, { name: 'b.js', data: Buffer.from('b') }]);
    expect(a.equals(b)).toBe(true);
  });

  it('should round-trip its entries', () => {
    const data = Buffer.from('exports.handler = async () => 42;\n'.repeat(100));
    expect(readZip(createZip([{ name: 'index.js', data }]))['index.js'].equals(data)).toBe(true);
  });

  it('should be readable by unzip, with a fixed 1980 timestamp', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zip-'));
    const file = join(dir, 'x.zip');
    writeFileSync(file, createZip([{ name: 'index.js', data: Buffer.from('hello') }]));
    expect(execFileSync('unzip', ['-t', file]).toString()).toMatch(/No errors detected/);
    expect(execFileSync('unzip', ['-l', file]).toString()).toMatch(/1980-01-01 00:00\s+index\.js/);
  });

  it('should refuse duplicate entry names', () => {
    expect(() => createZip([{ name: 'a', data: Buffer.from('') }, { name: 'a', data: Buffer.from('') }])).toThrow('duplicate zip entry: a');
  });
});

describe('bundleAll', () => {
  // Each case runs esbuild over every Lambda with the SDK, CPU-bound: on two
  // busy cores that takes well over jest's 30 s. A limit against a hang, not
  // a speed target (npm run bench measures the build).
  jest.setTimeout(240_000);

  it('should find one handler per lambdas/<name>/index.ts, never shared/', () => {
    const names = discoverLambdas(LAMBDAS);
    expect(names).toContain('webhook');
    expect(names).not.toContain('shared');
  });

  it('should build byte-identical zips twice and record their sha256 in the manifest', async () => {
    const first = mkdtempSync(join(tmpdir(), 'bundles-a-'));
    const second = mkdtempSync(join(tmpdir(), 'bundles-b-'));
    const [a, b] = [await bundleAll(LAMBDAS, first), await bundleAll(LAMBDAS, second)];
    expect(a.lambdas).toEqual(b.lambdas);
    for (const [name, entry] of Object.entries(a.lambdas)) {
      const zip = readFileSync(join(first, entry.file));
      expect({ name, sha256: createHash('sha256').update(zip).digest('hex') }).toEqual({ name, sha256: entry.sha256 });
    }
    expect(a.runtime).toBe('nodejs22.x');
  });

  it('should ship each handler as an ES entry over a CommonJS bundle that carries the AWS SDK, loadable by both runtime loaders without node_modules', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bundles-c-'));
    const manifest = await bundleAll(LAMBDAS, out);
    expect(manifest.sdk).toBe('bundled');
    expect(manifest.awsSdkVersion).toBe(pinnedAwsSdkVersion(PACKAGE_JSON));
    // The construct's handler names the entry: "<file>.<export>".
    const [file, exportName] = CONSTRUCT_HANDLER.split('.');
    expect(`${file}.${exportName}`).toBe(LAMBDA_HANDLER);
    for (const [name, entry] of Object.entries(manifest.lambdas)) {
      const files = readZip(readFileSync(join(out, entry.file)));
      // No index.js or bare index: the runtime's lookup (index, index.js, index.mjs, index.cjs) reaches index.mjs.
      expect({ name, files: Object.keys(files).sort() }).toEqual({ name, files: [BUNDLE_FILE, ENTRY_FILE].sort() });
      expect(ENTRY_FILE).toBe(`${file}.mjs`);
      const code = files[BUNDLE_FILE].toString('utf8');
      const dir = join(out, `load-${name}`);
      mkdirSync(dir);
      for (const [f, data] of Object.entries(files)) writeFileSync(join(dir, f), data);
      // The SDK is in the bundle: nothing is required but Node's built-ins (a
      // name inside an SDK error message is text, not a call, hence the lookbehind).
      const required = [...code.matchAll(/(?<![\[;])\brequire\("([^"]+)"\)/g)].map((m) => m[1]);
      expect({ name, foreign: required.filter((id) => !id.startsWith('node:') && !builtinModules.includes(id)) }).toEqual({ name, foreign: [] });
      expect(code).toMatch(/\b(SSMClient|SQSClient|EC2Client|DynamoDBClient|S3Client)\b/);
      // Loaded as the runtime loads it: import() (the runtime's loader for
      // .mjs) and require(), in a fresh node process with no node_modules in
      // reach (the folder is outside the repository and NODE_PATH is empty).
      for (const loader of ['import', 'require']) {
        const script =
          loader === 'import'
            ? `import(process.argv[1]).then((m) => process.stdout.write(typeof m[process.argv[2]]))`
            : `process.stdout.write(typeof require(process.argv[1])[process.argv[2]])`;
        const kind = execFileSync(process.execPath, ['-e', script, join(dir, ENTRY_FILE), exportName], {
          env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
          cwd: dir,
        }).toString();
        expect({ name, loader, handler: kind }).toEqual({ name, loader, handler: 'function' });
      }
    }
  });

  it('should keep the webhook zip under 150 KB with the SDK in it', async () => {
    // A documented constraint (README, "Benchmarks"; issue #12 item 4), not a
    // speed target: the webhook is the public entry point and stays small.
    const out = mkdtempSync(join(tmpdir(), 'bundles-d-'));
    const manifest = await bundleAll(LAMBDAS, out);
    const bytes = readFileSync(join(out, manifest.lambdas.webhook.file)).length;
    expect(bytes).toBe(manifest.lambdas.webhook.bytes);
    expect(bytes).toBeLessThanOrEqual(150_000);
  });

  it('should build an SDK-external variant for the in-process tests, requiring the SDK from node_modules', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bundles-e-'));
    const manifest = await bundleAll(LAMBDAS, out, { sdk: 'external' });
    expect(manifest.sdk).toBe('external');
    const code = readZip(readFileSync(join(out, manifest.lambdas['scale-up'].file)))[BUNDLE_FILE].toString('utf8');
    expect(code).toMatch(/require\("@aws-sdk\/client-ec2"\)/);
    // The loader of the over-the-wire tests refuses it unless told it is the test build, so those tests cannot run it by mistake.
    const dir = extractBundle(out, 'scale-up', join(out, 'extracted'));
    expect(() => loadBundle(dir, { env: {} })).toThrow('requires "@aws-sdk/');
    expect(typeof loadBundle(dir, { env: {}, sdk: 'external' }).handler).toBe('function');
  });
});

describe('the AWS SDK version the bundles ship', () => {
  it('should be one exact version for every @aws-sdk/* package in package.json, and the one package-lock.json installs', () => {
    const version = pinnedAwsSdkVersion(PACKAGE_JSON);
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    const declared = Object.keys({ ...PACKAGE_JSON.dependencies, ...PACKAGE_JSON.devDependencies }).filter((n) => n.startsWith('@aws-sdk/'));
    expect(declared.length).toBeGreaterThan(0);
    for (const name of declared) expect({ name, locked: lock.packages[`node_modules/${name}`]?.version }).toEqual({ name, locked: version });
  });

  it('should refuse a range, or clients at different versions', () => {
    expect(() => pinnedAwsSdkVersion({ devDependencies: { '@aws-sdk/client-sqs': '^3.1169.0', '@aws-sdk/client-ssm': '3.1169.0' } })).toThrow(
      '@aws-sdk/client-sqs is "^3.1169.0", not an exact version',
    );
    expect(() => pinnedAwsSdkVersion({ devDependencies: { '@aws-sdk/client-sqs': '3.1169.0', '@aws-sdk/client-ssm': '3.1170.0' } })).toThrow('the @aws-sdk/* packages differ');
    expect(pinnedAwsSdkVersion({ devDependencies: { '@aws-sdk/client-sqs': '3.1169.0', '@aws-sdk/client-ssm': '3.1169.0', esbuild: '^0.28.2' } })).toBe('3.1169.0');
  });
});
