/**
 * The local half of GitHub's manifest flow.
 *
 * A small HTTP server on 127.0.0.1 serves `/`, a page whose form POSTs the
 * manifest to GitHub's "new App" page with a random `state`. After the owner
 * creates the App, GitHub sends the browser to `/callback?code=…&state=…`.
 * The server accepts the first callback whose state matches (compared in
 * constant time), answers 400 to any other, and hands the code to the caller.
 *
 * The code is a one-hour credential for the App's private key, so it is never
 * logged, echoed in a page, or kept after it is handed over.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppManifest } from './manifest';

/** No valid callback arrived in time. */
export class ManifestFlowTimeoutError extends Error {
  constructor(minutes: number) {
    super(`no callback from GitHub within ${minutes} minute(s); the App may not have been created`);
    this.name = 'ManifestFlowTimeoutError';
  }
}

export interface ManifestFlowOptions {
  /** Local port; 0 picks a free one. */
  readonly port: number;
  /** The manifest for a given callback URL (known once the port is bound). */
  readonly manifestFor: (callbackUrl: string) => AppManifest;
  /** GitHub's new-App page for a given state (see `newAppPageUrl`). */
  readonly newAppUrlFor: (state: string) => string;
  /** How long to wait for the callback. */
  readonly timeoutMs: number;
  /** Notes for the operator (rejected callbacks). Never receives the code. */
  readonly notify?: (line: string) => void;
}

export interface ManifestFlow {
  /** The page to open in a browser, e.g. `http://127.0.0.1:49152/`. */
  readonly pageUrl: string;
  /** The manifest's `redirect_url`. */
  readonly callbackUrl: string;
  /** The manifest being served. */
  readonly manifest: AppManifest;
  /** Resolves with GitHub's temporary code; rejects on timeout or `close`. */
  readonly code: Promise<string>;
  /** Stop listening and drop open connections. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

/** Start the local server and return once it listens. */
export async function startManifestFlow(options: ManifestFlowOptions): Promise<ManifestFlow> {
  const state = randomBytes(24).toString('base64url');
  const scriptNonce = randomBytes(16).toString('base64');
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://${HOST}:${port}`;
  const callbackUrl = `${origin}/callback`;
  const manifest = options.manifestFor(callbackUrl);
  const page = formPage(manifest, options.newAppUrlFor(state), scriptNonce);
  const allowedHosts = new Set([`${HOST}:${port}`, `localhost:${port}`]);

  let settle: { resolve: (code: string) => void; reject: (err: Error) => void } | undefined;
  const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  code.catch(() => undefined); // the caller may close before awaiting
  let done = false;
  const finish = (outcome: { code: string } | { error: Error }) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if ('code' in outcome) settle?.resolve(outcome.code);
    else settle?.reject(outcome.error);
  };
  const timer = setTimeout(() => finish({ error: new ManifestFlowTimeoutError(Math.round(options.timeoutMs / 60000)) }), options.timeoutMs);
  timer.unref();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // Only this machine's browser, by this name: a page on another site that
    // rebinds its DNS name to 127.0.0.1 sends its own Host and is refused.
    if (!allowedHosts.has(req.headers.host ?? '')) return reply(res, 421, 'Misdirected request.');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'Method not allowed.', { Allow: 'GET' });
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname === '/') {
      if (done) return reply(res, 410, 'This run is over. Start the command again to create another App.');
      return reply(res, 200, page, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${scriptNonce}'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'`,
      });
    }
    if (url.pathname === '/callback') {
      if (done) return reply(res, 410, 'A code was already received. Return to the terminal.');
      const received = url.searchParams.get('state') ?? '';
      if (!sameSecret(received, state)) {
        options.notify?.('ignored a callback whose state does not match this run');
        return reply(res, 400, 'State mismatch: this callback does not belong to this run.');
      }
      const got = url.searchParams.get('code') ?? '';
      if (!/^[A-Za-z0-9_-]{1,200}$/.test(got)) return reply(res, 400, 'The callback carries no usable code.');
      reply(res, 200, 'GitHub App created. Return to the terminal; you can close this tab.');
      finish({ code: got });
      return;
    }
    return reply(res, 404, 'Not found.');
  });

  return {
    pageUrl: `${origin}/`,
    callbackUrl,
    manifest,
    code,
    close: async () => {
      finish({ error: new Error('the manifest flow was closed before GitHub called back') });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Equal strings, compared in time independent of where they differ or of their lengths. */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

/** A page that POSTs the manifest to GitHub at once, with a button for browsers without script. */
function formPage(manifest: AppManifest, action: string, scriptNonce: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Create the GitHub App ${escapeHtml(manifest.name)}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Create the GitHub App “${escapeHtml(manifest.name)}”</h1>
<p>Sending the App manifest to GitHub…</p>
<form id="manifest-form" method="post" action="${escapeHtml(action)}">
<input type="hidden" name="manifest" value="${escapeHtml(JSON.stringify(manifest))}">
<button type="submit">Continue to GitHub</button>
</form>
<script nonce="${scriptNonce}">document.getElementById('manifest-form').submit();</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
