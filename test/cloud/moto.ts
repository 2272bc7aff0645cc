/**
 * moto_server (moto 5.2.1, an AWS emulator nobody here wrote) on 127.0.0.1
 * with a free port, for tests that must meet AWS's own wire protocol and the
 * SDK's real retry path rather than a client mock.
 *
 * Start it with {@link startMoto}; it is found as $MOTO_SERVER, else
 * `moto_server` on PATH.
 * scripts/check-prerequisites.ts stops `npm test` early when it is missing.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { motoServerCommand } from '../../scripts/lib/moto';

/** A running emulator. */
export interface Moto {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Stop the process and wait for it to exit. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Start moto_server and wait (at most `readyWithinMs`) until it answers. */
export async function startMoto(readyWithinMs = 20_000): Promise<Moto> {
  const command = motoServerCommand();
  if (!command) throw new Error('moto_server is not installed: pip install "moto[server]==5.2.1" (see README, Prerequisites)');
  const port = await freePort();
  const child: ChildProcess = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const giveUpAt = Date.now() + readyWithinMs;
  for (let attempt = 0; Date.now() < giveUpAt; attempt++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.ok) return { url, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
  }
  await stop();
  throw new Error(`moto_server did not answer on ${url} within ${readyWithinMs} ms: ${stderr}`);
}
