/**
 * The logger of one request, whose correlation keys grow as the request is
 * understood: deliveryId first, then jobId, then runnerType. The handler keeps
 * the scope so that an error mapped at the edge is logged with every key known
 * by then. (The shared Logger is immutable; this is its "append keys".)
 */
import { LogFields, Logger } from '../shared/logger';

/** A request's current logger; `add` appends correlation keys. */
export class LogScope {
  constructor(private current: Logger) {}

  /** The logger with every key added so far. */
  get logger(): Logger {
    return this.current;
  }

  /** Add correlation keys to every later line; returns the new logger. */
  add(keys: LogFields): Logger {
    this.current = this.current.withKeys(keys);
    return this.current;
  }
}
