/**
 * `npx cdktf-github-runners-publish-lambdas --bucket <name> [--prefix lambdas/] [--out lambdas.tfvars.json] [--dry-run]`:
 * the package's own publisher, for a pipeline that uses a release without
 * building this repository (examples/promotion/workflow.yml). It uploads the
 * zips the installed package ships (dist/lambdas, each checked against
 * manifest.json) exactly as `npm run publish-lambdas` does in a checkout: the
 * same code (scripts/lib/publish.ts), bundled by `npm run build:lib` into
 * lib/bin/publish-lambdas.js.
 *
 * It needs @aws-sdk/client-s3, an optional peer dependency: constructs-only
 * users do not install it. The S3 client uses the default SDK chain
 * (AWS_REGION, AWS_PROFILE or other credentials, AWS_ENDPOINT_URL_S3).
 */
import { join } from 'node:path';

/** lib/bin/ in the installed package: the zips are in dist/lambdas/ at the package root. */
const distDir = join(__dirname, '..', '..', 'dist', 'lambdas');
const command = 'npx cdktf-github-runners-publish-lambdas';

function sdkInstalled(): boolean {
  try {
    require.resolve('@aws-sdk/client-s3');
    return true;
  } catch {
    return false;
  }
}

if (!sdkInstalled()) {
  process.stderr.write(`${command}: needs @aws-sdk/client-s3 (an optional peer dependency of cdktf-github-runners): npm install --save-dev @aws-sdk/client-s3@3\n`);
  process.exitCode = 1;
} else {
  // Required only now, so the message above is what a missing SDK shows.
  const { S3Client } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
  const { runCli } = require('../lib/publish') as typeof import('../lib/publish');
  runCli(process.argv.slice(2), {
    distDir,
    command,
    s3: () => new S3Client({}),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${command}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
