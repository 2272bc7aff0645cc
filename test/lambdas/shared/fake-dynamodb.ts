/**
 * An in-memory DynamoDB table behind aws-sdk-client-mock, for the
 * UpdateItem subset the idempotency store uses: `SET` with `:value`,
 * `if_not_exists(attr, :value)` and `x + :value`; `REMOVE`; conditions made of
 * `attribute_not_exists(attr)`, `attribute_exists(attr)`, `attr < :v`,
 * `attr <= :v` and `attr = :v` joined by `AND` within `OR` (AND binds
 * tighter, as in DynamoDB); ReturnValues ALL_NEW and
 * ReturnValuesOnConditionCheckFailure ALL_OLD. GetItem, and Query on a sparse
 * global secondary index: `hash = :v` with an optional `AND range <= :v`
 * (items without the hash attribute are not in the index, as DynamoDB
 * documents for sparse indexes), ScanIndexForward and Limit.
 * It evaluates the expressions the code sends, so a wrong expression fails
 * the test instead of passing through a hand-written stub.
 */
import {
  AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  DeleteItemCommand,
  DeleteItemCommandInput,
  GetItemCommand,
  GetItemCommandInput,
  PutItemCommand,
  PutItemCommandInput,
  QueryCommand,
  QueryCommandInput,
  UpdateItemCommand,
  UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
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
  // PutItem and DeleteItem: the runner API's records (lambdas/shared/aws/api-runner-records.ts).
  mock.on(PutItemCommand).callsFake(async (input: PutItemCommandInput) => {
    const pk = input.Item?.pk?.S;
    if (!pk) throw new Error('fake table: Item.pk (S) required');
    const old = table.items.get(pk);
    if (input.ConditionExpression && !condition(input.ConditionExpression, old, input.ExpressionAttributeNames ?? {}, input.ExpressionAttributeValues ?? {})) {
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    }
    table.items.set(pk, { ...input.Item });
    return {};
  });
  mock.on(DeleteItemCommand).callsFake(async (input: DeleteItemCommandInput) => {
    const pk = input.Key?.pk?.S;
    if (!pk) throw new Error('fake table: Key.pk (S) required');
    table.items.delete(pk);
    return {};
  });
  mock.on(GetItemCommand).callsFake(async (input: GetItemCommandInput) => {
    const pk = input.Key?.pk?.S;
    if (!pk) throw new Error('fake table: Key.pk (S) required');
    const item = table.items.get(pk);
    return item ? { Item: { ...item } } : {};
  });
  mock.on(QueryCommand).callsFake(async (input: QueryCommandInput) => {
    if (!input.IndexName) throw new Error('fake table: Query needs an IndexName (the table has only pk)');
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    const m = (input.KeyConditionExpression ?? '').match(/^\s*(\S+)\s*=\s*(:\w+)(?:\s+AND\s+(\S+)\s*(<=|<|=)\s*(:\w+))?\s*$/);
    if (!m) throw new Error(`fake table: unsupported key condition "${input.KeyConditionExpression}"`);
    const hash = name(m[1], names);
    const range = m[3] ? name(m[3], names) : undefined;
    let found = [...table.items.values()].filter((item) => compare(item[hash], values[m[2]]) === 0);
    if (range) {
      found = found.filter((item) => {
        const c = compare(item[range], values[m[5]]);
        return c !== undefined && (m[4] === '<=' ? c <= 0 : m[4] === '<' ? c < 0 : c === 0);
      });
      found.sort((a, b) => (compare(a[range], b[range]!) ?? 0) * (input.ScanIndexForward === false ? -1 : 1));
    }
    if (input.Limit !== undefined) found = found.slice(0, input.Limit);
    return { Items: found.map((i) => ({ ...i })), Count: found.length };
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
  return expression.split(/\s+OR\s+/).some((disjunct) =>
    disjunct.split(/\s+AND\s+/).every((clause) => {
      let m: RegExpMatchArray | null;
      if ((m = clause.match(/^\s*attribute_not_exists\(([^)]+)\)\s*$/))) return item?.[name(m[1], names)] === undefined;
      if ((m = clause.match(/^\s*attribute_exists\(([^)]+)\)\s*$/))) return item?.[name(m[1], names)] !== undefined;
      if ((m = clause.match(/^\s*(\S+)\s*(<=|<|=)\s*(:\w+)\s*$/))) {
        const c = compare(item?.[name(m[1], names)], values[m[3]]);
        return c !== undefined && (m[2] === '<' ? c < 0 : m[2] === '<=' ? c <= 0 : c === 0);
      }
      throw new Error(`fake table: unsupported condition "${clause}"`);
    }),
  );
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
