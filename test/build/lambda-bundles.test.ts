/**
 * The packaging pipeline: esbuild bundles, deterministic zips, the manifest.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { bundleAll, discoverLambdas } from '../../scripts/lib/lambda-bundles';
import { createZip } from '../../scripts/lib/deterministic-zip';

const LAMBDAS = join(__dirname, '..', '..', 'lambdas');

/** Reads the entries of a zip we wrote (no extra fields, no data descriptors). */
function readZip(zip: Buffer): Record<string, Buffer> {
  const entries: Record<string, Buffer> = {};
  let offset = 0;
  while (zip.readUInt32LE(offset) === 0x04034b50) {
    const compressedSize = zip.readUInt32LE(offset + 18);
    const nameLength = zip.readUInt16LE(offset + 26);
    const extraLength = zip.readUInt16LE(offset + 28);
    const name = zip.subarray(offset + 30, offset + 30 + nameLength).toString('utf8');
    const start = offset + 30 + nameLength + extraLength;
    entries[name] = inflateRawSync(zip.subarray(start, start + compressedSize));
    offset = start + compressedSize;
  }
  return entries;
}

describe('createZip', () => {
  it('should give byte-identical archives for the same entries in any order', () => {
    const a = createZip([{ name: 'b.js', data: Buffer.from('b') }, { name: 'a.js', data: Buffer.from('a') }]);
    const b = createZip([{ name: 'a.js', data: Buffer.from('a') }, { name: 'b.js', data: Buffer.from('b') }]);
    expect(a.equals(b)).toBe(true);
  });

  it('should round-trip its entries', () => {
    const data = Buffer.from('exports.handler = async () => 42;\n'.repeat(100));
    expect(readZip(createZip([{ name: 'index.js', data }]))['index.js'].equals(data)).toBe(true);
  });

  it('should be readable by unzip, with a fixed 1980 timestamp', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zip-'));
    const file = join(dir, 'x.zip');
    writeFileSync(file, createZip([{ name: 'index.js', data: Buffer.from('hello') }]));
    expect(execFileSync('unzip', ['-t', file]).toString()).toMatch(/No errors detected/);
    expect(execFileSync('unzip', ['-l', file]).toString()).toMatch(/1980-01-01 00:00\s+index\.js/);
  });

  it('should refuse duplicate entry names', () => {
    expect(() => createZip([{ name: 'a', data: Buffer.from('') }, { name: 'a', data: Buffer.from('') }])).toThrow('duplicate zip entry: a');
  });
});

describe('bundleAll', () => {
  it('should find one handler per lambdas/<name>/index.ts, never shared/', () => {
    const names = discoverLambdas(LAMBDAS);
    expect(names).toContain('webhook');
    expect(names).not.toContain('shared');
  });

  it('should build byte-identical zips twice and record their sha256 in the manifest', async () => {
    const first = mkdtempSync(join(tmpdir(), 'bundles-a-'));
    const second = mkdtempSync(join(tmpdir(), 'bundles-b-'));
    const [a, b] = [await bundleAll(LAMBDAS, first), await bundleAll(LAMBDAS, second)];
    expect(a.lambdas).toEqual(b.lambdas);
    for (const [name, entry] of Object.entries(a.lambdas)) {
      const zip = readFileSync(join(first, entry.file));
      expect({ name, sha256: createHash('sha256').update(zip).digest('hex') }).toEqual({ name, sha256: entry.sha256 });
    }
    expect(a.runtime).toBe('nodejs22.x');
  });

  it('should export a standard Lambda handler from each bundle, with the AWS SDK left to the runtime', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bundles-c-'));
    const manifest = await bundleAll(LAMBDAS, out);
    for (const [name, entry] of Object.entries(manifest.lambdas)) {
      const code = readZip(readFileSync(join(out, entry.file)))['index.js'].toString('utf8');
      const dir = join(out, `load-${name}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'index.js'), code);
      // Loaded the way Lambda loads it: a fresh node process requires the file
      // and looks up `handler`; the runtime's AWS SDK is found through NODE_PATH.
      const kind = execFileSync(process.execPath, ['-e', 'process.stdout.write(typeof require(process.argv[1]).handler)', join(dir, 'index.js')], {
        env: { ...process.env, NODE_PATH: join(__dirname, '..', '..', 'node_modules') },
      }).toString();
      expect({ name, handler: kind }).toEqual({ name, handler: 'function' });
      expect(code).toMatch(/require\("@aws-sdk\/client-/);
    }
  });
});
