/**
 * An in-memory DynamoDB table behind aws-sdk-client-mock, for the
 * UpdateItem subset the idempotency store uses: `SET` with `:value`,
 * `if_not_exists(attr, :value)` and `x + :value`; `REMOVE`; conditions made of
 * `attribute_not_exists(attr)`, `attr < :v` and `attr = :v` joined by `OR`;
 * ReturnValues ALL_NEW and ReturnValuesOnConditionCheckFailure ALL_OLD.
 * It evaluates the expressions the code sends, so a wrong expression fails
 * the test instead of passing through a hand-written stub.
 */
import { AttributeValue, ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand, UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { AwsClientStub } from 'aws-sdk-client-mock';

type Item = Record<string, AttributeValue>;

/** The table's items by `pk`, and the UpdateItem inputs received. */
export interface FakeTable {
  readonly items: Map<string, Item>;
  readonly updates: UpdateItemCommandInput[];
}

/** Install the fake table on a DynamoDB client mock. */
export function installFakeTable(mock: AwsClientStub<DynamoDBClient>): FakeTable {
  const table: FakeTable = { items: new Map(), updates: [] };
  mock.on(UpdateItemCommand).callsFake(async (input: UpdateItemCommandInput) => {
    table.updates.push(input);
    const pk = input.Key?.pk?.S;
    if (!pk) throw new Error('fake table: Key.pk (S) required');
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const old = table.items.get(pk);
    const current: Item = old ? { ...old } : { pk: { S: pk } };
    const exists = old !== undefined;
    if (input.ConditionExpression && !condition(input.ConditionExpression, exists ? current : undefined, names, values)) {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        ...(input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && old ? { Item: old } : {}),
      });
    }
    const updated = applyUpdate(input.UpdateExpression ?? '', current, names, values);
    table.items.set(pk, updated);
    return input.ReturnValues === 'ALL_NEW' ? { Attributes: updated } : {};
  });
  return table;
}

/** A plain view of an item: S as string, N as number. */
export function plain(item: Item | undefined): Record<string, string | number> | undefined {
  if (!item) return undefined;
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.N !== undefined ? Number(v.N) : (v.S ?? JSON.stringify(v))]));
}

function name(token: string, names: Record<string, string>): string {
  const t = token.trim();
  return t.startsWith('#') ? names[t] : t;
}

function compare(a: AttributeValue | undefined, b: AttributeValue): number | undefined {
  if (!a) return undefined;
  if (a.N !== undefined && b.N !== undefined) return Number(a.N) - Number(b.N);
  if (a.S !== undefined && b.S !== undefined) return a.S < b.S ? -1 : a.S > b.S ? 1 : 0;
  return undefined;
}

function condition(expression: string, item: Item | undefined, names: Record<string, string>, values: Record<string, AttributeValue>): boolean {
  return expression.split(/\s+OR\s+/).some((clause) => {
    let m: RegExpMatchArray | null;
    if ((m = clause.match(/^\s*attribute_not_exists\(([^)]+)\)\s*$/))) return item?.[name(m[1], names)] === undefined;
    if ((m = clause.match(/^\s*(\S+)\s*(<|=)\s*(:\w+)\s*$/))) {
      const c = compare(item?.[name(m[1], names)], values[m[3]]);
      return c !== undefined && (m[2] === '<' ? c < 0 : c === 0);
    }
    throw new Error(`fake table: unsupported condition "${clause}"`);
  });
}

function applyUpdate(expression: string, item: Item, names: Record<string, string>, values: Record<string, AttributeValue>): Item {
  const next = { ...item };
  const [, setPart = '', removePart = ''] = expression.match(/^\s*SET\s+(.*?)(?:\s+REMOVE\s+(.*))?$/) ?? [];
  for (const assignment of splitTopLevel(setPart)) {
    const [lhs, rhs] = assignment.split(/=(.*)/s).map((s) => s.trim());
    next[name(lhs, names)] = evaluate(rhs, item, names, values);
  }
  for (const attr of removePart.split(',').map((s) => s.trim()).filter(Boolean)) delete next[name(attr, names)];
  return next;
}

function evaluate(expression: string, item: Item, names: Record<string, string>, values: Record<string, AttributeValue>): AttributeValue {
  const plus = splitTopLevel(expression, '+');
  if (plus.length === 2) {
    const a = evaluate(plus[0], item, names, values);
    const b = evaluate(plus[1], item, names, values);
    return { N: String(Number(a.N) + Number(b.N)) };
  }
  const e = expression.trim();
  const m = e.match(/^if_not_exists\(([^,]+),\s*(:\w+)\)$/);
  if (m) return item[name(m[1], names)] ?? values[m[2]];
  if (e.startsWith(':')) return values[e];
  const attr = item[name(e, names)];
  if (!attr) throw new Error(`fake table: attribute ${e} missing`);
  return attr;
}

function splitTopLevel(text: string, separator = ','): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === separator && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (current.trim()) parts.push(current);
  return parts.map((p) => p.trim());
}
