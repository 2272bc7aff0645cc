/**
 * Wiring for scale-down tests: builders for `decide`'s plain inputs, and a
 * test bed of real adapters over a stateful fake EC2 and SSM
 * (aws-sdk-client-mock) and a fake GitHub over real HTTP on 127.0.0.1.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AwsClientStub } from 'aws-sdk-client-mock';
import { RUNNER_TAGS } from '../../../modules/contract/tags';
import { createEc2Runners } from '../../../lambdas/shared/aws/ec2-runners';
import { createRunnerConfigHousekeeping } from '../../../lambdas/shared/aws/jit-config-store';
import { GitHubAppApi, createGitHubApp } from '../../../lambdas/shared/github/runners';
import { InstallationTokenCache } from '../../../lambdas/shared/github/token-cache';
import type { WritePacerOptions } from '../../../lambdas/shared/concurrency';
import { Logger } from '../../../lambdas/shared/logger';
import { ScaleDownConfig, loadScaleDownConfig } from '../../../lambdas/scale-down/config';
import { DecideInstance, DecideLimits, DecideRunner } from '../../../lambdas/scale-down/decide';
import { Pacer, ScaleDownDependencies, ScaleDownMemory, emptyMemory } from '../../../lambdas/scale-down/scale-down';
import { FakeEc2 } from '../shared/fake-ec2';
import { AppKeyPair, FakeGitHub } from '../shared/fake-github';
import { FakeSsm } from '../shared/fake-ssm';

export const PREFIX = 'gh-ci';
export const CONFIG_PATH = '/gh-ci/runners/config';
export const BYPASS = 'ghr:scale-down-bypass';
export const APP_ID = 4242;
export const MINUTE = 60_000;

/** The environment modules/runners/scale-down.ts sets. */
export function baseEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PREFIX,
    GITHUB_APP_ID_SSM_PARAMETER_NAME: '/gh-ci/github-app/id',
    GITHUB_APP_KEY_SSM_PARAMETER_NAME: '/gh-ci/github-app/key',
    GHES_URL: '',
    ENABLE_ORGANIZATION_RUNNERS: 'true',
    MINIMUM_RUNNING_TIME_IN_MINUTES: '5',
    RUNNER_BOOT_TIME_IN_MINUTES: '5',
    SSM_CONFIG_PATH: CONFIG_PATH,
    BYPASS_TAG: BYPASS,
    DRY_RUN: 'false',
    LOG_LEVEL: 'info',
    METRICS_NAMESPACE: 'GitHubRunners/gh-ci',
    ...overrides,
  };
}

/** A realistic instance id (17 hex digits) from a number. */
export function iid(n: number): string {
  return `i-${n.toString(16).padStart(17, '0')}`;
}

/** `decide`'s limits: 5 minutes each unless told. */
export function limits(overrides: Partial<DecideLimits> = {}): DecideLimits {
  return { prefix: PREFIX, minimumRunningTimeMs: 5 * MINUTE, bootTimeMs: 5 * MINUTE, bypassTag: BYPASS, ...overrides };
}

/** An instance as `decide` sees it. */
export function instance(
  instanceId: string,
  now: number,
  options: { owner?: string | null; ageMinutes?: number; state?: string; tags?: Record<string, string>; launchTime?: Date | null } = {},
): DecideInstance {
  const owner = options.owner === null ? undefined : (options.owner ?? 'octo');
  const launchTime = options.launchTime === null ? undefined : (options.launchTime ?? new Date(now - (options.ageMinutes ?? 10) * MINUTE));
  return { instanceId, state: options.state ?? 'running', launchTime, owner, tags: { [RUNNER_TAGS.prefix]: PREFIX, ...(owner ? { [RUNNER_TAGS.owner]: owner } : {}), ...options.tags } };
}

/** The runner of an instance as GitHub lists it. */
export function runnerOf(instanceId: string, id: number, options: { status?: 'online' | 'offline'; busy?: boolean; name?: string } = {}): DecideRunner {
  return { id, name: options.name ?? `${PREFIX}-${instanceId}`, status: options.status ?? 'online', busy: options.busy ?? false };
}

/** A virtual clock whose sleeps advance time at once. */
export class VirtualClock {
  readonly sleeps: number[] = [];
  constructor(public t: number) {}
  now = (): number => this.t;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.t += ms;
  };
}

/** A pacer that records when each call was let through (virtual time and call order). */
export class RecordingPacer implements Pacer {
  readonly takes: { at: number; seq: number }[] = [];
  constructor(
    private readonly inner: Pacer,
    private readonly clock: () => number,
    private readonly sequence: () => number,
  ) {}
  async take(): Promise<void> {
    await this.inner.take();
    this.takes.push({ at: this.clock(), seq: this.sequence() });
  }
}

/** A pacer that never waits. */
export const noPacing: Pacer = { take: async () => undefined };

/** Everything around one `scaleDown` call. */
export interface Bed {
  readonly gh: FakeGitHub;
  readonly ec2: FakeEc2;
  readonly ssm: FakeSsm;
  readonly logs: string[];
  readonly github: GitHubAppApi;
  readonly config: ScaleDownConfig;
  readonly deps: ScaleDownDependencies;
  /** The decision clock. */
  now: number;
}

/** Options of {@link makeBed}. */
export interface BedOptions {
  readonly env?: Record<string, string>;
  readonly pacer?: Pacer;
  readonly memory?: ScaleDownMemory;
  readonly now?: number;
  /** The GitHub adapter's write pacing. @default unpaced */
  readonly writePacing?: WritePacerOptions;
}

/**
 * A fresh bed: the EC2 and SSM mocks are reset and fakes installed on them,
 * GitHub keeps its server but loses runners, installations and recorded
 * calls; one installation per account in `accounts`.
 */
export function makeBed(
  mocks: { ec2: AwsClientStub<EC2Client>; ssm: AwsClientStub<SSMClient> },
  gh: FakeGitHub,
  key: AppKeyPair,
  accounts: readonly string[],
  options: BedOptions = {},
): Bed {
  mocks.ec2.reset();
  mocks.ssm.reset();
  gh.resetCalls();
  gh.runners.clear();
  gh.installations.length = 0;
  accounts.forEach((account, i) => gh.installations.push({ id: 1000 + i, account }));
  const logs: string[] = [];
  const config = loadScaleDownConfig(baseEnv(options.env));
  const logger = new Logger('scale-down', { prefix: config.prefix }, (line) => logs.push(line), 'debug');
  const github = createGitHubApp({
    appId: APP_ID,
    privateKey: key.privateKeyPem,
    baseUrl: gh.url,
    logger,
    tokenCache: new InstallationTokenCache(),
    // Production retries 5xx twice; keep that, with millisecond back-off. Writes unpaced here.
    retries: { retryAfterBaseMs: 1 },
    writePacing: options.writePacing ?? { burst: 10_000, perMinute: 6_000_000 },
  });
  const bed: Bed = {
    gh,
    ec2: new FakeEc2(mocks.ec2),
    ssm: new FakeSsm(mocks.ssm),
    logs,
    github,
    config,
    now: options.now ?? Date.now(),
    deps: undefined as unknown as ScaleDownDependencies,
  };
  (bed as { deps: ScaleDownDependencies }).deps = {
    ec2: createEc2Runners(new EC2Client({})),
    github,
    configs: createRunnerConfigHousekeeping(new SSMClient({}), { ssmConfigPath: config.ssmConfigPath }),
    logger,
    ssmPacer: options.pacer ?? noPacing,
    now: () => bed.now,
    memory: options.memory ?? emptyMemory(),
  };
  return bed;
}

/** Seed a runner instance of the prefix launched `ageMinutes` before the bed's clock; returns its id. */
export function seedInstance(
  bed: Bed,
  options: { owner?: string; ageMinutes?: number; state?: string; bypass?: boolean; instanceId?: string } = {},
): string {
  const tags: Record<string, string> = {
    [RUNNER_TAGS.prefix]: PREFIX,
    [RUNNER_TAGS.runnerType]: 'linux-x64',
    [RUNNER_TAGS.owner]: options.owner ?? 'octo',
    [RUNNER_TAGS.createdBy]: 'scale-up',
    ...(options.bypass ? { [BYPASS]: 'debugging' } : {}),
  };
  return bed.ec2.seed(tags, options.state ?? 'running', { launchTime: new Date(bed.now - (options.ageMinutes ?? 10) * MINUTE), instanceId: options.instanceId });
}

/** Record in the bed's memory that a previous run saw these instances as orphans. */
export function seenAsOrphans(bed: Bed, ...instanceIds: string[]): void {
  for (const id of instanceIds) bed.deps.memory!.orphanSightings.set(id, bed.now - 5 * MINUTE);
}

/** Register the runner of `instanceId` at GitHub under `owner`; returns its id. */
export function register(bed: Bed, owner: string, instanceId: string, spec: { status?: 'online' | 'offline'; busy?: boolean } = {}): number {
  return Number(bed.gh.addRunner(owner, { name: `${PREFIX}-${instanceId}`, status: spec.status ?? 'online', busy: spec.busy ?? false }).id);
}

/** Register `count` runners that are not ours (a busy organization), so listings span pages. */
export function addNoise(bed: Bed, owner: string, count: number): void {
  for (let i = 0; i < count; i++) bed.gh.addRunner(owner, { name: `laptop-${i}`, status: i % 2 ? 'online' : 'offline' });
}

/** Instance ids of every TerminateInstances call, in order. */
export function terminated(bed: Bed): string[] {
  return bed.ec2.callsOf('TerminateInstances').flatMap((c) => (c.input as { InstanceIds?: string[] }).InstanceIds ?? []);
}

/** EC2 state of an instance. */
export function stateOf(bed: Bed, instanceId: string): string | undefined {
  return bed.ec2.instances.get(instanceId)?.State?.Name;
}

/** Parsed log lines. */
export function parsed(logs: readonly string[]): Record<string, unknown>[] {
  return logs.map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runner-list GETs of an owner (`org` or `owner/repo`). */
export function listCalls(gh: FakeGitHub, owner: string): FakeGitHub['calls'] {
  const route = owner.includes('/') ? `/repos/${owner}/actions/runners` : `/orgs/${owner}/actions/runners`;
  return gh.calls.filter((c) => c.method === 'GET' && c.route === route);
}

/** The DELETE calls for runner `runnerId`. */
export function deleteCalls(gh: FakeGitHub, runnerId: number): FakeGitHub['calls'] {
  return gh.calls.filter((c) => c.method === 'DELETE' && c.route.endsWith(`/actions/runners/${runnerId}`));
}
