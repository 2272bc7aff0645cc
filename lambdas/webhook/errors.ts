/**
 * Typed errors of the webhook. Domain code throws them; the handler maps each
 * one to an HTTP status and a short generic text (see responses.ts), so no
 * internals ever reach the caller.
 *
 * Messages are written by us and never quote request data: they are logged.
 */

/** The body (decoded) is larger than the webhook accepts. Maps to 413. */
export class PayloadTooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`body exceeds ${limitBytes} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

/** Why a signature was rejected; safe to log. */
export type SignatureFailure = 'missing' | 'malformed' | 'mismatch';

/** X-Hub-Signature-256 is missing, malformed, or does not match the body. Maps to 401. */
export class SignatureError extends Error {
  constructor(readonly reason: SignatureFailure) {
    super(`signature ${reason}`);
    this.name = 'SignatureError';
  }
}

/** The request is authentic (or never got that far) but unusable: bad encoding, not JSON, missing fields. Maps to 400. */
export class InvalidPayloadError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid payload: ${problems.join('; ')}`);
    this.name = 'InvalidPayloadError';
  }
}

/** A queued job comes from a repository outside REPOSITORY_ALLOW_LIST. Maps to 403. */
export class RepositoryNotAllowedError extends Error {
  constructor(readonly repository: string) {
    super(`repository ${repository} is not in the allow list`);
    this.name = 'RepositoryNotAllowedError';
  }
}

/** SQS did not accept the job message. Maps to 503 so GitHub records a failed delivery that can be redelivered. */
export class QueueSendError extends Error {
  constructor(readonly runnerType: string, cause: unknown) {
    super(`could not enqueue job for runner type ${runnerType}: ${describe(cause)}`);
    this.name = 'QueueSendError';
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : 'unknown error';
}
