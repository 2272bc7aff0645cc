/**
 * Builds every Lambda under lambdas/<name>/index.ts into dist/lambdas/<name>.zip
 * and records each zip's sha256 in dist/lambdas/manifest.json.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { createZip } from './deterministic-zip';

/** The Lambda runtime the bundles target; the constructs use the same value. */
export const LAMBDA_RUNTIME = 'nodejs22.x';
const ESBUILD_TARGET = 'node22';

export interface BundleResult {
  readonly name: string;
  readonly zipPath: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface Manifest {
  readonly runtime: string;
  readonly lambdas: Record<string, { file: string; sha256: string; bytes: number }>;
}

/** Handler folders: every lambdas/<name>/ with an index.ts, except shared/. */
export function discoverLambdas(lambdasDir: string): string[] {
  return readdirSync(lambdasDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'shared' && existsSync(join(lambdasDir, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

export async function bundleLambda(lambdasDir: string, name: string, outDir: string): Promise<BundleResult> {
  const result = await build({
    entryPoints: [join(lambdasDir, name, 'index.ts')],
    bundle: true,
    platform: 'node',
    target: ESBUILD_TARGET,
    format: 'cjs',
    minify: true,
    sourcemap: false,
    write: false,
    outfile: join(outDir, name, 'index.js'),
    legalComments: 'none',
    // The nodejs22.x runtime ships AWS SDK v3. Leaving it out keeps zips small
    // and cold starts fast; the modular clients we use are all in the runtime.
    external: ['@aws-sdk/*', '@smithy/*'],
    // Bundles must not depend on where the repo was checked out.
    absWorkingDir: resolve(lambdasDir, '..'),
    logLevel: 'silent',
  });
  const code = result.outputFiles.find((f) => f.path.endsWith('.js'));
  if (!code) throw new Error(`esbuild produced no JavaScript for ${name}`);
  const zip = createZip([{ name: 'index.js', data: Buffer.from(code.contents) }]);
  mkdirSync(outDir, { recursive: true });
  const zipPath = join(outDir, `${name}.zip`);
  writeFileSync(zipPath, zip);
  return { name, zipPath, sha256: createHash('sha256').update(zip).digest('hex'), bytes: zip.length };
}

export async function bundleAll(lambdasDir: string, outDir: string): Promise<Manifest> {
  const names = discoverLambdas(lambdasDir);
  if (names.length === 0) throw new Error(`no Lambda handlers found under ${lambdasDir}/<name>/index.ts`);
  const results = await Promise.all(names.map((n) => bundleLambda(lambdasDir, n, outDir)));
  const manifest: Manifest = {
    runtime: LAMBDA_RUNTIME,
    lambdas: Object.fromEntries(results.map((r) => [r.name, { file: `${r.name}.zip`, sha256: r.sha256, bytes: r.bytes }])),
  };
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}
