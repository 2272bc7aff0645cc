/**
 * A stateful EC2 behind aws-sdk-client-mock: CreateFleet (instant) starts
 * instances with the requested tags up to a configurable spot / on-demand
 * capacity and honours ClientToken like EC2 does (same token, same answer);
 * DescribeInstances filters by tag and state, looks up `InstanceIds` (an
 * unknown id fails with `InvalidInstanceID.NotFound`, as on EC2) and pages
 * with MaxResults / NextToken (capped by `describePageSize`); CreateTags adds
 * tags; TerminateInstances terminates. Scripted errors and dry runs behave
 * like EC2's (`DryRunOperation`, `RequestLimitExceeded`, ...). Every call
 * carries a sequence number shared with the other fakes (call-sequence.ts).
 */
import {
  CreateFleetCommand,
  CreateFleetCommandInput,
  CreateFleetCommandOutput,
  CreateTagsCommand,
  CreateTagsCommandInput,
  DescribeInstancesCommand,
  DescribeInstancesCommandInput,
  EC2Client,
  EC2ServiceException,
  Instance,
  TerminateInstancesCommand,
  TerminateInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { AwsClientStub } from 'aws-sdk-client-mock';
import { nextCallSequence } from './call-sequence';

type CommandName = 'CreateFleet' | 'DescribeInstances' | 'CreateTags' | 'TerminateInstances';

/** One call the fake received. */
export interface Ec2Call {
  readonly command: CommandName;
  readonly input: CreateFleetCommandInput | DescribeInstancesCommandInput | CreateTagsCommandInput | TerminateInstancesCommandInput;
  /** Position among the calls of every fake. */
  readonly seq: number;
  /** performance.now() when the call arrived (the bench times the control plane by it). */
  readonly at: number;
}

/** Extra properties of a seeded instance. */
export interface SeedOptions {
  /** @default now */
  readonly launchTime?: Date;
  /** @default on-demand */
  readonly lifecycle?: 'spot' | 'on-demand';
  /** Use this id instead of the next serial one. */
  readonly instanceId?: string;
}

/** An EC2 error as the SDK raises it. */
export function ec2Error(name: string, message = name): EC2ServiceException {
  return new EC2ServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

/**
 * EC2's rule for instances that expose their tags in instance metadata: tag
 * keys of letters, digits and `+ - = . , _ : @` only (no spaces, no `/`), and
 * not `.`, `..` or `_index`. EC2 fails the launch or the CreateTags otherwise.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/work-with-tags-in-IMDS.html
 */
export function isMetadataTagKey(key: string): boolean {
  return /^[A-Za-z0-9+\-=.,_:@]+$/.test(key) && !['.', '..', '_index'].includes(key);
}

/** The fake. */
export class FakeEc2 {
  /**
   * Whether the instances this fake starts expose tags in instance metadata.
   * On by default, the strictest case: every tag key must then pass
   * {@link isMetadataTagKey}, so code that is right either way passes.
   */
  instanceMetadataTags: 'enabled' | 'disabled' = 'enabled';
  readonly instances = new Map<string, Instance>();
  readonly calls: Ec2Call[] = [];
  /** Instances CreateFleet can still start, per capacity type. */
  readonly capacity: Record<'spot' | 'on-demand', number> = { spot: Infinity, 'on-demand': Infinity };
  /** ErrorCode reported when capacity runs out. */
  shortfallErrorCode = 'InsufficientInstanceCapacity';
  /** Most instances one DescribeInstances page returns, whatever MaxResults asks (EC2 allows 1000). */
  describePageSize = 1000;
  private readonly fleets = new Map<string, CreateFleetCommandOutput>();
  private readonly failures: { command: CommandName; error: Error; left: number }[] = [];
  private serial = 0;

  constructor(mock: AwsClientStub<EC2Client>) {
    mock.on(CreateFleetCommand).callsFake(async (input: CreateFleetCommandInput) => this.createFleet(input));
    mock.on(DescribeInstancesCommand).callsFake(async (input: DescribeInstancesCommandInput) => this.describe(input));
    mock.on(CreateTagsCommand).callsFake(async (input: CreateTagsCommandInput) => this.createTags(input));
    mock.on(TerminateInstancesCommand).callsFake(async (input: TerminateInstancesCommandInput) => this.terminate(input));
  }

  /** Fail the next `times` calls of `command` with `error`. */
  failNext(command: CommandName, error: Error, times = 1): void {
    this.failures.push({ command, error, left: times });
  }

  /** Add an instance (running unless `state` says otherwise) with these tags; returns its id. */
  seed(tags: Record<string, string>, state = 'running', options: SeedOptions = {}): string {
    const id = options.instanceId ?? this.newId();
    this.instances.set(id, {
      InstanceId: id,
      State: { Name: state as never },
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      LaunchTime: options.launchTime ?? new Date(),
      ...(options.lifecycle === 'spot' ? { InstanceLifecycle: 'spot' as const } : {}),
    });
    return id;
  }

  /** Instances that are pending or running. */
  live(): Instance[] {
    return [...this.instances.values()].filter((i) => i.State?.Name === 'pending' || i.State?.Name === 'running');
  }

  /** Calls of one command. */
  callsOf(command: CommandName): Ec2Call[] {
    return this.calls.filter((c) => c.command === command);
  }

  /** Tags of an instance as a map. */
  tagsOf(instanceId: string): Record<string, string> {
    return Object.fromEntries((this.instances.get(instanceId)?.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  private fail(command: CommandName, input: Ec2Call['input']): void {
    this.calls.push({ command, input, seq: nextCallSequence(), at: performance.now() });
    const failure = this.failures.find((f) => f.command === command && f.left > 0);
    if (failure) {
      failure.left -= 1;
      throw failure.error;
    }
  }

  private newId(): string {
    return `i-${(++this.serial).toString(16).padStart(17, '0')}`;
  }

  private createFleet(input: CreateFleetCommandInput): CreateFleetCommandOutput {
    this.fail('CreateFleet', input);
    if (input.DryRun) throw ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.');
    if (input.ClientToken && this.fleets.has(input.ClientToken)) return this.fleets.get(input.ClientToken)!;
    const type = input.TargetCapacitySpecification?.DefaultTargetCapacityType === 'spot' ? 'spot' : 'on-demand';
    const wanted = input.TargetCapacitySpecification?.TotalTargetCapacity ?? 0;
    const count = Math.min(wanted, this.capacity[type]);
    this.capacity[type] -= count;
    const override = input.LaunchTemplateConfigs?.[0]?.Overrides?.[0];
    const tags = input.TagSpecifications?.find((t) => t.ResourceType === 'instance')?.Tags ?? [];
    this.checkMetadataTagKeys(tags.map((t) => t.Key ?? ''));
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.newId();
      ids.push(id);
      this.instances.set(id, {
        InstanceId: id,
        InstanceType: override?.InstanceType,
        State: { Name: 'pending' },
        Tags: [...tags],
        ...(type === 'spot' ? { InstanceLifecycle: 'spot' } : {}),
      });
    }
    const output: CreateFleetCommandOutput = {
      $metadata: {},
      FleetId: `fleet-${this.serial}`,
      Instances: count > 0 ? [{ InstanceIds: ids, InstanceType: override?.InstanceType, Lifecycle: type }] : [],
      Errors:
        count < wanted
          ? [{ ErrorCode: this.shortfallErrorCode, ErrorMessage: `There is no ${type} capacity`, Lifecycle: type }]
          : [],
    };
    if (input.ClientToken) this.fleets.set(input.ClientToken, output);
    return output;
  }

  private describe(input: DescribeInstancesCommandInput) {
    this.fail('DescribeInstances', input);
    const ids = input.InstanceIds ?? [];
    const unknown = ids.filter((id) => !this.instances.has(id));
    if (unknown.length > 0) throw ec2Error('InvalidInstanceID.NotFound', `The instance IDs '${unknown.join(', ')}' do not exist`);
    const candidates = ids.length > 0 ? ids.map((id) => this.instances.get(id)!) : [...this.instances.values()];
    const all = candidates.filter((instance) =>
      (input.Filters ?? []).every((f) => {
        if (f.Name === 'instance-state-name') return (f.Values ?? []).includes(instance.State?.Name ?? '');
        if (f.Name?.startsWith('tag:')) {
          const key = f.Name.slice(4);
          return (instance.Tags ?? []).some((t) => t.Key === key && (f.Values ?? []).includes(t.Value ?? ''));
        }
        throw new Error(`fake EC2: unsupported filter ${f.Name}`);
      }),
    );
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const size = Math.min(input.MaxResults ?? Infinity, this.describePageSize);
    const matches = all.slice(start, start + size);
    const next = start + size < all.length ? String(start + size) : undefined;
    return { Reservations: matches.length > 0 ? [{ Instances: matches }] : [], ...(next ? { NextToken: next } : {}) };
  }

  private checkMetadataTagKeys(keys: readonly string[]): void {
    if (this.instanceMetadataTags !== 'enabled') return;
    const bad = keys.filter((k) => !isMetadataTagKey(k));
    if (bad.length > 0) {
      throw ec2Error('InvalidParameterValue', `Tag keys ${bad.join(', ')} are not allowed on instances with instance metadata tags enabled`);
    }
  }

  private createTags(input: CreateTagsCommandInput) {
    this.fail('CreateTags', input);
    if ((input.Resources ?? []).some((id) => id.startsWith('i-'))) this.checkMetadataTagKeys((input.Tags ?? []).map((t) => t.Key ?? ''));
    for (const id of input.Resources ?? []) {
      const instance = this.instances.get(id);
      if (!instance) throw ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
      const tags = new Map((instance.Tags ?? []).map((t) => [t.Key, t.Value]));
      for (const t of input.Tags ?? []) tags.set(t.Key, t.Value);
      instance.Tags = [...tags].map(([Key, Value]) => ({ Key, Value }));
    }
    return {};
  }

  private terminate(input: TerminateInstancesCommandInput) {
    this.fail('TerminateInstances', input);
    for (const id of input.InstanceIds ?? []) {
      const instance = this.instances.get(id);
      if (instance) instance.State = { Name: 'terminated' };
    }
    return { TerminatingInstances: (input.InstanceIds ?? []).map((InstanceId) => ({ InstanceId })) };
  }
}
