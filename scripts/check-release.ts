/**
 * `npm run -s release:check -- <tag> [--notes <file>]`: refuse a release tag that
 * differs from package.json's version or has no dated CHANGELOG section (see
 * scripts/lib/release-check.ts); with --notes, write that section for the
 * GitHub release.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRelease, ReleasedPackage } from './lib/release-check';

const root = join(__dirname, '..');
const [tag, flag, notesPath] = process.argv.slice(2);
if (!tag || (flag !== undefined && (flag !== '--notes' || !notesPath))) {
  console.error('usage: npm run -s release:check -- <tag> [--notes <file>]');
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as ReleasedPackage;
// In the release workflow, GITHUB_REPOSITORY also checks package.json's repository.url.
const result = checkRelease(tag, pkg, readFileSync(join(root, 'CHANGELOG.md'), 'utf8'), process.env.GITHUB_REPOSITORY);
if (result.errors.length > 0) {
  console.error(`release ${tag} refused:\n${result.errors.map((e) => `- ${e}`).join('\n')}`);
  process.exit(1);
}
if (notesPath) writeFileSync(notesPath, `${result.notes}\n`);
console.log(`release ${tag}: package.json ${pkg.version}, CHANGELOG section dated`);
