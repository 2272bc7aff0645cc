/**
 * A real HTTP server on 127.0.0.1 playing both GitHub's REST API (releases of
 * actions/runner) and its download host (a redirect, then the bytes, sent in
 * 64 KiB chunks with backpressure).
 */
import { createHash } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const CHUNK_BYTES = 64 * 1024;

/** One asset of a fake release. */
export interface FakeAsset {
  readonly id: number;
  readonly name: string;
  readonly body: Buffer;
  /** The API's `digest`; default `sha256:<hex of body>`. Null for an asset without one. */
  readonly digest?: string | null;
  /** Size the API reports; default `body.length`. */
  readonly listedSize?: number;
  /** Answer the download with this status instead of the bytes. */
  readonly downloadStatus?: number;
  /** Close the connection after sending this many bytes (Content-Length still promises all). */
  readonly cutAfter?: number;
  /** Send no Content-Length (chunked) and end cleanly after `endAfter` bytes. */
  readonly endAfter?: number;
}

/** One request the server saw. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
}

/** SHA-256 of `body`, as GitHub writes it in `digest`. */
export function sha256Digest(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/** The fake. Start it, add releases, point the syncer at `url`. */
export class FakeGitHub {
  /** Every request, in arrival order. */
  readonly requests: SeenRequest[] = [];
  /** When set, release endpoints answer with this status (and `releaseHeaders`). */
  releaseStatus: number | undefined;
  releaseHeaders: Record<string, string> = {};
  /** When set, release endpoints answer 200 with this body instead of a release. */
  releaseBody: unknown;
  /** Tag returned by `/releases/latest`. */
  latestTag: string | undefined;
  /** Asset bytes written to sockets so far (all downloads). */
  bytesSent = 0;
  /** Set by `pauseAt`: whether the pause ended by timeout rather than `resume()`. */
  pauseTimedOut = false;
  /**
   * The origin `browser_download_url` names, e.g. `https://github.com` when the
   * caller's fetch routes that host here (the syncer downloads over https only,
   * unless from its API's own origin). @default this server's own `url`
   */
  downloadOrigin: string | undefined;

  private server: Server | undefined;
  private readonly releases = new Map<string, FakeAsset[]>();
  private pause: { at: number; timeoutMs: number; release: () => void; released: Promise<void>; reached: boolean } | undefined;

  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('FakeGitHub is not started');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.pause?.release();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  /** Publish release `tag` with `assets`. */
  addRelease(tag: string, assets: FakeAsset[]): void {
    this.releases.set(tag, assets);
  }

  /** Stop sending asset bytes once `bytesSent` reaches `at`, until `resume()` or `timeoutMs`. */
  pauseAt(at: number, timeoutMs: number): void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.pause = { at, timeoutMs, release, released, reached: false };
  }

  /** End a pause set by `pauseAt` (no-op without one). */
  resume(): void {
    this.pause?.release();
  }

  /** Requests for asset bytes (the redirecting URL or the CDN URL). */
  assetRequests(): SeenRequest[] {
    return this.requests.filter((r) => r.path.includes('/releases/download/') || r.path.startsWith('/cdn/'));
  }

  private releaseJson(tag: string, assets: FakeAsset[]): Record<string, unknown> {
    return {
      id: 1,
      tag_name: tag,
      name: tag,
      draft: false,
      prerelease: false,
      html_url: `https://github.com/actions/runner/releases/tag/${tag}`,
      assets: assets.map((a) => ({
        id: a.id,
        name: a.name,
        state: 'uploaded',
        content_type: 'application/gzip',
        size: a.listedSize ?? a.body.length,
        digest: a.digest === undefined ? sha256Digest(a.body) : a.digest,
        url: `${this.url}/repos/actions/runner/releases/assets/${a.id}`,
        browser_download_url: `${this.downloadOrigin ?? this.url}/actions/runner/releases/download/${tag}/${a.name}`,
      })),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.requests.push({ method: req.method ?? 'GET', path, authorization: req.headers.authorization });

    const releasePath = /^\/repos\/actions\/runner\/releases\/(latest|tags\/(.+))$/.exec(path);
    if (releasePath) {
      if (this.releaseStatus !== undefined) return json(res, this.releaseStatus, { message: 'Server Error' }, this.releaseHeaders);
      if (this.releaseBody !== undefined) return json(res, 200, this.releaseBody);
      const tag = releasePath[1] === 'latest' ? this.latestTag : decodeURIComponent(releasePath[2]);
      const assets = tag === undefined ? undefined : this.releases.get(tag);
      if (tag === undefined || !assets) return json(res, 404, { message: 'Not Found' });
      return json(res, 200, this.releaseJson(tag, assets));
    }

    const download = /^\/actions\/runner\/releases\/download\/([^/]+)\/([^/]+)$/.exec(path);
    if (download) {
      const asset = this.releases.get(download[1])?.find((a) => a.name === download[2]);
      if (!asset) return json(res, 404, { message: 'Not Found' });
      // Like github.com: a redirect to the CDN host.
      res.writeHead(302, { location: `${this.url}/cdn/${asset.id}` });
      res.end();
      return;
    }

    const cdn = /^\/cdn\/(\d+)$/.exec(path);
    if (cdn) {
      const asset = [...this.releases.values()].flat().find((a) => a.id === Number(cdn[1]));
      if (!asset) return json(res, 404, { message: 'Not Found' });
      if (asset.downloadStatus !== undefined) return json(res, asset.downloadStatus, { message: 'nope' });
      await this.sendBody(res, asset);
      return;
    }
    json(res, 404, { message: 'Not Found' });
  }

  private async sendBody(res: ServerResponse, asset: FakeAsset): Promise<void> {
    const chunked = asset.endAfter !== undefined;
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      ...(chunked ? {} : { 'content-length': String(asset.body.length) }),
    });
    let closed = false;
    res.on('close', () => (closed = true));
    const limit = asset.cutAfter ?? asset.endAfter ?? asset.body.length;
    for (let offset = 0; offset < limit && !closed; offset += CHUNK_BYTES) {
      const pause = this.pause;
      if (pause && !pause.reached && this.bytesSent >= pause.at) {
        pause.reached = true;
        const timedOut = await Promise.race([pause.released.then(() => false), delay(pause.timeoutMs).then(() => true)]);
        if (timedOut) this.pauseTimedOut = true;
      }
      const chunk = asset.body.subarray(offset, Math.min(offset + CHUNK_BYTES, limit));
      this.bytesSent += chunk.length;
      if (!res.write(chunk)) await drainedOrClosed(res);
    }
    if (asset.cutAfter !== undefined) {
      // Flush what was written, then close the connection mid-body.
      res.socket?.end();
      return;
    }
    res.end();
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
