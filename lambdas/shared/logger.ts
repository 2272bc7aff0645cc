/**
 * Structured JSON logging with persistent correlation keys.
 *
 * Every line is one JSON object on stdout, so CloudWatch Logs Insights can
 * query it and EMF metrics can ride on it. Callers add correlation keys
 * (deliveryId, jobId, runnerType, instanceId) once with `withKeys`, and every
 * later line carries them.
 *
 * Never pass secrets, signatures, JIT configs or raw webhook bodies here: the
 * logger has no way to know, so the rule is enforced at the call sites and by
 * tests that scan captured log output.
 */
import type { LogLevel } from '../../modules/contract/environment';
import type { MetricDimension, MetricName } from '../../modules/contract/metrics';

export type { LogLevel };

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

/** Where log lines go. Tests pass a collector; Lambdas write to stdout. */
export type LogSink = (line: string) => void;

const stdoutSink: LogSink = (line) => process.stdout.write(line + '\n');

export class Logger {
  private readonly minLevel: number;

  constructor(
    private readonly service: string,
    private readonly keys: LogFields = {},
    private readonly sink: LogSink = stdoutSink,
    level: LogLevel = parseLevel(process.env.LOG_LEVEL),
  ) {
    this.minLevel = LEVELS[level];
  }

  /** A child logger whose lines all carry `keys` in addition to this logger's. */
  withKeys(keys: LogFields): Logger {
    const level = (Object.keys(LEVELS) as LogLevel[]).find((l) => LEVELS[l] === this.minLevel) ?? 'info';
    return new Logger(this.service, { ...this.keys, ...dropUndefined(keys) }, this.sink, level);
  }

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }

  /**
   * Emit CloudWatch metrics in Embedded Metric Format on one log line.
   * `dimensions` become both EMF dimensions and top-level fields. Names and
   * dimensions are the contract's (modules/contract/metrics.ts).
   */
  metrics(
    namespace: string,
    dimensions: Partial<Record<MetricDimension, string>>,
    values: Partial<Record<MetricName, { value: number; unit: 'Seconds' | 'Milliseconds' | 'Count' | 'None' }>>,
    fields?: LogFields,
  ): void {
    const line: LogFields = {
      ...this.base('info', 'metrics'),
      ...dimensions,
      ...(fields ?? {}),
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: namespace,
            Dimensions: [Object.keys(dimensions)],
            Metrics: Object.entries(values).map(([name, v]) => ({ Name: name, Unit: v!.unit })),
          },
        ],
      },
    };
    for (const [name, v] of Object.entries(values)) line[name] = v!.value;
    this.sink(JSON.stringify(line));
  }

  private base(level: LogLevel, message: string): LogFields {
    return { level, timestamp: new Date().toISOString(), service: this.service, message, ...this.keys };
  }

  private write(level: LogLevel, message: string, fields?: LogFields): void {
    if (LEVELS[level] < this.minLevel) return;
    const line = { ...this.base(level, message), ...(fields ? dropUndefined(fields) : {}) };
    this.sink(JSON.stringify(line, errorReplacer));
  }
}

function parseLevel(raw: string | undefined): LogLevel {
  const v = (raw ?? 'info').toLowerCase();
  return v in LEVELS ? (v as LogLevel) : 'info';
}

function dropUndefined(fields: LogFields): LogFields {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

/** Errors serialise as name + message only: stacks and causes can carry request data. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}
