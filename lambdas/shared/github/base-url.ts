/**
 * Where the GitHub REST API lives for each flavour of GitHub.
 *
 * - github.com: `https://api.github.com`
 * - GitHub Enterprise Server (`GHES_URL=https://ghes.example.com`): `https://ghes.example.com/api/v3`
 * - GitHub Enterprise Cloud with data residency (`https://<x>.ghe.com`): `https://api.<x>.ghe.com`
 *
 * Any other URL is treated as a GHES host, which is also how tests point the
 * adapter at a local server.
 */

/** The public github.com REST endpoint. */
export const GITHUB_COM_API_URL = 'https://api.github.com';

/** The REST API base URL for `ghesUrl`, or github.com's when it is absent or empty. */
export function githubApiBaseUrl(ghesUrl?: string): string {
  if (ghesUrl === undefined || ghesUrl.trim() === '') return GITHUB_COM_API_URL;
  const url = new URL(ghesUrl);
  const host = url.hostname.toLowerCase();
  if (host === 'github.com' || host === 'api.github.com') return GITHUB_COM_API_URL;
  if (host.endsWith('.ghe.com')) {
    const apiHost = host.startsWith('api.') ? host : `api.${host}`;
    return `${url.protocol}//${apiHost}${url.port ? `:${url.port}` : ''}`;
  }
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}${path.endsWith('/api/v3') ? path : `${path}/api/v3`}`;
}

/**
 * The web URL runners register against (`config.sh --url <web>/<owner>[/<repo>]`):
 * `https://github.com`, the GHES origin, or `https://<x>.ghe.com`.
 */
export function githubWebUrl(ghesUrl?: string): string {
  if (ghesUrl === undefined || ghesUrl.trim() === '') return 'https://github.com';
  const url = new URL(ghesUrl);
  const host = url.hostname.toLowerCase();
  if (host === 'github.com' || host === 'api.github.com') return 'https://github.com';
  if (host.endsWith('.ghe.com')) {
    const webHost = host.startsWith('api.') ? host.slice('api.'.length) : host;
    return `${url.protocol}//${webHost}${url.port ? `:${url.port}` : ''}`;
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api\/v3$/, '');
  return `${url.origin}${path}`;
}
