/**
 * IAM statements in our own small vocabulary, rendered through
 * `aws_iam_policy_document` so that the offline plan shows every action list
 * as a constant and the policy tests can read it.
 */
import { DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { IamRole, IamRoleConfig } from '@cdktf/provider-aws/lib/iam-role';
import { Fn, IResolvable, ITerraformIterator, Token } from 'cdktf';
import { Construct } from 'constructs';
import { eachRef } from './iteration';

export interface Condition {
  /** e.g. "StringEquals", "ArnLike". */
  readonly test: string;
  /** e.g. "aws:ResourceTag/ghr:prefix". */
  readonly variable: string;
  readonly values: string[];
}

export interface Statement {
  /** Also names the statement in the policy tests; wildcard statements need one listed in WILDCARD_RESOURCE_SIDS. */
  readonly sid: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: Condition[];
  /** @default "Allow" */
  readonly effect?: 'Allow' | 'Deny';
  /** Service or AWS principals, for resource policies (key policies, bucket policies). */
  readonly principals?: { readonly type: 'Service' | 'AWS'; readonly identifiers: string[] }[];
}

/**
 * Statements allowed to use `Resource: "*"`, and why. The policy tests fail
 * on any other wildcard resource (CKV_AWS_356).
 */
export const WILDCARD_RESOURCE_SIDS: Record<string, string> = {
  XRayWrite: 'X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions.',
  VpcNetworkInterfaces:
    'ec2:Create/Describe/DeleteNetworkInterface for Lambda in a VPC have no resource-level scoping for Describe; the module scopes nothing further, as AWSLambdaVPCAccessExecutionRole does.',
  KeyAdministration: 'A key policy\'s "*" resource means "this key"; the principal is the account root only.',
  KeyUseViaServices: 'A key policy\'s "*" resource means "this key"; use is limited to SQS and SSM in this account via kms:ViaService.',
  KeyUseByCloudWatchLogs: 'A key policy\'s "*" resource means "this key"; limited to this module\'s log groups by encryption context.',
  DescribeInstances: 'ec2:DescribeInstances supports no resource-level permissions.',
  RunInstancesFromOwnTemplate:
    'RunInstances touches instances, volumes, interfaces, subnets, groups and images; every one is allowed only when launched from this runner type\'s launch template (ec2:LaunchTemplate).',
  RunInstancesFromModuleTemplates:
    'As RunInstancesFromOwnTemplate, for the warm pool, which launches every runner type: allowed only from the module\'s launch templates (ec2:LaunchTemplate).',
};

/** Statements that apply only when `when` holds; `when` may be a Terraform boolean expression. */
export interface ConditionalStatements {
  readonly when: boolean | IResolvable;
  readonly statements: readonly Statement[];
}

export interface PolicyDocumentOptions {
  /** Extra statements that apply only under a condition known at plan time. @default none */
  readonly conditional?: readonly ConditionalStatements[];
  /** One document per element, for per-runner-type roles. @default one document */
  readonly forEach?: ITerraformIterator;
}

export function policyDocument(
  scope: Construct,
  id: string,
  statements: readonly Statement[],
  options: PolicyDocumentOptions = {},
): DataAwsIamPolicyDocument {
  const fixed = [...statements];
  const sources: string[] = [];
  (options.conditional ?? []).forEach((c, i) => {
    if (c.when === true) fixed.push(...c.statements);
    else if (c.when !== false) {
      // Decided by Terraform: merge a second document only when the condition holds.
      const extra = new DataAwsIamPolicyDocument(scope, `${id}-conditional-${i}`, {
        statement: c.statements.map(toStatement),
        forEach: options.forEach,
      });
      sources.push(Token.asString(Fn.conditional(c.when, [options.forEach ? eachRef(extra, 'json') : extra.json], [])));
    }
  });
  return new DataAwsIamPolicyDocument(scope, id, {
    statement: fixed.map(toStatement),
    sourcePolicyDocuments: sources.length === 0 ? undefined : Token.asList(Fn.flatten(sources)),
    forEach: options.forEach,
  });
}

function toStatement(s: Statement): DataAwsIamPolicyDocumentStatement {
  return {
    sid: s.sid,
    effect: s.effect ?? 'Allow',
    actions: s.actions,
    resources: s.resources,
    condition: s.conditions?.map((c) => ({ test: c.test, variable: c.variable, values: c.values })),
    principals: s.principals?.map((p) => ({ type: p.type, identifiers: p.identifiers })),
  };
}

/**
 * What an enterprise asks of every IAM role (philips `role_path`,
 * `role_permissions_boundary`). Every role the module creates is made by
 * {@link moduleRole}, which applies them; a plan test checks every planned
 * `aws_iam_role`, and a source test that no construct calls `new IamRole`.
 */
export interface RoleSettings {
  /** IAM path of every role: starts and ends with "/". @default "/" (the IAM default) */
  readonly path?: string;
  /** ARN of the managed policy set as the permissions boundary of every role. @default none */
  readonly permissionsBoundary?: string;
}

/** IAM path pattern (IAM API: `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`, at most 512 characters). */
export const IAM_PATH_PATTERN = /^\/([\x21-\x7E]*\/)?$/;
/** A managed policy ARN: an AWS managed (`iam::aws:`) or customer managed (`iam::<account>:`) policy. */
export const POLICY_ARN_PATTERN = /^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy\/[\x21-\x7E]+$/;

/** The one way the module creates an IAM role: with the path and permissions boundary of `settings`. */
export function moduleRole(scope: Construct, id: string, config: Omit<IamRoleConfig, 'path' | 'permissionsBoundary'>, settings: RoleSettings): IamRole {
  return new IamRole(scope, id, { ...config, path: settings.path, permissionsBoundary: settings.permissionsBoundary });
}
