/**
 * Configuration loading for Lambdas: read every setting from the environment
 * once per container, collect every problem, and fail with one message that
 * lists them all.
 */
import { type CommonEnvironment, DEFAULT_METRICS_NAMESPACE, LOG_LEVELS, type LogLevel } from '../../modules/contract/environment';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid Lambda configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** The variable names of environment `E` (one of modules/contract/environment.ts). */
type EnvName<E> = Extract<keyof E, string>;

/**
 * Reads typed values from an environment map and records what is missing or
 * wrong. `E` is the function's environment in the contract
 * (modules/contract/environment.ts): only its names can be read.
 */
export class EnvReader<E extends CommonEnvironment = CommonEnvironment> {
  private readonly problems: string[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  string(name: EnvName<E>): string;
  string(name: EnvName<E>, fallback: string): string;
  string(name: EnvName<E>, fallback?: string): string {
    const v = this.env[name];
    if (v === undefined || v === '') {
      if (fallback !== undefined) return fallback;
      this.problems.push(`${name} is required`);
      return '';
    }
    return v;
  }

  optionalString(name: EnvName<E>): string | undefined {
    const v = this.env[name];
    return v === undefined || v === '' ? undefined : v;
  }

  int(name: EnvName<E>, fallback: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be an integer in [${min}, ${max}], got "${raw}"`);
      return fallback;
    }
    return n;
  }

  bool(name: EnvName<E>, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    this.problems.push(`${name} must be "true" or "false", got "${raw}"`);
    return fallback;
  }

  /** Parse JSON and check it with `validate`, which returns problems (empty when fine). */
  json<T>(name: EnvName<E>, validate: (value: unknown) => string[], fallback?: T): T {
    const raw = this.env[name];
    if (raw === undefined || raw === '') {
      if (fallback !== undefined) return fallback;
      this.problems.push(`${name} is required`);
      return undefined as T;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      this.problems.push(`${name} is not valid JSON`);
      return (fallback ?? undefined) as T;
    }
    const found = validate(parsed);
    this.problems.push(...found.map((p) => `${name}: ${p}`));
    return parsed as T;
  }

  /** An optional http(s) URL; anything else is a problem. */
  optionalHttpUrl(name: EnvName<E>): string | undefined {
    const v = this.optionalString(name);
    if (v !== undefined && !isHttpUrl(v)) this.problems.push(`${name} must be an http(s) URL, got "${v}"`);
    return v;
  }

  /** LOG_LEVEL: debug, info, warn or error, any case. @default "info" */
  logLevel(): LogLevel {
    // E extends CommonEnvironment: LOG_LEVEL and METRICS_NAMESPACE are its names.
    const raw = this.optionalString('LOG_LEVEL' as EnvName<E>);
    const level = (raw ?? 'info').toLowerCase();
    if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
    this.problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
    return 'info';
  }

  /** METRICS_NAMESPACE, the CloudWatch namespace of the EMF metrics. @default DEFAULT_METRICS_NAMESPACE */
  metricsNamespace(): string {
    return this.string('METRICS_NAMESPACE' as EnvName<E>, DEFAULT_METRICS_NAMESPACE);
  }

  /** Record a problem found by the caller's own cross-field checks. */
  problem(message: string): void {
    this.problems.push(message);
  }

  /** Throw one ConfigError listing every problem seen, if any. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError([...this.problems]);
  }
}

/** Memoise a loader per container; a failed load is retried on the next call. */
export function once<T>(load: () => T): () => T {
  let value: { v: T } | undefined;
  return () => {
    if (!value) value = { v: load() };
    return value.v;
  };
}

/**
 * Memoise an async loader per container (config, clients, secrets). A
 * rejected load is forgotten, so the next invocation tries again.
 */
export function onceAsync<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    if (!value) {
      value = load();
      value.catch(() => {
        value = undefined;
      });
    }
    return value;
  };
}

/** Whether `raw` parses as an http: or https: URL. */
export function isHttpUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
