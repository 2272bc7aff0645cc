/**
 * The runner API's records (issue #15), in the launch-lock table, one item per
 * runner: `pk = api#<name>` (name: contract/api-runner.ts `apiRunnerName`).
 *
 * | attribute       | meaning                                                          |
 * |-----------------|------------------------------------------------------------------|
 * | `repository`    | `owner/repo` (lower case) of the token that asked for it         |
 * | `runner_type`   | the type it runs as                                              |
 * | `requested_at`  | epoch seconds                                                    |
 * | `idle_deadline` | epoch seconds: idle after this, scale-down removes it            |
 * | `instance_id`   | set by scale-up once the runner is launched and registered       |
 * | `expires_at`    | TTL: one day after the deadline, so `GET` can still say "gone"   |
 *
 * The API creates a record with a conditional put (`attribute_not_exists`), so
 * a repeated request for the same run attempt creates nothing and enqueues
 * nothing. Scale-up launches only a runner whose record exists and has no
 * `instance_id`, so a redelivered request message launches nothing twice.
 */
import { AttributeValue, ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

/** One runner started through the API. */
export interface ApiRunnerRecord {
  readonly name: string;
  /** `owner/repo`, lower case. */
  readonly repository: string;
  readonly runnerType: string;
  /** Epoch ms. */
  readonly requestedAt: number;
  /** Epoch ms. */
  readonly idleDeadline: number;
  readonly instanceId?: string;
}

export interface ApiRunnerRecords {
  /** Create the record unless one exists; returns the record that is stored afterwards and whether this call created it. */
  create(record: ApiRunnerRecord): Promise<{ created: boolean; record: ApiRunnerRecord }>;
  get(name: string): Promise<ApiRunnerRecord | undefined>;
  /** Undo a create whose message could not be sent. */
  remove(name: string): Promise<void>;
  /** Scale-up: the runner is launched and registered on `instanceId`. */
  markLaunched(name: string, instanceId: string): Promise<void>;
}

export function apiRunnerKey(name: string): string {
  return `api#${name}`;
}

const S = (v: string): AttributeValue => ({ S: v });
const N = (v: number): AttributeValue => ({ N: String(v) });
const DAY_S = 86_400;

function fromItem(item: Record<string, AttributeValue>): ApiRunnerRecord | undefined {
  const name = item.pk?.S?.replace(/^api#/, '');
  if (!name || !item.repository?.S || !item.runner_type?.S) return undefined;
  return {
    name,
    repository: item.repository.S,
    runnerType: item.runner_type.S,
    requestedAt: Number(item.requested_at?.N ?? 0) * 1000,
    idleDeadline: Number(item.idle_deadline?.N ?? 0) * 1000,
    ...(item.instance_id?.S ? { instanceId: item.instance_id.S } : {}),
  };
}

function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

export function createApiRunnerRecords(dynamodb: DynamoDBClient, tableName: string): ApiRunnerRecords {
  const get = async (name: string): Promise<ApiRunnerRecord | undefined> => {
    const out = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { pk: S(apiRunnerKey(name)) }, ConsistentRead: true }));
    return out.Item ? fromItem(out.Item) : undefined;
  };
  return {
    async create(record) {
      try {
        await dynamodb.send(
          new PutItemCommand({
            TableName: tableName,
            Item: {
              pk: S(apiRunnerKey(record.name)),
              repository: S(record.repository),
              runner_type: S(record.runnerType),
              requested_at: N(Math.floor(record.requestedAt / 1000)),
              idle_deadline: N(Math.floor(record.idleDeadline / 1000)),
              expires_at: N(Math.floor(record.idleDeadline / 1000) + DAY_S),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return { created: true, record };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        const existing = await get(record.name);
        if (!existing) throw error;
        return { created: false, record: existing };
      }
    },
    get,
    async remove(name) {
      await dynamodb.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: S(apiRunnerKey(name)) } }));
    },
    async markLaunched(name, instanceId) {
      await dynamodb.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: S(apiRunnerKey(name)) },
          UpdateExpression: 'SET instance_id = :id',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':id': S(instanceId) },
        }),
      );
    },
  };
}
