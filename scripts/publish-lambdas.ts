/**
 * `npm run -s publish-lambdas -- --bucket <name> [--prefix lambdas/] [--out lambdas.tfvars.json] [--dry-run]`:
 * upload dist/lambdas/*.zip to a versioned bucket under content-addressed keys
 * and print the module's tfvars (lambda_s3_bucket, <name>_lambda_s3_key,
 * <name>_lambda_s3_object_version) as JSON. Progress goes to stderr.
 *
 * The S3 client uses the default SDK chain: AWS_REGION, AWS_PROFILE or other
 * credentials, and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3.
 */
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { runCli } from './lib/publish';

runCli(process.argv.slice(2), {
  distDir: join(__dirname, '..', 'dist', 'lambdas'),
  s3: () => new S3Client({}),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // runCli reports its own failures; this is only for a bug in it.
    console.error(`publish-lambdas: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
