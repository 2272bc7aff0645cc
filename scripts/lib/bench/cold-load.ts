/**
 * Cold module load of a bundle: fresh Node processes that `require` the
 * bundle's index.js and call nothing, as the Lambda runtime's init phase
 * does before the first event. The bundle is extracted outside the
 * repository, and NODE_PATH points at the repository's node_modules for the
 * AWS SDK, which the runtime provides.
 *
 * Each child measures its own `require` (performance.now around it); the
 * parent measures the whole process (spawn to exit) for context. A second
 * kind of child requires only the bundle's external packages (the AWS SDK
 * clients), to show how much of the load is the SDK's.
 */
import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractBundle } from '../../../test/e2e/lib/bundles';
import { median, quantile } from './stats';

const CHILD = `
const { performance } = require('node:perf_hooks');
const t0 = performance.now();
const m = require(process.argv[1]);
const t1 = performance.now();
if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(2); }
process.stdout.write(JSON.stringify({ requireMs: t1 - t0 }));
`;

/** Requires only the given packages: what loading the runtime-provided SDK costs. */
const SDK_CHILD = `
const { performance } = require('node:perf_hooks');
const t0 = performance.now();
for (const id of JSON.parse(process.argv[1])) require(id);
process.stdout.write(JSON.stringify({ requireMs: performance.now() - t0 }));
`;

export interface ColdLoadResult {
  readonly name: string;
  readonly samples: number;
  /** Median time of the `require` inside the child. */
  readonly medianMs: number;
  readonly p90Ms: number;
  /** Median wall time of the whole child process (Node start-up included). */
  readonly processMedianMs: number;
  /** The external packages the bundle requires (the AWS SDK clients). */
  readonly externals: readonly string[];
  /** Median time to require those packages alone, in the same kind of process. */
  readonly externalsMedianMs: number;
}

/** `samples` fresh processes per bundle, one after another. */
export function measureColdLoad(bundlesDir: string, name: string, repoRoot: string, samples = 20): ColdLoadResult {
  const scratch = mkdtempSync(join(tmpdir(), 'ghr-cold-'));
  try {
    const dir = extractBundle(bundlesDir, name, scratch);
    const env = {
      PATH: process.env.PATH ?? '',
      NODE_PATH: join(repoRoot, 'node_modules'),
      AWS_REGION: 'eu-west-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const run = (script: string, arg: string): { requireMs: number; processMs: number } => {
      const started = process.hrtime.bigint();
      const child = spawnSync(process.execPath, ['-e', script, arg], { env, cwd: scratch, encoding: 'utf8' });
      const processMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (child.status !== 0) throw new Error(`loading ${name} failed (exit ${child.status}): ${child.stderr.trim().split('\n').slice(-3).join(' ')}`);
      return { requireMs: (JSON.parse(child.stdout) as { requireMs: number }).requireMs, processMs };
    };
    const externals = externalsOf(readFileSync(join(dir, 'index.js'), 'utf8'));
    const bundle: { requireMs: number; processMs: number }[] = [];
    const sdk: number[] = [];
    // Interleaved, so that a busy moment of the machine hits both alike.
    for (let i = 0; i < samples; i++) {
      bundle.push(run(CHILD, join(dir, 'index.js')));
      sdk.push(run(SDK_CHILD, JSON.stringify(externals)).requireMs);
    }
    const requireMs = bundle.map((b) => b.requireMs);
    return {
      name,
      samples,
      medianMs: median(requireMs),
      p90Ms: quantile(requireMs, 0.9),
      processMedianMs: median(bundle.map((b) => b.processMs)),
      externals,
      externalsMedianMs: median(sdk),
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Packages a bundle requires that are not Node built-ins. */
export function externalsOf(code: string): string[] {
  const ids = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
  return [...new Set(ids.filter((id) => !id.startsWith('node:') && !builtinModules.includes(id)))].sort();
}
