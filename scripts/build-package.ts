/**
 * `npm run build:lib`: compiles modules/ to lib/ (JavaScript and .d.ts, no
 * sources) for the npm package, and copies the files the constructs read at
 * synth time (the user-data template) next to the compiled code. The Lambda
 * zips stay in dist/lambdas/, which the package ships as it is:
 * lib/shared/lambda-code.js finds them at ../../dist/lambdas from its own
 * folder, inside node_modules as in this checkout.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const lib = join(root, 'lib');

rmSync(lib, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
cpSync(join(root, 'modules', 'runners', 'templates'), join(lib, 'runners', 'templates'), { recursive: true });
console.log('compiled modules/ to lib/ (JavaScript, declarations, runners/templates)');
