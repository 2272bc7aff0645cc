/**
 * Builds every Lambda under lambdas/<name>/index.ts into dist/lambdas/<name>.zip
 * and records each zip's sha256 in dist/lambdas/manifest.json.
 *
 * What a shipped zip holds (issue #12 item 4):
 * - `handler.cjs`: the handler and everything it imports, the AWS SDK v3
 *   included, bundled by esbuild as one minified CommonJS file. The SDK is
 *   bundled from its ES sources (`dist-es`, through the `module` field and
 *   the `module` export condition), which esbuild can tree-shake: only the
 *   commands and middleware a handler uses are in the file. Measured here
 *   (BENCHMARKS.md, `npm run bench`), that loads in about half the time of
 *   requiring the runtime's own SDK, with less memory; the SDK's CommonJS
 *   build bundled in is slower than leaving it external.
 * - `index.mjs`: a three-line ES module entry that loads `handler.cjs` with
 *   `createRequire` and re-exports `handler`. The Lambda runtime's loader
 *   may `import()` the handler file (aws-lambda-nodejs-runtime-interface-client
 *   tries `import()` for `.mjs`, and its newer loader for `.js` as well). An
 *   `import()` of a large CommonJS file first scans all of it for export
 *   names (cjs-module-lexer), which costs the gain; an ES entry does not.
 *   The zip has no `index.js`, so every loader of `index.handler` finds the
 *   ES entry (the runtime looks up index, index.js, index.mjs, index.cjs).
 *
 * The SDK version shipped is the one package.json pins (exact, one version
 * for every @aws-sdk/* client; test/build checks it) and package-lock.json
 * resolves; the manifest records it.
 *
 * {@link SdkPackaging} `external` is for the in-process tests only: the same
 * sources with the SDK left out, so that the bundle's `require('@aws-sdk/…')`
 * resolves to this repository's node_modules, where aws-sdk-client-mock
 * patches the clients (test/e2e/lib/bundles.ts). It is never shipped.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { createZip } from './deterministic-zip';

/** The Lambda runtime the bundles target; the constructs use the same value. */
export const LAMBDA_RUNTIME = 'nodejs22.x';
const ESBUILD_TARGET = 'node22';

/** The handler setting the constructs give every function (modules/shared/lambda-function.ts; test/build checks they agree). */
export const LAMBDA_HANDLER = 'index.handler';
/** The file of the zip the runtime loads for {@link LAMBDA_HANDLER}: an ES module entry. */
export const ENTRY_FILE = 'index.mjs';
/** The CommonJS bundle the entry requires. */
export const BUNDLE_FILE = 'handler.cjs';

/**
 * Where the AWS SDK comes from: `bundled` into the zip (what ships), or
 * `external`, required at run time from node_modules (test builds only).
 */
export type SdkPackaging = 'bundled' | 'external';

/** The ES module entry of a zip: loads the CommonJS bundle without making `import()` scan it for exports. */
export const ENTRY_SOURCE = [
  "import { createRequire } from 'node:module';",
  `const bundle = createRequire(import.meta.url)('./${BUNDLE_FILE}');`,
  'export const handler = bundle.handler;',
  '',
].join('\n');

export interface BundleResult {
  readonly name: string;
  readonly zipPath: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface Manifest {
  readonly runtime: string;
  /** How the AWS SDK is packaged in these zips. */
  readonly sdk: SdkPackaging;
  /** The @aws-sdk/* client version bundled (package.json's pin), when `sdk` is `bundled`. */
  readonly awsSdkVersion?: string;
  readonly lambdas: Record<string, { file: string; sha256: string; bytes: number }>;
}

export interface BundleOptions {
  /** @default 'bundled' */
  readonly sdk?: SdkPackaging;
  /**
   * Write the CommonJS bundle alone as `index.js`, with no ES entry: the
   * layout the bench compares against (and the one shipped before #12). @default false
   */
  readonly withoutEntry?: boolean;
}

/** Handler folders: every lambdas/<name>/ with an index.ts, except shared/. */
export function discoverLambdas(lambdasDir: string): string[] {
  return readdirSync(lambdasDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'shared' && existsSync(join(lambdasDir, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

/** The one version of the @aws-sdk/* clients package.json pins; throws if they are not one exact version. */
export function pinnedAwsSdkVersion(packageJson: { devDependencies?: Record<string, string>; dependencies?: Record<string, string> }): string {
  const deps = { ...packageJson.dependencies, ...packageJson.devDependencies };
  const sdk = Object.entries(deps).filter(([name]) => name.startsWith('@aws-sdk/'));
  if (sdk.length === 0) throw new Error('package.json declares no @aws-sdk/* package');
  const problems = sdk.filter(([, range]) => !/^\d+\.\d+\.\d+$/.test(range)).map(([name, range]) => `${name} is "${range}", not an exact version`);
  const versions = [...new Set(sdk.map(([, range]) => range))];
  if (problems.length === 0 && versions.length > 1) problems.push(`the @aws-sdk/* packages differ: ${sdk.map(([n, v]) => `${n}@${v}`).join(', ')}`);
  if (problems.length > 0) throw new Error(`the AWS SDK the bundles ship must be pinned to one exact version: ${problems.join('; ')}`);
  return versions[0];
}

export async function bundleLambda(lambdasDir: string, name: string, outDir: string, options: BundleOptions = {}): Promise<BundleResult> {
  const sdk = options.sdk ?? 'bundled';
  const result = await build({
    entryPoints: [join(lambdasDir, name, 'index.ts')],
    bundle: true,
    platform: 'node',
    target: ESBUILD_TARGET,
    format: 'cjs',
    minify: true,
    sourcemap: false,
    write: false,
    outfile: join(outDir, name, BUNDLE_FILE),
    legalComments: 'none',
    // The SDK's ES build (dist-es) where a package offers one: esbuild
    // tree-shakes it, and it loads faster than the CommonJS build bundled in.
    // Packages with an `exports` map get the same through esbuild's default
    // `module` condition.
    mainFields: ['module', 'main'],
    external: sdk === 'external' ? ['@aws-sdk/*', '@smithy/*'] : [],
    // The SDK's ES sources load some Node built-ins lazily with import()
    // (node:http, node:async_hooks). As require() they behave the same in
    // Lambda, and the bundle also runs where import() has no module loader
    // (a vm context, as jest evaluates it in test/e2e/lib/bundles.ts).
    supported: { 'dynamic-import': false },
    // Bundles must not depend on where the repo was checked out.
    absWorkingDir: resolve(lambdasDir, '..'),
    logLevel: 'silent',
  });
  const code = result.outputFiles.find((f) => f.path.endsWith('.cjs'));
  if (!code) throw new Error(`esbuild produced no JavaScript for ${name}`);
  const entries = options.withoutEntry
    ? [{ name: 'index.js', data: Buffer.from(code.contents) }]
    : [
        { name: ENTRY_FILE, data: Buffer.from(ENTRY_SOURCE) },
        { name: BUNDLE_FILE, data: Buffer.from(code.contents) },
      ];
  const zip = createZip(entries);
  mkdirSync(outDir, { recursive: true });
  const zipPath = join(outDir, `${name}.zip`);
  writeFileSync(zipPath, zip);
  return { name, zipPath, sha256: createHash('sha256').update(zip).digest('hex'), bytes: zip.length };
}

export async function bundleAll(lambdasDir: string, outDir: string, options: BundleOptions = {}): Promise<Manifest> {
  const sdk = options.sdk ?? 'bundled';
  const names = discoverLambdas(lambdasDir);
  if (names.length === 0) throw new Error(`no Lambda handlers found under ${lambdasDir}/<name>/index.ts`);
  // Refuse to ship an SDK whose version package.json does not pin.
  const awsSdkVersion = sdk === 'bundled' ? pinnedAwsSdkVersion(JSON.parse(readFileSync(join(lambdasDir, '..', 'package.json'), 'utf8'))) : undefined;
  const results = await Promise.all(names.map((n) => bundleLambda(lambdasDir, n, outDir, options)));
  const manifest: Manifest = {
    runtime: LAMBDA_RUNTIME,
    sdk,
    ...(awsSdkVersion ? { awsSdkVersion } : {}),
    lambdas: Object.fromEntries(results.map((r) => [r.name, { file: `${r.name}.zip`, sha256: r.sha256, bytes: r.bytes }])),
  };
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
