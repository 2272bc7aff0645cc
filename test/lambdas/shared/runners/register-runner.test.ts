/**
 * The registrar against the fake GitHub, for what a JIT request answers when
 * the runner's name is taken (409, as GitHub answers "Create configuration
 * for a just-in-time runner" for an existing name; the fake enforces it).
 * Scale-up takes an earlier registration of the same instance over; the warm
 * pool keeps the 409 (register-runner.ts, takeOverEarlierRegistration).
 */
import { InstallationTokenCache } from '../../../../lambdas/shared/github/token-cache';
import { createGitHubApp } from '../../../../lambdas/shared/github/runners';
import { Logger } from '../../../../lambdas/shared/logger';
import type { RunnerRegistration } from '../../../../lambdas/shared/aws/jit-config-store';
import { createRunnerRegistrar } from '../../../../lambdas/shared/runners/register-runner';
import { ownedTargetFromOwnerTag, runnerNameOf } from '../../../../lambdas/shared/runners/identity';
import { AppKeyPair, FakeGitHub, useFakeGitHub } from '../fake-github';

const APP_ID = 4242;
const INSTALLATION = 77;
const PREFIX = 'gh-ci';
const INSTANCE = 'i-0123456789abcdef0';
const NAME = runnerNameOf(PREFIX, INSTANCE);

describe('createRunnerRegistrar: a runner name already registered', () => {
  let key: AppKeyPair;
  let gh: FakeGitHub;
  const lines: string[] = [];
  const log = new Logger('test', {}, (line) => lines.push(line), 'debug');

  useFakeGitHub(APP_ID, [], (started) => ({ gh, key } = started));
  beforeEach(() => {
    gh.runners.clear();
    gh.resetCalls();
    lines.length = 0;
  });

  function registrar(takeOverEarlierRegistration: boolean | undefined) {
    const stored: { instanceId: string; registration: RunnerRegistration }[] = [];
    const github = createGitHubApp({ appId: APP_ID, privateKey: key.privateKeyPem, baseUrl: gh.url, logger: log, tokenCache: new InstallationTokenCache(), retries: { retryAfterBaseMs: 1 } }).forInstallation(INSTALLATION);
    const r = createRunnerRegistrar({
      github,
      configStore: { putRunnerConfig: async (instanceId, registration) => void stored.push({ instanceId, registration }) },
      target: ownedTargetFromOwnerTag('octo')!,
      settings: { prefix: PREFIX, labels: ['self-hosted', 'linux'], jitConfig: true, runnerGroupName: 'Default' },
      runnerGroupId: 1,
      ...(takeOverEarlierRegistration !== undefined && { takeOverEarlierRegistration }),
    });
    return { r, stored };
  }

  it('should fail with the 409 when take-over is off (the default, the warm pool)', async () => {
    const earlier = gh.addRunner('octo', { name: NAME, status: 'offline' });
    const { r, stored } = registrar(undefined);
    await expect(r.register(INSTANCE, log)).rejects.toMatchObject({ status: 409 });
    expect(gh.runners.get('octo')).toEqual([earlier]);
    expect(stored).toEqual([]);
  });

  it('should keep an online earlier registration: no new JIT config, nothing stored, nothing deleted', async () => {
    const earlier = gh.addRunner('octo', { name: NAME, status: 'online', busy: true });
    const { r, stored } = registrar(true);
    await r.register(INSTANCE, log);
    expect(gh.runners.get('octo')).toEqual([earlier]);
    expect(stored).toEqual([]);
    expect(gh.count('DELETE')).toBe(0);
    expect(lines.some((l) => l.includes('kept'))).toBe(true);
  });

  it('should delete an offline earlier registration and register the instance again with a fresh config', async () => {
    const earlier = gh.addRunner('octo', { name: NAME, status: 'offline' });
    const { r, stored } = registrar(true);
    await r.register(INSTANCE, log);
    const now = gh.runners.get('octo') ?? [];
    expect(now.map((x) => x.name)).toEqual([NAME]);
    expect(now[0].id).not.toBe(earlier.id);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ instanceId: INSTANCE, registration: { mode: 'jit' } });
    // The JIT config is a secret: never logged.
    const jit = (stored[0].registration as { jit_config: string }).jit_config;
    expect(lines.join('\n')).not.toContain(jit);
  });

  it('should pass on an error other than 409 unchanged', async () => {
    gh.failNext({ method: 'POST', route: /generate-jitconfig$/, status: 422, body: { message: 'Invalid request.' } });
    const { r, stored } = registrar(true);
    await expect(r.register(INSTANCE, log)).rejects.toMatchObject({ status: 422 });
    expect(stored).toEqual([]);
  });
});
