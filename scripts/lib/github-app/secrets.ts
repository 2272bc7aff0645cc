/**
 * Secret values of the App setup: generating the webhook secret, validating
 * the private key, and describing both without revealing them.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { normalisePrivateKey } from '../../../lambdas/shared/github/private-key';

/** The private key does not parse. The message never contains the key. */
export class PrivateKeyError extends Error {
  constructor(source: string) {
    super(`${source} is not a usable private key (expected the PEM GitHub issued)`);
    this.name = 'PrivateKeyError';
  }
}

/** 32 random bytes as 64 hex characters. */
export function generateWebhookSecret(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The PEM to store: accepts what the Lambdas accept (PEM, base64 of a PEM,
 * flattened `\n`), checks it parses as a private key, and returns the trimmed
 * PEM, so the same key always yields the same stored value.
 */
export function canonicalPrivateKey(raw: string, source: string): string {
  let pem: string;
  try {
    pem = normalisePrivateKey(raw);
    createPrivateKey(pem);
  } catch {
    throw new PrivateKeyError(source);
  }
  return pem;
}

/**
 * The fingerprint GitHub shows next to each private key in the App settings:
 * SHA-256 of the DER public key, base64 (`SHA256:…=`). Safe to print.
 */
export function privateKeyFingerprint(pem: string): string {
  const der = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64')}`;
}
