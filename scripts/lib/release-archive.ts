/**
 * The Terraform module as a release artifact: a reproducible .tar.gz of
 * dist/terraform-module (Terraform JSON, the Lambda zips, the user-data
 * template) plus a README with the inputs table and a SHA256SUMS file.
 *
 * Reproducible means the same module gives the same bytes on any machine:
 * entries sorted by path, mtime 0, uid/gid 0, fixed modes, no user or group
 * names, and a gzip header without a timestamp or a platform-dependent OS byte.
 * The tar writer is a minimal ustar one (regular files and directories only),
 * so the result does not depend on which `tar` the machine has.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { renderModuleDocs } from './module-docs';

export interface ArchiveEntry {
  /** Path inside the archive, '/'-separated, directories ending in '/'. */
  readonly path: string;
  /** File content; undefined for a directory. */
  readonly data?: Buffer;
}

export interface ModuleRelease {
  readonly archivePath: string;
  /** sha256 (hex) of the archive file. */
  readonly sha256: string;
  /** Paths of the files inside the archive, sorted. */
  readonly files: readonly string[];
}

export const archiveName = (version: string) => `cdktf-github-runners-module-${version}.tar.gz`;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Every file under `dir`, as '/'-separated paths relative to it. */
function walk(dir: string, rel = ''): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((d) => {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) return walk(dir, p);
    if (d.isFile()) return [p];
    throw new Error(`${join(dir, p)}: only regular files and directories go into the module archive`);
  });
}

/** The module README: how to consume this version, then the generated inputs and outputs tables. */
export function moduleReadme(version: string, moduleJsonPath: string): string {
  return [
    `# cdktf-github-runners Terraform module ${version}`,
    '',
    'Ephemeral, autoscaling, self-hosted GitHub Actions runners on AWS. This archive is the',
    'plain Terraform module (Terraform JSON with the Lambda zips inside, no provider or backend',
    'block). It needs Terraform >= 1.9 and hashicorp/aws >= 5.100.0, < 7.0.0.',
    '',
    '```hcl',
    'module "runners" {',
    `  source                      = "https://example.com/releases/${archiveName(version)}"`,
    '  # or, from a private bucket (AWS credentials of the caller):',
    `  # source                    = "s3::https://s3.eu-west-1.amazonaws.com/my-bucket/${archiveName(version)}"`,
    '  prefix                      = "gh-ci"',
    '  vpc_id                      = "vpc-123"',
    '  subnet_ids                  = ["subnet-123", "subnet-456"]',
    '  enable_organization_runners = true',
    '  github_app_ssm_parameters = {',
    '    app_id         = "/ops/github/runner/dev/app-id"',
    '    private_key    = "/ops/github/runner/dev/private-key"',
    '    webhook_secret = "/ops/github/runner/dev/webhook-secret"',
    '  }',
    '}',
    '```',
    '',
    '`SHA256SUMS` lists the sha256 of every other file in this archive (`sha256sum -c SHA256SUMS`).',
    '',
    renderModuleDocs(moduleJsonPath),
    '',
  ].join('\n');
}

/** The archive's entries: the module files, README.md and SHA256SUMS, with their parent directories, sorted. */
export function moduleEntries(moduleDir: string, version: string): ArchiveEntry[] {
  const files = new Map<string, Buffer>();
  for (const p of walk(moduleDir)) files.set(p, readFileSync(join(moduleDir, p)));
  if (!files.has('cdk.tf.json')) throw new Error(`${moduleDir} has no cdk.tf.json: run \`npm run synth\` first`);
  if (!files.has('README.md')) files.set('README.md', Buffer.from(moduleReadme(version, join(moduleDir, 'cdk.tf.json'))));
  const sums = [...files.keys()]
    .sort()
    .map((p) => `${sha256(files.get(p)!)}  ${p}\n`)
    .join('');
  files.set('SHA256SUMS', Buffer.from(sums));
  const dirs = new Set<string>();
  for (const p of files.keys()) {
    for (let d = posix.dirname(p); d !== '.'; d = posix.dirname(d)) dirs.add(`${d}/`);
  }
  const entries: ArchiveEntry[] = [...[...dirs].map((path) => ({ path })), ...[...files].map(([path, data]) => ({ path, data }))];
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function octal(value: number, width: number): string {
  const s = value.toString(8);
  if (s.length > width - 1) throw new Error(`tar: ${value} does not fit in ${width - 1} octal digits`);
  return s.padStart(width - 1, '0') + '\0';
}

/** One 512-byte ustar header. */
function header(entry: ArchiveEntry): Buffer {
  const h = Buffer.alloc(512);
  let name = entry.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (cut < 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`tar: path too long for ustar: ${entry.path}`);
  }
  const isDir = entry.data === undefined;
  h.write(name, 0, 100, 'utf8');
  h.write(octal(isDir ? 0o755 : 0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(isDir ? 0 : entry.data!.length, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii'); // mtime
  h.write('        ', 148, 'ascii'); // checksum placeholder
  h.write(isDir ? '5' : '0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(octal(0, 8), 329, 'ascii'); // devmajor
  h.write(octal(0, 8), 337, 'ascii'); // devminor
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

/** A ustar archive of `entries` in the order given. */
export function tar(entries: readonly ArchiveEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    if (e.data) {
      parts.push(e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024)); // two zero blocks end the archive
  return Buffer.concat(parts);
}

/** gzip with no file name, mtime 0 (zlib's default) and the OS byte fixed to Unix, so macOS and Linux agree. */
export function gzipReproducible(data: Buffer): Buffer {
  const gz = gzipSync(data, { level: 9 });
  gz[9] = 3;
  return gz;
}

/** Writes <outDir>/cdktf-github-runners-module-<version>.tar.gz and <outDir>/SHA256SUMS (of the archive). */
export function writeModuleRelease(moduleDir: string, version: string, outDir: string): ModuleRelease {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) throw new Error(`version must be semantic (1.2.3 or 1.2.3-rc.1), got "${version}"`);
  if (!statSync(moduleDir, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`no module at ${moduleDir}: run \`npm run synth\` first`);
  const entries = moduleEntries(moduleDir, version);
  const archive = gzipReproducible(tar(entries));
  mkdirSync(outDir, { recursive: true });
  const archivePath = join(outDir, archiveName(version));
  writeFileSync(archivePath, archive);
  const digest = sha256(archive);
  writeFileSync(join(outDir, 'SHA256SUMS'), `${digest}  ${archiveName(version)}\n`);
  return { archivePath, sha256: digest, files: entries.filter((e) => e.data).map((e) => e.path) };
}
