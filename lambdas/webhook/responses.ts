/**
 * What the webhook answers GitHub, and the mapping from typed errors to those
 * answers. Bodies are short generic texts; details go to the log only.
 */
import { ConfigError } from '../shared/config';
import { Logger } from '../shared/logger';
import { InvalidPayloadError, PayloadTooLargeError, QueueSendError, RepositoryNotAllowedError, SignatureError } from './errors';

/** An HTTP answer as plain data. */
export interface WebhookResponse {
  readonly statusCode: number;
  readonly body: string;
}

/** The answers the webhook gives. */
export const RESPONSES = {
  pong: { statusCode: 200, body: 'pong' },
  queued: { statusCode: 202, body: 'queued' },
  recorded: { statusCode: 202, body: 'accepted' },
  ignored: { statusCode: 202, body: 'ignored' },
  /** A run-bound job whose run label names another run (contract/run-label.ts): acknowledged, nothing queued. */
  refused: { statusCode: 202, body: 'refused' },
  badRequest: { statusCode: 400, body: 'bad request' },
  unauthorized: { statusCode: 401, body: 'unauthorized' },
  forbidden: { statusCode: 403, body: 'forbidden' },
  tooLarge: { statusCode: 413, body: 'payload too large' },
  internalError: { statusCode: 500, body: 'internal error' },
  unavailable: { statusCode: 503, body: 'service unavailable, redeliver later' },
} as const satisfies Record<string, WebhookResponse>;

/**
 * The answer for an error thrown while handling a delivery, after logging it
 * once on `log`. Only our own error messages are logged: they never quote the
 * body, the signature or the secret.
 */
export function errorResponse(error: unknown, log: Logger): WebhookResponse {
  if (error instanceof PayloadTooLargeError) {
    log.warn('rejected: payload too large', { limitBytes: error.limitBytes });
    return RESPONSES.tooLarge;
  }
  if (error instanceof SignatureError) {
    log.warn('rejected: signature verification failed', { reason: error.reason });
    return RESPONSES.unauthorized;
  }
  if (error instanceof InvalidPayloadError) {
    log.warn('rejected: invalid payload', { problems: error.problems });
    return RESPONSES.badRequest;
  }
  if (error instanceof RepositoryNotAllowedError) {
    log.warn('rejected: repository not in the allow list', { repository: error.repository });
    return RESPONSES.forbidden;
  }
  if (error instanceof QueueSendError) {
    log.error('failed to enqueue the job; GitHub records a failed delivery to redeliver', { error });
    return RESPONSES.unavailable;
  }
  if (error instanceof ConfigError) {
    log.error('invalid configuration', { problems: error.problems });
    return RESPONSES.internalError;
  }
  log.error('internal error', { error });
  return RESPONSES.internalError;
}
