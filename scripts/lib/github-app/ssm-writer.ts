/**
 * Writes the App's credentials as SSM SecureString parameters, idempotently.
 *
 * A parameter is left alone when it already holds the same value as a
 * SecureString under the requested KMS key; otherwise it is written with
 * `Overwrite: true`, which adds a version (the previous value stays in the
 * parameter's history). Values are compared in memory and never returned in
 * outcomes or errors.
 */
import {
  DescribeParametersCommand,
  GetParameterCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';

/** One parameter to write. */
export interface SecureParameter {
  /** Which item this is, for messages: "app id", "private key", "webhook secret". */
  readonly label: string;
  readonly name: string;
  readonly value: string;
  readonly description: string;
}

/** What a parameter holds now, as far as it matters here. */
export interface StoredParameter {
  readonly value: string;
  readonly type: string | undefined;
}

export type WriteOutcome = 'created' | 'updated' | 'unchanged';

export interface WriteResult {
  readonly label: string;
  readonly name: string;
  readonly outcome: WriteOutcome;
}

/** An SSM call failed. Carries the parameter name and AWS's error, not the value. */
export class SsmParameterError extends Error {
  constructor(
    readonly parameterName: string,
    action: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`${action} ${parameterName} failed: ${reason}`);
    this.name = 'SsmParameterError';
  }
}

export class SecureParameterStore {
  constructor(private readonly ssm: SSMClient) {}

  /** The decrypted current value, or undefined when the parameter does not exist. */
  async read(name: string): Promise<StoredParameter | undefined> {
    try {
      const out = await this.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      if (out.Parameter?.Value === undefined) return undefined;
      return { value: out.Parameter.Value, type: out.Parameter.Type };
    } catch (err) {
      if (err instanceof ParameterNotFound || (err as { name?: string }).name === 'ParameterNotFound') return undefined;
      throw new SsmParameterError(name, 'reading', err);
    }
  }

  /** Write each parameter unless it already holds the value; in order, stopping at the first failure. */
  async writeAll(parameters: readonly SecureParameter[], kmsKeyId: string | undefined, onResult?: (r: WriteResult) => void): Promise<WriteResult[]> {
    const results: WriteResult[] = [];
    for (const p of parameters) {
      const result = { label: p.label, name: p.name, outcome: await this.write(p, kmsKeyId) };
      results.push(result);
      onResult?.(result);
    }
    return results;
  }

  /** Write one parameter unless it already holds the value as a SecureString under `kmsKeyId`. */
  async write(parameter: SecureParameter, kmsKeyId: string | undefined): Promise<WriteOutcome> {
    const current = await this.read(parameter.name);
    if (current !== undefined && current.value === parameter.value && current.type === 'SecureString') {
      if (kmsKeyId === undefined || sameKmsKey(await this.keyIdOf(parameter.name), kmsKeyId)) return 'unchanged';
    }
    try {
      await this.ssm.send(
        new PutParameterCommand({
          Name: parameter.name,
          Value: parameter.value,
          Type: 'SecureString',
          KeyId: kmsKeyId,
          Overwrite: true,
          Description: parameter.description,
        }),
      );
    } catch (err) {
      throw new SsmParameterError(parameter.name, 'writing', err);
    }
    return current === undefined ? 'created' : 'updated';
  }

  /** The KMS key a SecureString is encrypted under, when DescribeParameters is allowed; else undefined (then we rewrite). */
  private async keyIdOf(name: string): Promise<string | undefined> {
    try {
      const out = await this.ssm.send(
        new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] }),
      );
      return out.Parameters?.find((p) => p.Name === name)?.KeyId;
    } catch {
      return undefined;
    }
  }
}

/** The same key, whether given as key id or key ARN (aliases cannot be resolved here, so they must match as written). */
export function sameKmsKey(stored: string | undefined, wanted: string): boolean {
  if (stored === undefined) return false;
  if (stored === wanted) return true;
  const keyIdOf = (k: string) => (k.startsWith('arn:') ? (/:key\/(.+)$/.exec(k)?.[1] ?? k) : k);
  return keyIdOf(stored) === keyIdOf(wanted);
}
