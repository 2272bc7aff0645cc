/**
 * A stateful SSM Parameter Store behind aws-sdk-client-mock, for the calls
 * the runner config store and its housekeeping make: PutParameter (with
 * Overwrite and Tags, refusing both at once as SSM does), GetParametersByPath
 * (one level or recursive, MaxResults at most 10, NextToken paging; values of
 * SecureStrings stay encrypted without WithDecryption) and DeleteParameters
 * (at most 10 names; unknown names come back as InvalidParameters).
 * Every call carries a sequence number shared with the other fakes.
 */
import {
  DeleteParametersCommand,
  DeleteParametersCommandInput,
  GetParametersByPathCommand,
  GetParametersByPathCommandInput,
  Parameter,
  ParameterAlreadyExists,
  PutParameterCommand,
  PutParameterCommandInput,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { AwsClientStub } from 'aws-sdk-client-mock';
import { nextCallSequence } from './call-sequence';

type CommandName = 'PutParameter' | 'GetParametersByPath' | 'DeleteParameters';

/** One call the fake received. */
export interface SsmCall {
  readonly command: CommandName;
  readonly input: PutParameterCommandInput | GetParametersByPathCommandInput | DeleteParametersCommandInput;
  /** Position among the calls of every fake. */
  readonly seq: number;
}

/** A stored parameter. */
export interface StoredParameter {
  readonly name: string;
  readonly value: string;
  readonly type: 'String' | 'SecureString';
  readonly lastModified: Date;
  readonly tags: Record<string, string>;
}

/** An SSM error as the SDK raises it. */
export function ssmError(name: string, message = name): SSMServiceException {
  return new SSMServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

/** The fake. */
export class FakeSsm {
  readonly parameters = new Map<string, StoredParameter>();
  readonly calls: SsmCall[] = [];
  /** Clock for LastModifiedDate of PutParameter. */
  now: () => Date = () => new Date();
  private readonly failures: { command: CommandName; error: Error; left: number }[] = [];

  constructor(mock: AwsClientStub<SSMClient>) {
    mock.on(PutParameterCommand).callsFake(async (input: PutParameterCommandInput) => this.put(input));
    mock.on(GetParametersByPathCommand).callsFake(async (input: GetParametersByPathCommandInput) => this.byPath(input));
    mock.on(DeleteParametersCommand).callsFake(async (input: DeleteParametersCommandInput) => this.delete(input));
  }

  /** Fail the next `times` calls of `command` with `error`. */
  failNext(command: CommandName, error: Error, times = 1): void {
    this.failures.push({ command, error, left: times });
  }

  /** Store a SecureString directly. */
  seed(name: string, options: { value?: string; lastModified?: Date; tags?: Record<string, string> } = {}): void {
    this.parameters.set(name, {
      name,
      value: options.value ?? '{"mode":"jit","jit_config":"SEEDED"}',
      type: 'SecureString',
      lastModified: options.lastModified ?? this.now(),
      tags: options.tags ?? {},
    });
  }

  /** Calls of one command. */
  callsOf(command: CommandName): SsmCall[] {
    return this.calls.filter((c) => c.command === command);
  }

  private record(command: CommandName, input: SsmCall['input']): void {
    this.calls.push({ command, input, seq: nextCallSequence() });
    const failure = this.failures.find((f) => f.command === command && f.left > 0);
    if (failure) {
      failure.left -= 1;
      throw failure.error;
    }
  }

  private put(input: PutParameterCommandInput) {
    this.record('PutParameter', input);
    if (!input.Name || input.Value === undefined) throw ssmError('ValidationException', 'Name and Value are required');
    if (input.Overwrite && input.Tags) throw ssmError('ValidationException', 'Invalid request: tags and overwrite can\'t be used together.');
    const existing = this.parameters.get(input.Name);
    if (existing && !input.Overwrite) throw new ParameterAlreadyExists({ message: 'The parameter already exists.', $metadata: {} });
    const tags = existing?.tags ?? Object.fromEntries((input.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    this.parameters.set(input.Name, {
      name: input.Name,
      value: input.Value,
      type: input.Type === 'SecureString' ? 'SecureString' : 'String',
      lastModified: this.now(),
      tags,
    });
    return { Version: 1, Tier: 'Standard' };
  }

  private byPath(input: GetParametersByPathCommandInput) {
    this.record('GetParametersByPath', input);
    const max = input.MaxResults ?? 10;
    if (max > 10) throw ssmError('ValidationException', 'MaxResults must be at most 10');
    const path = (input.Path ?? '').replace(/\/+$/, '');
    const matching = [...this.parameters.values()]
      .filter((p) => p.name.startsWith(`${path}/`) && (input.Recursive || !p.name.slice(path.length + 1).includes('/')))
      .sort((a, b) => a.name.localeCompare(b.name));
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const page = matching.slice(start, start + max);
    const parameters: Parameter[] = page.map((p) => ({
      Name: p.name,
      Type: p.type,
      // Without WithDecryption a SecureString comes back as ciphertext.
      Value: p.type === 'SecureString' && !input.WithDecryption ? `AQICAH-ciphertext-of-${p.name}` : p.value,
      LastModifiedDate: p.lastModified,
      Version: 1,
    }));
    const next = start + max < matching.length ? String(start + max) : undefined;
    return { Parameters: parameters, ...(next ? { NextToken: next } : {}) };
  }

  private delete(input: DeleteParametersCommandInput) {
    this.record('DeleteParameters', input);
    const names = input.Names ?? [];
    if (names.length === 0 || names.length > 10) throw ssmError('ValidationException', 'Names must hold 1 to 10 names');
    const deleted: string[] = [];
    const invalid: string[] = [];
    for (const n of names) {
      if (this.parameters.delete(n)) deleted.push(n);
      else invalid.push(n);
    }
    return { DeletedParameters: deleted, InvalidParameters: invalid };
  }
}
