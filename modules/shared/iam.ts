/**
 * IAM statements in our own small vocabulary, rendered through
 * `aws_iam_policy_document` so that the offline plan shows every action list
 * as a constant and the policy tests can read it.
 */
import { DataAwsIamPolicyDocument, DataAwsIamPolicyDocumentStatement } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
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
  CreateFleet: 'ec2:CreateFleet has no resource-level scoping that survives an instant fleet; what it launches is authorised by RunInstancesFromOwnTemplate.',
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
