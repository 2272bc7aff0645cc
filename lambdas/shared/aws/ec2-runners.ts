/**
 * The EC2 side of runners, in our vocabulary: list the live runners of a
 * runner type, launch a batch of them, record which job each one serves, and
 * terminate them.
 *
 * Every runner instance carries these tags (set at launch by CreateFleet, on
 * the instance and its volumes):
 * - `ghr:prefix`: the module prefix
 * - `ghr:runner-type`: the runner type's name
 * - `ghr:owner`: `org` for org-level runners, `owner/repo` for repo-level ones
 * - `ghr:created-by`: `scale-up`, or `pool` for the warm pool's runners
 *
 * Job ids. CreateFleet applies the same tags to every instance it starts, and
 * CreateTags applies the same tags to every instance it names, so one tag
 * `ghr:job-id` with a different value per instance would cost one CreateTags
 * call per instance. Instead, after a fleet's runners are registered, one
 * CreateTags call writes the whole mapping onto each of them as
 * `ghr:job-id:<instance-id> = <job id>`. An instance's own job is the tag
 * keyed by its own id; the siblings' entries are harmless (and tell an
 * operator which instances were launched together). `listActiveRunners` also
 * honours a plain `ghr:job-id` tag.
 *
 * Runner names, owner tags and live states are lambdas/shared/runners/identity.ts.
 *
 * Scale-down lists every instance of a prefix (`listInstancesByPrefix`), and
 * the termination watcher reads one instance by id (`describeInstance`).
 */
import {
  CreateFleetCommand,
  CreateFleetCommandInput,
  CreateTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  Instance,
  SpotAllocationStrategy,
  Tag,
  _InstanceType,
  TerminateInstancesCommand,
  paginateDescribeInstances,
} from '@aws-sdk/client-ec2';
import { RUNNER_TAGS } from '../../../modules/contract/tags';
import { type CapacityType, LIVE_STATES } from '../runners/identity';

/**
 * The tag that names the job of instance `instanceId`. No `/` in it: an
 * instance that exposes its tags in instance metadata accepts only tag keys of
 * letters, digits and `+ - = . , _ : @`, and EC2 rejects the CreateTags
 * otherwise (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/work-with-tags-in-IMDS.html).
 * The module's launch templates turn metadata tags off; the key is valid either way.
 */
export function jobIdTagKey(instanceId: string): string {
  return `${RUNNER_TAGS.jobId}:${instanceId}`;
}

/** Which runners: those of one runner type of one module. */
export interface RunnerFilter {
  readonly prefix: string;
  readonly runnerType: string;
}

/** A pending or running runner instance. */
export interface ActiveRunner {
  readonly instanceId: string;
  readonly state: string;
  readonly launchTime?: Date;
  /** `ghr:owner`. */
  readonly owner?: string;
  /** The job it was launched for, from its job-id tag. */
  readonly jobId?: number;
  /** `spot` or `on-demand`. */
  readonly lifecycle: string;
}

/** Any instance of a prefix, in any state, with all its tags. */
export interface RunnerInstance extends ActiveRunner {
  /** `ghr:runner-type`. */
  readonly runnerType?: string;
  /** Every tag of the instance. */
  readonly tags: Readonly<Record<string, string>>;
}

/** One CreateFleet (type instant) request. */
export interface LaunchRunnersRequest extends RunnerFilter {
  /** `ghr:owner` of every instance. */
  readonly owner: string;
  /** How many instances. */
  readonly count: number;
  readonly launchTemplateId: string;
  /** @default "$Latest" */
  readonly launchTemplateVersion?: string;
  /** Overrides are the cross product of subnets and instance types. */
  readonly subnetIds: readonly string[];
  readonly instanceTypes: readonly string[];
  readonly capacityType: CapacityType;
  /** Spot allocation strategy; on-demand always uses `lowest-price`. @default "price-capacity-optimized" */
  readonly spotAllocationStrategy?: string;
  /** Idempotency token, at most 64 characters. */
  readonly clientToken: string;
  /** Ask EC2 whether the call would succeed, and launch nothing. */
  readonly dryRun?: boolean;
  /** `ghr:created-by`: which Lambda launched the runner. @default "scale-up" */
  readonly createdBy?: string;
  /** More tags for every instance (and volume), e.g. an API runner's name and idle deadline. @default none */
  readonly extraTags?: Readonly<Record<string, string>>;
}

/** A launched instance. */
export interface LaunchedInstance {
  readonly instanceId: string;
  readonly instanceType?: string;
  readonly lifecycle: CapacityType;
}

/** A capacity error CreateFleet reports alongside (or instead of) instances. */
export interface FleetError {
  readonly code: string;
  readonly message: string;
}

/** What CreateFleet did. */
export interface LaunchRunnersResult {
  readonly instances: readonly LaunchedInstance[];
  readonly errors: readonly FleetError[];
  /** True when this was a dry run that EC2 said would succeed (no instances). */
  readonly dryRun: boolean;
}

/** Which job an instance serves. */
export interface JobAssignment {
  readonly instanceId: string;
  readonly jobId: number;
}

/** The EC2 adapter. */
export interface Ec2Runners {
  /** Pending and running runners of the type: one paginated DescribeInstances. */
  listActiveRunners(filter: RunnerFilter): Promise<ActiveRunner[]>;
  /** One CreateFleet of type instant. Throws what EC2 throws, except a dry run's `DryRunOperation`. */
  launchRunners(request: LaunchRunnersRequest): Promise<LaunchRunnersResult>;
  /** Record each instance's job (one CreateTags per 20 instances). */
  tagJobIds(assignments: readonly JobAssignment[]): Promise<void>;
  /** Terminate instances (one call per 1000). */
  terminateRunners(instanceIds: readonly string[]): Promise<void>;
  /**
   * Tag instances with the time scale-down first saw them unregistered
   * ({@link RUNNER_TAGS}.orphanSeenAt); `undefined` clears the sighting (an empty
   * value, so the same narrow CreateTags grant serves both).
   */
  markOrphanSightings(sightings: ReadonlyMap<string, number | undefined>): Promise<void>;
  /**
   * Every instance tagged `ghr:prefix = prefix`, in the given states (all
   * states by default: terminated instances stay visible for about an hour,
   * which tells scale-down which runners just died): one paginated
   * DescribeInstances.
   */
  listInstancesByPrefix(prefix: string, states?: readonly string[]): Promise<RunnerInstance[]>;
  /** One instance by id, in any state; undefined when EC2 does not know it (`InvalidInstanceID.NotFound`). */
  describeInstance(instanceId: string): Promise<RunnerInstance | undefined>;
}

/** Instances per CreateTags call: each gets one mapping tag per instance, and EC2 allows 50 tags. */
const JOB_TAG_CHUNK = 20;

/** Build the EC2 adapter around a client. */
export function createEc2Runners(ec2: EC2Client): Ec2Runners {
  const listActiveRunners = async (filter: RunnerFilter): Promise<ActiveRunner[]> => {
    const runners: ActiveRunner[] = [];
    const pages = paginateDescribeInstances(
      { client: ec2, pageSize: 1000 },
      {
        Filters: [
          { Name: `tag:${RUNNER_TAGS.prefix}`, Values: [filter.prefix] },
          { Name: `tag:${RUNNER_TAGS.runnerType}`, Values: [filter.runnerType] },
          { Name: 'instance-state-name', Values: [...LIVE_STATES] },
        ],
      },
    );
    for await (const page of pages) {
      for (const reservation of page.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          const runner = toActiveRunner(instance);
          if (runner) runners.push(runner);
        }
      }
    }
    return runners;
  };

  return {
    listActiveRunners,

    async launchRunners(request) {
      try {
        const out = await ec2.send(new CreateFleetCommand(createFleetInput(request)));
        const instances: LaunchedInstance[] = [];
        for (const group of out.Instances ?? []) {
          for (const instanceId of group.InstanceIds ?? []) {
            instances.push({
              instanceId,
              instanceType: group.InstanceType,
              lifecycle: group.Lifecycle === 'spot' ? 'spot' : group.Lifecycle === 'on-demand' ? 'on-demand' : request.capacityType,
            });
          }
        }
        const errors = (out.Errors ?? []).map((e) => ({ code: e.ErrorCode ?? 'Unknown', message: e.ErrorMessage ?? '' }));
        return { instances, errors, dryRun: false };
      } catch (error) {
        // EC2 answers a dry run it would have accepted with this "error".
        if (request.dryRun && (error as { name?: string }).name === 'DryRunOperation') return { instances: [], errors: [], dryRun: true };
        throw error;
      }
    },

    async tagJobIds(assignments) {
      for (let i = 0; i < assignments.length; i += JOB_TAG_CHUNK) {
        const chunk = assignments.slice(i, i + JOB_TAG_CHUNK);
        await ec2.send(
          new CreateTagsCommand({
            Resources: chunk.map((a) => a.instanceId),
            Tags: chunk.map((a) => ({ Key: jobIdTagKey(a.instanceId), Value: String(a.jobId) })),
          }),
        );
      }
    },

    async markOrphanSightings(sightings) {
      // One CreateTags per value: the sighting time differs per instance.
      const byValue = new Map<string, string[]>();
      for (const [instanceId, at] of sightings) {
        const value = at === undefined ? '' : new Date(at).toISOString();
        byValue.set(value, [...(byValue.get(value) ?? []), instanceId]);
      }
      for (const [value, ids] of byValue) {
        for (let i = 0; i < ids.length; i += JOB_TAG_CHUNK) {
          await ec2.send(new CreateTagsCommand({ Resources: ids.slice(i, i + JOB_TAG_CHUNK), Tags: [{ Key: RUNNER_TAGS.orphanSeenAt, Value: value }] }));
        }
      }
    },

    async terminateRunners(instanceIds) {
      for (let i = 0; i < instanceIds.length; i += 1000) {
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: instanceIds.slice(i, i + 1000) }));
      }
    },

    async listInstancesByPrefix(prefix, states) {
      const instances: RunnerInstance[] = [];
      const filters = [{ Name: `tag:${RUNNER_TAGS.prefix}`, Values: [prefix] }];
      if (states !== undefined) filters.push({ Name: 'instance-state-name', Values: [...states] });
      for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 1000 }, { Filters: filters })) {
        for (const reservation of page.Reservations ?? []) {
          for (const instance of reservation.Instances ?? []) {
            const found = toRunnerInstance(instance);
            if (found) instances.push(found);
          }
        }
      }
      return instances;
    },

    async describeInstance(instanceId) {
      try {
        const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
        const instance = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
        return instance ? toRunnerInstance(instance) : undefined;
      } catch (error) {
        if ((error as { name?: string }).name === 'InvalidInstanceID.NotFound') return undefined;
        throw error;
      }
    },
  };
}

/** The CreateFleet input for a launch request (exported for tests and review). */
export function createFleetInput(request: LaunchRunnersRequest): CreateFleetCommandInput {
  const tags: Tag[] = [
    { Key: RUNNER_TAGS.prefix, Value: request.prefix },
    { Key: RUNNER_TAGS.runnerType, Value: request.runnerType },
    { Key: RUNNER_TAGS.owner, Value: request.owner },
    { Key: RUNNER_TAGS.createdBy, Value: request.createdBy ?? 'scale-up' },
    ...Object.entries(request.extraTags ?? {}).map(([Key, Value]) => ({ Key, Value })),
  ];
  const overrides = request.subnetIds.flatMap((SubnetId) => request.instanceTypes.map((type) => ({ SubnetId, InstanceType: type as _InstanceType })));
  return {
    Type: 'instant',
    ClientToken: request.clientToken,
    DryRun: request.dryRun ?? false,
    LaunchTemplateConfigs: [
      {
        LaunchTemplateSpecification: {
          LaunchTemplateId: request.launchTemplateId,
          Version: request.launchTemplateVersion ?? '$Latest',
        },
        Overrides: overrides,
      },
    ],
    TargetCapacitySpecification: {
      TotalTargetCapacity: request.count,
      DefaultTargetCapacityType: request.capacityType,
    },
    ...(request.capacityType === 'spot'
      ? { SpotOptions: { AllocationStrategy: (request.spotAllocationStrategy ?? 'price-capacity-optimized') as SpotAllocationStrategy } }
      : { OnDemandOptions: { AllocationStrategy: 'lowest-price' } }),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
  };
}

function toRunnerInstance(instance: Instance): RunnerInstance | undefined {
  const runner = toActiveRunner(instance);
  if (!runner) return undefined;
  const tags: Record<string, string> = {};
  for (const t of instance.Tags ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
  return { ...runner, runnerType: tags[RUNNER_TAGS.runnerType], tags };
}

function toActiveRunner(instance: Instance): ActiveRunner | undefined {
  if (!instance.InstanceId) return undefined;
  const tags = new Map((instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  const rawJobId = tags.get(jobIdTagKey(instance.InstanceId)) ?? tags.get(RUNNER_TAGS.jobId);
  const jobId = rawJobId !== undefined && /^\d+$/.test(rawJobId) ? Number(rawJobId) : undefined;
  return {
    instanceId: instance.InstanceId,
    state: instance.State?.Name ?? 'unknown',
    launchTime: instance.LaunchTime,
    owner: tags.get(RUNNER_TAGS.owner),
    jobId,
    lifecycle: instance.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand',
  };
}
