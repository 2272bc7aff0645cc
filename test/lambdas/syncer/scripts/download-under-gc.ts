/**
 * Run with `node --expose-gc`: downloads an asset from a local server, forces
 * garbage collections between the start of the download and the copy (the
 * window in which the syncer waits for CreateMultipartUpload), then prints the
 * bytes received as JSON. Used by github-releases-gc.test.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGitHubReleases } from '../../../../lambdas/syncer/github-releases';

const SIZE = 4 * 1024 * 1024;
const CHUNK = 64 * 1024;

async function main(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) });
    let sent = 0;
    const pump = () => {
      if (sent >= SIZE) return void res.end();
      sent += CHUNK;
      res.write(Buffer.alloc(CHUNK, 7));
      setTimeout(pump, 1);
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const releases = createGitHubReleases({ apiUrl: `http://127.0.0.1:${port}` });
    const download = await releases.download(`http://127.0.0.1:${port}/asset.tar.gz`, 'asset.tar.gz');
    // The window: nothing reads the body while collections run (bounded: 25 rounds).
    for (let i = 0; i < 25; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    let received = 0;
    let error: string | undefined;
    try {
      for await (const chunk of download.chunks) {
        received += chunk.byteLength;
        gc();
      }
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    }
    process.stdout.write(JSON.stringify({ size: SIZE, received, error }) + '\n');
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

main().catch((cause) => {
  process.stderr.write(`${cause instanceof Error ? cause.stack : String(cause)}\n`);
  process.exit(1);
});
