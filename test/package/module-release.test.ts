/**
 * The Terraform module as a release artifact: the archive `npm run release`
 * writes is reproducible, carries a README and checksums that hold, and
 * works as a module source over HTTP: an HCL root whose `source` is the
 * archive's URL on a local server (127.0.0.1, random port) plans offline.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveName, gzipReproducible, tar, writeModuleRelease } from '../../scripts/lib/release-archive';
import { findPluginDir, planOffline } from '../../scripts/lib/terraform';

const root = join(__dirname, '..', '..');
const moduleDir = join(root, 'dist', 'terraform-module');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('the module release archive', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'ghr-release-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const first = writeModuleRelease(moduleDir, version, join(scratch, 'one'));
  const archive = readFileSync(first.archivePath);

  it('should be named after the package version and be byte-for-byte reproducible', () => {
    expect(first.archivePath.endsWith(`cdktf-github-runners-module-${version}.tar.gz`)).toBe(true);
    const second = writeModuleRelease(moduleDir, version, join(scratch, 'two'));
    expect(second.sha256).toBe(first.sha256);
    expect(readFileSync(join(scratch, 'one', 'SHA256SUMS'), 'utf8')).toBe(`${first.sha256}  ${archiveName(version)}\n`);
    // gzip header: no file name flag, mtime 0, OS byte Unix.
    expect(archive[3] & 0x08).toBe(0);
    expect(archive.readUInt32LE(4)).toBe(0);
    expect(archive[9]).toBe(3);
  });

  it('should refuse a version that is not semantic', () => {
    expect(() => writeModuleRelease(moduleDir, 'v1', join(scratch, 'bad'))).toThrow(/version must be semantic.*"v1"/);
  });

  it('should hold the module, a README with the inputs table, and checksums every file matches (read with the system tar)', () => {
    const out = join(scratch, 'extracted');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', first.archivePath, '-C', out]);
    const listing = execFileSync('tar', ['-tvzf', first.archivePath], { encoding: 'utf8' }).trim().split('\n');
    const names = listing.map((l) => l.split(/\s+/).pop()!);
    expect(names).toEqual([...names].sort());
    for (const line of listing) expect(line).toMatch(/^[-d]rw[-x]r-[-x]r-[-x] 0\/0 /);
    expect(first.files).toEqual(expect.arrayContaining(['cdk.tf.json', 'README.md', 'SHA256SUMS']));
    expect(first.files.filter((f) => f.endsWith('.zip')).length).toBeGreaterThanOrEqual(6);
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    expect(readme).toContain(`# cdktf-github-runners Terraform module ${version}`);
    expect(readme).toContain('| `github_app_ssm_parameters` |');
    const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(sums.map((l) => l.slice(66)).sort()).toEqual(first.files.filter((f) => f !== 'SHA256SUMS'));
    for (const line of sums) {
      const [digest, file] = [line.slice(0, 64), line.slice(66)];
      expect(sha256(readFileSync(join(out, file)))).toBe(digest);
    }
  });

  it('should write ustar headers the system tar reads for paths longer than 100 bytes', () => {
    const long = `${'a'.repeat(60)}/${'b'.repeat(60)}/file.txt`;
    const file = join(scratch, 'long.tar.gz');
    writeFileSync(file, gzipReproducible(tar([{ path: long, data: Buffer.from('x') }])));
    expect(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim()).toBe(long);
  });

  describe('as a module source over HTTP', () => {
    let server: Server;
    let port: number;
    const requests: string[] = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        if (req.url?.split('?')[0] === `/releases/${archiveName(version)}`) {
          res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': archive.length });
          res.end(req.method === 'HEAD' ? undefined : archive);
        } else {
          res.writeHead(404).end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('should plan an HCL root whose source is the archive URL, offline', async () => {
      const dir = join(scratch, 'hcl-root');
      mkdirSync(dir);
      const url = `http://127.0.0.1:${port}/releases/${archiveName(version)}`;
      const consumer = readFileSync(join(root, 'examples', 'hcl-consumer', 'main.tf'), 'utf8');
      expect(consumer).toContain('source                      = "../../dist/terraform-module"');
      writeFileSync(join(dir, 'main.tf'), consumer.replace('"../../dist/terraform-module"', JSON.stringify(url)));
      const plan = await planOffline({ name: 'http-source', dir, provider: 'override' }, scratch, findPluginDir());
      expect(requests.some((r) => r.startsWith(`GET /releases/${archiveName(version)}`))).toBe(true);
      const planned = JSON.parse(readFileSync(plan.planJsonPath, 'utf8')) as { resource_changes?: { address: string; type: string }[] };
      const lambdas = planned.resource_changes?.filter((r) => r.type === 'aws_lambda_function') ?? [];
      expect(lambdas.length).toBeGreaterThanOrEqual(5);
      expect(lambdas.every((r) => r.address.startsWith('module.runners.'))).toBe(true);
      console.log(`planned the HCL root with an http:// archive source in ${plan.seconds.toFixed(1)} s`);
    }, 180_000);
  });
});
