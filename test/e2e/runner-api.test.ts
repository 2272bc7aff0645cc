/**
 * (k) Runners on request (issue #15 item 1), through the shipped bundles: a
 * workflow job asks the runner API for a runner with its OIDC token (signed
 * by a local issuer on 127.0.0.1), the type's scale-up launches and registers
 * it with its `ghr-api-<run>-<attempt>-<index>` label, a later job of the run
 * `runs-on` that label and runs on it, and the runner is gone afterwards. A
 * runner that takes no job is removed by scale-down once its timeout passed.
 */
import { prepareBundles } from './lib/bundles';
import { DEFAULT_INSTALLATION_ID, DEFAULT_OWNER, DEFAULT_REPO } from './lib/github-world';
import { World } from './lib/world';
import { LocalIssuer, actionsClaims, signToken, signingKey, startIssuer } from '../lambdas/runner-api/oidc-fixture';

const TYPE = 'linux-x64';
const AUDIENCE = 'https://runners.example.com';
const RUN = 8_200_000_001;
const IDLE_RUN = 8_200_000_002;

describe('runner API', () => {
  const key = signingKey('e2e-key');
  let issuer: LocalIssuer;
  let world: World;

  const token = (runId: number) =>
    signToken(
      key,
      actionsClaims(issuer.url, AUDIENCE, { repository: `${DEFAULT_OWNER}/${DEFAULT_REPO}`, repository_owner: DEFAULT_OWNER, run_id: String(runId), run_attempt: '1' }, Math.floor(world.clock.now() / 1000)),
    );
  const api = (request: { method: 'GET' | 'POST'; path: string; token?: string; body?: unknown }) => world.runnerApi(request, issuer.url, AUDIENCE);
  const stateOf = async (runId: number, name: string) => (JSON.parse((await api({ method: 'GET', path: `/runners/${name}`, token: token(runId) })).body ?? '{}') as { state?: string }).state;

  beforeAll(async () => {
    issuer = await startIssuer([key]);
    world = await World.create({
      bundlesDir: await prepareBundles(),
      runnerTypes: [{ name: TYPE, labels: ['self-hosted', 'linux', 'x64'], maximumCount: 5 }],
    });
    world.github.api.installations.push({ id: DEFAULT_INSTALLATION_ID, account: DEFAULT_OWNER, type: 'Organization' });
  }, 120_000);

  afterAll(async () => {
    await world?.close();
    await issuer?.close();
  });

  const name = `ghr-api-${RUN}-1-0`;

  it('should start a runner on request, registered with its label, and refuse an unsigned caller', async () => {
    // GIVEN no token: refused, nothing queued
    expect((await api({ method: 'POST', path: '/runners', body: { runner_type: TYPE } })).statusCode).toBe(401);
    expect(world.sqs.messages(world.queueUrl(TYPE))).toHaveLength(0);

    // WHEN job 1 of the run asks for a runner
    const answer = await api({ method: 'POST', path: '/runners', token: token(RUN), body: { runner_type: TYPE } });
    expect(answer.statusCode).toBe(201);
    expect(JSON.parse(answer.body ?? '{}')).toEqual({ runners: [expect.objectContaining({ name, label: name, state: 'pending' })] });

    // THEN scale-up launches one runner, registered with the type's labels and the runner's own label
    expect((await world.drain()).map((i) => ({ returned: i.returned, launched: i.launched }))).toEqual([{ returned: 0, launched: 1 }]);
    const registered = world.github.registeredRunners();
    expect(registered).toHaveLength(1);
    expect(registered[0].runner.labels?.map((l) => l.name)).toEqual(['self-hosted', 'linux', 'x64', name]);
    expect(await stateOf(RUN, name)).toBe('pending');
    expect(await world.boot()).toEqual({ connected: 1, gaveUp: 0 });
    expect(await stateOf(RUN, name)).toBe('online');
  });

  it('should run a later job of the run that asks for the label on that runner, and the runner is gone after', async () => {
    // WHEN job 2 of the run runs-on the label; the webhook routes it to no type (the API's runner serves it)
    const job = world.github.queueJob({ runId: RUN, labels: [name] });
    const answer = await world.post(world.delivery(job, 'queued'));
    expect(answer.body).toBe('ignored');
    expect(world.sqs.messages(world.queueUrl(TYPE))).toHaveLength(0);

    // THEN GitHub hands it to the API runner, which finishes it and goes away
    const started = world.github.dispatch();
    expect(started.map((j) => j.id)).toEqual([job.id]);
    expect(await stateOf(RUN, name)).toBe('busy');
    world.github.complete(world.github.busy()[0].runner.name);
    for (const i of world.liveInstances()) world.shutDown(i.InstanceId!);
    expect(await stateOf(RUN, name)).toBe('gone');
    expect(world.liveInstances()).toHaveLength(0);
  });

  it('should launch nothing for a repeated request of the same run attempt', async () => {
    const again = await api({ method: 'POST', path: '/runners', token: token(RUN), body: { runner_type: TYPE } });
    expect(again.statusCode).toBe(200);
    expect(world.sqs.messages(world.queueUrl(TYPE))).toHaveLength(0);
  });

  it('should remove a runner that takes no job once its timeout passed, and not before', async () => {
    const idle = `ghr-api-${IDLE_RUN}-1-0`;
    expect((await api({ method: 'POST', path: '/runners', token: token(IDLE_RUN), body: { runner_type: TYPE, timeout_minutes: 10 } })).statusCode).toBe(201);
    await world.drain();
    expect(await world.boot()).toEqual({ connected: 1, gaveUp: 0 });
    expect(await stateOf(IDLE_RUN, idle)).toBe('online');

    // Past the minimum running time (5 minutes), before the timeout: kept
    world.clock.advance(6 * 60_000);
    await world.scaleDown();
    expect(world.liveInstances()).toHaveLength(1);

    // Past the timeout: removed (deregistered at GitHub, then terminated)
    world.clock.advance(5 * 60_000);
    await world.scaleDown();
    expect(world.liveInstances()).toHaveLength(0);
    expect(world.github.registeredRunners()).toHaveLength(0);
    expect(await stateOf(IDLE_RUN, idle)).toBe('gone');
  });

  it('should never log the token', () => {
    const all = [...world.logs.values()].flat().join('\n');
    // A token's header and payload are the same for every token of the run within a second; the signature is the secret part.
    const t = token(RUN).split('.');
    expect(all).not.toContain(t[1]);
    expect(all).not.toContain(t[2]);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });
});
