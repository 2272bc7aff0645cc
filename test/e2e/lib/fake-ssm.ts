/**
 * A stateful SSM Parameter Store behind aws-sdk-client-mock.
 *
 * It keeps parameters with their type, key, tier, tags and version, and
 * answers like SSM where the code depends on it:
 * - PutParameter: ParameterAlreadyExists without Overwrite; a ValidationException
 *   for Tags together with Overwrite; Standard tier values of at most 4 KB.
 * - GetParameter / DeleteParameter: ParameterNotFound.
 * - GetParameters: unknown names in InvalidParameters; at most 10 names.
 * - GetParametersByPath: Recursive or one level, pages of MaxResults (≤ 10).
 * - DeleteParameters: unknown names in InvalidParameters.
 * - DescribeParameters with a Path filter, ListTagsForResource.
 * Anything else is rejected, so a new call in the code shows up as a failure
 * here rather than as a silent `undefined`.
 */
import {
  DeleteParameterCommand,
  DeleteParameterCommandInput,
  DeleteParametersCommand,
  DeleteParametersCommandInput,
  DescribeParametersCommand,
  DescribeParametersCommandInput,
  GetParameterCommand,
  GetParameterCommandInput,
  GetParametersByPathCommand,
  GetParametersByPathCommandInput,
  GetParametersCommand,
  GetParametersCommandInput,
  ListTagsForResourceCommand,
  ListTagsForResourceCommandInput,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  PutParameterCommandInput,
  SSMClient,
  SSMServiceException,
  Tag,
  ValidationException,
} from '@aws-sdk/client-ssm';
import { AwsClientStub } from 'aws-sdk-client-mock';

type CommandName =
  | 'GetParameter'
  | 'GetParameters'
  | 'PutParameter'
  | 'DeleteParameter'
  | 'DeleteParameters'
  | 'GetParametersByPath'
  | 'DescribeParameters'
  | 'ListTagsForResource';

/** One stored parameter. */
export interface StoredParameter {
  readonly name: string;
  value: string;
  type: 'String' | 'StringList' | 'SecureString';
  keyId?: string;
  tier: string;
  tags: Tag[];
  version: number;
  lastModified: Date;
}

/** An SSM error that the SDK does not model as a class (e.g. ThrottlingException). */
export function ssmError(name: string, message = name): SSMServiceException {
  return new SSMServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

const STANDARD_MAX_BYTES = 4096;

export class FakeSsm {
  readonly parameters = new Map<string, StoredParameter>();
  /** Every call, with performance.now() when it arrived (the bench times the control plane by it). */
  readonly calls: { command: CommandName; input: unknown; at: number }[] = [];
  private readonly failures: { command: CommandName; error: Error; left: number; match?: (input: never) => boolean }[] = [];

  constructor(
    mock: AwsClientStub<SSMClient>,
    private readonly now: () => number = Date.now,
  ) {
    mock.onAnyCommand().callsFake(async (input: unknown) => {
      throw new Error(`fake SSM: command not modelled (input ${JSON.stringify(input)})`);
    });
    mock.on(GetParameterCommand).callsFake(async (i: GetParameterCommandInput) => this.getParameter(i));
    mock.on(GetParametersCommand).callsFake(async (i: GetParametersCommandInput) => this.getParameters(i));
    mock.on(PutParameterCommand).callsFake(async (i: PutParameterCommandInput) => this.putParameter(i));
    mock.on(DeleteParameterCommand).callsFake(async (i: DeleteParameterCommandInput) => this.deleteParameter(i));
    mock.on(DeleteParametersCommand).callsFake(async (i: DeleteParametersCommandInput) => this.deleteParameters(i));
    mock.on(GetParametersByPathCommand).callsFake(async (i: GetParametersByPathCommandInput) => this.getParametersByPath(i));
    mock.on(DescribeParametersCommand).callsFake(async (i: DescribeParametersCommandInput) => this.describeParameters(i));
    mock.on(ListTagsForResourceCommand).callsFake(async (i: ListTagsForResourceCommandInput) => this.listTags(i));
  }

  /** Store a parameter directly (the operator's secrets). */
  seed(name: string, value: string, type: StoredParameter['type'] = 'SecureString'): void {
    this.parameters.set(name, { name, value, type, tier: 'Standard', tags: [], version: 1, lastModified: new Date(this.now()) });
  }

  /** Fail the next `times` calls of `command` (optionally only those whose input matches) with `error`. */
  failNext<I>(command: CommandName, error: Error, times = 1, match?: (input: I) => boolean): void {
    this.failures.push({ command, error, left: times, match: match as ((input: never) => boolean) | undefined });
  }

  /** Names at or under `path`. */
  namesUnder(path: string): string[] {
    const prefix = path.replace(/\/+$/, '') + '/';
    return [...this.parameters.keys()].filter((n) => n.startsWith(prefix)).sort();
  }

  /** Calls of one command. */
  count(command: CommandName): number {
    return this.calls.filter((c) => c.command === command).length;
  }

  private record(command: CommandName, input: unknown): void {
    this.calls.push({ command, input, at: performance.now() });
    const failure = this.failures.find((f) => f.command === command && f.left > 0 && (!f.match || f.match(input as never)));
    if (failure) {
      failure.left -= 1;
      throw failure.error;
    }
  }

  private notFound(): ParameterNotFound {
    return new ParameterNotFound({ message: 'Parameter not found.', $metadata: { httpStatusCode: 400 } });
  }

  private view(p: StoredParameter, decrypt: boolean | undefined) {
    return {
      Name: p.name,
      Type: p.type,
      // Without decryption SSM returns the ciphertext; callers here always decrypt.
      Value: p.type === 'SecureString' && !decrypt ? `encrypted:${Buffer.from(p.value).toString('base64').slice(0, 16)}` : p.value,
      Version: p.version,
      LastModifiedDate: p.lastModified,
      ARN: `arn:aws:ssm:eu-west-1:123456789012:parameter${p.name}`,
      DataType: 'text',
    };
  }

  private getParameter(input: GetParameterCommandInput) {
    this.record('GetParameter', input);
    const p = this.parameters.get(input.Name ?? '');
    if (!p) throw this.notFound();
    return { $metadata: {}, Parameter: this.view(p, input.WithDecryption) };
  }

  private getParameters(input: GetParametersCommandInput) {
    this.record('GetParameters', input);
    const names = input.Names ?? [];
    if (names.length === 0 || names.length > 10) throw new ValidationException({ message: 'Names must hold 1 to 10 names', $metadata: {} });
    const found = names.filter((n) => this.parameters.has(n));
    return {
      $metadata: {},
      Parameters: found.map((n) => this.view(this.parameters.get(n)!, input.WithDecryption)),
      InvalidParameters: names.filter((n) => !this.parameters.has(n)),
    };
  }

  private putParameter(input: PutParameterCommandInput) {
    this.record('PutParameter', input);
    const name = input.Name ?? '';
    if (!name.startsWith('/') || input.Value === undefined) throw new ValidationException({ message: 'Name and Value are required', $metadata: {} });
    if (input.Tags && input.Overwrite) {
      throw new ValidationException({ message: 'Invalid request: tags and overwrite can\'t be used together.', $metadata: {} });
    }
    const tier = input.Tier === 'Intelligent-Tiering' ? (Buffer.byteLength(input.Value) > STANDARD_MAX_BYTES ? 'Advanced' : 'Standard') : (input.Tier ?? 'Standard');
    if (tier === 'Standard' && Buffer.byteLength(input.Value) > STANDARD_MAX_BYTES) {
      throw new ValidationException({ message: 'Standard tier parameters support a maximum parameter value of 4096 characters.', $metadata: {} });
    }
    const existing = this.parameters.get(name);
    if (existing && !input.Overwrite) {
      throw new ParameterAlreadyExists({ message: 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.', $metadata: {} });
    }
    const version = (existing?.version ?? 0) + 1;
    this.parameters.set(name, {
      name,
      value: input.Value,
      type: (input.Type ?? existing?.type ?? 'String') as StoredParameter['type'],
      keyId: input.KeyId ?? existing?.keyId,
      tier,
      tags: existing?.tags ?? [...(input.Tags ?? [])],
      version,
      lastModified: new Date(this.now()),
    });
    return { $metadata: {}, Version: version, Tier: tier };
  }

  private deleteParameter(input: DeleteParameterCommandInput) {
    this.record('DeleteParameter', input);
    if (!this.parameters.delete(input.Name ?? '')) throw this.notFound();
    return { $metadata: {} };
  }

  private deleteParameters(input: DeleteParametersCommandInput) {
    this.record('DeleteParameters', input);
    const names = input.Names ?? [];
    if (names.length === 0 || names.length > 10) throw new ValidationException({ message: 'Names must hold 1 to 10 names', $metadata: {} });
    const deleted = names.filter((n) => this.parameters.delete(n));
    return { $metadata: {}, DeletedParameters: deleted, InvalidParameters: names.filter((n) => !deleted.includes(n)) };
  }

  private getParametersByPath(input: GetParametersByPathCommandInput) {
    this.record('GetParametersByPath', input);
    const path = (input.Path ?? '').replace(/\/+$/, '');
    const max = Math.min(input.MaxResults ?? 10, 10);
    const under = this.namesUnder(path).filter((n) => input.Recursive || !n.slice(path.length + 1).includes('/'));
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const page = under.slice(start, start + max);
    const next = start + max < under.length ? String(start + max) : undefined;
    return { $metadata: {}, Parameters: page.map((n) => this.view(this.parameters.get(n)!, input.WithDecryption)), NextToken: next };
  }

  private describeParameters(input: DescribeParametersCommandInput) {
    this.record('DescribeParameters', input);
    const pathFilter = (input.ParameterFilters ?? []).find((f) => f.Key === 'Path');
    const other = (input.ParameterFilters ?? []).filter((f) => f.Key !== 'Path');
    if (other.length > 0 || (input.Filters ?? []).length > 0) throw new Error('fake SSM: DescribeParameters supports only a Path filter');
    const path = pathFilter?.Values?.[0] ?? '/';
    const recursive = pathFilter?.Option === 'Recursive';
    const names = this.namesUnder(path).filter((n) => recursive || !n.slice(path.replace(/\/+$/, '').length + 1).includes('/'));
    const max = Math.min(input.MaxResults ?? 50, 50);
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const page = names.slice(start, start + max).map((n) => this.parameters.get(n)!);
    return {
      $metadata: {},
      Parameters: page.map((p) => ({ Name: p.name, Type: p.type, KeyId: p.keyId, Tier: p.tier, Version: p.version, LastModifiedDate: p.lastModified })),
      NextToken: start + max < names.length ? String(start + max) : undefined,
    };
  }

  private listTags(input: ListTagsForResourceCommandInput) {
    this.record('ListTagsForResource', input);
    const p = this.parameters.get(input.ResourceId ?? '');
    if (!p) throw ssmError('InvalidResourceId', 'The resource ID is not valid.');
    return { $metadata: {}, TagList: p.tags };
  }
}
