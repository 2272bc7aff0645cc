/**
 * A Lambda function with its own role, its own encrypted log group (created
 * before the function), and an environment encrypted with the module key.
 * The role gets only what the caller grants, plus writing to its own log group
 * and decrypting its own environment.
 */
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { IResolvable, ITerraformIterator, Op, Token } from 'cdktf';
import { Construct } from 'constructs';
import { moduleRole, policyDocument, RoleSettings, Statement } from './iam';
import { eachRef } from './iteration';
import { LambdaCode } from './lambda-code';
import { EncryptedLogGroup } from './log-group';
import { mergeTags } from './tags';
import { MODULE_VERSION, MODULE_VERSION_TAG } from './version';
import { ModuleKey } from './module-key';
import { validate, whenKnown } from './validation';

/** The runtime the bundles target (scripts/lib/lambda-bundles.ts builds for node22). */
export const LAMBDA_RUNTIME = 'nodejs22.x';

/**
 * The handler of every function: `handler` of the zip's ES module entry
 * `index.mjs` (scripts/lib/lambda-bundles.ts writes it; the zip has no
 * index.js, so the runtime's lookup of `index` finds it).
 */
export const LAMBDA_HANDLER = 'index.handler';

/** The network of VPC-attached Lambdas (`aws_lambda_function` `vpc_config`). */
export interface LambdaVpcConfig {
  /** Subnets for the function's network interfaces. An empty list means no VPC. */
  readonly subnetIds: string[];
  /** Security groups of the function's network interfaces; they need outbound HTTPS to GitHub and the AWS APIs. */
  readonly securityGroupIds: string[];
}

export interface ModuleFunctionProps {
  /** Full function name, e.g. `<prefix>-webhook`. Also names the role and the log group `/aws/lambda/<name>`. */
  readonly functionName: string;
  readonly description: string;
  readonly code: LambdaCode;
  readonly key: ModuleKey;
  /** What the function may do, beyond its own logs and environment. */
  readonly statements: readonly Statement[];
  /** Environment variables (encrypted with the module key). @default {} */
  readonly environment?: Record<string, string>;
  /** Seconds, 1 to 900. @default 30 */
  readonly timeoutSeconds?: number;
  /** MB, 128 to 10240. @default 256 */
  readonly memorySizeMb?: number;
  /** Reserved concurrency; -1 for none. @default -1 */
  readonly reservedConcurrentExecutions?: number;
  /** "arm64" or "x86_64". @default "arm64" */
  readonly architecture?: string;
  /** X-Ray tracing, "PassThrough" or "Active". @default "PassThrough" */
  readonly tracingMode?: string;
  /** Run in a VPC. @default not in a VPC */
  readonly vpc?: LambdaVpcConfig;
  /** True when the function runs in a VPC; a Terraform expression when decided at plan time. @default derived from `vpc` */
  readonly vpcEnabled?: boolean | IResolvable;
  /** Log retention in days. @default 180 */
  readonly logRetentionInDays?: number;
  /** Path and permissions boundary of the function's role. @default none */
  readonly role?: RoleSettings;
  /** One function per element (per runner type). @default one function */
  readonly forEach?: ITerraformIterator;
  /** @default {} */
  readonly tags?: Record<string, string>;
}

export class ModuleFunction extends Construct {
  readonly function: LambdaFunction;
  readonly role: IamRole;
  readonly logGroup: EncryptedLogGroup;

  constructor(scope: Construct, id: string, props: ModuleFunctionProps) {
    super(scope, id);
    const timeout = props.timeoutSeconds ?? 30;
    const memory = props.memorySizeMb ?? 256;
    const reserved = props.reservedConcurrentExecutions ?? -1;
    const architecture = props.architecture ?? 'arm64';
    const tracing = props.tracingMode ?? 'PassThrough';
    validate('ModuleFunction', [
      whenKnown(timeout, () => timeout >= 1 && timeout <= 900, `timeoutSeconds must be 1 to 900, got ${timeout}`),
      whenKnown(memory, () => memory >= 128 && memory <= 10240, `memorySizeMb must be 128 to 10240, got ${memory}`),
      whenKnown(reserved, () => reserved >= -1, `reservedConcurrentExecutions must be -1 or more, got ${reserved}`),
      whenKnown(architecture, () => ['arm64', 'x86_64'].includes(architecture), `architecture must be arm64 or x86_64, got ${architecture}`),
      whenKnown(tracing, () => ['PassThrough', 'Active'].includes(tracing), `tracingMode must be PassThrough or Active, got ${tracing}`),
    ]);
    const common = { forEach: props.forEach, tags: props.tags };

    this.logGroup = new EncryptedLogGroup(this, 'logs', {
      name: `/aws/lambda/${props.functionName}`,
      key: props.key,
      retentionInDays: props.logRetentionInDays,
      ...common,
    });

    this.role = moduleRole(
      this,
      'role',
      {
        name: props.functionName,
        assumeRolePolicy: policyDocument(this, 'assume-role', [
          { sid: 'LambdaAssumeRole', actions: ['sts:AssumeRole'], resources: [], principals: [{ type: 'Service', identifiers: ['lambda.amazonaws.com'] }] },
        ]).json,
        ...common,
      },
      props.role ?? {},
    );

    const logGroupArn = props.forEach ? eachRef(this.logGroup.logGroup, 'arn') : this.logGroup.arn;
    const document = policyDocument(
      this,
      'policy-document',
      [
        { sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${logGroupArn}:*`] },
        { sid: 'DecryptOwnEnvironment', actions: ['kms:Decrypt'], resources: [props.key.arn] },
        ...props.statements,
      ],
      {
        forEach: props.forEach,
        conditional: [
          {
            // A module input decides at plan time; a typed prop decides now.
            when: Token.isUnresolved(tracing) ? Op.eq(tracing, 'Active') : tracing === 'Active',
            statements: [{ sid: 'XRayWrite', actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }],
          },
          {
            when: props.vpcEnabled ?? props.vpc !== undefined,
            statements: [
              {
                sid: 'VpcNetworkInterfaces',
                actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
                resources: ['*'],
              },
            ],
          },
        ],
      },
    );
    new IamRolePolicy(this, 'policy', {
      name: 'grants',
      role: props.forEach ? this.eachRole('name') : this.role.name,
      policy: props.forEach ? eachRef(document, 'json') : document.json,
      forEach: props.forEach,
    });

    this.function = new LambdaFunction(this, 'function', {
      functionName: props.functionName,
      description: props.description,
      role: props.forEach ? this.eachRole('arn') : this.role.arn,
      runtime: LAMBDA_RUNTIME,
      handler: LAMBDA_HANDLER,
      architectures: [architecture],
      timeout,
      memorySize: memory,
      reservedConcurrentExecutions: reserved,
      kmsKeyArn: props.key.arn,
      environment: { variables: props.environment ?? {} },
      tracingConfig: { mode: tracing },
      vpcConfig: props.vpc ? { subnetIds: props.vpc.subnetIds, securityGroupIds: props.vpc.securityGroupIds } : undefined,
      loggingConfig: { logFormat: 'Text', logGroup: props.forEach ? eachRef(this.logGroup.logGroup, 'name') : this.logGroup.name },
      ...props.code.bind(this),
      dependsOn: [this.logGroup.logGroup],
      ...common,
      // Only the functions carry the release: they are what it changes (new code), so the tag adds no resource to an upgrade's plan.
      tags: mergeTags(props.tags, { [MODULE_VERSION_TAG]: MODULE_VERSION }),
    });
  }

  /** The role instance with the same for_each key as the resource being defined. */
  private eachRole(attribute: string): string {
    return eachRef(this.role, attribute);
  }
}
