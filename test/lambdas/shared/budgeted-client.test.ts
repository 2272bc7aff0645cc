/**
 * The budgeted SDK client settings, over real HTTP to a 127.0.0.1 server that
 * answers like the AWS services do when they throttle, so the SDK's own retry
 * path (error classification, retry token, backoff, retry-after) runs.
 *
 * The error answers follow the AWS docs:
 * - SSM (JSON 1.1 protocol) throttles with HTTP 400 and
 *   `{"__type":"ThrottlingException"}`
 *   (https://docs.aws.amazon.com/systems-manager/latest/APIReference/CommonErrors.html);
 * - EC2 (query protocol) throttles with HTTP 503 and the code
 *   `RequestLimitExceeded` in an XML `<Response><Errors>` body
 *   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html,
 *   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { budgetedClientConfig, MIN_ATTEMPT_MS } from '../../../lambdas/shared/aws/budgeted-client';
import { DeadlineExceededError, InvocationBudget, RETURN_MARGIN_MS } from '../../../lambdas/shared/deadline';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

const ssmThrottle: Answer = (_req, res) => {
  res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'r' });
  res.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
};
const ssmOk: Answer = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify({ Parameter: { Name: '/p', Type: 'String', Value: 'v', Version: 1 } }));
};
const ssmAccessDenied: Answer = (_req, res) => {
  res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'not allowed' }));
};
const ec2Throttle: Answer = (_req, res) => {
  res.writeHead(503, { 'content-type': 'text/xml' });
  res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>');
};
/** Never answers (until the server closes). */
const hang: Answer = () => undefined;

interface Scripted {
  readonly url: string;
  /** Arrival times of the requests, ms since the server started. */
  readonly arrivals: number[];
  close(): Promise<void>;
}

/** A server that gives `answers` in order, then the last one for ever. */
async function serve(answers: Answer[]): Promise<Scripted> {
  const started = Date.now();
  const arrivals: number[] = [];
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.push(Date.now() - started);
      open.add(res);
      res.on('close', () => open.delete(res));
      answers[Math.min(arrivals.length - 1, answers.length - 1)](req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

function ssm(url: string, budget: InvocationBudget, options: Parameters<typeof budgetedClientConfig>[1] = {}): SSMClient {
  return new SSMClient({ region: 'eu-west-1', endpoint: url, credentials, ...budgetedClientConfig(budget, options) });
}

/** Run `fn` and return how long it took and what it threw. */
async function timed(fn: () => Promise<unknown>): Promise<{ ms: number; error?: Error }> {
  const t0 = Date.now();
  try {
    await fn();
    return { ms: Date.now() - t0 };
  } catch (error) {
    return { ms: Date.now() - t0, error: error as Error };
  }
}

describe('budgetedClientConfig', () => {
  let server: Scripted | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('should retry throttling through the SDK and succeed when the budget allows', async () => {
    server = await serve([ssmThrottle, ssmThrottle, ssmOk]);
    const budget = new InvocationBudget();
    budget.start(30_000);
    const out = await ssm(server.url, budget, { random: () => 1, throttlingBaseMs: 50 }).send(new GetParameterCommand({ Name: '/p' }));
    expect(out.Parameter?.Value).toBe('v');
    expect(server.arrivals).toHaveLength(3);
    // Full jitter with random() = 1: waits of base, then 2 × base.
    expect(server.arrivals[1] - server.arrivals[0]).toBeGreaterThanOrEqual(45);
    expect(server.arrivals[2] - server.arrivals[1]).toBeGreaterThanOrEqual(95);
  });

  it('should stop after maxAttempts and surface the service error', async () => {
    server = await serve([ssmThrottle]);
    const budget = new InvocationBudget();
    budget.start(30_000);
    const { error } = await timed(() => ssm(server!.url, budget, { maxAttempts: 3, throttlingBaseMs: 10 }).send(new GetParameterCommand({ Name: '/p' })));
    expect(error?.name).toBe('ThrottlingException');
    expect(server.arrivals).toHaveLength(3);
  });

  it('should not retry a client error', async () => {
    server = await serve([ssmAccessDenied]);
    const budget = new InvocationBudget();
    budget.start(30_000);
    const { error } = await timed(() => ssm(server!.url, budget).send(new GetParameterCommand({ Name: '/p' })));
    expect(error?.name).toBe('AccessDeniedException');
    expect(server.arrivals).toHaveLength(1);
  });

  it('should make no retry whose wait would end past the cutoff, and return the throttling error at once', async () => {
    // GIVEN 1.5 s left and a backoff (random() = 1, base 2 s) longer than that
    server = await serve([ssmThrottle]);
    const budget = new InvocationBudget();
    budget.start(1_500 + RETURN_MARGIN_MS);
    const { ms, error } = await timed(() => ssm(server!.url, budget, { maxAttempts: 5, random: () => 1, throttlingBaseMs: 2_000 }).send(new GetParameterCommand({ Name: '/p' })));
    // THEN one attempt, the service's error, well inside the time left
    expect(error?.name).toBe('ThrottlingException');
    expect(server.arrivals).toHaveLength(1);
    expect(ms).toBeLessThan(1_000);
  });

  it('should keep retrying EC2 RequestLimitExceeded (503) only while the cutoff allows', async () => {
    server = await serve([ec2Throttle]);
    const budget = new InvocationBudget();
    budget.start(2_000 + RETURN_MARGIN_MS);
    const ec2 = new EC2Client({ region: 'eu-west-1', endpoint: server.url, credentials, ...budgetedClientConfig(budget, { maxAttempts: 50, random: () => 1, throttlingBaseMs: 200 }) });
    const { ms, error } = await timed(() => ec2.send(new DescribeInstancesCommand({})));
    expect(error?.name).toBe('RequestLimitExceeded');
    // Waits of 200, 400, 800 ms fit in 2 s; the next (1.6 s) does not.
    expect(server.arrivals).toHaveLength(4);
    expect(ms).toBeLessThan(2_000);
  });

  it('should honour a retry-after hint that the budget allows', async () => {
    const retryAfter: Answer = (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/xml', 'retry-after': '1' });
      res.end('<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors><RequestID>r</RequestID></Response>');
    };
    const ok: Answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end('<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet/></DescribeInstancesResponse>');
    };
    server = await serve([retryAfter, ok]);
    const budget = new InvocationBudget();
    budget.start(10_000);
    const ec2 = new EC2Client({ region: 'eu-west-1', endpoint: server.url, credentials, ...budgetedClientConfig(budget, { random: () => 0 }) });
    await ec2.send(new DescribeInstancesCommand({}));
    expect(server.arrivals).toHaveLength(2);
    expect(server.arrivals[1] - server.arrivals[0]).toBeGreaterThanOrEqual(900);
  });

  it('should refuse to start a call with less than a minimal attempt left', async () => {
    server = await serve([ssmOk]);
    const budget = new InvocationBudget();
    budget.start(MIN_ATTEMPT_MS - 1 + RETURN_MARGIN_MS);
    const { error } = await timed(() => ssm(server!.url, budget).send(new GetParameterCommand({ Name: '/p' })));
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(server.arrivals).toHaveLength(0);
  });

  it('should abort an attempt still in flight at the cutoff of within()', async () => {
    server = await serve([hang]);
    const budget = new InvocationBudget();
    budget.start(30_000);
    const client = ssm(server.url, budget, { requestTimeoutMs: 20_000 });
    // A cutoff 29.2 s before the end: about 800 ms from now (less the margin already in force).
    const { ms, error } = await timed(() => budget.within(29_200, () => client.send(new GetParameterCommand({ Name: '/p' }))));
    expect(error).toBeDefined();
    expect(server.arrivals).toHaveLength(1);
    expect(ms).toBeGreaterThanOrEqual(700);
    expect(ms).toBeLessThan(2_500);
  });

  it('should time out an attempt on its own request timeout, without a budget limit', async () => {
    server = await serve([hang, ssmOk]);
    const budget = new InvocationBudget();
    budget.start(30_000);
    const { ms } = await timed(() => ssm(server!.url, budget, { requestTimeoutMs: 300, maxAttempts: 2, random: () => 0 }).send(new GetParameterCommand({ Name: '/p' })));
    // The hung attempt is given up after 300 ms and retried.
    expect(server.arrivals).toHaveLength(2);
    expect(ms).toBeLessThan(3_000);
  });
});
