import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failOnWarnings, findPluginDir, planOffline } from '../../scripts/lib/terraform';

/** Issue #10 item 7: a deprecation warning must fail the offline plan, so the 6.x upgrade stays cheap. */
describe('offline plan warnings', () => {
  it('should refuse output with a warning and accept output without one', () => {
    expect(() => failOnWarnings('x', 'validate', 'Success! The configuration is valid.\n')).not.toThrow();
    expect(() => failOnWarnings('x', 'validate', '╷\n│ Warning: Argument is deprecated\n│\n')).toThrow(/terraform validate printed warnings/);
  });

  it('should fail a real terraform validate of a deprecated argument', async () => {
    const plans = mkdtempSync(join(tmpdir(), 'ghr-deprecated-'));
    try {
      const target = { name: 'deprecated', dir: join(__dirname, 'fixtures', 'deprecated'), provider: 'override' as const };
      await expect(planOffline(target, plans, findPluginDir())).rejects.toThrow(/printed warnings[\s\S]*deprecated/i);
    } finally {
      rmSync(plans, { recursive: true, force: true });
    }
  }, 120_000);
});
