/**
 * The shipped Lambda bundles (`dist/lambdas/<name>.zip`), unzipped and loaded
 * the way the Lambda runtime loads them: one CommonJS module, `handler`
 * called with an event and a context.
 *
 * Each {@link loadBundle} call is one fresh "container": the bundle's code is
 * evaluated again, so its module-level state (config, token caches, write
 * pacer) starts empty. What the runtime provides stays shared: the bundle's
 * `require('@aws-sdk/...')` resolves to this repository's node_modules, the
 * very module instances that aws-sdk-client-mock patches in the test. A bundle
 * that requires anything else fails to load, because the Lambda runtime would
 * not have it either.
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

/** The repository root. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** Where bundles are extracted: under the repository, so plain Node resolution finds node_modules too. */
export const EXTRACT_ROOT = join(REPO_ROOT, '.e2e', 'bundles');

/** Where the zips are: $E2E_BUNDLES_DIR, else dist/lambdas. */
export function defaultBundlesDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.E2E_BUNDLES_DIR ? resolve(env.E2E_BUNDLES_DIR) : join(REPO_ROOT, 'dist', 'lambdas');
}

/**
 * The directory holding the zips. When dist/lambdas has no webhook.zip yet
 * (a fresh clone that never ran `npm run build`), the bundles are built with
 * the project's own build into .e2e/dist/<pid>/, so the tests still run the
 * real artifacts: one build per process (jest workers build side by side),
 * never a stale one from an earlier run.
 */
export async function prepareBundles(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = defaultBundlesDir(env);
  if (existsSync(join(dir, 'webhook.zip'))) return dir;
  if (env.E2E_BUNDLES_DIR) throw new Error(`E2E_BUNDLES_DIR=${env.E2E_BUNDLES_DIR} holds no webhook.zip`);
  fallbackBuild ??= buildFallback();
  return fallbackBuild;
}

let fallbackBuild: Promise<string> | undefined;

async function buildFallback(): Promise<string> {
  const root = join(REPO_ROOT, '.e2e', 'dist');
  mkdirSync(root, { recursive: true });
  // Builds of processes that are gone are of no use to anyone.
  for (const entry of readdirSync(root)) {
    const pid = Number(entry);
    if (Number.isSafeInteger(pid) && pid !== process.pid && !processAlive(pid)) rmSync(join(root, entry), { recursive: true, force: true });
  }
  const out = join(root, String(process.pid));
  // Imported lazily: esbuild is only needed on this path.
  const { bundleAll } = await import('../../../scripts/lib/lambda-bundles');
  await bundleAll(join(REPO_ROOT, 'lambdas'), out);
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

/** Unzip `<name>.zip` into `<root>/<name>/` (rewriting only files that changed); returns that directory. */
export function extractBundle(bundlesDir: string, name: string, root = EXTRACT_ROOT): string {
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
  if (!existsSync(join(dir, 'index.js'))) throw new Error(`${zipPath} has no index.js`);
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

/** Packages the Lambda runtime provides, and so the bundles leave external. */
function runtimeProvided(id: string): boolean {
  const bare = id.startsWith('node:') ? id.slice(5) : id;
  return builtinModules.includes(bare) || id.startsWith('@aws-sdk/') || id.startsWith('@smithy/');
}

/**
 * Evaluate an extracted bundle as a fresh container and return its exports.
 * Throws when the bundle requires a package the runtime would not provide.
 */
export function loadBundle(dir: string, options: ContainerOptions): Record<string, unknown> {
  const filename = join(dir, 'index.js');
  const code = readFileSync(filename, 'utf8');
  const bundleRequire = (id: string): unknown => {
    if (!runtimeProvided(id)) throw new Error(`${filename} requires "${id}", which the Lambda runtime does not provide`);
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
