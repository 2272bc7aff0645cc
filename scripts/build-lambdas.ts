/** `npm run build`: bundle every Lambda handler into a deterministic zip. */
import { join } from 'node:path';
import { bundleAll } from './lib/lambda-bundles';

const root = join(__dirname, '..');
const outDir = join(root, 'dist', 'lambdas');

bundleAll(join(root, 'lambdas'), outDir)
  .then((manifest) => {
    for (const [name, entry] of Object.entries(manifest.lambdas)) {
      console.log(`built dist/lambdas/${entry.file}  ${(entry.bytes / 1024).toFixed(1)} KiB  sha256 ${entry.sha256.slice(0, 16)}…  (${name})`);
    }
  })
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
