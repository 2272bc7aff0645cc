/**
 * The release workflow (.github/workflows/release.yml, #13 item 4), parsed as
 * YAML: a v* tag; one job builds and tests, then packs what it tested without
 * rebuilding; the publish job gets only that job's artifact, checks it, and
 * publishes exactly those files. Plus the tag/package.json/CHANGELOG check it
 * starts with, and CHANGELOG.md's shape.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { archiveName } from '../../scripts/lib/release-archive';
import { changelogSection, checkRelease } from '../../scripts/lib/release-check';
import { PREREQUISITES } from '../../scripts/check-prerequisites';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; scripts: Record<string, string> };
const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');

interface Step {
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
  readonly 'working-directory'?: string;
}
interface Job {
  readonly needs?: string | string[];
  readonly permissions?: Record<string, string>;
  readonly steps: Step[];
}
interface Workflow {
  readonly on: { push: { tags?: string[]; branches?: string[] } };
  readonly permissions: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

const text = readFileSync(join(root, '.github', 'workflows', 'release.yml'), 'utf8');
const workflow = parse(text) as Workflow;
const { build, publish } = workflow.jobs;

/** Index of the first step matching; fails the test when there is none. */
function stepIndex(job: Job, match: (s: Step) => boolean, what: string): number {
  const i = job.steps.findIndex(match);
  if (i < 0) throw new Error(`no step ${what} in ${JSON.stringify(job.steps.map((s) => s.name ?? s.uses ?? s.run))}`);
  return i;
}
const runs = (pattern: RegExp) => (s: Step) => s.run !== undefined && pattern.test(s.run);
const uses = (action: string) => (s: Step) => s.uses?.split('@')[0] === action;
/** The tag's version as the workflow's shell writes it, for this package.json. */
const expand = (s: string) => s.replace(/\$\{GITHUB_REF_NAME#v\}/g, pkg.version).replace(/"/g, '');

describe('the release workflow', () => {
  it('should run on v* tags only, read-only by default', () => {
    expect(workflow.on).toEqual({ push: { tags: ['v*'] } });
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(Object.keys(workflow.jobs)).toEqual(['build', 'publish']);
  });

  it('should pin every action to a full commit SHA, with its version as a comment', () => {
    const lines = text.split('\n').filter((l) => /^\s*-?\s*uses:/.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines) expect(line).toMatch(/uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });

  describe('build', () => {
    const at = {
      checkout: stepIndex(build, uses('actions/checkout'), 'checkout'),
      node: stepIndex(build, uses('actions/setup-node'), 'setup-node'),
      terraform: stepIndex(build, uses('hashicorp/setup-terraform'), 'setup-terraform'),
      prerequisites: stepIndex(build, runs(/moto\[server\]/), 'installing the test prerequisites'),
      ci: stepIndex(build, runs(/^npm ci\b/), 'npm ci'),
      check: stepIndex(build, runs(/npm run -s release:check -- "\$GITHUB_REF_NAME"/), 'release:check'),
      test: stepIndex(build, (s) => s.run === 'npm test', 'npm test'),
      lib: stepIndex(build, runs(/npm run -s build:lib/), 'build:lib'),
      pack: stepIndex(build, runs(/npm pack/), 'npm pack'),
      archive: stepIndex(build, runs(/scripts\/release\.ts/), 'the module archive'),
      upload: stepIndex(build, uses('actions/upload-artifact'), 'upload-artifact'),
    };

    it('should get no write permission and no OIDC token', () => {
      expect(build.permissions).toBeUndefined();
    });

    it('should check out, set up, install, check the tag, test, then pack and archive, then upload, in that order', () => {
      const order = Object.entries(at).sort((a, b) => a[1] - b[1]).map(([k]) => k);
      expect(order.slice(0, 3).sort()).toEqual(['checkout', 'node', 'terraform']);
      expect(order.slice(3)).toEqual(['prerequisites', 'ci', 'check', 'test', 'lib', 'pack', 'archive', 'upload']);
    });

    it('should install every prerequisite npm test checks that a runner lacks, at the version it names', () => {
      const install = build.steps[at.prerequisites].run!;
      expect(PREREQUISITES.map((p) => p.name)).toEqual(expect.arrayContaining(['shellcheck', 'moto_server']));
      expect(install).toMatch(/apt-get install -y -qq shellcheck/);
      const moto = PREREQUISITES.find((p) => p.name === 'moto_server')!.install.match(/moto\[server\]==[\d.]+/)![0];
      expect(install).toContain(`"${moto}"`);
      expect(build.steps[at.terraform].with?.terraform_version).toMatch(/^1\.(9|1\d)\./);
      expect(build.steps[at.terraform].with?.terraform_wrapper).toBe(false);
      expect(build.steps[at.node].with?.['node-version']).toBe(20);
    });

    it('should build once: npm test synthesizes, and nothing after it rebuilds the zips or the module', () => {
      expect(pkg.scripts.test).toMatch(/npm run synth/);
      const after = build.steps.slice(at.test + 1).map((s) => s.run ?? '').join('\n');
      expect(after).not.toMatch(/npm run (-s )?(build|synth|release)\b(?!:)/);
      expect(after).not.toMatch(/scripts\/build-lambdas|main\.ts/);
      // prepack would run `npm run build` again.
      expect(build.steps[at.pack].run).toMatch(/npm pack --ignore-scripts --pack-destination dist\/release/);
      // The compiled lib/ reads the zips from dist/lambdas, which npm test built.
      expect(pkg.scripts['build:lib']).not.toMatch(/build-lambdas|npm run build\b/);
    });

    it('should upload dist/release (tarball, archive, SHA256SUMS listing both) and the release notes', () => {
      const upload = build.steps[at.upload].with!;
      expect(upload.name).toBe('release');
      expect(String(upload.path).trim().split('\n')).toEqual(['dist/release/', 'release-notes.md']);
      expect(upload['if-no-files-found']).toBe('error');
      const archive = build.steps[at.archive].run!;
      expect(expand(archive)).toContain(`sha256sum cdktf-github-runners-${pkg.version}.tgz >> SHA256SUMS`);
      expect(build.steps[at.check].run).toContain('--notes release-notes.md');
    });
  });

  describe('publish', () => {
    const at = {
      download: stepIndex(publish, uses('actions/download-artifact'), 'download-artifact'),
      verify: stepIndex(publish, runs(/sha256sum -c SHA256SUMS/), 'checksum verification'),
      npm: stepIndex(publish, runs(/npm publish/), 'npm publish'),
      release: stepIndex(publish, runs(/gh release create/), 'gh release create'),
    };
    const dir = 'release/dist/release';

    it('should run after build, with id-token: write for provenance and contents: write for the release', () => {
      expect(publish.needs).toBe('build');
      expect(publish.permissions).toEqual({ contents: 'write', 'id-token': 'write' });
    });

    it('should not check out or build anything: it publishes the build job artifact', () => {
      expect(publish.steps.filter(uses('actions/checkout'))).toEqual([]);
      expect(publish.steps.map((s) => s.run ?? '').join('\n')).not.toMatch(/npm (ci|install|test|pack|run)\b/);
      expect(publish.steps[at.download].with).toEqual({ name: 'release', path: 'release' });
      expect(publish.steps.find(uses('actions/setup-node'))?.with?.['registry-url']).toBe('https://registry.npmjs.org');
    });

    it('should verify the checksums, then publish to npm with provenance, then attach the archive and SHA256SUMS', () => {
      expect([at.download, at.verify, at.npm, at.release]).toEqual([...[at.download, at.verify, at.npm, at.release]].sort((a, b) => a - b));
      expect(publish.steps[at.verify]['working-directory']).toBe(dir);
      const npm = expand(publish.steps[at.npm].run!);
      expect(npm).toBe(`npm publish ${dir}/${pkg.name}-${pkg.version}.tgz --provenance --access public --ignore-scripts`);
      expect(publish.steps[at.npm].env).toEqual({ NODE_AUTH_TOKEN: '${{ secrets.NPM_TOKEN }}' });
      const release = expand(publish.steps[at.release].run!).split(/\s+/);
      expect(release).toEqual(expect.arrayContaining(['--verify-tag', '--notes-file', 'release/release-notes.md', `${dir}/${archiveName(pkg.version)}`, `${dir}/SHA256SUMS`]));
      // The files published are the ones the build job packed: npm names the tarball <name>-<version>.tgz in --pack-destination.
      expect(release.filter((a) => a.startsWith('release/dist/')).map((a) => a.slice('release/'.length))).toEqual([`dist/release/${archiveName(pkg.version)}`, 'dist/release/SHA256SUMS']);
    });
  });
});

describe('release:check', () => {
  const dated = (v: string) => `# Changelog\n\n## [Unreleased]\n\n## [${v}] - 2026-12-07\n\n### Added\n- Things.\n\n## [0.0.1] - 2026-01-01\n- Old.\n`;

  it('should accept the tag v<version> with a dated, non-empty CHANGELOG section, and return that section as notes', () => {
    const r = checkRelease('v1.2.3', { version: '1.2.3', repository: { url: 'git+https://github.com/acme/runners.git' } }, dated('1.2.3'), 'acme/runners');
    expect(r.errors).toEqual([]);
    expect(r.notes).toBe('### Added\n- Things.');
  });

  it('should refuse a tag that is not the package.json version', () => {
    expect(checkRelease('v1.2.4', { version: '1.2.3' }, dated('1.2.3')).errors).toEqual(['tag "v1.2.4" must be "v" and the package.json version, "v1.2.3"']);
    expect(checkRelease('1.2.3', { version: '1.2.3' }, dated('1.2.3')).errors).toHaveLength(1);
  });

  it('should refuse a version with no CHANGELOG section, an undated one, or an empty one', () => {
    expect(checkRelease('v2.0.0', { version: '2.0.0' }, dated('1.2.3')).errors).toEqual(['CHANGELOG.md has no section "## [2.0.0] - YYYY-MM-DD"']);
    expect(checkRelease('v1.2.3', { version: '1.2.3' }, '## [1.2.3] - not yet tagged\n- x\n').errors).toEqual([
      'CHANGELOG.md section 1.2.3 must be dated "## [1.2.3] - YYYY-MM-DD", got "not yet tagged"',
    ]);
    expect(checkRelease('v1.2.3', { version: '1.2.3' }, '## [1.2.3] - 2026-12-07\n\n## [1.2.2] - 2026-12-01\n- x\n').errors).toEqual(['CHANGELOG.md section 1.2.3 is empty']);
  });

  it('should refuse, in the workflow, a package.json whose repository is not the one releasing (npm provenance checks it)', () => {
    const errors = checkRelease('v1.2.3', { version: '1.2.3', repository: 'https://github.com/other/fork' }, dated('1.2.3'), 'acme/runners').errors;
    expect(errors).toEqual(['package.json repository.url must be "git+https://github.com/acme/runners.git" for npm provenance, got "https://github.com/other/fork"']);
  });
});

describe('CHANGELOG.md', () => {
  it('should follow Keep a Changelog: an Unreleased section first, then a section for the package.json version', () => {
    const headings = changelog.split('\n').filter((l) => l.startsWith('## '));
    expect(headings[0]).toBe('## [Unreleased]');
    expect(changelogSection(changelog, pkg.version)?.body).toMatch(/### Added/);
    for (const h of headings.slice(1)) expect(h).toMatch(/^## \[\d+\.\d+\.\d+\] - (\d{4}-\d{2}-\d{2}|not yet tagged)$/);
  });
});
