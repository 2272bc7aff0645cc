/**
 * Runner types: which jobs a kind of runner serves, and (in the scale-up
 * issue) how its instances look. CDKTF users give a list; HCL users give the
 * module's `runner_types` map variable. Either way the module sees one
 * Terraform map, held in a local, and creates every per-type resource with
 * `for_each` over it, so an HCL user adds a type without re-synthesizing.
 */
import { MapTerraformIterator, TerraformIterator, TerraformLocal, Token } from 'cdktf';
import { Construct } from 'constructs';
import { isScheduleExpression, scheduleExpressionCondition, TIME_ZONE_PATTERN } from '../shared/schedule';
import { RUNNER_TYPE_NAME_PATTERN } from '../shared/naming';
import { PropsValidationError, validate, whenKnown } from '../shared/validation';
import { isRunLabel, RUN_LABEL_TERRAFORM_REGEX } from '../contract/run-label';
import { RUNNER_OS, RUNNER_OS_ARCHITECTURES, UNSUPPORTED_RUNNER_OS } from '../contract/runner-types';
import { API_LABEL_TERRAFORM_REGEX, isApiLabel } from '../contract/api-runner';

/** The labels of the default runner type. */
export const DEFAULT_RUNNER_LABELS = ['self-hosted', 'linux', 'x64'];

/** Terraform's priority default for map entries, which have no order of their own. */
export const DEFAULT_PRIORITY = 999;

/** A warm pool window: keep `size` idle runners whenever the schedule fires (philips `pool_config`). */
export interface PoolConfig {
  /** Idle runners to keep, 1 or more; never more than the type's runnersMaximumCount allows. */
  readonly size: number;
  /** When the pool is topped up: an EventBridge Scheduler `rate(…)` or six-field `cron(…)` (see isScheduleExpression), e.g. "cron(*\/5 8-18 ? * MON-FRI *)". */
  readonly scheduleExpression: string;
  /** IANA time zone of the expression. @default "UTC" */
  readonly scheduleExpressionTimezone?: string;
}

/** One kind of runner, for RunnerTypes.fromList: the jobs it serves (labels) and how its instances look. */
export interface RunnerTypeProps {
  /** Unique name, used in resource names (`<prefix>-<kind>_<name>`): lower-case letters, digits and hyphens, 1 to 32 characters, not ending in "-dlq". */
  readonly name: string;
  /** Labels the runners of this type offer. `self-hosted` is implied. Non-empty. */
  readonly labels: string[];
  /** Serve a job only when its labels equal this type's labels (instead of being a subset). @default false */
  readonly exactMatch?: boolean;
  /** Lower wins when several types match a job. @default the type's position in the list */
  readonly priority?: number;
  /**
   * "linux" or "windows" (Windows Server 2022, x64 only, PowerShell user data). "osx" is refused: macOS is not supported yet.
   * On Windows, enableRunnerPackages is ignored and runnerExtraPackages, userdataPreInstall and userdataPostInstall must be empty.
   * @default "linux"
   */
  readonly runnerOs?: string;
  /** "x64" or "arm64" (Linux only). @default "x64" */
  readonly runnerArchitecture?: string;
  /** Instance types to launch, in any order; CreateFleet picks by price and capacity. @default m7i/m6i/m5 large (x64), m7g/m6g large (arm64) */
  readonly instanceTypes?: string[];
  /** Maximum live runners of this type; -1 for no limit. @default 3 */
  readonly runnersMaximumCount?: number;
  /** "spot" or "on-demand". @default "spot" */
  readonly instanceTargetCapacityType?: string;
  /** Spot allocation strategy for CreateFleet. @default "price-capacity-optimized" */
  readonly instanceAllocationStrategy?: string;
  /** Spot errors after which the shortfall is launched on-demand, from FLEET_FAILOVER_ERROR_CODES, e.g. ["InsufficientInstanceCapacity"]. @default [] */
  readonly enableOnDemandFailoverForErrors?: string[];
  /** A fixed AMI id. @default none: the AMI comes from `amiIdSsmParameterName` */
  readonly amiId?: string;
  /** SSM parameter holding the AMI id, resolved by EC2 at launch. @default the public Amazon Linux 2023 alias for the architecture; for Windows, DEFAULT_WINDOWS_AMI_SSM_PARAMETER (Windows Server 2022) */
  readonly amiIdSsmParameterName?: string;
  /** Root volume size in GiB, 8 to 16384 (Windows: at least 30, the size of the Windows Server AMI's snapshot). @default 30 */
  readonly volumeSize?: number;
  /** Subnets for this type. @default the module's subnets */
  readonly subnetIds?: string[];
  /** The AMI already has the runner in /opt/actions-runner; skip the download and every package install (Docker is started if the AMI has it). @default false */
  readonly enablePrebakedAmi?: boolean;
  /**
   * Install what a typical workflow expects (git, docker, jq, unzip, tar; curl comes with AL2023),
   * start Docker and put the runner user in the docker group (root-equivalent on the instance).
   * `false` installs only the runner's own libraries. Ignored for a prebaked AMI except for Docker.
   * @default true
   */
  readonly enableRunnerPackages?: boolean;
  /** More dnf packages to install at boot with the others, e.g. ["make", "gcc"]. Names only: letters, digits, `._+:@-`, not starting with `-` or `.`. Not installed on a prebaked AMI. @default [] */
  readonly runnerExtraPackages?: string[];
  /** Shell snippet run as root with `bash -e` before anything is installed (terraform-aws-github-runner `userdata_pre_install`); a failure fails the boot. At most 3072 bytes (USERDATA_SNIPPET_MAX_BYTES). @default "" */
  readonly userdataPreInstall?: string;
  /** Shell snippet run as root with `bash -e` after the runner is installed, before it starts (terraform-aws-github-runner `userdata_post_install`); a failure fails the boot. At most 3072 bytes (USERDATA_SNIPPET_MAX_BYTES). @default "" */
  readonly userdataPostInstall?: string;
  /** Warm pool windows; needs the module's poolRunnerOwner. @default [] (no pool) */
  readonly poolConfig?: PoolConfig[];
}

/** The shape of one entry in the Terraform map (snake_case, as in the module's variable). */
export interface RunnerTypeEntry {
  /** RunnerTypeProps.labels. */
  readonly labels: string[];
  /** RunnerTypeProps.exactMatch. */
  readonly exact_match: boolean;
  /** RunnerTypeProps.priority. */
  readonly priority: number;
  /** RunnerTypeProps.runnerOs. */
  readonly runner_os: string;
  /** RunnerTypeProps.runnerArchitecture. */
  readonly runner_architecture: string;
  /** RunnerTypeProps.instanceTypes; null: DEFAULT_INSTANCE_TYPES for the architecture. */
  readonly instance_types: string[] | null;
  /** RunnerTypeProps.runnersMaximumCount. */
  readonly runners_maximum_count: number;
  /** RunnerTypeProps.instanceTargetCapacityType. */
  readonly instance_target_capacity_type: string;
  /** RunnerTypeProps.instanceAllocationStrategy. */
  readonly instance_allocation_strategy: string;
  /** RunnerTypeProps.enableOnDemandFailoverForErrors. */
  readonly enable_on_demand_failover_for_errors: string[];
  /** RunnerTypeProps.amiId; null: the AMI comes from an SSM parameter. */
  readonly ami_id: string | null;
  /** RunnerTypeProps.amiIdSsmParameterName; null: DEFAULT_AMI_SSM_PARAMETERS for the architecture. */
  readonly ami_id_ssm_parameter_name: string | null;
  /** RunnerTypeProps.volumeSize. */
  readonly volume_size: number;
  /** RunnerTypeProps.subnetIds; null: the module's subnets. */
  readonly subnet_ids: string[] | null;
  /** RunnerTypeProps.enablePrebakedAmi. */
  readonly enable_prebaked_ami: boolean;
  /** RunnerTypeProps.enableRunnerPackages. */
  readonly enable_runner_packages: boolean;
  /** RunnerTypeProps.runnerExtraPackages. */
  readonly runner_extra_packages: string[];
  /** RunnerTypeProps.userdataPreInstall. */
  readonly userdata_pre_install: string;
  /** RunnerTypeProps.userdataPostInstall. */
  readonly userdata_post_install: string;
  /** RunnerTypeProps.poolConfig, with the time zone filled in. */
  readonly pool_config: { size: number; schedule_expression: string; schedule_expression_timezone: string }[];
}

/** Instance types used when a type names none. */
export const DEFAULT_INSTANCE_TYPES: Record<string, string[]> = {
  x64: ['m7i.large', 'm6i.large', 'm5.large'],
  arm64: ['m7g.large', 'm6g.large'],
};

/** Public SSM aliases for the latest Amazon Linux 2023 AMI. */
export const DEFAULT_AMI_SSM_PARAMETERS: Record<string, string> = {
  x64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
  arm64: '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64',
};

/**
 * The public SSM parameter of the latest Windows Server 2022 (English, Full,
 * Base) AMI, the default image of a `runner_os = "windows"` type. AWS publishes
 * the Windows AMIs under /aws/service/ami-windows-latest/ (AWS Systems Manager
 * user guide, "Calling AMI public parameters": `aws ssm get-parameters-by-path
 * --path /aws/service/ami-windows-latest`; blog "Query for the latest Windows
 * AMI using Systems Manager Parameter Store"). Windows Server 2022 ships
 * EC2Launch v2, which runs the `<powershell>` user data.
 */
export const DEFAULT_WINDOWS_AMI_SSM_PARAMETER = '/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base';

/** Smallest root volume of a Windows type: the Windows Server 2022 Base AMI's snapshot is 30 GiB, and a volume cannot be smaller than its snapshot. */
export const WINDOWS_MIN_VOLUME_SIZE = 30;

const ARCHITECTURES = ['x64', 'arm64'];
const CAPACITY_TYPES = ['spot', 'on-demand'];
const ALLOCATION_STRATEGIES = ['price-capacity-optimized', 'capacity-optimized', 'lowest-price', 'diversified', 'capacity-optimized-prioritized'];


/** A dnf package name or spec as runner_extra_packages accepts it: no spaces, quotes or leading `-` (an option). */
export const PACKAGE_NAME_PATTERN = '^[A-Za-z0-9_@][A-Za-z0-9._+:@-]*$';

/**
 * Longest userdata_pre_install / userdata_post_install, in bytes of UTF-8
 * (Terraform checks `length(base64encode(s))`, as it has no byte length). EC2
 * takes 16 KB of user data; the script is about 7 KB gzipped and a snippet
 * travels base64-encoded, so two snippets of this size still fit (a test checks
 * it with incompressible snippets).
 */
export const USERDATA_SNIPPET_MAX_BYTES = 3072;

/** What the `runner_types` variable's description says about the boot settings. */
export const RUNNER_TYPES_BOOT_DESCRIPTION =
  'Boot: enable_runner_packages (default true) installs git, docker, jq, unzip and tar, starts Docker and adds the runner user to the docker group; ' +
  'runner_extra_packages adds dnf packages; neither installs anything on a prebaked AMI (enable_prebaked_ami). ' +
  `userdata_pre_install / userdata_post_install: shell run as root with bash -e before the installs / after them, before the runner starts; at most ${USERDATA_SNIPPET_MAX_BYTES} bytes each. ` +
  `runner_os: linux (default) or windows (Windows Server 2022, x64 only, volume_size at least ${WINDOWS_MIN_VOLUME_SIZE}; the boot settings above are Linux-only and must stay empty); osx is not supported yet.`;

/** The `runner_types` variable's type, as Terraform writes it. */
export const RUNNER_TYPES_VARIABLE_TYPE = `map(object({
    labels                               = list(string)
    exact_match                          = optional(bool, false)
    priority                             = optional(number, ${DEFAULT_PRIORITY})
    runner_os                            = optional(string, "linux")
    runner_architecture                  = optional(string, "x64")
    instance_types                       = optional(list(string))
    runners_maximum_count                = optional(number, 3)
    instance_target_capacity_type        = optional(string, "spot")
    instance_allocation_strategy         = optional(string, "price-capacity-optimized")
    enable_on_demand_failover_for_errors = optional(list(string), [])
    ami_id                               = optional(string)
    ami_id_ssm_parameter_name            = optional(string)
    volume_size                          = optional(number, 30)
    subnet_ids                           = optional(list(string))
    enable_prebaked_ami                  = optional(bool, false)
    enable_runner_packages               = optional(bool, true)
    runner_extra_packages                = optional(list(string), [])
    userdata_pre_install                 = optional(string, "")
    userdata_post_install                = optional(string, "")
    pool_config = optional(list(object({
      size                         = number
      schedule_expression          = string
      schedule_expression_timezone = optional(string, "UTC")
    })), [])
  }))`;

/**
 * EC2 error codes a spot CreateFleet can report when it comes up short, the
 * values `enable_on_demand_failover_for_errors` may list (the fleet launcher in
 * lambdas/shared/runners/launch-fleet.ts matches them against
 * CreateFleet's `Errors[].ErrorCode`). Source:
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
 */
export const FLEET_FAILOVER_ERROR_CODES = [
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'MaxSpotInstanceCountExceeded',
  'SpotMaxPriceTooLow',
  'UnfulfillableCapacity',
  'InstanceLimitExceeded',
  'VcpuLimitExceeded',
];

/** A rule over every entry `t` (named `n`) of var.runner_types whose message names the types that break it. */
function perType(predicate: string, message: string): { condition: string; errorMessage: string } {
  return {
    condition: `\${alltrue([for n, t in var.runner_types : ${predicate}])}`,
    errorMessage: `runner_types: ${message} (runner types: \${join(", ", [for n, t in var.runner_types : n if !(${predicate})])}).`,
  };
}

const POOL_OK = (p: string) => `alltrue([for p in t.pool_config : ${p}])`;

/** Terraform validations of the runner_types variable, mirroring the list form's rules. */
export const RUNNER_TYPES_VALIDATIONS: { condition: string; errorMessage: string }[] = [
  { condition: '${length(var.runner_types) > 0}', errorMessage: 'runner_types must declare at least one runner type.' },
  perType(`can(regex("${RUNNER_TYPE_NAME_PATTERN.source}", n))`, 'names must be 1 to 32 lower-case letters, digits or hyphens, starting with a letter or digit (no "_": it separates the type in resource names)'),
  perType('!endswith(n, "-dlq")', 'names must not end in "-dlq": the queues of type "x" and its dead-letter queue "x-dlq" would collide with a type named "x-dlq"'),
  perType('length(t.labels) > 0 && alltrue([for l in t.labels : trimspace(l) != ""])', 'labels needs at least one label, and no label may be empty or only whitespace'),
  perType(
    `alltrue([for l in t.labels : !can(regex("${RUN_LABEL_TERRAFORM_REGEX}", l))])`,
    'labels must not have the run-label form ghr-run-<digits>: the webhook adds it to the runner of a job that asks for it, and a type offering it would take that run\'s jobs',
  ),
  perType(
    `alltrue([for l in t.labels : !can(regex("${API_LABEL_TERRAFORM_REGEX}", l))])`,
    'labels must not have the runner-API form ghr-api-<run id>-<attempt>-<index>: the runner API registers it on the one runner it starts, and a type offering it would take that runner\'s job',
  ),
  perType(`contains(${JSON.stringify(ARCHITECTURES)}, t.runner_architecture)`, `runner_architecture must be one of ${ARCHITECTURES.join(', ')}`),
  ...Object.entries(UNSUPPORTED_RUNNER_OS).map(([os, why]) => perType(`t.runner_os != ${JSON.stringify(os)}`, why)),
  perType(`contains(${JSON.stringify([...RUNNER_OS, ...Object.keys(UNSUPPORTED_RUNNER_OS)])}, t.runner_os)`, `runner_os must be one of ${RUNNER_OS.join(', ')}`),
  perType(
    `t.runner_os != "windows" || contains(${JSON.stringify(RUNNER_OS_ARCHITECTURES.windows)}, t.runner_architecture)`,
    `runner_os "windows" runs on ${RUNNER_OS_ARCHITECTURES.windows.join(', ')} only: set runner_architecture = "x64"`,
  ),
  perType(`t.runner_os != "windows" || t.volume_size >= ${WINDOWS_MIN_VOLUME_SIZE}`, `runner_os "windows" needs volume_size of at least ${WINDOWS_MIN_VOLUME_SIZE} GiB (the Windows Server AMI's snapshot size)`),
  perType(
    't.runner_os != "windows" || (length(t.runner_extra_packages) == 0 && t.userdata_pre_install == "" && t.userdata_post_install == "")',
    'runner_os "windows" does not take runner_extra_packages, userdata_pre_install or userdata_post_install yet (they are dnf packages and bash snippets); leave them empty',
  ),
  perType(`contains(${JSON.stringify(CAPACITY_TYPES)}, t.instance_target_capacity_type)`, `instance_target_capacity_type must be one of ${CAPACITY_TYPES.join(', ')}`),
  perType(`contains(${JSON.stringify(ALLOCATION_STRATEGIES)}, t.instance_allocation_strategy)`, `instance_allocation_strategy must be one of ${ALLOCATION_STRATEGIES.join(', ')}`),
  perType(
    `alltrue([for e in t.enable_on_demand_failover_for_errors : contains(${JSON.stringify(FLEET_FAILOVER_ERROR_CODES)}, e)])`,
    `enable_on_demand_failover_for_errors may only list EC2 fleet error codes: ${FLEET_FAILOVER_ERROR_CODES.join(', ')}`,
  ),
  perType('t.runners_maximum_count == -1 || t.runners_maximum_count >= 1', 'runners_maximum_count must be -1 (no limit) or at least 1'),
  perType('t.volume_size >= 8 && t.volume_size <= 16384', 'volume_size must be 8 to 16384 GiB'),
  perType('t.instance_types == null || length(coalesce(t.instance_types, [])) > 0', 'instance_types, when set, must not be empty'),
  perType('t.ami_id == null || t.ami_id_ssm_parameter_name == null', 'set at most one of ami_id and ami_id_ssm_parameter_name'),
  perType(
    `alltrue([for p in t.runner_extra_packages : can(regex("${PACKAGE_NAME_PATTERN}", p))])`,
    'runner_extra_packages may only list dnf package names: letters, digits and . _ + : @ -, not starting with - or .',
  ),
  perType(
    `length(base64encode(t.userdata_pre_install)) <= ${(USERDATA_SNIPPET_MAX_BYTES / 3) * 4} && length(base64encode(t.userdata_post_install)) <= ${(USERDATA_SNIPPET_MAX_BYTES / 3) * 4}`,
    `userdata_pre_install and userdata_post_install must each be at most ${USERDATA_SNIPPET_MAX_BYTES} bytes (EC2 takes 16 KB of user data); fetch a longer script from S3 in the snippet`,
  ),
  perType(POOL_OK('p.size >= 1 && floor(p.size) == p.size'), 'pool_config size must be a whole number, 1 or more'),
  perType(`t.runners_maximum_count == -1 || ${POOL_OK('p.size <= t.runners_maximum_count')}`, 'pool_config size must not exceed the type\'s runners_maximum_count'),
  perType(
    POOL_OK(scheduleExpressionCondition('p.schedule_expression')),
    'pool_config schedule_expression must be an EventBridge rate(1 minute), rate(N minutes|hours|days) or six-field cron(…) expression with "?" in day-of-month or day-of-week',
  ),
  perType(POOL_OK(`can(regex("${TIME_ZONE_PATTERN}", p.schedule_expression_timezone))`), 'pool_config schedule_expression_timezone must be an IANA time zone name: UTC or Area/Location, e.g. Europe/Amsterdam'),
];

/**
 * The kinds of runner, for GitHubRunnersProps.runnerTypes: a typed list
 * (`fromList`, validated at synth) or a Terraform map expression (`fromMap`,
 * validated by the variable's rules at plan).
 */
export abstract class RunnerTypes {
  /** Runner types from a typed list: validated now, in declared order (priority = index unless given). */
  static fromList(types: readonly RunnerTypeProps[]): RunnerTypes {
    return new ListRunnerTypes(types);
  }

  /** Runner types from a Terraform map expression, e.g. the `runner_types` variable; validated by Terraform. */
  static fromMap(map: unknown): RunnerTypes {
    if (!Token.isUnresolved(map)) throw new PropsValidationError('RunnerTypes.fromMap', ['expects a Terraform expression; use RunnerTypes.fromList for literal types']);
    return new MapRunnerTypes(map);
  }

  /** The default: one type named "default" with labels self-hosted, linux, x64. */
  static default(): RunnerTypes {
    return RunnerTypes.fromList([{ name: 'default', labels: DEFAULT_RUNNER_LABELS }]);
  }

  /** The Terraform value of the map: literal or expression. */
  protected abstract value(): unknown;

  /** Whether any type has a warm pool; undefined when only Terraform knows (a map variable). */
  abstract hasPools(): boolean | undefined;

  /**
   * Holds the map in a local and returns it with an iterator over it.
   * `extraLabels` (philips `runner_extra_labels`) join every type's labels
   * there, so the webhook routes on them and runners register with them: one
   * list for both sides.
   */
  bind(scope: Construct, extraLabels: string[] = []): BoundRunnerTypes {
    const value = this.value();
    const merged =
      !Token.isUnresolved(extraLabels) && extraLabels.length === 0
        ? value
        : !Token.isUnresolved(value) && !Token.isUnresolved(extraLabels)
          ? Object.fromEntries(Object.entries(value as Record<string, RunnerTypeEntry>).map(([k, t]) => [k, { ...t, labels: withExtraLabels(t.labels, extraLabels) }]))
          : extraLabelsExpression(`local.${new TerraformLocal(scope, 'runner_types_given', value).friendlyUniqueId}`, `local.${new TerraformLocal(scope, 'runner_extra_labels', extraLabels).friendlyUniqueId}`);
    const local = new TerraformLocal(scope, 'runner_types', merged);
    return { local, iterator: () => TerraformIterator.fromMap(local.asAnyMap) };
  }
}

/** The runner types as the module's constructs use them: one Terraform local and for_each iterators over it. */
export interface BoundRunnerTypes {
  /** `local.runner_types`: name → RunnerTypeEntry. */
  readonly local: TerraformLocal;
  /** A fresh iterator over the map; one per resource that uses for_each. */
  readonly iterator: () => MapTerraformIterator;
}

class ListRunnerTypes extends RunnerTypes {
  private readonly map: Record<string, RunnerTypeEntry>;

  constructor(types: readonly RunnerTypeProps[]) {
    super();
    const names = types.map((t) => t.name);
    const duplicates = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
    validate('RunnerTypes', [
      { ok: types.length > 0, message: 'at least one runner type is required, got none' },
      { ok: duplicates.length === 0, message: `runner type names must be unique, got duplicates: ${duplicates.join(', ')}` },
      ...types.flatMap((t) => [
        whenKnown(t.name, () => RUNNER_TYPE_NAME_PATTERN.test(t.name), `runner type name must be 1 to 32 lower-case letters, digits or hyphens, starting with a letter or digit (no "_": it separates the type in resource names), got "${t.name}"`),
        whenKnown(t.name, () => !t.name.endsWith('-dlq'), `runner type name must not end in "-dlq" (its queues would collide with those of type "${t.name.replace(/-dlq$/, '')}"), got "${t.name}"`),
        whenKnown(t.labels, () => t.labels.length > 0, `runner type "${t.name}" needs at least one label, got none`),
        whenKnown(t.labels, () => t.labels.every((l) => l.trim() !== ''), `runner type "${t.name}" has an empty or whitespace-only label`),
        whenKnown(t.labels, () => !t.labels.some(isRunLabel), `runner type "${t.name}" has a label of the run-label form ghr-run-<digits> (${t.labels.filter(isRunLabel).join(', ')}): run labels are added per job, not offered by a type`),
        whenKnown(t.labels, () => !t.labels.some(isApiLabel), `runner type "${t.name}" has a label of the runner-API form ghr-api-<run id>-<attempt>-<index> (${t.labels.filter(isApiLabel).join(', ')}): the runner API registers it on the runner it starts`),
        ...instanceRules(t),
      ]),
    ]);
    this.map = Object.fromEntries(types.map((t, i) => [t.name, toEntry(t, i)]));
  }

  protected value(): unknown {
    return this.map;
  }

  hasPools(): boolean {
    return Object.values(this.map).some((t) => t.pool_config.length > 0);
  }
}

class MapRunnerTypes extends RunnerTypes {
  constructor(private readonly map: unknown) {
    super();
  }

  protected value(): unknown {
    return this.map;
  }

  hasPools(): undefined {
    return undefined;
  }
}

function instanceRules(t: RunnerTypeProps) {
  const max = t.runnersMaximumCount;
  const size = t.volumeSize;
  const arch = t.runnerArchitecture;
  const os = t.runnerOs;
  const capacity = t.instanceTargetCapacityType;
  const strategy = t.instanceAllocationStrategy;
  const name = `runner type "${t.name}"`;
  return [
    whenKnown(arch, () => arch === undefined || ARCHITECTURES.includes(arch), `${name}: runnerArchitecture must be one of ${ARCHITECTURES.join(', ')}, got "${arch}"`),
    whenKnown(os, () => os === undefined || !(os in UNSUPPORTED_RUNNER_OS), `${name}: runnerOs: ${UNSUPPORTED_RUNNER_OS[os ?? ''] ?? ''}`),
    whenKnown(os, () => os === undefined || os in UNSUPPORTED_RUNNER_OS || (RUNNER_OS as readonly string[]).includes(os), `${name}: runnerOs must be one of ${RUNNER_OS.join(', ')}, got "${os}"`),
    ...(os === 'windows'
      ? [
          whenKnown(arch, () => RUNNER_OS_ARCHITECTURES.windows.includes(arch ?? 'x64'), `${name}: runnerOs "windows" runs on ${RUNNER_OS_ARCHITECTURES.windows.join(', ')} only, got runnerArchitecture "${arch}"`),
          whenKnown(size, () => (size ?? 30) >= WINDOWS_MIN_VOLUME_SIZE, `${name}: runnerOs "windows" needs volumeSize of at least ${WINDOWS_MIN_VOLUME_SIZE} GiB (the Windows Server AMI's snapshot size), got ${size}`),
          whenKnown(
            [t.runnerExtraPackages, t.userdataPreInstall, t.userdataPostInstall],
            () => (t.runnerExtraPackages ?? []).length === 0 && (t.userdataPreInstall ?? '') === '' && (t.userdataPostInstall ?? '') === '',
            `${name}: runnerOs "windows" does not take runnerExtraPackages, userdataPreInstall or userdataPostInstall yet (they are dnf packages and bash snippets); leave them empty`,
          ),
        ]
      : []),
    whenKnown(capacity, () => capacity === undefined || CAPACITY_TYPES.includes(capacity), `${name}: instanceTargetCapacityType must be one of ${CAPACITY_TYPES.join(', ')}, got "${capacity}"`),
    whenKnown(strategy, () => strategy === undefined || ALLOCATION_STRATEGIES.includes(strategy), `${name}: instanceAllocationStrategy must be one of ${ALLOCATION_STRATEGIES.join(', ')}, got "${strategy}"`),
    whenKnown(max, () => max === undefined || max === -1 || max >= 1, `${name}: runnersMaximumCount must be -1 (no limit) or ≥ 1, got ${max}`),
    whenKnown(size, () => size === undefined || (size >= 8 && size <= 16384), `${name}: volumeSize must be 8 to 16384 GiB, got ${size}`),
    whenKnown(
      t.enableOnDemandFailoverForErrors,
      () => (t.enableOnDemandFailoverForErrors ?? []).every((e) => FLEET_FAILOVER_ERROR_CODES.includes(e)),
      `${name}: enableOnDemandFailoverForErrors may only list ${FLEET_FAILOVER_ERROR_CODES.join(', ')}, got ${JSON.stringify(t.enableOnDemandFailoverForErrors)}`,
    ),
    whenKnown(t.instanceTypes, () => t.instanceTypes === undefined || t.instanceTypes.length > 0, `${name}: instanceTypes must not be empty when given`),
    { ok: t.amiId === undefined || t.amiIdSsmParameterName === undefined, message: `${name}: give amiId or amiIdSsmParameterName, not both` },
    whenKnown(
      t.runnerExtraPackages,
      () => (t.runnerExtraPackages ?? []).every((p) => Token.isUnresolved(p) || new RegExp(PACKAGE_NAME_PATTERN).test(p)),
      `${name}: runnerExtraPackages may only list dnf package names (letters, digits and . _ + : @ -, not starting with - or .), got ${JSON.stringify(t.runnerExtraPackages)}`,
    ),
    ...(['userdataPreInstall', 'userdataPostInstall'] as const).map((key) =>
      whenKnown(
        t[key],
        () => Buffer.byteLength(t[key] ?? '', 'utf8') <= USERDATA_SNIPPET_MAX_BYTES,
        `${name}: ${key} must be at most ${USERDATA_SNIPPET_MAX_BYTES} bytes (EC2 takes 16 KB of user data), got ${Buffer.byteLength(t[key] ?? '', 'utf8')}`,
      ),
    ),
    ...(t.poolConfig ?? []).flatMap((p, i) => [
      whenKnown(p.size, () => Number.isInteger(p.size) && p.size >= 1, `${name}: poolConfig[${i}].size must be a whole number, 1 or more, got ${p.size}`),
      whenKnown([p.size, max], () => (max ?? 3) === -1 || p.size <= (max ?? 3), `${name}: poolConfig[${i}].size must not exceed runnersMaximumCount (${max ?? 3}), got ${p.size}`),
      whenKnown(
        p.scheduleExpression,
        () => isScheduleExpression(p.scheduleExpression),
        `${name}: poolConfig[${i}].scheduleExpression must be rate(1 minute), rate(N minutes|hours|days) or a six-field cron(…) with "?" in day-of-month or day-of-week, got "${p.scheduleExpression}"`,
      ),
      whenKnown(
        p.scheduleExpressionTimezone,
        () => p.scheduleExpressionTimezone === undefined || new RegExp(TIME_ZONE_PATTERN).test(p.scheduleExpressionTimezone),
        `${name}: poolConfig[${i}].scheduleExpressionTimezone must be an IANA time zone name (UTC or Area/Location), got "${p.scheduleExpressionTimezone}"`,
      ),
    ]),
  ];
}

/** The same, in Terraform, for a map or labels that are Terraform expressions (`local.…` addresses). */
function extraLabelsExpression(types: string, extra: string): string {
  return `\${{ for k, t in ${types} : k => merge(t, { labels = concat(t.labels, [for l in ${extra} : l if !contains([for o in t.labels : lower(o)], lower(l))]) }) }}`;
}

/** A type's labels followed by the extra labels it does not have yet (case-insensitively, as GitHub compares). */
export function withExtraLabels(labels: readonly string[], extra: readonly string[]): string[] {
  const out = [...labels];
  for (const l of extra) if (!out.some((o) => o.toLowerCase() === l.toLowerCase())) out.push(l);
  return out;
}

/** The map entry for a typed runner type, with every default the variable's type would fill in. */
function toEntry(t: RunnerTypeProps, index: number): RunnerTypeEntry {
  return {
    labels: t.labels,
    exact_match: t.exactMatch ?? false,
    priority: t.priority ?? index,
    runner_os: t.runnerOs ?? 'linux',
    runner_architecture: t.runnerArchitecture ?? 'x64',
    instance_types: t.instanceTypes ?? null,
    runners_maximum_count: t.runnersMaximumCount ?? 3,
    instance_target_capacity_type: t.instanceTargetCapacityType ?? 'spot',
    instance_allocation_strategy: t.instanceAllocationStrategy ?? 'price-capacity-optimized',
    enable_on_demand_failover_for_errors: t.enableOnDemandFailoverForErrors ?? [],
    ami_id: t.amiId ?? null,
    ami_id_ssm_parameter_name: t.amiIdSsmParameterName ?? null,
    volume_size: t.volumeSize ?? 30,
    subnet_ids: t.subnetIds ?? null,
    enable_prebaked_ami: t.enablePrebakedAmi ?? false,
    enable_runner_packages: t.enableRunnerPackages ?? true,
    runner_extra_packages: t.runnerExtraPackages ?? [],
    userdata_pre_install: t.userdataPreInstall ?? '',
    userdata_post_install: t.userdataPostInstall ?? '',
    pool_config: (t.poolConfig ?? []).map((p) => ({
      size: p.size,
      schedule_expression: p.scheduleExpression,
      schedule_expression_timezone: p.scheduleExpressionTimezone ?? 'UTC',
    })),
  };
}
