import { request } from 'node:http';
import { buildManifest, newAppPageUrl } from '../../../scripts/lib/github-app/manifest';
import { ManifestFlow, ManifestFlowTimeoutError, sameSecret, startManifestFlow } from '../../../scripts/lib/github-app/manifest-server';

const WEBHOOK = 'https://abc123.execute-api.eu-west-1.amazonaws.com/webhook';

function start(timeoutMs = 10_000, notify?: (line: string) => void): Promise<ManifestFlow> {
  return startManifestFlow({
    port: 0,
    timeoutMs,
    manifestFor: (redirectUrl) => buildManifest({ name: 'gh-ci-runners', homepageUrl: 'https://github.com', webhookUrl: WEBHOOK, redirectUrl, level: 'org', prefix: 'gh-ci' }),
    newAppUrlFor: (state) => newAppPageUrl('https://github.com', 'acme', state),
    notify,
  });
}

/** The form's action and manifest, as a browser would read them. */
async function readForm(pageUrl: string): Promise<{ action: string; manifest: Record<string, unknown>; state: string; csp: string | null }> {
  const res = await fetch(pageUrl);
  expect(res.status).toBe(200);
  const html = await res.text();
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const action = unescape(/<form[^>]*method="post"[^>]*action="([^"]+)"/.exec(html)?.[1] ?? '');
  const manifest = JSON.parse(unescape(/name="manifest" value="([^"]*)"/.exec(html)?.[1] ?? '{}'));
  return { action, manifest, state: new URL(action).searchParams.get('state') ?? '', csp: res.headers.get('content-security-policy') };
}

/** GET with an explicit Host header (fetch does not allow overriding it). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('manifest flow server', () => {
  let flow: ManifestFlow | undefined;
  afterEach(async () => {
    await flow?.close();
    flow = undefined;
  });

  it('should listen on 127.0.0.1 and serve a form that POSTs the manifest to GitHub with a state', async () => {
    flow = await start();
    expect(flow.pageUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const form = await readForm(flow.pageUrl);
    expect(form.action).toMatch(/^https:\/\/github\.com\/organizations\/acme\/settings\/apps\/new\?state=[A-Za-z0-9_-]{32}$/);
    expect(form.manifest).toEqual(JSON.parse(JSON.stringify(flow.manifest)));
    expect(form.manifest).toMatchObject({ redirect_url: flow.callbackUrl, hook_attributes: { url: WEBHOOK, active: true } });
    expect(form.csp).toContain("default-src 'none'");
  });

  it('should answer 400 to a callback with the wrong state, and hand over the code of the right one', async () => {
    const notes: string[] = [];
    flow = await start(10_000, (l) => notes.push(l));
    const { state } = await readForm(flow.pageUrl);
    let settled = false;
    void flow.code.then(() => (settled = true));

    // Change the last character to one it surely is not.
    const forged = state.slice(0, -1) + (state.endsWith('x') ? 'y' : 'x');
    const wrong = await fetch(`${flow.callbackUrl}?code=attacker-code&state=${forged}`);
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).not.toContain('attacker-code');
    const missing = await fetch(`${flow.callbackUrl}?code=attacker-code`);
    expect(missing.status).toBe(400);
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    expect(notes).toEqual(['ignored a callback whose state does not match this run', 'ignored a callback whose state does not match this run']);

    const right = await fetch(`${flow.callbackUrl}?code=good-code-123&state=${state}`);
    expect(right.status).toBe(200);
    expect(await right.text()).not.toContain('good-code-123');
    await expect(flow.code).resolves.toBe('good-code-123');

    const replay = await fetch(`${flow.callbackUrl}?code=good-code-123&state=${state}`);
    expect(replay.status).toBe(410);
  });

  it('should refuse other Host names, other methods and other paths', async () => {
    flow = await start();
    expect(await getWithHost(flow.pageUrl, 'evil.example.com')).toBe(421);
    expect((await fetch(flow.pageUrl, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${flow.pageUrl}favicon.ico`)).status).toBe(404);
  });

  it('should give up after the timeout', async () => {
    flow = await start(50);
    await expect(flow.code).rejects.toBeInstanceOf(ManifestFlowTimeoutError);
  });
});

describe('sameSecret', () => {
  it('should compare equal strings as equal and any difference, including length, as different', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abd')).toBe(false);
    expect(sameSecret('abc', 'abcd')).toBe(false);
    expect(sameSecret('', 'abc')).toBe(false);
  });
});
