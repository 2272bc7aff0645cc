/**
 * What a release tag must agree with before anything is published (the
 * release workflow's first step): the tag is `v<package.json version>`, the
 * version is semantic, and CHANGELOG.md has a dated section for it
 * (Keep a Changelog: `## [X.Y.Z] - YYYY-MM-DD`). The section's text becomes
 * the GitHub release notes.
 */

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export interface ReleaseCheck {
  /** Every reason the tag may not be released; empty when it may. */
  readonly errors: readonly string[];
  /** The CHANGELOG section of the version, without its heading; undefined when there is none. */
  readonly notes?: string;
}

/** The body of `## [version] ...` up to the next `## ` heading, and the heading's date (or what stands there). */
export function changelogSection(changelog: string, version: string): { date: string; body: string } | undefined {
  const lines = changelog.split('\n');
  const escaped = version.replace(/[.+]/g, '\\$&');
  const start = lines.findIndex((l) => new RegExp(`^## \\[${escaped}\\](?: - (.*))?$`).test(l));
  if (start < 0) return undefined;
  const date = lines[start].replace(/^## \[[^\]]+\](?: - )?/, '').trim();
  const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
  return { date, body: lines.slice(start + 1, end < 0 ? undefined : end).join('\n').trim() };
}

/** The package.json fields a release reads. */
export interface ReleasedPackage {
  readonly version: string;
  readonly repository?: string | { readonly url?: string };
}

/**
 * `githubRepository` ("owner/name", $GITHUB_REPOSITORY in the workflow): npm
 * publish --provenance refuses a package whose repository.url is not that
 * repository (https://docs.npmjs.com/generating-provenance-statements).
 */
export function checkRelease(tag: string, pkg: ReleasedPackage, changelog: string, githubRepository?: string): ReleaseCheck {
  const packageVersion = pkg.version;
  const errors: string[] = [];
  if (githubRepository !== undefined) {
    const url = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    const expected = `https://github.com/${githubRepository}`;
    const normalized = url?.replace(/^git\+/, '').replace(/\.git$/, '');
    if (normalized !== expected) errors.push(`package.json repository.url must be "git+${expected}.git" for npm provenance, got ${url === undefined ? 'none' : `"${url}"`}`);
  }
  if (!SEMVER.test(packageVersion)) errors.push(`package.json version must be semantic (X.Y.Z), got "${packageVersion}"`);
  if (tag !== `v${packageVersion}`) errors.push(`tag "${tag}" must be "v" and the package.json version, "v${packageVersion}"`);
  const section = changelogSection(changelog, packageVersion);
  if (!section) {
    errors.push(`CHANGELOG.md has no section "## [${packageVersion}] - YYYY-MM-DD"`);
  } else {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(section.date)) errors.push(`CHANGELOG.md section ${packageVersion} must be dated "## [${packageVersion}] - YYYY-MM-DD", got "${section.date}"`);
    if (section.body === '') errors.push(`CHANGELOG.md section ${packageVersion} is empty`);
  }
  return { errors, notes: section?.body };
}
