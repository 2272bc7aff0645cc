/**
 * The Lambda bundles, unzipped and loaded the way the Lambda runtime loads
 * them: the zip's CommonJS bundle (`handler.cjs`, which the zip's ES entry
 * `index.mjs` requires), `handler` called with an event and a context.
 *
 * Two builds of the same sources (scripts/lib/lambda-bundles.ts):
 * - {@link prepareShippedBundles}: the shipped zips (`dist/lambdas/`), the AWS
 *   SDK bundled in. Over-the-wire tests (test/cloud, moto_server) run these.
 * - {@link prepareBundles}: a TEST BUILD with the SDK left external, written
 *   to `.e2e/test-build-sdk-external/<pid>/` and never shipped. The in-process
 *   e2e world runs it, because aws-sdk-client-mock can only patch SDK clients
 *   that the bundle requires from this repository's node_modules.
 *
 * Each {@link loadBundle} call is one fresh "container": the bundle's code is
 * evaluated again, so its module-level state (config, token caches, write
 * pacer) starts empty. Node's built-ins stay shared. In the SDK-external
 * test build, the bundle's `require('@aws-sdk/...')` resolves to this
 * repository's node_modules, the very module instances that
 * aws-sdk-client-mock patches in the test. A shipped bundle may require
 * nothing but Node's built-ins: it fails to load otherwise, because it must
 * not lean on the runtime's own SDK.
 *
 * A container gets its own environment, stdout and (optionally) clock and
 * network, like a real function: `process.env`, `process.stdout`, `Date`,
 * the timer functions and `fetch` are bound per container. Nothing else of
 * the host process is changed.
 *
 * Why not a plain `require()` of the extracted file: jest keeps its own module
 * registry, and the mocks live there. Evaluating the file as a CommonJS
 * wrapper with this file's `require` keeps bundle and mocks on the same
 * `@aws-sdk/*` instances, in jest and in plain Node (bench) alike. The cold
 * load benchmark does use plain `require` in fresh child processes.
 */
import { builtinModules } from 'node:module';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { BUNDLE_FILE, bundleAll, ENTRY_FILE, type SdkPackaging } from '../../../scripts/lib/lambda-bundles';

/** The repository root. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** Where bundles are extracted: under the repository, so plain Node resolution finds node_modules too. */
export const EXTRACT_ROOT = join(REPO_ROOT, '.e2e', 'bundles');

/** The shipped zips: dist/lambdas. */
export const SHIPPED_BUNDLES_DIR = join(REPO_ROOT, 'dist', 'lambdas');

/**
 * The TEST BUILD for the in-process tests: the same sources as the shipped
 * zips, with the AWS SDK left external so that aws-sdk-client-mock can patch
 * it. Built with the project's own build into
 * .e2e/test-build-sdk-external/<pid>/, once per process (jest workers build
 * side by side), never a stale one from an earlier run. $E2E_BUNDLES_DIR
 * names another such build (its manifest must say `"sdk": "external"`).
 */
export async function prepareBundles(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.E2E_BUNDLES_DIR) return checkedBuild(resolve(env.E2E_BUNDLES_DIR), 'external');
  externalBuild ??= buildOnce('test-build-sdk-external', 'external');
  return externalBuild;
}

/**
 * The shipped zips, SDK bundled: dist/lambdas when `npm run build` made it
 * (its manifest says `"sdk": "bundled"`), else the same build into
 * .e2e/shipped-build/<pid>/ (a fresh clone, or a dist/ from before #12).
 */
export async function prepareShippedBundles(): Promise<string> {
  if (manifestSdk(SHIPPED_BUNDLES_DIR) === 'bundled' && existsSync(join(SHIPPED_BUNDLES_DIR, 'webhook.zip'))) return SHIPPED_BUNDLES_DIR;
  shippedBuild ??= buildOnce('shipped-build', 'bundled');
  return shippedBuild;
}

let externalBuild: Promise<string> | undefined;
let shippedBuild: Promise<string> | undefined;

function manifestSdk(dir: string): string | undefined {
  const file = join(dir, 'manifest.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { sdk?: string }).sdk : undefined;
}

function checkedBuild(dir: string, sdk: SdkPackaging): string {
  if (!existsSync(join(dir, 'webhook.zip'))) throw new Error(`${dir} holds no webhook.zip`);
  const found = manifestSdk(dir);
  if (found !== sdk) throw new Error(`${dir} is not an SDK-${sdk} build (its manifest says sdk: ${found ?? 'nothing'})`);
  return dir;
}

async function buildOnce(folder: string, sdk: SdkPackaging): Promise<string> {
  const root = join(REPO_ROOT, '.e2e', folder);
  mkdirSync(root, { recursive: true });
  // Builds of processes that are gone are of no use to anyone.
  for (const entry of readdirSync(root)) {
    const pid = Number(entry);
    if (Number.isSafeInteger(pid) && pid !== process.pid && !processAlive(pid)) rmSync(join(root, entry), { recursive: true, force: true });
  }
  const out = join(root, String(process.pid));
  await bundleAll(join(REPO_ROOT, 'lambdas'), out, { sdk });
  return out;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `<name>.zip` exists in `bundlesDir` and is its own bundle: a zip
 * byte-identical to another bundle of the directory is a stand-in that some
 * tooling copied there (e.g. so that synth finds every file), not a build.
 */
export function hasBundle(bundlesDir: string, name: string): boolean {
  const zipPath = join(bundlesDir, `${name}.zip`);
  if (!existsSync(zipPath)) return false;
  const zip = readFileSync(zipPath);
  return readdirSync(bundlesDir)
    .filter((f) => f.endsWith('.zip') && f !== `${name}.zip`)
    .every((f) => !readFileSync(join(bundlesDir, f)).equals(zip));
}

/**
 * The files of a zip archive, by name. Handles what the project's
 * deterministic zip writes (stored or deflated entries, no zip64).
 */
export function readZip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`zip: bad central directory entry ${i}`);
    const method = zip.readUInt16LE(p + 10);
    const compressedSize = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLength = zip.readUInt16LE(p + 32);
    const localOffset = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLength);
    const localNameLength = zip.readUInt16LE(localOffset + 26);
    const localExtraLength = zip.readUInt16LE(localOffset + 28);
    const start = localOffset + 30 + localNameLength + localExtraLength;
    const raw = zip.subarray(start, start + compressedSize);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = inflateRawSync(raw);
    else throw new Error(`zip: entry ${name} uses unsupported method ${method}`);
    if (data.length !== size) throw new Error(`zip: entry ${name} inflated to ${data.length} bytes, expected ${size}`);
    files.set(name, data);
    p += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

/** Unzip `<name>.zip` into `<root>/<name>/` (by default .e2e/bundles/<bundled|external>/<name>/, so the two builds never overwrite each other) (rewriting only files that changed); returns that directory. */
export function extractBundle(bundlesDir: string, name: string, root = join(EXTRACT_ROOT, manifestSdk(bundlesDir) ?? 'unknown-build')): string {
  const zipPath = join(bundlesDir, `${name}.zip`);
  if (!existsSync(zipPath)) throw new Error(`no bundle ${zipPath}: run \`npm run build\``);
  const dir = join(root, name);
  for (const [file, data] of readZip(readFileSync(zipPath))) {
    if (file.endsWith('/')) continue;
    const target = resolve(dir, file);
    if (!target.startsWith(dir + '/')) throw new Error(`zip: entry ${file} escapes the extraction directory`);
    mkdirSync(dirname(target), { recursive: true });
    if (!existsSync(target) || !readFileSync(target).equals(data)) {
      // Write aside and rename: jest workers running other e2e files may be reading it.
      const staging = `${target}.${process.pid}.tmp`;
      writeFileSync(staging, data);
      renameSync(staging, target);
    }
  }
  // The zips' layout; a lone index.js is the bench's comparison build (bundleLambda's withoutEntry).
  const layout = existsSync(join(dir, 'index.js')) ? ['index.js'] : [ENTRY_FILE, BUNDLE_FILE];
  for (const file of layout) if (!existsSync(join(dir, file))) throw new Error(`${zipPath} has no ${file}`);
  return dir;
}

/** The clock a container sees. */
export interface ContainerClock {
  readonly Date: DateConstructor;
  readonly setTimeout: typeof setTimeout;
  readonly clearTimeout: typeof clearTimeout;
  readonly setInterval: typeof setInterval;
  readonly clearInterval: typeof clearInterval;
}

/** What a container is given. */
export interface ContainerOptions {
  /** The function's environment (process.env inside the bundle). */
  readonly env: Record<string, string>;
  /** Receives whatever the bundle writes to stdout. @default discarded */
  readonly stdout?: (text: string) => void;
  /** @default the host's Date and timers */
  readonly clock?: ContainerClock;
  /** `fetch` and `globalThis.fetch` inside the bundle. @default the host's */
  readonly fetch?: typeof fetch;
  /**
   * How the loaded build packages the AWS SDK: `bundled` (the shipped zips)
   * may require only Node's built-ins; `external` (the test build of
   * {@link prepareBundles}) may also require `@aws-sdk/*` and `@smithy/*`,
   * which resolve to this repository's node_modules. @default 'bundled'
   */
  readonly sdk?: SdkPackaging;
}

/** A Lambda context with the fields handlers commonly read. */
export function lambdaContext(functionName: string, timeoutMs: number, now: () => number = Date.now): Record<string, unknown> {
  const deadline = now() + timeoutMs;
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'e2e',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const BUNDLE_PARAMETERS = [
  'exports',
  'require',
  'module',
  '__filename',
  '__dirname',
  'process',
  'globalThis',
  'fetch',
  'Date',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
];

/** What a bundle may require: Node's built-ins, and the SDK in the SDK-external test build. */
function mayRequire(id: string, sdk: SdkPackaging): boolean {
  const bare = id.startsWith('node:') ? id.slice(5) : id;
  return builtinModules.includes(bare) || (sdk === 'external' && (id.startsWith('@aws-sdk/') || id.startsWith('@smithy/')));
}

/**
 * Evaluate an extracted bundle as a fresh container and return its exports.
 * Throws when the bundle requires a package the runtime would not provide.
 */
export function loadBundle(dir: string, options: ContainerOptions): Record<string, unknown> {
  const filename = join(dir, BUNDLE_FILE);
  const code = readFileSync(filename, 'utf8');
  const sdk = options.sdk ?? 'bundled';
  const bundleRequire = (id: string): unknown => {
    if (!mayRequire(id, sdk)) {
      const why = sdk === 'bundled' ? 'a shipped bundle must carry every package it needs but Node built-ins' : 'the Lambda runtime does not provide it';
      throw Object.assign(new Error(`${filename} requires "${id}": ${why}`), { code: 'MODULE_NOT_FOUND' });
    }
    return require(id);
  };
  const stdout = options.stdout ?? (() => undefined);
  const proc: NodeJS.Process = Object.create(process, {
    env: { value: { ...options.env }, enumerable: true },
    stdout: { value: { write: (chunk: unknown) => (stdout(String(chunk)), true), isTTY: false } },
  });
  const containerFetch = options.fetch ?? globalThis.fetch;
  const global = Object.create(globalThis, { fetch: { value: containerFetch, writable: true } });
  const clock: ContainerClock = options.clock ?? { Date, setTimeout, clearTimeout, setInterval, clearInterval };
  const module = { exports: {} as Record<string, unknown>, filename, id: filename, loaded: false };
  // The realm of this Function is the caller's (jest's sandbox in tests), so
  // `instanceof` between bundle and test objects behaves as in one process.
  const evaluate = new Function(...BUNDLE_PARAMETERS, `${code}\n//# sourceURL=${pathToFileURL(filename).href}`);
  evaluate(
    module.exports,
    bundleRequire,
    module,
    filename,
    dir,
    proc,
    global,
    containerFetch,
    clock.Date,
    clock.setTimeout,
    clock.clearTimeout,
    clock.setInterval,
    clock.clearInterval,
  );
  module.loaded = true;
  return module.exports;
}
