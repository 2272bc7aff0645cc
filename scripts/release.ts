/**
 * `npm run release`: synth, then write the Terraform module as a versioned,
 * reproducible archive: dist/release/cdktf-github-runners-module-<version>.tar.gz
 * (version from package.json) and dist/release/SHA256SUMS. See
 * scripts/lib/release-archive.ts for what is inside.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeModuleRelease } from './lib/release-archive';

const root = join(__dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

try {
  const r = writeModuleRelease(join(root, 'dist', 'terraform-module'), version, join(root, 'dist', 'release'));
  console.log(`wrote ${relative(process.cwd(), r.archivePath)} (${r.files.length} files)  sha256 ${r.sha256}`);
  console.log(`wrote ${relative(process.cwd(), join(root, 'dist', 'release', 'SHA256SUMS'))}`);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
