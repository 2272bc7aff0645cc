/**
 * `npm run build:lib`: compiles modules/ to lib/ (JavaScript and .d.ts, no
 * sources) for the npm package, and copies the files the constructs read at
 * synth time (the user-data template) next to the compiled code. The Lambda
 * zips stay in dist/lambdas/, which the package ships as it is:
 * lib/shared/lambda-code.js finds them at ../../dist/lambdas from its own
 * folder, inside node_modules as in this checkout.
 *
 * It also bundles the package's one command, lib/bin/publish-lambdas.js
 * (scripts/bin/publish-lambdas.ts with scripts/lib/publish.ts inside it; the
 * AWS SDK stays outside, an optional peer dependency).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

const root = join(__dirname, '..');
const lib = join(root, 'lib');

rmSync(lib, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
cpSync(join(root, 'modules', 'runners', 'templates'), join(lib, 'runners', 'templates'), { recursive: true });
const bin = join(lib, 'bin', 'publish-lambdas.js');
buildSync({
  entryPoints: [join(root, 'scripts', 'bin', 'publish-lambdas.ts')],
  outfile: bin,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  banner: { js: '#!/usr/bin/env node' },
  external: ['@aws-sdk/*', '@smithy/*'],
  legalComments: 'none',
  // The bundle must not depend on where the repo was checked out.
  absWorkingDir: root,
  logLevel: 'warning',
});
chmodSync(bin, 0o755);
console.log('compiled modules/ to lib/ (JavaScript, declarations, runners/templates) and bundled lib/bin/publish-lambdas.js');
