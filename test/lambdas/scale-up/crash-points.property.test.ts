/**
 * Scale-up crashing at any step (issue #11, "Done when": a scale-up that
 * crashes at any step loses no job and, for a job with a live runner,
 * launches no second one).
 *
 * The crash model is the process dying. Every outbound call of the
 * invocation counts (EC2, DynamoDB and SSM at the SDK client's `send`,
 * GitHub at `fetch`, so an installation token or a runner-group lookup counts
 * too). From the N-th call on, no call is sent and none ever answers; a call
 * already in flight reaches its fake (the request left the process) but its
 * answer is never read. Nothing of the invocation runs after that: no
 * release, no terminate, no batch response. The invocation is abandoned (its
 * promise never settles and holds no timer: the gate only ever returns a
 * promise nobody resolves).
 *
 * Then the whole batch is redelivered, as SQS does when the function never
 * answered, after the lock has expired (the locks' clock is advanced past
 * `lockSeconds`), to a fresh cold-start handler over the same fakes: same
 * EC2, table, SSM and GitHub state, a new token cache. The redelivery loop
 * repeats with what the handler returns in `batchItemFailures` (bounded), and
 * one optional second crash hits the first redelivery.
 *
 * What the crashed attempt's instances become, asserted per case below:
 * - reused: the redelivery holds the same jobs, its locks kept their attempt
 *   count (a crashed lock expires, it is not released), so it derives the same
 *   CreateFleet ClientToken and EC2 returns the crashed attempt's instances
 *   (EC2 idempotency:
 *   https://docs.aws.amazon.com/AWSEC2/latest/devguide/ec2-api-idempotency.html);
 *   When its runner name is already registered at GitHub (the crash fell
 *   between generate-jitconfig and the job-id tag), the JIT request gets 409
 *   and scale-up takes that registration over (register-runner.ts): kept if
 *   the runner is online, else deleted and registered again with a fresh
 *   config. Either way the job keeps this instance: with one crash and the
 *   batch redelivered whole, every job costs exactly one instance, asserted.
 * - terminated: an instance that fails its registration for another reason
 *   is terminated and its job retried; a GitHub registration left behind
 *   with its instance terminated is a ghost of scale-down's `instance-gone`
 *   kind (decide.ts), asserted below.
 * - left for scale-down: when the redelivery splits the batch differently
 *   (SQS may), the ClientToken differs and the crashed attempt's instances
 *   stay live with no job-id tag. Unregistered, scale-down's orphan rule
 *   terminates them after the boot time; registered (the crash fell after
 *   generate-jitconfig), they are idle ephemeral runners that take a queued
 *   job or are scaled down as idle. Only a split or a second crash leaves
 *   them: asserted below, and scale-down's own rules (decide.ts, two runs
 *   past the boot time) are run over the final state to show it ends every
 *   extra and deregisters every ghost, and touches no job's runner.
 * So a job is never lost, and a job whose runner was bound to it (job-id tag)
 * when the process died keeps that runner: no second launch.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { createEc2Runners, jobIdTagKey } from '../../../lambdas/shared/aws/ec2-runners';
import { createJobLocks } from '../../../lambdas/shared/aws/idempotency';
import { createRunnerConfigStore } from '../../../lambdas/shared/aws/jit-config-store';
import type * as GitHubRunnersModule from '../../../lambdas/shared/github/runners';
import { Logger } from '../../../lambdas/shared/logger';
import { loadScaleUpConfig } from '../../../lambdas/scale-up/config';
import { ScaleUpContext, createHandler } from '../../../lambdas/scale-up/index';
import { runnerNameOf, runnerTargetFromOwnerTag } from '../../../lambdas/shared/runners/identity';
import { DecideInstance, OwnerRunners, decide } from '../../../lambdas/scale-down/decide';
import { RUNNER_TAGS } from '../../../modules/contract/tags';
import { installFakeTable } from '../shared/fake-dynamodb';
import { FakeEc2 } from '../shared/fake-ec2';
import { AppKeyPair, FakeGitHub, generateAppKey, startFakeGitHub } from '../shared/fake-github';
import { APP_ID, baseEnv, job, puts, sqsEvent } from './harness';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const ddbMock = mockClient(DynamoDBClient);

const LOCK_SECONDS = 120;
const PREFIX = 'gh-ci';

/** A promise nobody resolves: what a dead process's call looks like from inside. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

/**
 * Counts one invocation's outbound calls and kills the invocation at call
 * `crashAt` (0-based; Infinity: never).
 */
class CrashGate {
  calls = 0;
  inFlight = 0;
  crashed = false;
  constructor(readonly crashAt: number) {}

  call<T>(send: () => Promise<T>): Promise<T> {
    if (this.crashed || this.calls >= this.crashAt) {
      this.crashed = true;
      return never();
    }
    this.calls += 1;
    this.inFlight += 1;
    return send().then(
      (value) => {
        this.inFlight -= 1;
        return this.crashed ? never<T>() : value;
      },
      (error: unknown) => {
        this.inFlight -= 1;
        return this.crashed ? never<T>() : Promise.reject(error);
      },
    );
  }
}

/** Route a client's `send` (stubbed on the prototype by aws-sdk-client-mock) through the gate. */
function gated<C extends { send: (...args: never[]) => Promise<unknown> }>(client: C, gate: CrashGate): C {
  const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
  (client as { send: unknown }).send = (...args: unknown[]) => gate.call(() => send(...args));
  return client;
}

describe('scale-up crash points (property)', () => {
  let key: AppKeyPair;
  let gh: FakeGitHub;
  let ec2: FakeEc2;
  let nowMs: number;
  /** The gate of the invocation whose GitHub calls `fetch` now counts. */
  let gate: CrashGate;
  /** The gate of the invocation a GitHub call belongs to. */
  const invocation = new AsyncLocalStorage<CrashGate>();
  const realFetch = globalThis.fetch;

  beforeAll(async () => {
    key = generateAppKey();
    gh = await startFakeGitHub({ appId: APP_ID, publicKey: key.publicKey });
    // The GitHub adapter looks `fetch` up per call (octokit.ts timedFetch). Each call
    // passes the gate of the invocation that made it, found through its async context:
    // a write the pacer held back in a crashed invocation, sent later, meets its own
    // (tripped) gate, not the next invocation's (it once reached the fake in a later play).
    globalThis.fetch = ((...args: Parameters<typeof fetch>) => (invocation.getStore() ?? gate).call(() => realFetch(...args))) as typeof fetch;
  });
  afterAll(async () => {
    globalThis.fetch = realFetch;
    await gh.close();
  });

  function reset(): void {
    ec2Mock.reset();
    ssmMock.reset();
    ddbMock.reset();
    ec2 = new FakeEc2(ec2Mock);
    installFakeTable(ddbMock);
    ssmMock.on(PutParameterCommand).resolves({ Version: 1, Tier: 'Standard' });
    gh.resetCalls();
    gh.runners.clear();
    gh.jobStatus.clear();
    nowMs = Date.UTC(2026, 0, 1, 12);
  }

  /** A cold-start handler (new clients, new token cache) whose calls all pass `g`. */
  function coldHandler(g: CrashGate): (event: SQSEvent) => Promise<SQSBatchResponse> {
    const config = loadScaleUpConfig(baseEnv({ RUNNER_BOOT_TIME_IN_MINUTES: '5' }));
    const logger = new Logger('scale-up', {}, () => undefined, 'error');
    // A cold start loads the modules afresh: octokit's throttling plugin keeps its request
    // queues module-wide (Bottleneck groups, at most 10 requests in flight), and the dead
    // process's abandoned requests would otherwise hold those slots forever.
    let createGitHubApp!: typeof GitHubRunnersModule.createGitHubApp;
    jest.isolateModules(() => {
      ({ createGitHubApp } = jest.requireActual<typeof GitHubRunnersModule>('../../../lambdas/shared/github/runners'));
    });
    const context: ScaleUpContext = {
      config,
      deps: {
        ec2: createEc2Runners(gated(new EC2Client({}), g)),
        github: createGitHubApp({
          appId: APP_ID,
          privateKey: key.privateKeyPem,
          baseUrl: gh.url,
          logger,
          retries: { retryAfterBaseMs: 1 },
        }),
        configStore: createRunnerConfigStore(gated(new SSMClient({}), g), {
          ssmConfigPath: config.ssmConfigPath,
          kmsKeyId: config.kmsKeyId,
          instanceArnPrefix: config.instanceArnPrefix,
        }),
        locks: createJobLocks(gated(new DynamoDBClient({}), g), { tableName: config.idempotencyTableName, lockSeconds: LOCK_SECONDS, now: () => nowMs }),
        logger,
      },
    };
    return createHandler(async () => context);
  }

  /**
   * Run one invocation under `g`. Returns the batch response, or `crashed`
   * once the gate tripped and every call it let through has reached its fake.
   */
  async function invoke(g: CrashGate, event: SQSEvent): Promise<SQSBatchResponse | 'crashed'> {
    gate = g;
    let settled: SQSBatchResponse | undefined;
    let failure: unknown;
    invocation.run(g, () => coldHandler(g)(event)).then(
      (r) => (settled = r),
      (e: unknown) => (failure = e),
    );
    // Bounded wait (at least 20 s of 1 ms steps, for a loaded machine): the invocation either answers or trips the gate and goes quiet.
    for (let i = 0; i < 20_000; i++) {
      if (failure !== undefined) throw failure;
      if (settled) return settled;
      if (g.crashed && g.inFlight === 0) return 'crashed';
      await new Promise((r) => setTimeout(r, 1));
    }
    throw new Error(`invocation neither answered nor crashed (calls ${g.calls}, in flight ${g.inFlight})`);
  }

  /** GitHub runners by name, over every target. */
  function githubRunnerNames(): Set<string> {
    return new Set([...gh.runners.values()].flat().map((r) => r.name));
  }

  /** What the world says each job has: live instances tagged with it. */
  function liveTaggedFor(jobId: number): string[] {
    return ec2
      .live()
      .filter((i) => ec2.tagsOf(i.InstanceId!)[jobIdTagKey(i.InstanceId!)] === String(jobId))
      .map((i) => i.InstanceId!);
  }

  /**
   * scale-down's decide() over the fakes' state, run twice (the second with the first's sightings),
   * 10 minutes after the launches: past the boot time and the minimum running time (5 minutes each).
   */
  function scaleDownTwice(): ReturnType<typeof decide> {
    const launched = nowMs;
    const instances: DecideInstance[] = [...ec2.instances.values()].map((i) => {
      const tags = ec2.tagsOf(i.InstanceId!);
      return { instanceId: i.InstanceId!, state: i.State?.Name ?? 'unknown', launchTime: new Date(launched), owner: tags[RUNNER_TAGS.owner], tags };
    });
    const runnersByOwner = new Map<string, OwnerRunners>();
    for (const owner of new Set(instances.map((i) => i.owner).filter((o): o is string => o !== undefined))) {
      runnersByOwner.set(owner, { ok: true, target: runnerTargetFromOwnerTag(owner)!, runners: gh.runners.get(owner) ?? [] });
    }
    const limits = { prefix: PREFIX, minimumRunningTimeMs: 5 * 60_000, bootTimeMs: 5 * 60_000, bypassTag: RUNNER_TAGS.scaleDownBypass };
    const first = decide(instances, runnersByOwner, launched + 10 * 60_000, limits);
    return decide(instances, runnersByOwner, launched + 15 * 60_000, limits, { ghosts: first.ghostSightings, orphans: first.orphanSightings });
  }

  interface Scenario {
    readonly jobs: number;
    readonly crashAt: number;
    readonly secondCrashAt: number | undefined;
    readonly split: boolean;
  }

  async function play(s: Scenario): Promise<void> {
    reset();
    const jobIds = Array.from({ length: s.jobs }, (_, i) => 100 + i);
    const messages = jobIds.map((id) => ({ messageId: `m-${id}`, body: job(id) }));

    const first = await invoke(new CrashGate(s.crashAt), sqsEvent(messages));
    // Jobs bound to a live, tagged runner at the moment of the crash.
    const servedAtCrash = new Map(jobIds.map((id) => [id, liveTaggedFor(id)] as const).filter(([, ids]) => ids.length > 0));
    const instancesAtCrash = new Set(ec2.live().map((i) => i.InstanceId!));
    const createdAtCrash = ec2.instances.size;

    // Redelivery: the whole batch when the function never answered, else what it returned.
    let queue = first === 'crashed' ? messages : messages.filter((m) => first.batchItemFailures.some((f) => f.itemIdentifier === m.messageId));
    let round = 0;
    while (queue.length > 0) {
      round += 1;
      if (round > 6) throw new Error(`jobs still queued after 6 redeliveries: ${queue.map((m) => m.messageId).join(', ')}`);
      nowMs += (LOCK_SECONDS + 1) * 1000;
      const batches = s.split && round === 1 ? queue.map((m) => [m]) : [queue];
      const next: typeof messages = [];
      for (const [i, batch] of batches.entries()) {
        const crashAt = round === 1 && i === 0 && s.secondCrashAt !== undefined ? s.secondCrashAt : Infinity;
        const out = await invoke(new CrashGate(crashAt), sqsEvent(batch));
        if (out === 'crashed') next.push(...batch);
        else next.push(...batch.filter((m) => out.batchItemFailures.some((f) => f.itemIdentifier === m.messageId)));
      }
      queue = next;
    }

    // No job lost: each has exactly one live instance tagged with it, registered at GitHub, its config in SSM.
    const registered = githubRunnerNames();
    const configured = new Set(puts(ssmMock).map((p) => p.Name));
    const finalRunner = new Map<number, string>();
    for (const id of jobIds) {
      const tagged = liveTaggedFor(id);
      expect({ job: id, tagged: tagged.length }).toEqual({ job: id, tagged: 1 });
      const instanceId = tagged[0];
      expect(registered.has(runnerNameOf(PREFIX, instanceId))).toBe(true);
      expect([...configured].some((n) => n?.endsWith(`/${instanceId}`))).toBe(true);
      finalRunner.set(id, instanceId);
    }

    // No second launch for a job that had a live, tagged runner when the process died.
    for (const [id, ids] of servedAtCrash) expect({ job: id, runner: finalRunner.get(id) }).toEqual({ job: id, runner: ids[0] });

    // Extras: every live instance that is no job's runner was launched by a crashed attempt
    // (it was there when the first process died, or a second crash launched it), carries no job-id tag,
    // and is left only when the redelivery was split (its ClientToken changed). Otherwise it was reused or terminated.
    const runners = new Set(finalRunner.values());
    const extras = ec2.live().filter((i) => !runners.has(i.InstanceId!));
    for (const extra of extras) {
      const tags = ec2.tagsOf(extra.InstanceId!);
      expect(Object.keys(tags).filter((k) => k.startsWith('ghr:job-id'))).toEqual([]);
      const fromACrash = instancesAtCrash.has(extra.InstanceId!) || s.secondCrashAt !== undefined;
      expect({ extra: extra.InstanceId, fromACrash }).toEqual({ extra: extra.InstanceId, fromACrash: true });
    }
    if (!s.split && s.secondCrashAt === undefined) expect(extras.map((i) => i.InstanceId)).toEqual([]);
    // Every GitHub registration that is no job's runner belongs to a crashed attempt's instance:
    // terminated (a ghost scale-down removes as `instance-gone`) or one of the extras above.
    const extraIds = new Set(extras.map((i) => i.InstanceId!));
    for (const name of registered) {
      const instanceId = name.slice(`${PREFIX}-`.length);
      if (runners.has(instanceId) || extraIds.has(instanceId)) continue;
      expect({ runner: name, state: ec2.instances.get(instanceId)?.State?.Name }).toEqual({ runner: name, state: 'terminated' });
    }
    // What scale-down makes of the leftovers (its pure rules, two runs past the boot time, so orphans are confirmed):
    // every extra is terminated as an orphan or removed as an idle runner, every leftover registration of a
    // terminated instance is deregistered as a ghost, and no job's runner is taken for either.
    const plan = scaleDownTwice();
    const ended = new Set([...plan.terminateOrphans.map((o) => o.instanceId), ...plan.removeIdle.map((r) => r.instanceId)]);
    for (const extra of extras) expect({ extra: extra.InstanceId, endedByScaleDown: ended.has(extra.InstanceId!) }).toEqual({ extra: extra.InstanceId, endedByScaleDown: true });
    const ghosts = new Set(plan.deregisterGhosts.filter((g) => g.reason === 'instance-gone').map((g) => g.runnerName));
    for (const name of registered) {
      const instanceId = name.slice(`${PREFIX}-`.length);
      if (ec2.instances.get(instanceId)?.State?.Name === 'terminated') expect({ ghost: name, deregistered: ghosts.has(name) }).toEqual({ ghost: name, deregistered: true });
    }
    for (const instanceId of runners) {
      expect(plan.terminateOrphans.map((o) => o.instanceId)).not.toContain(instanceId);
      expect([...ghosts]).not.toContain(runnerNameOf(PREFIX, instanceId));
    }
    // Without a crash in the way, each job cost exactly one instance. With one crash and the batch
    // redelivered whole, still exactly one: the redelivery gets the crashed attempt's instances back
    // (same ClientToken) and takes over their registrations, never terminating one to launch another.
    if (first !== 'crashed') expect(createdAtCrash).toBe(s.jobs);
    if (!s.split && s.secondCrashAt === undefined) expect({ instancesEver: ec2.instances.size }).toEqual({ instancesEver: s.jobs });
  }

  it('should lose no job and launch no second runner for a served job, whatever call the process dies at', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          jobs: fc.integer({ min: 1, max: 5 }),
          crashAt: fc.integer({ min: 0, max: 40 }),
          secondCrashAt: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
          split: fc.boolean(),
        }),
        async (s) => play(s),
      ),
      // CRASH_POINT_RUNS to search longer (e.g. 1000); CRASH_POINT_SEED to replay a reported seed.
      { numRuns: Number(process.env.CRASH_POINT_RUNS ?? 60), ...(process.env.CRASH_POINT_SEED && { seed: Number(process.env.CRASH_POINT_SEED) }) },
    );
  }, 600_000);

  it.each([1, 3, 5])('should survive a crash at every call of a batch of %i jobs, redelivered whole', async (jobs) => {
    // Exhaustive over the crash points: count the calls of a healthy run first.
    reset();
    const probe = new CrashGate(Infinity);
    await invoke(probe, sqsEvent(Array.from({ length: jobs }, (_, i) => ({ messageId: `m-${100 + i}`, body: job(100 + i) }))));
    const total = probe.calls;
    expect(total).toBeGreaterThan(3 * jobs);
    for (let crashAt = 0; crashAt <= total; crashAt++) await play({ jobs, crashAt, secondCrashAt: undefined, split: false });
  }, 120_000);
});
