/**
 * Cold module load of a bundle (issue #12 item 4): fresh Node processes that
 * load the handler file of an extracted zip and call nothing, as the Lambda
 * runtime's init phase does before the first event. Three builds of the same
 * sources are compared, in one run, interleaved so that a busy moment of the
 * machine hits all alike:
 *
 * - `external`: the AWS SDK left to the runtime, one CommonJS `index.js`
 *   (what shipped before #12). The children resolve the SDK from this
 *   repository's node_modules through NODE_PATH, as the runtime's own copy.
 * - `bundled-cjs`: the SDK bundled (from its ES sources), one CommonJS
 *   `index.js`, no ES entry: shows what the entry is for.
 * - `shipped`: the zips of dist/lambdas: the SDK bundled, `index.mjs` over
 *   `handler.cjs`. No NODE_PATH: nothing outside the zip is in reach.
 *
 * Each under two loaders of the handler `index.handler`, as
 * aws-lambda-nodejs-runtime-interface-client has them:
 * - `require`: its UserFunction.js (3.x): `require()` of `index` or
 *   `index.js`, else `import()` of `index.mjs`, else `require()` of `index.cjs`;
 * - `import`: its newer module-loader.ts: `import()` of the first of
 *   `index`, `index.js`, `index.mjs`, `index.cjs` that exists.
 *
 * Each child measures its own load (performance.now around it) and reports
 * its peak resident set size after it (process.resourceUsage().maxRSS).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractBundle } from '../../../test/e2e/lib/bundles';
import { median, quantile } from './stats';

export const COLD_BUILDS = ['external', 'bundled-cjs', 'shipped'] as const;
export type ColdBuild = (typeof COLD_BUILDS)[number];
export const COLD_LOADERS = ['require', 'import'] as const;
export type ColdLoader = (typeof COLD_LOADERS)[number];

const CHILD = `
const { performance } = require('node:perf_hooks');
const { existsSync } = require('node:fs');
const { pathToFileURL } = require('node:url');
const [dir, loader] = [process.argv[1], process.argv[2]];
const base = require('node:path').join(dir, 'index');
const exists = (ext) => existsSync(base + ext);
async function load() {
  if (loader === 'require') {
    for (const ext of ['', '.js']) if (exists(ext)) return require(base + ext);
    if (exists('.mjs')) return import(pathToFileURL(base + '.mjs').href);
    if (exists('.cjs')) return require(base + '.cjs');
  } else {
    for (const ext of ['', '.js', '.mjs', '.cjs']) if (exists(ext)) return import(pathToFileURL(base + ext).href);
  }
  throw new Error('no index file in ' + dir);
}
const t0 = performance.now();
load().then((m) => {
  const ms = performance.now() - t0;
  if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(2); }
  process.stdout.write(JSON.stringify({ ms, rssKiB: process.resourceUsage().maxRSS }));
}, (e) => { console.error(e && e.message); process.exit(3); });
`;

export interface ColdCell {
  /** Median load time inside the child. */
  readonly medianMs: number;
  readonly p90Ms: number;
  /** Median peak RSS of the child after the load, MiB. */
  readonly rssMiB: number;
}

export interface ColdLoadResult {
  readonly name: string;
  readonly samples: number;
  readonly cells: Record<ColdBuild, Record<ColdLoader, ColdCell>>;
}

/** `samples` rounds per bundle; each round runs every build under every loader once. */
export function measureColdLoad(buildDirs: Record<ColdBuild, string>, name: string, repoRoot: string, samples = 10): ColdLoadResult {
  const scratch = mkdtempSync(join(tmpdir(), 'ghr-cold-'));
  try {
    const base = { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const dirs = Object.fromEntries(COLD_BUILDS.map((b) => [b, extractBundle(buildDirs[b], name, join(scratch, b))])) as Record<ColdBuild, string>;
    const raw = Object.fromEntries(COLD_BUILDS.map((b) => [b, Object.fromEntries(COLD_LOADERS.map((l) => [l, [] as { ms: number; rssKiB: number }[]]))])) as Record<
      ColdBuild,
      Record<ColdLoader, { ms: number; rssKiB: number }[]>
    >;
    for (let i = 0; i < samples; i++) {
      for (const build of COLD_BUILDS) {
        // Only the external build may reach node_modules (for the SDK the runtime would provide).
        const env = build === 'external' ? { ...base, NODE_PATH: join(repoRoot, 'node_modules') } : base;
        for (const loader of COLD_LOADERS) {
          const child = spawnSync(process.execPath, ['-e', CHILD, dirs[build], loader], { env, cwd: scratch, encoding: 'utf8' });
          if (child.status !== 0) throw new Error(`loading ${name} (${build}, ${loader}) failed (exit ${child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' ')}`);
          raw[build][loader].push(JSON.parse(child.stdout) as { ms: number; rssKiB: number });
        }
      }
    }
    const cell = (xs: { ms: number; rssKiB: number }[]): ColdCell => ({
      medianMs: median(xs.map((x) => x.ms)),
      p90Ms: quantile(xs.map((x) => x.ms), 0.9),
      rssMiB: median(xs.map((x) => x.rssKiB)) / 1024,
    });
    const cells = Object.fromEntries(COLD_BUILDS.map((b) => [b, Object.fromEntries(COLD_LOADERS.map((l) => [l, cell(raw[b][l])]))])) as ColdLoadResult['cells'];
    return { name, samples, cells };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Shipped over external, per loader: below 1 is faster. */
export function coldRatio(r: ColdLoadResult, loader: ColdLoader): number {
  return r.cells.shipped[loader].medianMs / r.cells.external[loader].medianMs;
}
