/**
 * Reads SecureString parameters (GitHub App id, private key, webhook secret)
 * from SSM, decrypted with the module's KMS key, and caches them per container.
 *
 * Values never leave this module except to the caller that asked; they are
 * never logged. `refresh` re-reads, so a rotated secret is picked up without a
 * redeploy.
 */
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';

export class MissingParameterError extends Error {
  constructor(readonly names: string[]) {
    super(`SSM parameters not found: ${names.join(', ')}`);
    this.name = 'MissingParameterError';
  }
}

export class ParameterCache {
  private readonly values = new Map<string, string>();

  constructor(private readonly ssm: SSMClient = new SSMClient({})) {}

  /** Values for `names`, from the cache unless `refresh`; one GetParameters call for whatever is missing. */
  async get(names: readonly string[], options: { refresh?: boolean } = {}): Promise<Record<string, string>> {
    const wanted = options.refresh ? [...new Set(names)] : [...new Set(names)].filter((n) => !this.values.has(n));
    // GetParameters takes at most 10 names per call.
    for (let i = 0; i < wanted.length; i += 10) {
      const chunk = wanted.slice(i, i + 10);
      const out = await this.ssm.send(new GetParametersCommand({ Names: chunk, WithDecryption: true }));
      for (const p of out.Parameters ?? []) {
        if (p.Name !== undefined && p.Value !== undefined) this.values.set(p.Name, p.Value);
      }
      const invalid = out.InvalidParameters ?? [];
      if (invalid.length > 0) throw new MissingParameterError(invalid);
    }
    const result: Record<string, string> = {};
    for (const n of names) {
      const v = this.values.get(n);
      if (v === undefined) throw new MissingParameterError([n]);
      result[n] = v;
    }
    return result;
  }

  /** One value; see `get`. */
  async getOne(name: string, options: { refresh?: boolean } = {}): Promise<string> {
    return (await this.get([name], options))[name];
  }
}
