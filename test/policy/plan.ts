/**
 * Reads the JSON of an offline plan (`terraform show -json`), as written by
 * `npm run plan` to cdktf.out/plans/, and flattens it for policy rules:
 * planned values from resource_changes, expressions from configuration.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PLANS_DIR = join(__dirname, '..', '..', 'cdktf.out', 'plans');

interface Expression {
  constant_value?: unknown;
  references?: string[];
}
type Expressions = Record<string, Expression & Record<string, unknown>>;

interface ConfigResource {
  address: string;
  mode: 'managed' | 'data';
  type: string;
  expressions: Expressions;
}
interface ConfigModule {
  resources?: ConfigResource[];
  module_calls?: Record<string, { module: ConfigModule }>;
}
interface ResourceChange {
  address: string;
  mode: 'managed' | 'data';
  type: string;
  change: { actions: string[]; after: Record<string, unknown> | null; after_unknown: Record<string, unknown> };
}
export interface PlanJson {
  resource_changes: ResourceChange[];
  configuration: { root_module: ConfigModule };
}

/** A configured resource with the address prefix of its module ("module.runners."). */
export interface ConfiguredResource extends ConfigResource {
  readonly modulePath: string;
}

export function planNames(): string[] {
  if (!existsSync(PLANS_DIR)) return [];
  return readdirSync(PLANS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''))
    .sort();
}

export class Plan {
  readonly json: PlanJson;

  constructor(readonly name: string) {
    this.json = JSON.parse(readFileSync(join(PLANS_DIR, `${name}.json`), 'utf8')) as PlanJson;
  }

  /** Every planned managed resource of `type`. */
  changes(type: string): ResourceChange[] {
    return this.json.resource_changes.filter((r) => r.mode === 'managed' && r.type === type);
  }

  /** Every planned managed resource, of any type, in any module. */
  managed(): ResourceChange[] {
    return this.json.resource_changes.filter((r) => r.mode === 'managed');
  }

  /** The types of every data source the configuration reads, in any module. */
  dataSourceTypes(): string[] {
    return [...new Set(this.all().filter((r) => r.mode === 'data').map((r) => r.type))].sort();
  }

  /** Every configured resource or data source of `type`, in any module. */
  configured(type: string, mode: 'managed' | 'data' = 'managed'): ConfiguredResource[] {
    return this.all().filter((r) => r.type === type && r.mode === mode);
  }

  private all(): ConfiguredResource[] {
    const out: ConfiguredResource[] = [];
    const walk = (m: ConfigModule, path: string) => {
      for (const r of m.resources ?? []) out.push({ ...r, modulePath: path });
      for (const [name, call] of Object.entries(m.module_calls ?? {})) walk(call.module, `${path}module.${name}.`);
    };
    walk(this.json.configuration.root_module, '');
    return out;
  }
}

/** True when the expression refers to a resource of `type` (e.g. "aws_kms_key"). */
export function refersTo(expression: Expression | undefined, type: string): boolean {
  return (expression?.references ?? []).some((r) => r.startsWith(`${type}.`));
}
