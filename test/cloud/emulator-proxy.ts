/**
 * An HTTP proxy in front of the AWS emulator (moto_server). It does two
 * things, and nothing else:
 *
 * 1. **Throttles** chosen calls the way AWS answers when it throttles, so the
 *    SDK meets real throttling answers through its own retry path:
 *    - JSON-protocol services (SSM, DynamoDB) answer HTTP 400 with
 *      `{"__type": "ThrottlingException"}` (SSM:
 *      https://docs.aws.amazon.com/systems-manager/latest/APIReference/CommonErrors.html);
 *    - EC2 (query protocol) answers HTTP 503 with the code
 *      `RequestLimitExceeded` in a `<Response><Errors>` XML body
 *      (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html).
 * 2. **Shims** answers where moto 5.2.1 departs from AWS's documented shape,
 *    each the smallest rewrite of one answer, named and explained in
 *    {@link MOTO_SHIMS}. They exist so that a re-plan after `terraform apply`
 *    shows real drift only, not emulator gaps.
 */
import { IncomingHttpHeaders, IncomingMessage, request, Server, ServerResponse, createServer } from 'node:http';
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
  readonly method: string;
  readonly path: string;
  readonly throttled: boolean;
  /** ms since the proxy started */
  readonly at: number;
  /** Path and query as sent. */
  readonly url: string;
  /** The request body as text (empty for bodies over 256 KiB: function code, large uploads), for test/iam to read the call's parameters. */
  readonly body: string;
}

/** What a shim sees of a call. */
export interface ShimCall {
  readonly service: string;
  readonly action: string;
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One departure of the emulator from AWS, corrected in its answers. */
export interface Shim {
  readonly name: string;
  /** Sees every request (to remember what was asked). */
  onRequest?(call: ShimCall): void;
  /** Rewrites the body of a request before it reaches the emulator; return undefined to leave it alone. */
  rewriteRequest?(call: ShimCall): Buffer | undefined;
  /** Rewrites an answer; return undefined to leave it alone. */
  rewrite?(call: ShimCall, status: number, headers: IncomingHttpHeaders, body: Buffer): { headers?: IncomingHttpHeaders; body?: Buffer } | undefined;
}

export interface EmulatorProxy {
  readonly url: string;
  readonly calls: ProxiedCall[];
  /** Calls of `service` `action`, throttled or not. */
  count(service: string, action: string, throttled?: boolean): number;
  throttle(rule: ThrottleRule): void;
  /** Forget every throttle rule (calls stay recorded). */
  clearRules(): void;
  /** How many answers each shim rewrote. */
  readonly shimmed: Map<string, number>;
  close(): Promise<void>;
}

/** The signing name from a SigV4 Authorization header (`Credential=<key>/<date>/<region>/<service>/aws4_request`). */
function serviceOf(headers: IncomingHttpHeaders): string {
  return /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(headers.authorization ?? '')?.[1] ?? 'unknown';
}

/** The operation: X-Amz-Target for JSON protocols, the Action form field for the query protocol, else the REST method and path. */
function actionOf(method: string, url: string, headers: IncomingHttpHeaders, body: Buffer): string {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') return target.split('.').pop() ?? target;
  const form = (headers['content-type'] ?? '').includes('x-www-form-urlencoded') ? new URLSearchParams(body.toString('utf8')).get('Action') : null;
  return form ?? `${method} ${url.split('?')[0]}`;
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

/** The function name in a Lambda REST path (`/2015-03-31/functions/<name or ARN>[/configuration]`). */
function lambdaFunctionName(url: string): string | undefined {
  const m = /^\/2015-03-31\/functions\/([^/?]+)/.exec(url);
  if (!m) return undefined;
  const raw = decodeURIComponent(m[1]);
  return /:function:([^:]+)/.exec(raw)?.[1] ?? raw;
}

/**
 * moto 5.2.1's answers that depart from AWS, and the rewrite of each. Every
 * shim is keyed on what the client asked, never on a test's expectations.
 */
export function motoShims(): Shim[] {
  /** KMSKeyArn and LoggingConfig as the client last set them, by function name. */
  const lambdaSettings = new Map<string, { KMSKeyArn?: string; LoggingConfig?: unknown }>();
  return [
    {
      // moto keeps neither KMSKeyArn nor LoggingConfig of CreateFunction /
      // UpdateFunctionConfiguration, and GetFunction answers without them; AWS
      // returns both (https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html).
      // The provider then plans to set them again on every plan.
      name: 'lambda-kms-key-and-logging-config',
      onRequest(call) {
        if (call.service !== 'lambda' || (call.method !== 'POST' && call.method !== 'PUT')) return;
        const create = call.method === 'POST' && /^\/2015-03-31\/functions\/?(\?|$)/.test(call.url);
        const update = call.method === 'PUT' && /^\/2015-03-31\/functions\/[^/]+\/configuration/.test(call.url);
        if (!create && !update) return;
        const body = JSON.parse(call.body.toString('utf8') || '{}') as { FunctionName?: string; KMSKeyArn?: string; LoggingConfig?: unknown };
        const name = create ? body.FunctionName : lambdaFunctionName(call.url);
        if (!name) return;
        const before = lambdaSettings.get(name) ?? {};
        lambdaSettings.set(name, {
          KMSKeyArn: 'KMSKeyArn' in body ? body.KMSKeyArn : before.KMSKeyArn,
          LoggingConfig: 'LoggingConfig' in body ? body.LoggingConfig : before.LoggingConfig,
        });
      },
      rewrite(call, status, _headers, body) {
        if (call.service !== 'lambda' || status >= 300 || !/^\/2015-03-31\/functions\//.test(call.url) && !(call.method === 'POST' && /^\/2015-03-31\/functions\/?(\?|$)/.test(call.url))) return undefined;
        let name = lambdaFunctionName(call.url);
        const answer = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown> & { Configuration?: Record<string, unknown> };
        const config = answer.Configuration ?? answer;
        name ??= config.FunctionName as string | undefined;
        const settings = name ? lambdaSettings.get(name) : undefined;
        if (!settings || typeof config.FunctionName !== 'string') return undefined;
        if (settings.KMSKeyArn !== undefined && config.KMSKeyArn === undefined) config.KMSKeyArn = settings.KMSKeyArn;
        if (settings.LoggingConfig !== undefined && config.LoggingConfig === undefined) config.LoggingConfig = settings.LoggingConfig;
        return { body: Buffer.from(JSON.stringify(answer)) };
      },
    },
    {
      // moto re-serialises the RedrivePolicy attribute with spaces
      // (`{"deadLetterTargetArn": "…", "maxReceiveCount": 1000}`); AWS returns
      // the compact JSON it was given, and the provider compares the strings.
      name: 'sqs-redrive-policy-json',
      rewrite(call, status, _headers, body) {
        if (call.service !== 'sqs' || call.action !== 'GetQueueAttributes' || status >= 300) return undefined;
        const text = body.toString('utf8');
        if (!text.startsWith('{')) return undefined;
        const answer = JSON.parse(text) as { Attributes?: Record<string, string> };
        const attributes = answer.Attributes ?? {};
        for (const key of ['RedrivePolicy', 'RedriveAllowPolicy']) {
          if (attributes[key]) attributes[key] = JSON.stringify(JSON.parse(attributes[key]));
        }
        return { body: Buffer.from(JSON.stringify(answer)) };
      },
    },
    {
      // moto copies a launch template's own tags (CreateLaunchTemplate's
      // TagSpecifications of type `launch-template`) into the version's
      // LaunchTemplateData.TagSpecifications. AWS keeps them on the template:
      // a version's data may only tag what a launch creates (instance, volume,
      // network-interface, spot-instances-request;
      // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchTemplateTagSpecificationRequest.html).
      // The provider then plans to remove the extra block on every plan.
      name: 'ec2-launch-template-data-tag-specifications',
      rewrite(call, status, _headers, body) {
        if (call.service !== 'ec2' || call.action !== 'DescribeLaunchTemplateVersions' || status >= 300) return undefined;
        const text = body.toString('utf8');
        const fixed = text.replace(/<item><resourceType>launch-template<\/resourceType><tagSet>(?:(?!<\/tagSet>)[\s\S])*<\/tagSet><\/item>/g, '');
        return fixed === text ? undefined : { body: Buffer.from(fixed) };
      },
    },
    (() => {
      // moto evaluates a bucket policy with no request context (s3 Bucket.get_permission
      // passes no condition values), and answers DENIED for any statement whose
      // Condition does not match, whatever its Effect. The module's TLS-only
      // statement (Deny s3:* when aws:SecureTransport is "false") therefore refuses
      // every object call. AWS skips a statement whose condition does not match,
      // and a request over https has aws:SecureTransport "true"
      // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
      // So moto keeps the policy without its conditioned statements, and
      // GetBucketPolicy answers with the policy as the client put it, so that the
      // re-plan compares what was applied. test/iam evaluates the real policy.
      const policies = new Map<string, Buffer>();
      const bucketPolicyCall = (call: ShimCall, method: string): string | undefined => {
        if (call.service !== 's3' || call.method !== method) return undefined;
        const url = new URL(call.url, 'http://s3');
        const segments = url.pathname.split('/').filter((p) => p !== '');
        return url.searchParams.has('policy') && segments.length === 1 ? decodeURIComponent(segments[0]) : undefined;
      };
      return {
        name: 's3-bucket-policy-conditions',
        rewriteRequest(call) {
          const bucket = bucketPolicyCall(call, 'PUT');
          if (!bucket) return undefined;
          const policy = JSON.parse(call.body.toString('utf8')) as { Statement: Record<string, unknown>[] | Record<string, unknown> };
          const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
          const kept = statements.filter((st) => st.Condition === undefined);
          if (kept.length === statements.length) return undefined;
          policies.set(bucket, call.body);
          return Buffer.from(JSON.stringify({ ...policy, Statement: kept }));
        },
        rewrite(call, status) {
          const bucket = bucketPolicyCall(call, 'GET');
          const original = bucket === undefined ? undefined : policies.get(bucket);
          return status === 200 && original ? { body: original } : undefined;
        },
      };
    })(),
  ];
}

/** Start the proxy on 127.0.0.1 (random port) in front of `target`. */
export async function startEmulatorProxy(target: string, shims: readonly Shim[] = []): Promise<EmulatorProxy> {
  const started = Date.now();
  const upstream = new URL(target);
  const rules: { rule: ThrottleRule; left: number }[] = [];
  const calls: ProxiedCall[] = [];
  const shimmed = new Map<string, number>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const service = serviceOf(req.headers);
      const action = actionOf(method, url, req.headers, body);
      const call: ShimCall = { service, action, method, url, headers: req.headers, body };
      const rule = rules.find((r) => r.left > 0 && r.rule.service === service && r.rule.action === action);
      calls.push({ service, action, method, path: url.split('?')[0], throttled: rule !== undefined, at: Date.now() - started, url, body: body.length > 256 * 1024 ? '' : body.toString('utf8') });
      if (rule) {
        rule.left -= 1;
        sendThrottled(service, res);
        return;
      }
      for (const shim of shims) shim.onRequest?.(call);
      let headers: IncomingHttpHeaders = { ...req.headers, 'accept-encoding': 'identity' };
      let forwarded: Buffer = body;
      for (const shim of shims) {
        const changed = shim.rewriteRequest?.({ ...call, body: forwarded });
        if (!changed) continue;
        shimmed.set(shim.name, (shimmed.get(shim.name) ?? 0) + 1);
        forwarded = changed;
        // The payload's checksums described the body as sent: drop them with it.
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'content-md5' && !k.startsWith('x-amz-checksum-')));
        headers['content-length'] = String(forwarded.length);
      }
      const forward = request({ host: upstream.hostname, port: upstream.port, method, path: url, headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (c: Buffer) => parts.push(c));
        answer.on('end', () => {
          let outHeaders = answer.headers;
          let outBody: Buffer = Buffer.concat(parts);
          for (const shim of shims) {
            const changed = shim.rewrite?.(call, answer.statusCode ?? 500, outHeaders, outBody);
            if (!changed) continue;
            shimmed.set(shim.name, (shimmed.get(shim.name) ?? 0) + 1);
            outHeaders = changed.headers ?? outHeaders;
            outBody = changed.body ?? outBody;
          }
          const { 'content-length': length, 'transfer-encoding': _encoding, ...rest } = outHeaders;
          // A HEAD answer has no body, and its Content-Length is the object's size
          // (RFC 9110 section 8.6; S3 HeadObject's ContentLength): pass it through.
          // The syncer compares it with the release asset's size.
          const contentLength = method === 'HEAD' && length !== undefined ? length : String(outBody.length);
          res.writeHead(answer.statusCode ?? 502, { ...rest, 'content-length': contentLength });
          res.end(outBody);
        });
      });
      forward.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      forward.end(forwarded);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    shimmed,
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
