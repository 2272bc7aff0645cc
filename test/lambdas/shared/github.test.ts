import { githubApiBaseUrl, githubWebUrl } from '../../../lambdas/shared/github/base-url';
import { InvalidPrivateKeyError, normalisePrivateKey } from '../../../lambdas/shared/github/private-key';
import { GitHubAppApi, GitHubAppOptions, RunnerGroupNotFoundError, createGitHubApp } from '../../../lambdas/shared/github/runners';
import { InstallationTokenCache } from '../../../lambdas/shared/github/token-cache';
import { WritePacer } from '../../../lambdas/shared/concurrency';
import { Logger } from '../../../lambdas/shared/logger';
import { AppKeyPair, FakeGitHub, useFakeGitHub } from './fake-github';

const APP_ID = 4242;
const INSTALLATION = 77;

describe('githubApiBaseUrl', () => {
  it.each([
    [undefined, 'https://api.github.com'],
    ['', 'https://api.github.com'],
    ['https://github.com', 'https://api.github.com'],
    ['https://ghes.example.com', 'https://ghes.example.com/api/v3'],
    ['https://ghes.example.com/', 'https://ghes.example.com/api/v3'],
    ['https://ghes.example.com/api/v3', 'https://ghes.example.com/api/v3'],
    ['https://octo.ghe.com', 'https://api.octo.ghe.com'],
    ['https://api.octo.ghe.com', 'https://api.octo.ghe.com'],
  ])('should map %p to %p', (input, expected) => {
    expect(githubApiBaseUrl(input)).toBe(expected);
  });

  it.each([
    [undefined, 'https://github.com'],
    ['https://ghes.example.com/', 'https://ghes.example.com'],
    ['https://ghes.example.com/api/v3', 'https://ghes.example.com'],
    ['https://octo.ghe.com', 'https://octo.ghe.com'],
  ])('should give the web URL of %p as %p', (input, expected) => {
    expect(githubWebUrl(input)).toBe(expected);
  });
});

describe('normalisePrivateKey', () => {
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----';

  it('should accept a PEM', () => {
    expect(normalisePrivateKey(`${pem}\n`)).toBe(pem);
  });

  it('should accept base64 of a PEM', () => {
    expect(normalisePrivateKey(Buffer.from(pem).toString('base64'))).toBe(pem);
  });

  it('should accept a PEM whose newlines were flattened to \\n', () => {
    expect(normalisePrivateKey(pem.replace(/\n/g, '\\n'))).toBe(pem);
  });

  it('should reject anything else without echoing it', () => {
    expect(() => normalisePrivateKey('not-a-key-SECRETVALUE')).toThrow(InvalidPrivateKeyError);
    try {
      normalisePrivateKey('not-a-key-SECRETVALUE');
    } catch (error) {
      expect((error as Error).message).not.toContain('SECRETVALUE');
    }
  });
});

describe('InstallationTokenCache', () => {
  it('should reuse a token until it is within the refresh margin of expiry', async () => {
    // GIVEN a clock and a minter that issues tokens valid for one hour
    let now = 0;
    const cache = new InstallationTokenCache({ now: () => now, refreshMarginMs: 5 * 60_000 });
    let minted = 0;
    const mint = async () => ({ token: `t${++minted}`, expiresAt: now + 3_600_000 });

    // WHEN asked at 0, 54 min and 56 min
    const first = await cache.get('k', mint);
    now = 54 * 60_000;
    const second = await cache.get('k', mint);
    now = 56 * 60_000;
    const third = await cache.get('k', mint);

    // THEN the token is reused inside the margin and refreshed after it
    expect([first, second, third]).toEqual(['t1', 't1', 't2']);
  });

  it('should mint once for concurrent callers', async () => {
    const cache = new InstallationTokenCache();
    let minted = 0;
    const mint = async () => {
      minted += 1;
      await new Promise((r) => setTimeout(r, 5));
      return { token: 'shared', expiresAt: Date.now() + 3_600_000 };
    };
    const tokens = await Promise.all([cache.get('k', mint), cache.get('k', mint), cache.get('k', mint)]);
    expect(tokens).toEqual(['shared', 'shared', 'shared']);
    expect(minted).toBe(1);
  });

  it('should mint again after invalidate', async () => {
    const cache = new InstallationTokenCache();
    let minted = 0;
    const mint = async () => ({ token: `t${++minted}`, expiresAt: Date.now() + 3_600_000 });
    await cache.get('k', mint);
    cache.invalidate('k');
    expect(await cache.get('k', mint)).toBe('t2');
  });
});

describe('WritePacer', () => {
  it('should let a burst through at once and then pace writes at the sustained rate', async () => {
    // GIVEN a fake clock whose sleep advances time
    let now = 0;
    const sleeps: number[] = [];
    const pacer = new WritePacer({
      burst: 10,
      perMinute: 180,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });

    // WHEN 13 writes ask to start at t=0
    const starts: number[] = [];
    await Promise.all(Array.from({ length: 13 }, () => pacer.take().then(() => starts.push(now))));

    // THEN 10 start at once and the next ones a third of a second apart
    expect(starts.slice(0, 10)).toEqual(Array(10).fill(0));
    const gaps = starts.slice(10).map((t, i) => t - starts[9 + i]);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(333);
      expect(gap).toBeLessThanOrEqual(335);
    }
  });

  it('should never start more than burst + perMinute writes in a minute', async () => {
    let now = 0;
    const pacer = new WritePacer({ now: () => now, sleep: async (ms) => void (now += ms) });
    const starts: number[] = [];
    for (let i = 0; i < 400; i++) {
      await pacer.take();
      starts.push(now);
    }
    for (let i = 0; i < starts.length; i++) {
      const inWindow = starts.filter((t) => t >= starts[i] && t < starts[i] + 60_000).length;
      expect(inWindow).toBeLessThanOrEqual(180);
    }
  });

  it('should refuse nonsense settings', () => {
    expect(() => new WritePacer({ burst: 0 })).toThrow(RangeError);
    expect(() => new WritePacer({ perMinute: 0 })).toThrow(RangeError);
  });
});

describe('GitHub adapter over HTTP', () => {
  let key: AppKeyPair;
  let gh: FakeGitHub;
  let logs: string[];

  const app = (overrides: Partial<GitHubAppOptions> = {}): GitHubAppApi =>
    createGitHubApp({
      appId: APP_ID,
      privateKey: key.privateKeyPem,
      baseUrl: gh.url,
      logger: new Logger('test', {}, (line) => logs.push(line), 'debug'),
      tokenCache: new InstallationTokenCache(),
      retries: { retryAfterBaseMs: 1 },
      ...overrides,
    });

  useFakeGitHub(APP_ID, [], (started) => ({ gh, key } = started));
  beforeEach(() => {
    gh.resetCalls();
    gh.runners.clear();
    gh.installations.length = 0;
    logs = [];
  });

  it('should generate an org JIT config with the App JWT for the token and the token for the call', async () => {
    // GIVEN an adapter for the fake
    const github = app().forInstallation(INSTALLATION);

    // WHEN a JIT config is generated
    const jit = await github.generateJitConfig({ level: 'org', owner: 'octo', name: 'r-1', labels: ['self-hosted', 'linux'], runnerGroupId: 1 });

    // THEN one token was minted (JWT) and one JIT call made (token)
    expect(jit.encodedJitConfig).toBe(gh.issuedJitConfigs.at(-1));
    expect(gh.calls.map((c) => [c.method, c.route, c.auth])).toEqual([
      ['POST', `/app/installations/${INSTALLATION}/access_tokens`, 'bearer'],
      ['POST', '/orgs/octo/actions/runners/generate-jitconfig', 'token'],
    ]);
    expect(gh.calls[1].body).toEqual({ name: 'r-1', labels: ['self-hosted', 'linux'], runner_group_id: 1, work_folder: '_work' });
  });

  it('should use the repository path and group 1 for repo-level runners', async () => {
    const github = app().forInstallation(INSTALLATION);
    await github.generateJitConfig({ level: 'repo', owner: 'octo', repo: 'hello', name: 'r-2', labels: ['self-hosted'] });
    expect(gh.calls.at(-1)?.route).toBe('/repos/octo/hello/actions/runners/generate-jitconfig');
    expect(gh.calls.at(-1)?.body).toMatchObject({ runner_group_id: 1 });
  });

  it('should call GHES under /api/v3', async () => {
    const github = app({ baseUrl: undefined, ghesUrl: gh.url }).forInstallation(INSTALLATION);
    await github.createRegistrationToken({ level: 'org', owner: 'octo' });
    expect(gh.calls.map((c) => c.path)).toEqual([
      `/api/v3/app/installations/${INSTALLATION}/access_tokens`,
      '/api/v3/orgs/octo/actions/runners/registration-token',
    ]);
  });

  it('should retry a secondary rate limit after retry-after and succeed', async () => {
    // GIVEN GitHub answers the first JIT request with a secondary rate limit
    gh.failNext({
      method: 'POST',
      route: /generate-jitconfig$/,
      status: 403,
      body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
      headers: { 'retry-after': '1' },
    });

    // WHEN a JIT config is generated
    const jit = await app().forInstallation(INSTALLATION).generateJitConfig({ level: 'org', owner: 'octo', name: 'r-3', labels: ['x'] });

    // THEN it was retried once and succeeded, and the limit was logged
    expect(jit.runnerId).toBeGreaterThan(0);
    expect(gh.count('POST', /generate-jitconfig$/)).toBe(2);
    expect(logs.some((l) => l.includes('secondary rate limit'))).toBe(true);
  });

  it('should give up after a bounded number of 429 retries', async () => {
    gh.failNext({
      method: 'POST',
      route: /generate-jitconfig$/,
      status: 429,
      body: { message: 'You have exceeded a secondary rate limit.' },
      headers: { 'retry-after': '1' },
      times: 10,
    });
    const github = app({ retries: { retryAfterBaseMs: 1, maxRateLimitRetries: 2 } }).forInstallation(INSTALLATION);
    await expect(github.generateJitConfig({ level: 'org', owner: 'octo', name: 'r-4', labels: ['x'] })).rejects.toMatchObject({ status: 429 });
    expect(gh.count('POST', /generate-jitconfig$/)).toBe(3);
  });

  it('should not wait for a retry-after longer than the limit', async () => {
    gh.failNext({
      method: 'POST',
      route: /generate-jitconfig$/,
      status: 403,
      body: { message: 'secondary rate limit' },
      headers: { 'retry-after': '600' },
    });
    const github = app().forInstallation(INSTALLATION);
    await expect(github.generateJitConfig({ level: 'org', owner: 'octo', name: 'r-5', labels: ['x'] })).rejects.toMatchObject({ status: 403 });
    expect(gh.count('POST', /generate-jitconfig$/)).toBe(1);
  });

  it('should retry a 5xx answer', async () => {
    gh.failNext({ method: 'GET', route: /\/actions\/jobs\//, status: 502 });
    expect(await app().forInstallation(INSTALLATION).isJobQueued('octo', 'hello', 9)).toBe(true);
    expect(gh.count('GET', /\/actions\/jobs\//)).toBe(2);
  });

  it('should not retry a 409 conflict', async () => {
    const github = app().forInstallation(INSTALLATION);
    await github.generateJitConfig({ level: 'org', owner: 'octo', name: 'same', labels: ['x'] });
    await expect(github.generateJitConfig({ level: 'org', owner: 'octo', name: 'same', labels: ['x'] })).rejects.toMatchObject({ status: 409 });
    expect(gh.count('POST', /generate-jitconfig$/)).toBe(2);
  });

  it('should mint a new token and retry once when GitHub answers 401', async () => {
    gh.failNext({ method: 'GET', route: /\/actions\/jobs\//, status: 401, body: { message: 'Bad credentials' } });
    expect(await app().forInstallation(INSTALLATION).isJobQueued('octo', 'hello', 9)).toBe(true);
    expect(gh.count('POST', /access_tokens$/)).toBe(2);
    expect(gh.count('GET', /\/actions\/jobs\//)).toBe(2);
  });

  it('should share one token across installation clients and adapters using the same cache', async () => {
    const cache = new InstallationTokenCache();
    await app({ tokenCache: cache }).forInstallation(INSTALLATION).isJobQueued('octo', 'a', 1);
    await app({ tokenCache: cache }).forInstallation(INSTALLATION).isJobQueued('octo', 'a', 2);
    await app({ tokenCache: cache }).forInstallation(INSTALLATION + 1).isJobQueued('octo', 'a', 3);
    expect(gh.count('POST', /access_tokens$/)).toBe(2);
  });

  it('should resolve a runner group once per adapter', async () => {
    gh.runnerGroups.push({ id: 7, name: 'ci', default: false });
    const github = app();
    expect(await github.forInstallation(INSTALLATION).getRunnerGroupId('octo', 'ci')).toBe(7);
    expect(await github.forInstallation(INSTALLATION).getRunnerGroupId('octo', 'ci')).toBe(7);
    expect(gh.count('GET', /runner-groups$/)).toBe(1);
    gh.runnerGroups.pop();
  });

  it('should throw RunnerGroupNotFoundError for an unknown group and not cache the failure', async () => {
    const github = app();
    await expect(github.forInstallation(INSTALLATION).getRunnerGroupId('octo', 'nope')).rejects.toBeInstanceOf(RunnerGroupNotFoundError);
    await expect(github.forInstallation(INSTALLATION).getRunnerGroupId('octo', 'nope')).rejects.toBeInstanceOf(RunnerGroupNotFoundError);
    expect(gh.count('GET', /runner-groups$/)).toBe(2);
  });

  it('should tell a queued job from a started one', async () => {
    gh.jobStatus.set(11, 'in_progress');
    const github = app().forInstallation(INSTALLATION);
    expect(await github.isJobQueued('octo', 'hello', 11)).toBe(false);
    expect(await github.isJobQueued('octo', 'hello', 12)).toBe(true);
  });

  it('should re-run a job only once its workflow run has completed (403 before, 201 after), as GitHub does', async () => {
    const github = app().forInstallation(INSTALLATION);
    expect(await github.rerunJob('octo', 'hello', 21)).toBe('refused');
    expect(gh.reruns).toEqual([]);
    gh.runStatus.set(21, 'completed');
    expect(await github.rerunJob('octo', 'hello', 21)).toBe('requested');
    expect(gh.reruns).toEqual([21]);
    // The re-run is a new attempt of the run, in progress again: a second re-run is refused.
    expect(await github.rerunJob('octo', 'hello', 21)).toBe('refused');
    expect(gh.reruns).toEqual([21]);
    expect(gh.count('POST', /^\/repos\/octo\/hello\/actions\/jobs\/21\/rerun$/)).toBe(3);
  });

  it('should say a job that can no longer be re-run is gone (404), and throw on a server error', async () => {
    const github = app().forInstallation(INSTALLATION);
    gh.failNext({ method: 'POST', route: /\/actions\/jobs\/22\/rerun$/, status: 404, body: { message: 'Not Found' } });
    expect(await github.rerunJob('octo', 'hello', 22)).toBe('gone');
    gh.failNext({ method: 'POST', route: /\/actions\/jobs\/23\/rerun$/, status: 500, body: { message: 'boom' }, times: 10 });
    await expect(github.rerunJob('octo', 'hello', 23)).rejects.toMatchObject({ status: 500 });
  });

  it('should list and delete runners, treating an already deleted runner as deleted', async () => {
    const github = app().forInstallation(INSTALLATION);
    const jit = await github.generateJitConfig({ level: 'repo', owner: 'octo', repo: 'hello', name: 'r-9', labels: ['x'] });
    const target = { level: 'repo', owner: 'octo', repo: 'hello' } as const;
    expect((await github.listRunners(target)).map((r) => r.name)).toEqual(['r-9']);
    await github.deleteRunner(target, jit.runnerId);
    await github.deleteRunner(target, jit.runnerId);
    expect(await github.listRunners(target)).toEqual([]);
  });

  it('should register ten runners in parallel without serialising writes one per second', async () => {
    // GIVEN a warm token
    const github = app().forInstallation(INSTALLATION);
    await github.isJobQueued('octo', 'hello', 1);

    // WHEN ten JIT configs are requested at once
    const started = Date.now();
    await Promise.all(Array.from({ length: 10 }, (_, i) => github.generateJitConfig({ level: 'org', owner: 'octo', name: `p-${i}`, labels: ['x'] })));
    const elapsed = Date.now() - started;

    // THEN they finish far sooner than the plugin's default 1 write/s (≈ 9 s)
    expect(elapsed).toBeLessThan(2000);
  });

  it('should never log tokens, JIT configs or the private key', async () => {
    gh.failNext({ method: 'POST', route: /generate-jitconfig$/, status: 403, body: { message: 'secondary rate limit' }, headers: { 'retry-after': '1' } });
    await app().forInstallation(INSTALLATION).generateJitConfig({ level: 'org', owner: 'octo', name: 'r-10', labels: ['x'] });
    const all = logs.join('\n');
    for (const secret of [...gh.issuedTokens, ...gh.issuedJitConfigs]) expect(all).not.toContain(secret);
    expect(all).not.toContain('PRIVATE KEY');
  });

  describe('listing and removing runners for scale-down', () => {
    it('should follow Link headers across pages, 100 per page', async () => {
      // GIVEN 250 runners in an org
      for (let i = 0; i < 250; i++) gh.addRunner('octo', { name: `r-${i}` });
      const github = app().forInstallation(INSTALLATION);

      // WHEN listed
      const runners = await github.listRunners({ level: 'org', owner: 'octo' });

      // THEN all came back over three pages of at most 100
      expect(runners).toHaveLength(250);
      expect(new Set(runners.map((r) => r.name)).size).toBe(250);
      const lists = gh.calls.filter((c) => c.method === 'GET' && c.route === '/orgs/octo/actions/runners');
      expect(lists.map((c) => [c.query.get('per_page'), c.query.get('page') ?? '1'])).toEqual([
        ['100', '1'],
        ['100', '2'],
        ['100', '3'],
      ]);
    });

    it('should ask GitHub for one runner by name', async () => {
      gh.addRunner('octo/hello', { name: 'gh-ci-i-1' });
      gh.addRunner('octo/hello', { name: 'gh-ci-i-2' });
      const github = app().forInstallation(INSTALLATION);
      const found = await github.listRunners({ level: 'repo', owner: 'octo', repo: 'hello' }, { name: 'gh-ci-i-2' });
      expect(found.map((r) => r.name)).toEqual(['gh-ci-i-2']);
      expect(gh.calls.at(-1)?.query.get('name')).toBe('gh-ci-i-2');
    });

    it('should tell deleted (204), already gone (404) and busy (422) apart, and throw other errors', async () => {
      const target = { level: 'org', owner: 'octo' } as const;
      const idle = gh.addRunner('octo', { name: 'idle' });
      const busy = gh.addRunner('octo', { name: 'busy', busy: true });
      const github = app().forInstallation(INSTALLATION);
      expect(await github.removeRunner(target, idle.id)).toBe('deleted');
      expect(await github.removeRunner(target, idle.id)).toBe('not-found');
      expect(await github.removeRunner(target, busy.id)).toBe('busy');
      gh.failNext({ method: 'DELETE', route: /\/actions\/runners\/\d+$/, status: 403, body: { message: 'Resource not accessible by integration' } });
      await expect(github.removeRunner(target, busy.id)).rejects.toMatchObject({ status: 403 });
      expect(gh.runners.get('octo')?.map((r) => r.name)).toEqual(['busy']);
    });

    it('should keep deleteRunner throwing for a busy runner, as before', async () => {
      const busy = gh.addRunner('octo', { name: 'busy', busy: true });
      await expect(app().forInstallation(INSTALLATION).deleteRunner({ level: 'org', owner: 'octo' }, busy.id)).rejects.toMatchObject({ status: 422 });
    });
  });

  describe('installations', () => {
    it('should list installations across pages with the App JWT', async () => {
      for (let i = 1; i <= 130; i++) gh.installations.push({ id: i, account: `acct-${i}` });
      const list = await app().listInstallations();
      expect(list).toHaveLength(130);
      expect(list[0]).toEqual({ id: 1, account: 'acct-1', accountType: 'Organization' });
      expect(gh.calls.map((c) => [c.method, c.route, c.auth])).toEqual([
        ['GET', '/app/installations', 'bearer'],
        ['GET', '/app/installations', 'bearer'],
      ]);
    });

    it('should answer every owner from one cached list, case-insensitively', async () => {
      gh.installations.push({ id: 11, account: 'Octo' }, { id: 12, account: 'mona', type: 'User' });
      const github = app();
      expect(await github.installationIdFor('octo')).toBe(11);
      expect(await github.installationIdFor('MONA')).toBe(12);
      expect(await github.installationIdFor('octo')).toBe(11);
      expect(gh.count('GET', /^\/app\/installations$/)).toBe(1);
    });

    it('should list again on a miss only after the refresh interval', async () => {
      let now = 0;
      gh.installations.push({ id: 11, account: 'octo' });
      const github = app({ installationRefreshMs: 60_000, now: () => now });
      expect(await github.installationIdFor('octo')).toBe(11);
      expect(await github.installationIdFor('new-org')).toBeUndefined();
      gh.installations.push({ id: 13, account: 'new-org' });
      now = 30_000;
      expect(await github.installationIdFor('new-org')).toBeUndefined();
      now = 61_000;
      expect(await github.installationIdFor('new-org')).toBe(13);
      expect(gh.count('GET', /^\/app\/installations$/)).toBe(2);
    });

    it('should share one listing between concurrent lookups and not cache a failure', async () => {
      gh.installations.push({ id: 11, account: 'octo' });
      gh.failNext({ method: 'GET', route: /^\/app\/installations$/, status: 401, body: { message: 'Bad credentials' } });
      const github = app();
      await expect(github.installationIdFor('octo')).rejects.toMatchObject({ status: 401 });
      const ids = await Promise.all([github.installationIdFor('octo'), github.installationIdFor('octo'), github.installationIdFor('octo')]);
      expect(ids).toEqual([11, 11, 11]);
      expect(gh.count('GET', /^\/app\/installations$/)).toBe(2);
    });

    it('should act as the installation on an account, and name the account the App is missing from', async () => {
      gh.installations.push({ id: 11, account: 'octo' });
      const github = app();
      const runners = await (await github.forAccount('Octo')).listRunners({ level: 'org', owner: 'octo' });
      expect(runners).toEqual([]);
      await expect(github.forAccount('stranger')).rejects.toMatchObject({ name: 'AppNotInstalledError', account: 'stranger' });
      await expect(github.forAccount('stranger')).rejects.toThrow('the GitHub App is not installed on stranger');
    });

    it('should forget an installation GitHub no longer knows, and find the new one on the next lookup', async () => {
      let now = 0;
      gh.installations.push({ id: 11, account: 'octo' });
      const github = app({ installationRefreshMs: 60_000, now: () => now });
      gh.failNext({ method: 'POST', route: /^\/app\/installations\/11\/access_tokens$/, status: 404, body: { message: 'Not Found' } });

      await expect((await github.forAccount('octo')).listRunners({ level: 'org', owner: 'octo' })).rejects.toMatchObject({ status: 404 });

      // The App was installed again, with a new id.
      gh.installations.splice(0, gh.installations.length, { id: 12, account: 'octo' });
      now = 61_000;
      await (await github.forAccount('octo')).listRunners({ level: 'org', owner: 'octo' });
      expect(gh.count('POST', /^\/app\/installations\/12\/access_tokens$/)).toBe(1);
      expect(gh.count('GET', /^\/app\/installations$/)).toBe(2);
    });

    it('should require the App JWT on the per-owner installation endpoints', async () => {
      gh.installations.push({ id: 11, account: 'octo' });
      const res = await fetch(`${gh.url}/repos/octo/hello/installation`);
      expect(res.status).toBe(401);
    });
  });

  describe('requestCount', () => {
    it('should count every request the adapter sent, token mints included', async () => {
      gh.installations.push({ id: INSTALLATION, account: 'octo' });
      for (let i = 0; i < 150; i++) gh.addRunner('octo', { name: `r-${i}` });
      const github = app();
      await github.installationIdFor('octo');
      await github.forInstallation(INSTALLATION).listRunners({ level: 'org', owner: 'octo' });
      // installations (1) + token (1) + two pages (2)
      expect(github.requestCount()).toBe(4);
      expect(gh.calls).toHaveLength(4);
    });
  });
});
