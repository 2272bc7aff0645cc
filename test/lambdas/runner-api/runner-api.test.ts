/**
 * The runner API (issue #15 item 1) over its real adapters: tokens signed by a
 * local JWKS, the fake GitHub on 127.0.0.1, EC2/DynamoDB/SSM through SDK mocks
 * with fakes that keep state, and the type's scale-up fed the queued message.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { RUNNER_TAGS } from '../../../modules/contract/tags';
import { createApiRunnerRecords } from '../../../lambdas/shared/aws/api-runner-records';
import { InstallationTokenCache } from '../../../lambdas/shared/github/token-cache';
import { createGitHubApp } from '../../../lambdas/shared/github/runners';
import { Logger } from '../../../lambdas/shared/logger';
import { appApiGitHub, ec2ApiInstances } from '../../../lambdas/runner-api/adapters';
import { loadRunnerApiConfig } from '../../../lambdas/runner-api/config';
import { OidcVerifier, defaultIssuer, httpFetchJson } from '../../../lambdas/runner-api/oidc';
import { ApiResponse, RunnerApiDependencies, handleRunnerApi } from '../../../lambdas/runner-api/runner-api';
import { FakeTable, installFakeTable } from '../shared/fake-dynamodb';
import { FakeEc2 } from '../shared/fake-ec2';
import { AppKeyPair, FakeGitHub, generateAppKey, startFakeGitHub } from '../shared/fake-github';
import { APP_ID, INSTALLATION_ID, RUNNER_TYPE, TestBed, makeHandler, runnerTypeConfig, sqsEvent } from '../scale-up/harness';
import { LocalIssuer, actionsClaims, signToken, signingKey, startIssuer, unsignedToken } from './oidc-fixture';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const ddbMock = mockClient(DynamoDBClient);

const AUDIENCE = 'https://ghr.example.com/runners';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/gh-ci-linux-x64';
const NAME0 = 'ghr-api-9001-2-0';

function apiEnv(issuer: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PREFIX: 'gh-ci',
    OIDC_ISSUER: issuer,
    OIDC_AUDIENCE: AUDIENCE,
    REPOSITORY_ALLOW_LIST: '[]',
    JOB_QUEUE_URLS: JSON.stringify({ [RUNNER_TYPE]: QUEUE }),
    RUNNER_MAXIMUM_COUNTS: JSON.stringify({ [RUNNER_TYPE]: 10 }),
    IDEMPOTENCY_TABLE_NAME: 'gh-ci-jobs',
    DEFAULT_TIMEOUT_MINUTES: '15',
    GITHUB_APP_ID_SSM_PARAMETER_NAME: '/gh-ci/github-app/id',
    GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/gh-ci/github-app/key',
    ENABLE_ORGANIZATION_RUNNERS: 'true',
    ...overrides,
  };
}

describe('runner API', () => {
  const key1 = signingKey('key-1');
  let issuer: LocalIssuer;
  let appKey: AppKeyPair;
  let gh: FakeGitHub;
  let ec2: FakeEc2;
  let table: FakeTable;
  let logs: string[];
  let sent: { queueUrl: string; body: string }[];
  let bed: TestBed;

  beforeAll(async () => {
    issuer = await startIssuer([key1]);
    appKey = generateAppKey();
    gh = await startFakeGitHub({ appId: APP_ID, publicKey: appKey.publicKey });
    gh.installations.push({ id: INSTALLATION_ID, account: 'octo' });
  });
  afterAll(async () => {
    await issuer.close();
    await gh.close();
  });

  beforeEach(() => {
    ec2Mock.reset();
    ssmMock.reset();
    ddbMock.reset();
    ec2 = new FakeEc2(ec2Mock);
    table = installFakeTable(ddbMock);
    ssmMock.on(PutParameterCommand).resolves({ Version: 1, Tier: 'Standard' });
    gh.resetCalls();
    gh.runners.clear();
    issuer.keys = [key1];
    issuer.jwksFetches = 0;
    logs = [];
    sent = [];
    bed = { gh, ssm: ssmMock, privateKeyPem: appKey.privateKeyPem, logs };
  });

  /** One API container: its own verifier (key cache) and clients. */
  function api(envOverrides: Record<string, string> = {}, now?: () => number) {
    const config = loadRunnerApiConfig(apiEnv(issuer.url, envOverrides));
    const logger = new Logger('runner-api', {}, (line) => logs.push(line), 'debug');
    const deps: RunnerApiDependencies = {
      verifier: new OidcVerifier({ issuer: config.issuer, audience: config.audience!, fetchJson: httpFetchJson(), ...(now && { now }) }),
      github: appApiGitHub(createGitHubApp({ appId: APP_ID, privateKey: appKey.privateKeyPem, baseUrl: gh.url, logger, tokenCache: new InstallationTokenCache(), retries: { retryAfterBaseMs: 1 } })),
      instances: ec2ApiInstances(new EC2Client({})),
      records: createApiRunnerRecords(new DynamoDBClient({}), config.idempotencyTableName),
      queue: { send: async (queueUrl, body) => void sent.push({ queueUrl, body }) },
      logger,
      ...(now && { now }),
    };
    return {
      post: (token: string | undefined, body: unknown) =>
        handleRunnerApi({ method: 'POST', path: '/runners', ...(token !== undefined && { authorization: `Bearer ${token}` }), body: JSON.stringify(body) }, config, deps),
      get: (token: string, name: string) => handleRunnerApi({ method: 'GET', path: `/runners/${name}`, authorization: `Bearer ${token}` }, config, deps),
    };
  }

  const token = (overrides: Record<string, unknown> = {}) => signToken(key1, actionsClaims(issuer.url, AUDIENCE, overrides));
  const body = (r: ApiResponse) => JSON.parse(r.body) as Record<string, unknown>;
  const runnersOf = (r: ApiResponse) => body(r).runners as { name: string; label: string; state: string }[];
  const scaleUp = () => makeHandler(bed, { env: { RUNNER_TYPE_CONFIG: runnerTypeConfig({ runners_maximum_count: 10 }) } });

  it('should start a runner whose JIT registration carries its unique label, and follow it from pending to gone', async () => {
    // GIVEN a valid token of run 9001 attempt 2
    const a = api();
    const t = token();

    // WHEN the workflow asks for one runner
    const started = await a.post(t, { runner_type: RUNNER_TYPE, timeout_minutes: 20 });

    // THEN it gets the name and label derived from the run, pending, and one request is queued for the type
    expect(started.statusCode).toBe(201);
    expect(runnersOf(started)).toEqual([expect.objectContaining({ name: NAME0, label: NAME0, state: 'pending', runner_type: RUNNER_TYPE })]);
    expect(sent).toHaveLength(1);
    expect(sent[0].queueUrl).toBe(QUEUE);

    // WHEN scale-up serves the queued request
    const response = await scaleUp()(sqsEvent([sent[0].body]));

    // THEN one instance is launched, tagged with the name and the deadline, and registered with the label
    expect(response.batchItemFailures).toEqual([]);
    const live = ec2.live();
    expect(live).toHaveLength(1);
    const tags = ec2.tagsOf(live[0].InstanceId!);
    expect(tags[RUNNER_TAGS.apiRunner]).toBe(NAME0);
    expect(Date.parse(tags[RUNNER_TAGS.idleDeadline])).toBeGreaterThan(Date.now() + 19 * 60_000);
    const jit = gh.calls.filter((c) => c.method === 'POST' && /generate-jitconfig$/.test(c.route));
    expect(jit).toHaveLength(1);
    expect((jit[0].body as { labels: string[] }).labels).toEqual(expect.arrayContaining(['self-hosted', 'linux', 'x64', NAME0]));

    // AND its state follows the instance and the GitHub runner
    expect(body(await a.get(t, NAME0)).state).toBe('pending');
    const runner = gh.runners.get('octo')!.find((r) => r.name === `gh-ci-${live[0].InstanceId}`)!;
    runner.status = 'online';
    expect(body(await a.get(t, NAME0)).state).toBe('online');
    runner.busy = true;
    expect(body(await a.get(t, NAME0)).state).toBe('busy');
    live[0].State = { Name: 'terminated', Code: 48 };
    expect(body(await a.get(t, NAME0)).state).toBe('gone');

    // AND the token is never logged
    expect(logs.join('\n')).not.toContain(t.split('.')[2]);
    expect(logs.join('\n')).not.toContain(t.split('.')[1]);
  });

  it('should answer a repeated request with the same runners and launch nothing new', async () => {
    const a = api();
    const first = await a.post(token(), { runner_type: RUNNER_TYPE, count: 2 });
    await scaleUp()(sqsEvent([sent[0].body]));
    expect(ec2.live()).toHaveLength(2);

    // WHEN the same run attempt asks again, and the queued message is delivered again
    const again = await a.post(token(), { runner_type: RUNNER_TYPE, count: 2 });
    const redelivered = await scaleUp()(sqsEvent([sent[0].body]));

    // THEN the same names come back, nothing more is queued or launched
    expect(again.statusCode).toBe(200);
    expect(runnersOf(again).map((r) => r.name)).toEqual(runnersOf(first).map((r) => r.name));
    expect(runnersOf(again).map((r) => r.name)).toEqual(['ghr-api-9001-2-0', 'ghr-api-9001-2-1']);
    expect(sent).toHaveLength(1);
    expect(redelivered.batchItemFailures).toEqual([]);
    expect(ec2.callsOf('CreateFleet')).toHaveLength(2);
    expect(ec2.live()).toHaveLength(2);
  });

  it.each([
    ['expired', () => token({ exp: Math.floor(Date.now() / 1000) - 3600, iat: Math.floor(Date.now() / 1000) - 7200 }), 'expired'],
    ['of the wrong audience', () => token({ aud: 'https://github.com/octo' }), 'wrong audience'],
    ['of the wrong issuer', () => token({ iss: 'https://token.actions.githubusercontent.com' }), 'wrong issuer'],
    ['issued in the future', () => token({ iat: Math.floor(Date.now() / 1000) + 3600 }), 'issued in the future'],
    ['unsigned (alg none)', () => unsignedToken(actionsClaims(issuer.url, AUDIENCE), key1.kid), 'alg must be RS256'],
    ['signed HS256', () => signToken(key1, actionsClaims(issuer.url, AUDIENCE), { alg: 'HS256' }), 'alg must be RS256'],
    [
      'tampered',
      () => {
        const [h, , s] = token().split('.');
        const p = Buffer.from(JSON.stringify(actionsClaims(issuer.url, AUDIENCE, { repository: 'octo/other' }))).toString('base64url');
        return `${h}.${p}.${s}`;
      },
      'bad signature',
    ],
    ['signed by a key the issuer does not publish', () => signToken(signingKey('key-1'), actionsClaims(issuer.url, AUDIENCE)), 'bad signature'],
  ])('should refuse a token %s with 401 and launch nothing', async (_what, make, reason) => {
    const r = await api().post(make(), { runner_type: RUNNER_TYPE });
    expect(r.statusCode).toBe(401);
    expect(body(r)).toEqual({ error: 'unauthorized', message: `token rejected: ${reason}` });
    expect(sent).toEqual([]);
    expect(table.items.size).toBe(0);
  });

  it('should refuse a request without a bearer token with 401', async () => {
    const r = await api().post(undefined, { runner_type: RUNNER_TYPE });
    expect(r.statusCode).toBe(401);
    expect(r.headers?.['www-authenticate']).toBe('Bearer');
  });

  it('should refuse a repository outside repository_allow_list, or where the App is not installed, with 403', async () => {
    const allowListed = api({ REPOSITORY_ALLOW_LIST: JSON.stringify(['octo/other']) });
    const foreign = await allowListed.post(token(), { runner_type: RUNNER_TYPE });
    expect(foreign.statusCode).toBe(403);
    expect(body(foreign).message).toMatch(/repository_allow_list/);

    const notInstalled = await api().post(token({ repository: 'mallory/hello', repository_owner: 'mallory' }), { runner_type: RUNNER_TYPE });
    expect(notInstalled.statusCode).toBe(403);
    expect(body(notInstalled).message).toMatch(/not installed/);
    expect(sent).toEqual([]);
    expect(table.items.size).toBe(0);
  });

  it('should answer 409 with Retry-After when the type is at its cap, and queue nothing', async () => {
    ec2.seed({ [RUNNER_TAGS.prefix]: 'gh-ci', [RUNNER_TAGS.runnerType]: RUNNER_TYPE, [RUNNER_TAGS.owner]: 'octo' });
    const r = await api({ RUNNER_MAXIMUM_COUNTS: JSON.stringify({ [RUNNER_TYPE]: 1 }) }).post(token(), { runner_type: RUNNER_TYPE });
    expect(r.statusCode).toBe(409);
    expect(r.headers?.['retry-after']).toBe('30');
    expect(body(r).error).toBe('at_capacity');
    expect(sent).toEqual([]);
  });

  it.each([
    [{ runner_type: 'gpu' }, /runner_type must be one of linux-x64/],
    [{ runner_type: RUNNER_TYPE, count: 11 }, /count must be an integer in \[1, 10\]/],
    [{ runner_type: RUNNER_TYPE, count: 0 }, /count/],
    [{ runner_type: RUNNER_TYPE, timeout_minutes: 0 }, /timeout_minutes/],
    [{ runner_type: RUNNER_TYPE, labels: ['x'] }, /unknown fields: labels/],
    ['not an object', /JSON object/],
  ])('should refuse the body %j with 422', async (b, message) => {
    const r = await api().post(token(), b);
    expect(r.statusCode).toBe(422);
    expect(body(r).message).toMatch(message);
    expect(sent).toEqual([]);
  });

  it('should answer 404 for an unknown runner and for another repository\'s runner', async () => {
    const a = api();
    await a.post(token(), { runner_type: RUNNER_TYPE });
    expect((await a.get(token(), 'ghr-api-1-1-0')).statusCode).toBe(404);
    expect((await a.get(token(), 'not-a-runner')).statusCode).toBe(404);
    // octo/other is installed too (same owner), but did not ask for this runner.
    expect((await a.get(token({ repository: 'octo/other' }), NAME0)).statusCode).toBe(404);
    expect((await a.get(token(), NAME0)).statusCode).toBe(200);
  });

  it('should fetch the JWKS again for a rotated key, but not for every unknown kid', async () => {
    let now = Date.now();
    const a = api({}, () => now);
    expect((await a.post(token(), { runner_type: RUNNER_TYPE })).statusCode).toBe(201);
    expect(issuer.jwksFetches).toBe(1);

    // GIVEN the issuer rotates to key-2
    const key2 = signingKey('key-2');
    issuer.keys = [key1, key2];
    const rotated = signToken(key2, actionsClaims(issuer.url, AUDIENCE));
    now += 61_000;
    expect((await a.post(rotated, { runner_type: RUNNER_TYPE })).statusCode).toBe(200);
    expect(issuer.jwksFetches).toBe(2);

    // WHEN tokens with junk kids arrive within the refetch interval, they are refused without fetching again
    for (let i = 0; i < 3; i++) expect((await a.post(signToken(signingKey(`junk-${i}`), actionsClaims(issuer.url, AUDIENCE)), { runner_type: RUNNER_TYPE })).statusCode).toBe(401);
    expect(issuer.jwksFetches).toBe(2);
  });

  it('should refuse every request with 503 when no audience is configured', async () => {
    const r = await api({ OIDC_AUDIENCE: '' }).post(token(), { runner_type: RUNNER_TYPE });
    expect(r.statusCode).toBe(503);
    expect(body(r).error).toBe('not_configured');
    expect(sent).toEqual([]);
  });

  it('should derive the GHES issuer from ghes_url', () => {
    expect(defaultIssuer(undefined)).toBe('https://token.actions.githubusercontent.com');
    expect(defaultIssuer('https://ghes.example.com/')).toBe('https://ghes.example.com/_services/token');
  });

  it('should launch within the cap at scale-up and send the rest of the request back to the queue', async () => {
    // GIVEN the API accepted two runners while the type had room
    await api().post(token(), { runner_type: RUNNER_TYPE, count: 2 });
    // WHEN scale-up finds room for only one (another launch took a slot meanwhile)
    ec2.seed({ [RUNNER_TAGS.prefix]: 'gh-ci', [RUNNER_TAGS.runnerType]: RUNNER_TYPE, [RUNNER_TAGS.owner]: 'octo' });
    const tight = makeHandler(bed, { env: { RUNNER_TYPE_CONFIG: runnerTypeConfig({ runners_maximum_count: 2 }) } });
    const first = await tight(sqsEvent([{ messageId: 'req', body: sent[0].body }]));
    // THEN one runner is launched and the message goes back; its next delivery, with room, launches only the other
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'req' }]);
    const named = () => ec2.live().map((i) => ec2.tagsOf(i.InstanceId!)[RUNNER_TAGS.apiRunner]).filter(Boolean).sort();
    expect(named()).toEqual(['ghr-api-9001-2-0']);
    const second = await scaleUp()(sqsEvent([{ messageId: 'req', body: sent[0].body }]));
    expect(second.batchItemFailures).toEqual([]);
    expect(named()).toEqual(['ghr-api-9001-2-0', 'ghr-api-9001-2-1']);
    expect(ec2.callsOf('CreateFleet')).toHaveLength(2);
  });

  it('should acknowledge a runner request for another runner type as poison, launching nothing', async () => {
    await api().post(token(), { runner_type: RUNNER_TYPE });
    const foreign = JSON.stringify({ ...(JSON.parse(sent[0].body) as object), runnerType: 'gpu' });
    const response = await scaleUp()(sqsEvent([foreign, '{"kind":"runner-request","version":1}']));
    expect(response.batchItemFailures).toEqual([]);
    expect(ec2.callsOf('CreateFleet')).toHaveLength(0);
  });

  it('should launch nothing for a queued request past its idle deadline', async () => {
    let now = Date.now();
    const a = api({}, () => now);
    await a.post(token(), { runner_type: RUNNER_TYPE, timeout_minutes: 1 });
    const msg = JSON.parse(sent[0].body) as Record<string, unknown>;
    const stale = JSON.stringify({ ...msg, idleDeadline: new Date(Date.now() - 1000).toISOString() });
    const response = await scaleUp()(sqsEvent([stale]));
    expect(response.batchItemFailures).toEqual([]);
    expect(ec2.callsOf('CreateFleet')).toHaveLength(0);
    // And the API says gone once the deadline passed with nothing launched.
    now += 2 * 60_000;
    expect(body(await a.get(token({ iat: Math.floor(now / 1000) - 5, nbf: Math.floor(now / 1000) - 5, exp: Math.floor(now / 1000) + 300 }), NAME0)).state).toBe('gone');
  });
});
