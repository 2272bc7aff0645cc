import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPluginDir, planOffline } from '../../scripts/lib/terraform';

/** Issue #10 item 8: bad runner_types fail at validate, naming the variable and each offending type. */
describe('module validation at terraform validate', () => {
  it('should name runner_types and each offending type', async () => {
    const plans = mkdtempSync(join(tmpdir(), 'ghr-bad-types-'));
    try {
      const target = { name: 'bad-runner-types', dir: join(__dirname, 'fixtures', 'bad-runner-types'), provider: 'override' as const };
      const error = await planOffline(target, plans, findPluginDir()).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(/terraform validate failed/);
      const text = (error?.message ?? '').replace(/\s+/g, ' ');
      expect(text).toContain('runner_types: every label must have a non-blank value, and every type at least one label; not so for: blank.');
      expect(text).toContain('runner_types: runners_maximum_count must be -1 (no limit) or at least 1; not so for: zero-cap.');
      expect(text).toContain("runner_types: a pool_config size may not exceed the type's runners_maximum_count; not so for: big-pool.");
    } finally {
      rmSync(plans, { recursive: true, force: true });
    }
  }, 120_000);
});
