import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * undici cancels the body of a Response that is garbage collected while its
 * stream is neither locked nor read. The syncer starts a download, then waits
 * for CreateMultipartUpload before it reads; a collection in that window made
 * the download read 0 bytes ("nothing to upload", issue #10 item 15). This runs
 * the real download in a child process with collections forced in the window.
 */
describe('GitHub releases download under garbage collection', () => {
  it('should deliver every byte when collections run before and during the copy', () => {
    const script = join(__dirname, 'scripts', 'download-under-gc.ts');
    const out = execFileSync(process.execPath, ['--expose-gc', '-r', 'ts-node/register/transpile-only', script], {
      cwd: join(__dirname, '..', '..', '..'),
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
    });
    const result = JSON.parse(out.trim().split('\n').pop() as string) as { size: number; received: number; error?: string };
    expect(result.error).toBeUndefined();
    expect(result.received).toBe(result.size);
  });
});
