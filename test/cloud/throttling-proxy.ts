/**
 * An HTTP proxy in front of the AWS emulator that answers chosen calls the
 * way AWS answers when it throttles, and forwards everything else. The SDK
 * then meets real throttling answers through its own retry path.
 *
 * The answers follow the AWS docs:
 * - JSON-protocol services (SSM, DynamoDB) answer HTTP 400 with
 *   `{"__type": "ThrottlingException"}` (SSM:
 *   https://docs.aws.amazon.com/systems-manager/latest/APIReference/CommonErrors.html);
 * - EC2 (query protocol) answers HTTP 503 with the code
 *   `RequestLimitExceeded` in a `<Response><Errors>` XML body
 *   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html).
 */
import { IncomingMessage, request, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';

/** Which calls to throttle, and how many times. */
export interface ThrottleRule {
  /** The signing name: `ssm`, `ec2`, `dynamodb`. */
  readonly service: string;
  /** The operation, e.g. `PutParameter`, `CreateFleet`. */
  readonly action: string;
  /** How many matching calls are throttled. @default Infinity */
  readonly times?: number;
}

/** One call the proxy saw. */
export interface ProxiedCall {
  readonly service: string;
  readonly action: string;
  readonly throttled: boolean;
  /** ms since the proxy started */
  readonly at: number;
}

export interface ThrottlingProxy {
  readonly url: string;
  readonly calls: ProxiedCall[];
  /** Calls of `service` `action`, throttled or not. */
  count(service: string, action: string, throttled?: boolean): number;
  throttle(rule: ThrottleRule): void;
  /** Forget every rule (calls stay recorded). */
  clearRules(): void;
  close(): Promise<void>;
}

/** The signing name from a SigV4 Authorization header (`Credential=<key>/<date>/<region>/<service>/aws4_request`). */
function serviceOf(req: IncomingMessage): string {
  return /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(req.headers.authorization ?? '')?.[1] ?? 'unknown';
}

/** The operation: X-Amz-Target for JSON protocols, the Action form field for the query protocol. */
function actionOf(req: IncomingMessage, body: string): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  return new URLSearchParams(body).get('Action') ?? 'unknown';
}

function sendThrottled(service: string, res: ServerResponse): void {
  if (service === 'ec2') {
    res.writeHead(503, { 'content-type': 'text/xml;charset=UTF-8' });
    res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttled</RequestID></Response>');
    return;
  }
  res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'throttled' });
  res.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
}

/** Start the proxy on 127.0.0.1 (random port) in front of `target`. */
export async function startThrottlingProxy(target: string): Promise<ThrottlingProxy> {
  const started = Date.now();
  const upstream = new URL(target);
  const rules: { rule: ThrottleRule; left: number }[] = [];
  const calls: ProxiedCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const service = serviceOf(req);
      const action = actionOf(req, body.toString('utf8'));
      const rule = rules.find((r) => r.left > 0 && r.rule.service === service && r.rule.action === action);
      calls.push({ service, action, throttled: rule !== undefined, at: Date.now() - started });
      if (rule) {
        rule.left -= 1;
        sendThrottled(service, res);
        return;
      }
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    count: (service, action, throttled) => calls.filter((c) => c.service === service && c.action === action && (throttled === undefined || c.throttled === throttled)).length,
    throttle: (rule) => {
      rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clearRules: () => {
      rules.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
