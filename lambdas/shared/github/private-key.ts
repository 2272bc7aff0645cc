/**
 * The GitHub App private key as operators store it in SSM: the PEM GitHub
 * issued, the same PEM base64-encoded (easy to pass through Terraform
 * variables), or a PEM whose newlines were flattened to literal `\n`.
 */

/** The key is neither a PEM nor base64 of one. The message never contains the value. */
export class InvalidPrivateKeyError extends Error {
  constructor() {
    super('GitHub App private key is neither a PEM nor base64 of a PEM');
    this.name = 'InvalidPrivateKeyError';
  }
}

/** A PEM private key from any of the accepted encodings. */
export function normalisePrivateKey(stored: string): string {
  const trimmed = stored.trim();
  if (isPem(trimmed)) return trimmed.replace(/\\n/g, '\n');
  const decoded = Buffer.from(trimmed, 'base64').toString('utf8').trim();
  if (isPem(decoded)) return decoded;
  throw new InvalidPrivateKeyError();
}

function isPem(text: string): boolean {
  return /^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) && /-----END [A-Z ]*PRIVATE KEY-----$/.test(text);
}
