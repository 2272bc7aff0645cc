/**
 * `scaleDown` with the real adapters: EC2 and SSM through aws-sdk-client-mock
 * (stateful fakes), GitHub over HTTP on 127.0.0.1 with GitHub's pagination.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { GitHubAppApi } from '../../../lambdas/shared/github/runners';
import type { RunnerTarget } from '../../../lambdas/shared/runners/identity';
import { WritePacer } from '../../../lambdas/shared/concurrency';
import { DEADLINE_MARGIN_MS, emptyMemory, scaleDown } from '../../../lambdas/scale-down/scale-down';
import { nextCallSequence } from '../shared/call-sequence';
import { ec2Error } from '../shared/fake-ec2';
import { AppKeyPair, FakeGitHub, generateAppKey, startFakeGitHub } from '../shared/fake-github';
import {
  APP_ID,
  Bed,
  BedOptions,
  CONFIG_PATH,
  MINUTE,
  PREFIX,
  RecordingPacer,
  VirtualClock,
  addNoise,
  deleteCalls,
  listCalls,
  makeBed,
  parsed,
  register,
  seedInstance,
  seenAsOrphans,
  stateOf,
  terminated,
} from './harness';

const mocks = { ec2: mockClient(EC2Client), ssm: mockClient(SSMClient) };
let key: AppKeyPair;
let gh: FakeGitHub;

beforeAll(async () => {
  key = generateAppKey();
  gh = await startFakeGitHub({ appId: APP_ID, publicKey: key.publicKey });
});
afterAll(async () => {
  await gh.close();
});

const bedFor = (accounts: string[], options?: BedOptions): Bed => makeBed(mocks, gh, key, accounts, options);

/** A mixed fleet of owner "octo" (an organization of 250 other runners: three pages of 100). */
function seedMixedFleet(bed: Bed) {
  addNoise(bed, 'octo', 250);
  const idle = seedInstance(bed, { ageMinutes: 20 });
  const busy = seedInstance(bed, { ageMinutes: 90 });
  const young = seedInstance(bed, { ageMinutes: 2 });
  const booting = seedInstance(bed, { ageMinutes: 2 });
  const orphan = seedInstance(bed, { ageMinutes: 20 });
  const bypassOrphan = seedInstance(bed, { ageMinutes: 60, bypass: true });
  const bypassIdle = seedInstance(bed, { ageMinutes: 60, bypass: true });
  const dead = seedInstance(bed, { state: 'terminated', ageMinutes: 30 });
  // The previous run saw the orphans already (a first sighting is only recorded).
  seenAsOrphans(bed, orphan, bypassOrphan);
  const ids = {
    idle: register(bed, 'octo', idle),
    busy: register(bed, 'octo', busy, { busy: true }),
    young: register(bed, 'octo', young),
    bypassIdle: register(bed, 'octo', bypassIdle),
    deadGhost: register(bed, 'octo', dead, { status: 'offline' }),
    // Registered by scale-up after this run's DescribeInstances, say: EC2 does not list it.
    unlistedGhost: Number(bed.gh.addRunner('octo', { name: `${PREFIX}-i-0fedcba9876543210`, status: 'offline' }).id),
    onlineStray: Number(bed.gh.addRunner('octo', { name: `${PREFIX}-i-0aaaaaaaaaaaaaaaa`, status: 'online' }).id),
    otherPrefix: Number(bed.gh.addRunner('octo', { name: `${PREFIX}-i-x-i-0bbbbbbbbbbbbbbbb`, status: 'offline' }).id),
  };
  return { instances: { idle, busy, young, booting, orphan, bypassOrphan, bypassIdle, dead }, runners: ids };
}

const remaining = (bed: Bed, owner: string) => (bed.gh.runners.get(owner) ?? []).map((r) => Number(r.id));

describe('scaleDown', () => {
  it('should remove idle runners, orphans and ghosts, and leave the rest', async () => {
    // GIVEN
    const bed = bedFor(['octo']);
    const { instances: i, runners: r } = seedMixedFleet(bed);

    // WHEN
    const summary = await scaleDown(bed.config, bed.deps);

    // THEN GitHub deleted exactly the idle runner and the ghost of the dead instance
    expect(bed.gh.calls.filter((c) => c.method === 'DELETE').map((c) => c.route).sort()).toEqual(
      [`/orgs/octo/actions/runners/${r.idle}`, `/orgs/octo/actions/runners/${r.deadGhost}`].sort(),
    );
    expect(remaining(bed, 'octo')).toEqual(expect.arrayContaining([r.busy, r.young, r.bypassIdle, r.unlistedGhost, r.onlineStray, r.otherPrefix]));
    expect(remaining(bed, 'octo')).not.toContain(r.idle);
    expect(remaining(bed, 'octo')).not.toContain(r.deadGhost);
    // AND EC2 terminated the idle runner's instance and the orphan, in one call
    expect(bed.ec2.callsOf('TerminateInstances')).toHaveLength(1);
    expect(terminated(bed).sort()).toEqual([i.idle, i.orphan].sort());
    for (const kept of [i.busy, i.young, i.booting, i.bypassOrphan, i.bypassIdle]) expect(stateOf(bed, kept)).toBe('running');
    // AND the summary says so
    expect(summary).toMatchObject({
      dryRun: false,
      liveInstances: 7,
      owners: 1,
      ownersFailed: 0,
      runnersTerminated: 1,
      orphansTerminated: 1,
      ghostsDeregistered: 1,
      busyRunnersKept: 1,
      kept: { bypass: 2, busy: 1, 'minimum-running-time': 1, booting: 1, 'runners-unknown': 0 },
      errors: 0,
      planned: { removeIdle: 1, terminateOrphans: 1, deregisterGhosts: 1 },
    });
  });

  it('should terminate an idle runner instance only after GitHub answered its DELETE with 204', async () => {
    // GIVEN three idle runners: GitHub will answer 204, 422 (took a job meanwhile) and 500 (every retry)
    const bed = bedFor(['octo']);
    const ok = seedInstance(bed, { ageMinutes: 30 });
    const raced = seedInstance(bed, { ageMinutes: 30 });
    const broken = seedInstance(bed, { ageMinutes: 30 });
    const okRunner = register(bed, 'octo', ok);
    const racedRunner = register(bed, 'octo', raced);
    const brokenRunner = register(bed, 'octo', broken);
    bed.gh.failNext({ method: 'DELETE', route: new RegExp(`/runners/${racedRunner}$`), status: 422, body: { message: `Bad request - Runner "${PREFIX}-${raced}" is still running a job` } });
    bed.gh.failNext({ method: 'DELETE', route: new RegExp(`/runners/${brokenRunner}$`), status: 500, times: 10 });

    // WHEN
    const summary = await scaleDown(bed.config, bed.deps);

    // THEN only the 204 one is terminated, after the 204 was sent
    expect(terminated(bed)).toEqual([ok]);
    const [del] = deleteCalls(bed.gh, okRunner);
    const [terminate] = bed.ec2.callsOf('TerminateInstances');
    expect(del.status).toBe(204);
    expect(terminate.seq).toBeGreaterThan(del.respondedSeq!);
    // AND the 422 and 500 ones keep their instances and their registrations
    expect(deleteCalls(bed.gh, racedRunner).map((c) => c.status)).toEqual([422]);
    expect(deleteCalls(bed.gh, brokenRunner).every((c) => c.status === 500)).toBe(true);
    expect(deleteCalls(bed.gh, brokenRunner).length).toBeGreaterThanOrEqual(1);
    expect(stateOf(bed, raced)).toBe('running');
    expect(stateOf(bed, broken)).toBe('running');
    expect(remaining(bed, 'octo').sort()).toEqual([racedRunner, brokenRunner].sort());
    expect(summary).toMatchObject({ runnersTerminated: 1, busyRunnersKept: 1, errors: 1, planned: { removeIdle: 3 } });
    const failure = parsed(bed.logs).find((l) => l.message === 'could not delete runner at GitHub; retried next run');
    expect(failure).toMatchObject({ level: 'error', instanceId: broken, owner: 'octo', runnerId: brokenRunner });
  });

  it('should list runners once per owner, page by page, however many instances there are', async () => {
    // GIVEN 40 instances of an organization with 250 other runners, and 3 of a repository
    const bed = bedFor(['octo', 'mona']);
    addNoise(bed, 'octo', 250);
    for (let n = 0; n < 40; n++) seedInstance(bed, { owner: 'octo', ageMinutes: 1 });
    for (let n = 0; n < 3; n++) seedInstance(bed, { owner: 'mona/hello', ageMinutes: 1 });
    for (let n = 0; n < 120; n++) bed.gh.addRunner('mona/hello', { name: `mona-${n}` });

    // WHEN
    const summary = await scaleDown(bed.config, bed.deps);

    // THEN each owner's list was read once: one request per page, pages 1..n in order, never by name
    const octo = listCalls(bed.gh, 'octo');
    const repo = listCalls(bed.gh, 'mona/hello');
    expect(octo.map((c) => c.query.get('page') ?? '1')).toEqual(['1', '2', '3']);
    expect(repo.map((c) => c.query.get('page') ?? '1')).toEqual(['1', '2']);
    expect([...octo, ...repo].every((c) => c.query.get('per_page') === '100' && !c.query.has('name'))).toBe(true);
    // AND the rest is one installation listing and one token per installation
    expect(bed.gh.count('GET', /^\/app\/installations$/)).toBe(1);
    expect(bed.gh.count('POST', /^\/app\/installations\/\d+\/access_tokens$/)).toBe(2);
    expect(bed.gh.calls).toHaveLength(3 + 2 + 1 + 2);
    // AND the count is reported in the summary, the summary log line and the metrics
    expect(summary.gitHubApiCalls).toBe(bed.gh.calls.length);
    const lines = parsed(bed.logs);
    expect(lines.find((l) => l.message === 'scale-down summary')).toMatchObject({ gitHubApiCalls: 8, owners: 2, liveInstances: 43 });
    expect(lines.find((l) => l._aws !== undefined)).toMatchObject({ GitHubApiCalls: 8, Function: 'scale-down' });
  });

  it('should count only this run\'s GitHub calls when the adapter is warm', async () => {
    // GIVEN a container that already ran once (token and installations cached)
    const bed = bedFor(['octo']);
    seedInstance(bed, { ageMinutes: 1 });
    await scaleDown(bed.config, bed.deps);
    bed.gh.resetCalls();

    // WHEN it runs again
    const summary = await scaleDown(bed.config, bed.deps);

    // THEN only the runner list was needed
    expect(bed.gh.calls.map((c) => `${c.method} ${c.route}`)).toEqual(['GET /orgs/octo/actions/runners']);
    expect(summary.gitHubApiCalls).toBe(1);
  });

  it('should skip an owner whose runners cannot be listed and carry on with the others', async () => {
    // GIVEN octo's listing fails (500 on every retry), acme's works; both have an orphan and a ghost
    const bed = bedFor(['octo', 'acme']);
    const octoOrphan = seedInstance(bed, { owner: 'octo', ageMinutes: 60 });
    const acmeOrphan = seedInstance(bed, { owner: 'acme', ageMinutes: 60 });
    const octoGhost = register(bed, 'octo', seedInstance(bed, { owner: 'octo', state: 'terminated' }), { status: 'offline' });
    const acmeGhost = register(bed, 'acme', seedInstance(bed, { owner: 'acme', state: 'terminated' }), { status: 'offline' });
    seenAsOrphans(bed, octoOrphan, acmeOrphan);
    bed.gh.failNext({ method: 'GET', route: /^\/orgs\/octo\/actions\/runners$/, status: 500, times: 10 });

    // WHEN
    const summary = await scaleDown(bed.config, bed.deps);

    // THEN nothing of octo is touched
    expect(terminated(bed)).toEqual([acmeOrphan]);
    expect(stateOf(bed, octoOrphan)).toBe('running');
    expect(deleteCalls(bed.gh, octoGhost)).toEqual([]);
    expect(deleteCalls(bed.gh, acmeGhost).map((c) => c.status)).toEqual([204]);
    expect(summary).toMatchObject({ ownersFailed: 1, errors: 1, orphansTerminated: 1, ghostsDeregistered: 1, kept: { 'runners-unknown': 1 } });
  });

  it('should leave the instances of an account the App is not installed on', async () => {
    const bed = bedFor(['octo']);
    const stranger = seedInstance(bed, { owner: 'stranger', ageMinutes: 60 });
    const summary = await scaleDown(bed.config, bed.deps);
    expect(terminated(bed)).toEqual([]);
    expect(stateOf(bed, stranger)).toBe('running');
    expect(summary).toMatchObject({ ownersFailed: 1, kept: { 'runners-unknown': 1 } });
    expect(parsed(bed.logs).find((l) => l.owner === 'stranger' && l.level === 'error')).toMatchObject({ error: { name: 'AppNotInstalledError' } });
  });

  it('should deregister a ghost EC2 does not list only once it has been seen for the boot time', async () => {
    // GIVEN an offline runner of ours whose instance EC2 does not list (octo is listed for its busy runner)
    const bed = bedFor(['octo']);
    register(bed, 'octo', seedInstance(bed, { ageMinutes: 60 }), { busy: true });
    const ghost = Number(bed.gh.addRunner('octo', { name: `${PREFIX}-i-0123456789abcdef0`, status: 'offline' }).id);

    // WHEN scale-down runs now, 4 minutes later, and one boot time (5 minutes) after the first, in the same container
    const first = await scaleDown(bed.config, bed.deps);
    bed.now += 4 * MINUTE;
    const early = await scaleDown(bed.config, bed.deps);
    bed.now += MINUTE;
    const due = await scaleDown(bed.config, bed.deps);

    // THEN it is deregistered on the last run only
    expect([first, early, due].map((s) => s.ghostsDeregistered)).toEqual([0, 0, 1]);
    expect(deleteCalls(bed.gh, ghost).map((c) => c.status)).toEqual([204]);
  });

  it('should keep looking at an owner whose instances EC2 no longer lists while its list holds runners of ours', async () => {
    // GIVEN octo's only instance is dead, and GitHub fails to delete its runner on the first run
    const bed = bedFor(['octo']);
    const dead = seedInstance(bed, { state: 'terminated', ageMinutes: 30 });
    const ghost = register(bed, 'octo', dead, { status: 'offline' });
    bed.gh.failNext({ method: 'DELETE', route: new RegExp(`/runners/${ghost}$`), status: 500, times: 10 });
    const first = await scaleDown(bed.config, bed.deps);
    expect(first).toMatchObject({ ghostsDeregistered: 0, errors: 1 });

    // WHEN the terminated instance drops out of DescribeInstances, and scale-down runs a boot time later, twice
    bed.ec2.instances.delete(dead);
    bed.now += 5 * MINUTE;
    bed.gh.resetCalls();
    const second = await scaleDown(bed.config, bed.deps);
    const listedSecond = listCalls(bed.gh, 'octo').length;
    const third = await scaleDown(bed.config, bed.deps);

    // THEN the owner is still listed and the ghost goes (the wait was served while EC2 still listed it)
    expect(listedSecond).toBe(1);
    expect(second.ghostsDeregistered).toBe(1);
    expect(remaining(bed, 'octo')).toEqual([]);
    // AND once a listing holds none of ours (the third run's), the owner is forgotten: no more calls for it
    expect(third.owners).toBe(1);
    const fourth = await scaleDown(bed.config, bed.deps);
    expect(listCalls(bed.gh, 'octo')).toHaveLength(2);
    expect(fourth).toMatchObject({ owners: 0, gitHubApiCalls: 0 });
  });

  it('should try instances one by one when EC2 refuses the batch', async () => {
    // GIVEN two orphans, and EC2 refusing the first TerminateInstances
    const bed = bedFor(['octo']);
    const a = seedInstance(bed, { ageMinutes: 60 });
    const b = seedInstance(bed, { ageMinutes: 60 });
    seenAsOrphans(bed, a, b);
    bed.ec2.failNext('TerminateInstances', ec2Error('OperationNotPermitted', 'The instance may not be terminated.'));

    const summary = await scaleDown(bed.config, bed.deps);

    expect(bed.ec2.callsOf('TerminateInstances').map((c) => (c.input as { InstanceIds: string[] }).InstanceIds)).toEqual([[a, b], [a], [b]]);
    expect([stateOf(bed, a), stateOf(bed, b)]).toEqual(['terminated', 'terminated']);
    expect(summary).toMatchObject({ orphansTerminated: 2, errors: 0 });
  });

  it('should decide nothing, and clean up nothing, when the instances cannot be listed', async () => {
    const bed = bedFor(['octo']);
    seedInstance(bed, { ageMinutes: 60 });
    bed.ssm.seed(`${CONFIG_PATH}/i-0123456789abcdef0`, { lastModified: new Date(bed.now - 60 * MINUTE) });
    bed.ec2.failNext('DescribeInstances', ec2Error('UnauthorizedOperation'), 10);

    const summary = await scaleDown(bed.config, bed.deps);

    expect(terminated(bed)).toEqual([]);
    expect(bed.gh.calls).toEqual([]);
    expect(bed.ssm.callsOf('DeleteParameters')).toEqual([]);
    expect(summary).toMatchObject({ errors: 1, liveInstances: 0, planned: { removeIdle: 0, terminateOrphans: 0, deregisterGhosts: 0, deleteConfigs: 0 } });
  });

  describe('orphans', () => {
    it('should terminate an orphan only when a later run still sees it unregistered', async () => {
      // GIVEN an orphan, and a busy runner that one page-based listing skipped (an ephemeral runner went between page fetches)
      const bed = bedFor(['octo']);
      const orphan = seedInstance(bed, { ageMinutes: 20 });
      const busy = seedInstance(bed, { ageMinutes: 20 });
      const skipped = bed.gh.addRunner('octo', { name: `${PREFIX}-${busy}`, busy: true });
      bed.gh.runners.set('octo', (bed.gh.runners.get('octo') ?? []).filter((r) => r !== skipped));

      // WHEN the run with the inconsistent listing sees both as orphans
      const first = await scaleDown(bed.config, bed.deps);

      // THEN neither is terminated: a first sighting is only recorded
      expect(terminated(bed)).toEqual([]);
      expect(first).toMatchObject({ orphansTerminated: 0, kept: { 'orphan-unconfirmed': 2 } });
      expect([...bed.deps.memory!.orphanSightings.keys()].sort()).toEqual([orphan, busy].sort());

      // WHEN the next run's listing shows the busy runner again
      bed.gh.runners.get('octo')!.push(skipped);
      bed.now += 5 * MINUTE;
      const second = await scaleDown(bed.config, bed.deps);

      // THEN only the real orphan goes, and the busy one's sighting is forgotten
      expect(terminated(bed)).toEqual([orphan]);
      expect(stateOf(bed, busy)).toBe('running');
      expect(second).toMatchObject({ orphansTerminated: 1, kept: { busy: 1 } });
      expect([...bed.deps.memory!.orphanSightings.keys()]).toEqual([orphan]);
      expect(parsed(bed.logs).find((l) => l.message === 'orphan instance: no runner registered after boot time, in two runs; terminating')).toMatchObject({
        instanceId: orphan,
        firstSeenSecondsAgo: 300,
      });

      // WHEN a later listing skips the busy runner once more
      bed.gh.runners.set('octo', []);
      await scaleDown(bed.config, bed.deps);
      // THEN that is a first sighting again: still running
      expect(stateOf(bed, busy)).toBe('running');
    });

    it('should terminate at once on the next run an instance whose runner was deleted (204) but whose termination failed', async () => {
      const bed = bedFor(['octo']);
      const idle = seedInstance(bed, { ageMinutes: 30 });
      register(bed, 'octo', idle);
      bed.ec2.failNext('TerminateInstances', ec2Error('RequestLimitExceeded'), 2);

      const first = await scaleDown(bed.config, bed.deps);
      const second = await scaleDown(bed.config, bed.deps);

      expect(first).toMatchObject({ runnersTerminated: 0, errors: 1 });
      expect(second).toMatchObject({ orphansTerminated: 1, errors: 0 });
      expect(stateOf(bed, idle)).toBe('terminated');
    });
  });

  describe('deadline', () => {
    /** A GitHub adapter that records when (virtual time) each runner delete was started. */
    function recordingDeletes(github: GitHubAppApi, clock: VirtualClock, starts: { runnerId: number; at: number }[]): GitHubAppApi {
      return {
        ...github,
        forAccount: async (account) => {
          const api = await github.forAccount(account);
          return {
            ...api,
            removeRunner: (target: RunnerTarget, runnerId: number) => {
              starts.push({ runnerId, at: clock.now() });
              return api.removeRunner(target, runnerId);
            },
          };
        },
      };
    }

    it('should start no delete within 30 s of the deadline, still terminate what GitHub deleted, and leave the rest to the next run', async () => {
      // GIVEN a virtual clock shared by the run, GitHub's write pacer (burst 10, 170 a minute) and the SSM pacer (2 a second)
      const t0 = Date.now();
      const clock = new VirtualClock(t0);
      const pacer = new WritePacer({ burst: 1, perMinute: 120, now: clock.now, sleep: clock.sleep });
      const bed = bedFor(['octo'], { now: t0, pacer, writePacing: { burst: 10, perMinute: 170, now: clock.now, sleep: clock.sleep } });
      // AND 60 idle runners, 10 ghosts of terminated instances, and 30 stale configs
      const idle = new Map<number, string>();
      for (let n = 0; n < 60; n++) {
        const id = seedInstance(bed, { ageMinutes: 30 });
        idle.set(register(bed, 'octo', id), id);
      }
      const ghosts: number[] = [];
      for (let n = 0; n < 10; n++) ghosts.push(register(bed, 'octo', seedInstance(bed, { state: 'terminated', ageMinutes: 30 }), { status: 'offline' }));
      for (let n = 0; n < 30; n++) bed.ssm.seed(`${CONFIG_PATH}/i-${(0xee000 + n).toString(16).padStart(17, '0')}`, { lastModified: new Date(t0 - 60 * MINUTE) });
      // AND 40 s left in the invocation
      const deadline = t0 + 40_000;
      const starts: { runnerId: number; at: number }[] = [];
      const deps = { ...bed.deps, now: clock.now, deadline, github: recordingDeletes(bed.github, clock, starts) };

      // WHEN
      const started = Date.now();
      const summary = await scaleDown(bed.config, deps);

      // THEN idle runners were deleted until 30 s were left, and no delete started later
      expect(starts.length).toBeGreaterThan(10);
      expect(starts.length).toBeLessThan(60);
      expect(starts.every((s) => deadline - s.at >= DEADLINE_MARGIN_MS)).toBe(true);
      expect(starts.every((s) => idle.has(s.runnerId))).toBe(true);
      // AND every instance whose runner GitHub deleted (204) was terminated, although the deadline was near by then
      const deleted = bed.gh.calls.filter((c) => c.method === 'DELETE' && c.status === 204).map((c) => Number(c.route.split('/').pop()));
      expect(deleted.sort()).toEqual(starts.map((s) => s.runnerId).sort());
      expect(terminated(bed).sort()).toEqual(deleted.map((r) => idle.get(r)!).sort());
      expect(clock.now()).toBeGreaterThan(deadline - DEADLINE_MARGIN_MS);
      // AND no ghost was deregistered and no config deleted
      for (const g of ghosts) expect(deleteCalls(bed.gh, g)).toEqual([]);
      expect(bed.ssm.callsOf('DeleteParameters')).toEqual([]);
      // AND what was left is logged and counted, with no real waiting
      const left = { removeIdle: 60 - starts.length, deregisterGhosts: 10, deleteConfigs: 30 };
      expect(summary).toMatchObject({ runnersTerminated: starts.length, deferred: left, errors: 0 });
      expect(parsed(bed.logs).find((l) => l.message === 'deadline near: actions left for the next run')).toMatchObject({ level: 'warn', ...left });
      expect(Date.now() - started).toBeLessThan(2000);

      // WHEN the next run has a full 5 minutes
      bed.gh.resetCalls();
      const next = await scaleDown(bed.config, { ...deps, deadline: clock.now() + 300_000 });

      // THEN it does the rest: idle runners and their terminations first, then the ghosts, then the configs
      expect(next).toMatchObject({ runnersTerminated: left.removeIdle, ghostsDeregistered: 10, configsDeleted: 30, deferred: { removeIdle: 0, deregisterGhosts: 0, deleteConfigs: 0 } });
      const terminate = bed.ec2.callsOf('TerminateInstances').at(-1)!;
      const ghostDeletes = ghosts.flatMap((g) => deleteCalls(bed.gh, g));
      const idleDeletes = bed.gh.calls.filter((c) => c.method === 'DELETE' && idle.has(Number(c.route.split('/').pop())));
      expect(Math.max(...idleDeletes.map((c) => c.respondedSeq!))).toBeLessThan(terminate.seq);
      expect(Math.min(...ghostDeletes.map((c) => c.seq))).toBeGreaterThan(terminate.seq);
    });

    it('should pick up config deletes where the deadline stopped them', async () => {
      // GIVEN 25 stale configs, SSM paced at 2 calls a second on a virtual clock, and 31 s left
      const clock = new VirtualClock(Date.now());
      const pacer = new WritePacer({ burst: 1, perMinute: 120, now: clock.now, sleep: clock.sleep });
      const bed = bedFor(['octo'], { now: clock.t, pacer });
      for (let n = 0; n < 25; n++) bed.ssm.seed(`${CONFIG_PATH}/i-${(0xef000 + n).toString(16).padStart(17, '0')}`, { lastModified: new Date(clock.t - 60 * MINUTE) });

      const summary = await scaleDown(bed.config, { ...bed.deps, now: clock.now, deadline: clock.t + DEADLINE_MARGIN_MS + 700 });

      // THEN two batches started (at 0 and 500 ms), the third would have started 30 s before the deadline less 300 ms
      expect(bed.ssm.callsOf('DeleteParameters')).toHaveLength(2);
      expect(summary).toMatchObject({ configsDeleted: 20, deferred: { deleteConfigs: 5 } });
    });
  });

  describe('runner config housekeeping', () => {
    it('should delete configs of gone instances in batches of 10, paced, listing them before the instances', async () => {
      // GIVEN a pacer of one DeleteParameters every 500 ms on a virtual clock
      const clock = new VirtualClock(0);
      const pacer = new RecordingPacer(new WritePacer({ burst: 1, perMinute: 120, now: clock.now, sleep: clock.sleep }), clock.now, nextCallSequence);
      const bed = bedFor(['octo'], { pacer });
      const live = seedInstance(bed, { ageMinutes: 1 });
      const dead = seedInstance(bed, { state: 'terminated', ageMinutes: 30 });
      const old = new Date(bed.now - 30 * MINUTE);
      const stale = [dead, ...Array.from({ length: 24 }, (_, n) => `i-${(0xabc000 + n).toString(16).padStart(17, '0')}`)].map((id) => `${CONFIG_PATH}/${id}`);
      for (const name of stale) bed.ssm.seed(name, { lastModified: old });
      bed.ssm.seed(`${CONFIG_PATH}/${live}`, { lastModified: old });
      // Written a minute ago for an instance DescribeInstances may not show yet
      bed.ssm.seed(`${CONFIG_PATH}/i-0ccccccccccccccc0`, { lastModified: new Date(bed.now - MINUTE) });
      bed.ssm.seed(`${CONFIG_PATH}/README`, { lastModified: old });
      bed.ssm.seed('/gh-ci/github-app/key', { lastModified: old });

      // WHEN
      const started = Date.now();
      const summary = await scaleDown(bed.config, bed.deps);

      // THEN 25 stale configs went in three batches
      const deletes = bed.ssm.callsOf('DeleteParameters');
      expect(deletes.map((c) => (c.input as { Names: string[] }).Names.length)).toEqual([10, 10, 5]);
      expect(deletes.flatMap((c) => (c.input as { Names: string[] }).Names).sort()).toEqual(stale.sort());
      expect([...bed.ssm.parameters.keys()].sort()).toEqual(
        [`${CONFIG_PATH}/${live}`, `${CONFIG_PATH}/i-0ccccccccccccccc0`, `${CONFIG_PATH}/README`, '/gh-ci/github-app/key'].sort(),
      );
      // AND each batch waited for the pacer: 500 ms apart on the virtual clock, no real waiting
      expect(pacer.takes.map((t) => t.at)).toEqual([0, 500, 1000]);
      deletes.forEach((d, n) => {
        expect(pacer.takes[n].seq).toBeLessThan(d.seq);
        if (n > 0) expect(pacer.takes[n].seq).toBeGreaterThan(deletes[n - 1].seq);
      });
      expect(Date.now() - started).toBeLessThan(2000);
      // AND the configs were listed (names and dates only) before the instances
      const [list] = bed.ssm.callsOf('GetParametersByPath');
      expect(list.input).toMatchObject({ Path: CONFIG_PATH, Recursive: false, WithDecryption: false });
      expect(list.seq).toBeLessThan(bed.ec2.callsOf('DescribeInstances')[0].seq);
      expect(summary).toMatchObject({ configsDeleted: 25, planned: { deleteConfigs: 25 } });
    });

    it('should go on with the next batch when one DeleteParameters fails', async () => {
      const bed = bedFor(['octo']);
      for (let n = 0; n < 12; n++) bed.ssm.seed(`${CONFIG_PATH}/i-${(0xdd000 + n).toString(16).padStart(17, '0')}`, { lastModified: new Date(bed.now - 30 * MINUTE) });
      bed.ssm.failNext('DeleteParameters', new Error('ThrottlingException'));

      const summary = await scaleDown(bed.config, bed.deps);

      expect(bed.ssm.callsOf('DeleteParameters')).toHaveLength(2);
      expect(summary).toMatchObject({ configsDeleted: 2, errors: 1 });
    });
  });

  describe('dry run', () => {
    it('should log what it would do and change nothing at GitHub, in EC2 or in SSM', async () => {
      // GIVEN the mixed fleet and a stale config, with DRY_RUN
      const bed = bedFor(['octo'], { env: { DRY_RUN: 'true' } });
      const { instances: i, runners: r } = seedMixedFleet(bed);
      bed.ssm.seed(`${CONFIG_PATH}/${i.dead}`, { lastModified: new Date(bed.now - 30 * MINUTE) });
      const runnersBefore = remaining(bed, 'octo').sort();

      // WHEN
      const summary = await scaleDown(bed.config, bed.deps);

      // THEN no writes: no DELETE at GitHub, no TerminateInstances, no DeleteParameters
      expect(bed.gh.count('DELETE')).toBe(0);
      expect(bed.gh.calls.every((c) => c.method === 'GET' || /\/access_tokens$/.test(c.route))).toBe(true);
      expect(bed.ec2.callsOf('TerminateInstances')).toEqual([]);
      expect(bed.ssm.callsOf('DeleteParameters')).toEqual([]);
      expect(remaining(bed, 'octo').sort()).toEqual(runnersBefore);
      expect(bed.ec2.live()).toHaveLength(7);
      // AND the decisions are in the log and the summary
      const lines = parsed(bed.logs);
      expect(lines.find((l) => l.message === 'dry run: would act as follows')).toMatchObject({
        removeIdle: [i.idle],
        terminateOrphans: [i.orphan],
        deregisterGhosts: [`${PREFIX}-${i.dead}`],
      });
      expect(lines.find((l) => l.message === 'dry run: would delete runner configs')).toMatchObject({ count: 1, instanceIds: [i.dead] });
      expect(summary).toMatchObject({
        dryRun: true,
        runnersTerminated: 0,
        orphansTerminated: 0,
        ghostsDeregistered: 0,
        configsDeleted: 0,
        planned: { removeIdle: 1, terminateOrphans: 1, deregisterGhosts: 1, deleteConfigs: 1 },
      });
      expect(r.idle).toBeGreaterThan(0);
    });
  });

  it('should never log tokens, keys or runner configs', async () => {
    const bed = bedFor(['octo']);
    const { instances: i } = seedMixedFleet(bed);
    bed.ssm.seed(`${CONFIG_PATH}/${i.dead}`, { value: '{"mode":"jit","jit_config":"SECRET-JIT-CONFIG"}', lastModified: new Date(bed.now - 30 * MINUTE) });
    bed.gh.failNext({ method: 'GET', route: /^\/orgs\/octo\/actions\/runners$/, status: 401, body: { message: 'Bad credentials' } });

    await scaleDown(bed.config, bed.deps);

    const all = bed.logs.join('\n');
    expect(bed.gh.issuedTokens.length).toBeGreaterThan(0);
    for (const token of bed.gh.issuedTokens) expect(all).not.toContain(token);
    expect(all).not.toContain('SECRET-JIT-CONFIG');
    expect(all).not.toContain('PRIVATE KEY');
    expect(all).not.toMatch(/authorization/i);
  });
});

describe('orphan sightings across cold starts (issue #10 item 4)', () => {
  // Each run gets a fresh memory, as a container cold-started for every schedule tick does.
  const coldRun = (bed: Bed) => scaleDown(bed.config, { ...bed.deps, memory: emptyMemory() });

  it('should tag an orphan on its first sighting and terminate it on the second, in another container', async () => {
    // GIVEN an instance past its boot time with no registered runner
    const bed = bedFor(['octo']);
    const orphan = seedInstance(bed, { ageMinutes: 20 });

    // WHEN a first cold run sees it
    const first = await coldRun(bed);

    // THEN it is kept unconfirmed and carries the time it was seen, in a key valid in instance metadata
    expect(first).toMatchObject({ orphansTerminated: 0, errors: 0 });
    expect(terminated(bed)).toEqual([]);
    expect(Date.parse(bed.ec2.tagsOf(orphan)['ghr:orphan-seen-at'])).toBe(bed.now);

    // WHEN a second cold run comes a tick later
    bed.now += 5 * MINUTE;
    const second = await coldRun(bed);

    // THEN it is confirmed and terminated
    expect(second).toMatchObject({ orphansTerminated: 1, errors: 0 });
    expect(terminated(bed)).toEqual([orphan]);
  });

  it('should not terminate a tagged instance whose runner registered in between', async () => {
    const bed = bedFor(['octo']);
    const late = seedInstance(bed, { ageMinutes: 20 });
    await coldRun(bed);
    expect(bed.ec2.tagsOf(late)['ghr:orphan-seen-at']).toBeDefined();

    register(bed, 'octo', late, { busy: true });
    bed.now += 5 * MINUTE;
    const second = await coldRun(bed);

    expect(second).toMatchObject({ orphansTerminated: 0, errors: 0 });
    expect(terminated(bed)).toEqual([]);
    // AND the sighting is cleared, so a later listing that skips the runner is a first sighting again
    expect(bed.ec2.tagsOf(late)['ghr:orphan-seen-at']).toBe('');
  });

  it('should keep working from memory when the sighting cannot be tagged, and count the error', async () => {
    const bed = bedFor(['octo']);
    const orphan = seedInstance(bed, { ageMinutes: 20 });
    bed.ec2.failNext('CreateTags', ec2Error('UnauthorizedOperation'));
    const first = await scaleDown(bed.config, bed.deps);
    expect(first).toMatchObject({ orphansTerminated: 0, errors: 1 });
    bed.now += 5 * MINUTE;
    const second = await scaleDown(bed.config, bed.deps); // the same (warm) container
    expect(second).toMatchObject({ orphansTerminated: 1 });
    expect(terminated(bed)).toEqual([orphan]);
  });
});

describe('scaleDown with job retry', () => {
  it('should emit JobsStranded, JobsRelaunched and JobsWaitingForRunner in its EMF line', async () => {
    // GIVEN two launched jobs still queued at GitHub (the fake's default), no idle runner,
    // one queued 40 minutes ago and one 10 minutes ago, both launched 6 minutes ago; the threshold is 30 minutes
    const bed = bedFor(['octo']);
    const message = (jobId: number, queuedMinutesAgo: number) =>
      JSON.stringify({
        version: 1,
        jobId,
        runId: 7,
        repositoryOwner: 'octo',
        repositoryName: 'app',
        ownerType: 'Organization',
        installationId: 1000,
        labels: ['self-hosted', 'linux'],
        runnerType: 'linux-x64',
        deliveryId: `d-${jobId}`,
        createdAt: new Date(bed.now - queuedMinutesAgo * MINUTE).toISOString(),
      });
    const launchedAt = Math.floor((bed.now - 6 * MINUTE) / 1000);
    const awaiting = [
      { jobId: 1, runnerType: 'linux-x64', status: 'launched', instanceId: 'i-00000000000000001', launchedAt, relaunches: 0, message: message(1, 40) },
      { jobId: 2, runnerType: 'linux-x64', status: 'launched', instanceId: 'i-00000000000000002', launchedAt, relaunches: 0, message: message(2, 10) },
    ];
    const sent: string[] = [];
    const deps = {
      ...bed.deps,
      relaunch: {
        ledger: {
          listAwaiting: async () => awaiting,
          releaseForRelaunch: async () => true,
          stopAwaiting: async () => true,
          recordProgress: async () => true,
        },
        requeue: { send: async (_type: string, body: string) => void sent.push(body) },
        runnerTypes: ['linux-x64'],
        maxAttempts: 2,
        strandedMinutes: 30,
      },
    };

    // WHEN
    const summary = await scaleDown(bed.config, deps);

    // THEN both are relaunched, one is stranded, and the metrics line says so
    expect(sent).toHaveLength(2);
    expect(summary.relaunch).toMatchObject({ stillQueued: 2, relaunched: 2, stranded: 1 });
    const emf = parsed(bed.logs).find((l) => l._aws !== undefined);
    expect(emf).toMatchObject({ Function: 'scale-down', JobsStranded: 1, JobsRelaunched: 2, JobsGivenUp: 0, JobsWaitingForRunner: 2 });
    const names = (emf!._aws as { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] }).CloudWatchMetrics[0].Metrics;
    expect(names).toContainEqual({ Name: 'JobsStranded', Unit: 'Count' });
    // AND the stranded job is logged with its id
    expect(parsed(bed.logs).filter((l) => String(l.message).startsWith('job stranded')).map((l) => l.jobId)).toEqual([1]);
  });
});
