import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

describe('check-prerequisites', () => {
  it('should name every missing tool and how to install it, in one message, and exit 1', () => {
    // GIVEN a PATH with node only: no terraform, no shellcheck
    const bin = mkdtempSync(join(tmpdir(), 'ghr-path-'));
    try {
      symlinkSync(process.execPath, join(bin, 'node'));
      const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, 'scripts', 'check-prerequisites.ts')], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, PATH: bin, MOTO_SERVER: '' },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/npm test needs tools that are missing:\n- Terraform >= 1\.9: not on PATH\. Install: .*terraform\/install/);
      expect(r.stderr).toMatch(/- shellcheck: not on PATH\. Install: apt-get install shellcheck/);
      expect(r.stderr).toMatch(/- moto_server: not on PATH \(nor \$MOTO_SERVER\)\. Install: pip install "moto\[server\]==5\.2\.1"/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('should pass on this machine, where npm test runs', () => {
    const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, 'scripts', 'check-prerequisites.ts')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
