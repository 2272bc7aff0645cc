/**
 * The module's version, from package.json (the one source of truth; semantic
 * versioning, see CHANGELOG.md). Read at load time relative to this file, so
 * it is right in this checkout (modules/shared/) and in the installed package
 * (lib/shared/): package.json is two folders up in both.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Tag key that carries MODULE_VERSION on the module's Lambda functions. */
export const MODULE_VERSION_TAG = 'ghr:module-version';

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

function readVersion(): string {
  const path = join(__dirname, '..', '..', 'package.json');
  const { name, version } = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string };
  if (name !== 'cdktf-github-runners' || version === undefined || !SEMVER.test(version)) {
    throw new Error(`${path}: expected the cdktf-github-runners package.json with a semantic version, got name "${name}", version "${version}"`);
  }
  return version;
}

/** This release of cdktf-github-runners, e.g. "0.1.0". */
export const MODULE_VERSION: string = readVersion();
